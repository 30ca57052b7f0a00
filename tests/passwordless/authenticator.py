"""A software WebAuthn authenticator (ES256, ``none`` attestation) for server-side ceremony tests.

It builds ``clientDataJSON``, authenticator data (WebAuthn L3 §6.1: rpIdHash, flags UP/UV/BE/BS/AT,
signCount, attested credential data with a COSE key) and signatures exactly as a browser and an
authenticator would, so the server's checks run on real bytes; tests can then bend one field at a
time (origin, RP id, counter, flags). The browser tests use Chromium's own virtual authenticator.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class SoftAuthenticator:
    """One credential on one authenticator. ``backup_eligible``/``backed_up`` set BE/BS."""

    def __init__(
        self,
        origin: str,
        rp_id: str,
        *,
        user_verified: bool = True,
        backup_eligible: bool = False,
        backed_up: bool = False,
    ) -> None:
        self.origin = origin
        self.rp_id = rp_id
        self.user_verified = user_verified
        self.backup_eligible = backup_eligible
        self.backed_up = backed_up
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(16)
        self.counter = 0
        self.user_handle = b""

    @property
    def id(self) -> str:
        return b64url(self.credential_id)

    def _cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})

    def _flags(self, attested: bool) -> int:
        flags = UP
        if self.user_verified:
            flags |= UV
        if self.backup_eligible:
            flags |= BE
        if self.backed_up:
            flags |= BS
        if attested:
            flags |= AT
        return flags

    def _auth_data(self, rp_id: str, counter: int, attested: bool) -> bytes:
        data = hashlib.sha256(rp_id.encode()).digest() + bytes([self._flags(attested)]) + struct.pack(">I", counter)
        if attested:
            data += bytes(16) + struct.pack(">H", len(self.credential_id)) + self.credential_id + self._cose_key()
        return data

    @staticmethod
    def _client_data(kind: str, challenge: str, origin: str) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": False}).encode()

    def register(
        self, options: dict[str, Any], *, origin: str | None = None, rp_id: str | None = None
    ) -> dict[str, Any]:
        """``navigator.credentials.create()``'s ``RegistrationResponseJSON`` for these options."""
        self.user_handle = base64.urlsafe_b64decode(options["user"]["id"] + "==")
        client_data = self._client_data("webauthn.create", options["challenge"], origin or self.origin)
        auth_data = self._auth_data(rp_id or options["rp"]["id"], self.counter, attested=True)
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {
            "id": self.id,
            "rawId": self.id,
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "attestationObject": b64url(attestation),
                "transports": ["internal"],
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }

    def assertion(
        self,
        options: dict[str, Any],
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        counter: int | None = None,
    ) -> dict[str, Any]:
        """``navigator.credentials.get()``'s ``AuthenticationResponseJSON``; the counter grows by 1."""
        if counter is None:
            self.counter += 1
            counter = self.counter
        client_data = self._client_data("webauthn.get", options["challenge"], origin or self.origin)
        auth_data = self._auth_data(rp_id or options["rpId"], counter, attested=False)
        signature = self.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return {
            "id": self.id,
            "rawId": self.id,
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(auth_data),
                "signature": b64url(signature),
                "userHandle": b64url(self.user_handle),
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }
