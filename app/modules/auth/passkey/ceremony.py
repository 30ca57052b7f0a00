"""The two WebAuthn ceremonies with py_webauthn, in the shapes better-auth's passkey plugin
(SimpleWebAuthn 13) gives the browser, so ``passkeyClient`` works unchanged.

WebAuthn Level 3 (W3C Recommendation), the sections this follows:

- §5.4 "Options for Credential Creation" and §5.5 "Options for Assertion Generation": the options
  below, with ``residentKey`` (§5.4.6) preferred so passkeys are discoverable and conditional UI
  (``mediation: "conditional"``, §5.1.4) can offer them without a user name.
- §7.1 "Registering a New Credential": type, challenge, origin and RP id hash checked, user present,
  user verified when required, algorithm allowed, attestation verified (``none`` by default,
  ``direct`` on request, §5.4.7 / §8), credential id not registered before (step 25).
- §7.2 "Verifying an Authentication Assertion": the credential is one of ours, its owner is the
  ceremony's user when one was named (step 6), signature over ``authData || hash(clientDataJSON)``.
- §6.1.1 "Signature Counter Considerations" / §7.2 step 22: a counter that does not grow (when
  either value is non-zero) signals a cloned authenticator: the assertion is refused; the new value
  is stored with a compare-and-set so two uses of one counter value cannot both pass.
- §6.1.3 "Credential Backup State": BE (backup eligible) is fixed for a credential's life, so an
  assertion whose BE differs from registration is refused; BS (backed up) may change and is stored.
- §13.4.3 "Cryptographic Challenges": see :mod:`.challenges`.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from typing import Any

from webauthn import verify_authentication_response, verify_registration_response
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import CredentialDeviceType

from app.core.errors import ApiError
from app.modules.auth.crypto import generate_random_string
from app.modules.auth.passkey.models import Passkey
from app.modules.auth.passkey.settings import PasskeySettings, RelyingParty

#: SimpleWebAuthn's default algorithms, in its order: Ed25519, ES256, RS256.
ALGORITHMS = (-8, -7, -257)

#: better-auth's (SimpleWebAuthn's) names of the BE flag's two values.
DEVICE_TYPES = {CredentialDeviceType.SINGLE_DEVICE: "singleDevice", CredentialDeviceType.MULTI_DEVICE: "multiDevice"}


def generate_challenge() -> bytes:
    """32 random bytes, as SimpleWebAuthn (§13.4.3 asks for at least 16)."""
    return secrets.token_bytes(32)


FAILED_REGISTRATION = ApiError(400, "FAILED_TO_VERIFY_REGISTRATION", "Failed to verify registration")
AUTHENTICATION_FAILED = ApiError(401, "AUTHENTICATION_FAILED", "Authentication failed")


def _descriptor(passkey: Passkey) -> dict[str, Any]:
    found: dict[str, Any] = {"id": passkey.credential_id, "type": "public-key"}
    if passkey.transports:
        found["transports"] = passkey.transports.split(",")
    return found


def registration_options(
    cfg: PasskeySettings,
    rp: RelyingParty,
    *,
    user_name: str,
    display_name: str,
    existing: list[Passkey],
    attachment: str | None,
) -> dict[str, Any]:
    """``PublicKeyCredentialCreationOptionsJSON`` (§5.4), key for key as SimpleWebAuthn writes it."""
    selection: dict[str, Any] = {"residentKey": cfg.resident_key, "userVerification": cfg.user_verification}
    if attachment or cfg.authenticator_attachment:
        selection["authenticatorAttachment"] = attachment or cfg.authenticator_attachment
    selection["requireResidentKey"] = cfg.resident_key == "required"
    # A fresh random user handle per registration, as better-auth: it names no one (§14.6.1).
    user_handle = generate_random_string(32, "abcdefghijklmnopqrstuvwxyz0123456789").encode()
    return {
        "challenge": bytes_to_base64url(generate_challenge()),
        "rp": {"name": rp.name, "id": rp.id},
        "user": {"id": bytes_to_base64url(user_handle), "name": user_name, "displayName": display_name},
        "pubKeyCredParams": [{"alg": alg, "type": "public-key"} for alg in ALGORITHMS],
        "timeout": cfg.timeout,
        "attestation": cfg.attestation,
        "excludeCredentials": [_descriptor(p) for p in existing],
        "authenticatorSelection": selection,
        "extensions": {"credProps": True},
        "hints": [],
    }


def authentication_options(cfg: PasskeySettings, rp: RelyingParty, allowed: list[Passkey]) -> dict[str, Any]:
    """``PublicKeyCredentialRequestOptionsJSON`` (§5.5); no ``allowCredentials`` for anyone, so the
    authenticator offers its discoverable credentials (conditional UI)."""
    options: dict[str, Any] = {"rpId": rp.id, "challenge": bytes_to_base64url(generate_challenge())}
    if allowed:
        options["allowCredentials"] = [_descriptor(p) for p in allowed]
    options["timeout"] = cfg.timeout
    options["userVerification"] = cfg.user_verification
    return options


@dataclass(frozen=True)
class NewCredential:
    credential_id: str
    public_key: str
    counter: int
    device_type: str
    backed_up: bool
    transports: str
    aaguid: str
    #: The attestation statement format that was verified (``none``, ``packed``...).
    fmt: str


def verify_registration(
    cfg: PasskeySettings, rp: RelyingParty, response: Any, expected_challenge: str
) -> NewCredential:
    """§7.1 on the browser's ``RegistrationResponseJSON``; 400 FAILED_TO_VERIFY_REGISTRATION otherwise."""
    if not isinstance(response, dict):
        raise FAILED_REGISTRATION
    try:
        verified = verify_registration_response(
            credential=response,
            expected_challenge=base64url_to_bytes(expected_challenge),
            expected_rp_id=rp.id,
            expected_origin=list(rp.origins),
            require_user_verification=cfg.user_verification == "required",
        )
    except (WebAuthnException, ValueError, KeyError, TypeError) as error:
        raise ApiError(400, FAILED_REGISTRATION.code, f"{FAILED_REGISTRATION.message}: {error}") from None
    transports = (response.get("response") or {}).get("transports") or []
    return NewCredential(
        credential_id=bytes_to_base64url(verified.credential_id),
        public_key=base64.b64encode(verified.credential_public_key).decode(),
        counter=verified.sign_count,
        device_type=DEVICE_TYPES[verified.credential_device_type],
        backed_up=bool(verified.credential_backed_up),
        transports=",".join(str(t) for t in transports if isinstance(t, str))[:255],
        aaguid=verified.aaguid,
        fmt=str(getattr(verified.fmt, "value", verified.fmt)),
    )


@dataclass(frozen=True)
class Assertion:
    new_counter: int
    backed_up: bool
    user_verified: bool


def verify_assertion(
    cfg: PasskeySettings, rp: RelyingParty, response: dict[str, Any], expected_challenge: str, passkey: Passkey
) -> Assertion:
    """§7.2 on the browser's ``AuthenticationResponseJSON`` against the stored credential."""
    try:
        verified = verify_authentication_response(
            credential=response,
            expected_challenge=base64url_to_bytes(expected_challenge),
            expected_rp_id=rp.id,
            expected_origin=list(rp.origins),
            credential_public_key=base64.b64decode(passkey.public_key),
            credential_current_sign_count=int(passkey.counter or 0),
            require_user_verification=cfg.user_verification == "required",
        )
    except (WebAuthnException, ValueError, KeyError, TypeError) as error:
        raise ApiError(401, AUTHENTICATION_FAILED.code, f"{AUTHENTICATION_FAILED.message}: {error}") from None
    if DEVICE_TYPES[verified.credential_device_type] != passkey.device_type:
        raise ApiError(401, AUTHENTICATION_FAILED.code, f"{AUTHENTICATION_FAILED.message}: backup eligibility changed")
    return Assertion(
        new_counter=verified.new_sign_count,
        backed_up=bool(verified.credential_backed_up),
        user_verified=bool(verified.user_verified),
    )
