"""The passkey plugin's settings (``AUTH__PASSKEY__*``), better-auth ``passkey()`` options.

The relying party is the app: its id is the host of ``AUTH__BASE_URL`` unless ``rp_id`` names a
registrable suffix of it (WebAuthn L3 §5.1.3 step 8, §7.1 step 9); the origins a ceremony may come
from are the base URL's and every exact origin of ``AUTH__TRUSTED_ORIGINS`` (wildcards cannot be
checked against ``clientDataJSON.origin`` and are left out), plus ``origins``.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from flask import Flask, current_app
from pydantic import Field, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from app.core.settings import Section, section
from config import ConfigError

ENV_PREFIX = "AUTH__PASSKEY__"

Requirement = Literal["required", "preferred", "discouraged"]


class PasskeySettings(Section):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX)

    enabled: bool = False
    #: better-auth ``rpID``: default the host of AUTH__BASE_URL.
    rp_id: str | None = Field(default=None, pattern=r"^[a-z0-9.-]+$")
    #: better-auth ``rpName``: default AUTH__APP_NAME.
    rp_name: str | None = Field(default=None, max_length=255)
    #: Extra origins a ceremony may come from (exact ``scheme://host[:port]``).
    origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    #: ``none`` (better-auth's, privacy-preserving) or ``direct`` (the authenticator's attestation).
    attestation: Literal["none", "direct"] = "none"
    user_verification: Requirement = "preferred"
    resident_key: Requirement = "preferred"
    authenticator_attachment: Literal["platform", "cross-platform"] | None = None
    #: How long a challenge stays usable, seconds (better-auth: 300, its cookie's Max-Age).
    challenge_ttl: int = Field(default=300, ge=1, le=600)
    #: The ``timeout`` hint of the options, milliseconds (SimpleWebAuthn's default).
    timeout: int = Field(default=60_000, ge=10_000, le=600_000)

    @field_validator("origins", mode="before")
    @classmethod
    def _csv(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip().rstrip("/") for part in value.split(",") if part.strip()]
        return value


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or "*" in url:
        return None
    return f"{parts.scheme}://{parts.netloc.lower()}"


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def init_relying_party(app: Flask) -> PasskeySettings:
    """Read the settings; the relying party is derived once, and a wrong ``rp_id`` stops the start."""
    settings = section(app, PasskeySettings)
    base = app.config["SETTINGS"]
    host = (urlsplit(str(base.base_url)).hostname or "localhost").lower()
    rp_id = settings.rp_id or host
    if settings.enabled and _is_ip(rp_id):
        # WebAuthn Level 2, the RP ID is a valid domain string: browsers refuse an IP address. Not an
        # error: authenticators outside a browser (and their tests) accept it.
        logging.getLogger(__name__).warning(
            "%sENABLED=true with AUTH__BASE_URL on the IP address %s: browsers refuse passkeys for IP "
            "addresses; use a host name (http://localhost:PORT in development)", ENV_PREFIX, rp_id,
        )
    if host != rp_id and not host.endswith("." + rp_id):
        raise ConfigError(f"{ENV_PREFIX}RP_ID={rp_id!r} is not the host of AUTH__BASE_URL or a parent domain of it")
    origins = [_origin(str(base.base_url))]
    origins += [_origin(pattern) for pattern in (base.auth.trusted_origins or [])]
    origins += [_origin(extra) for extra in settings.origins]
    app.extensions["auth.passkey.rp"] = RelyingParty(
        id=rp_id,
        name=settings.rp_name or str(base.auth.app_name),
        origins=tuple(dict.fromkeys(o for o in origins if o)),
    )
    return settings


class RelyingParty:
    """Who we are to authenticators: the RP id and name, and the origins ceremonies may come from."""

    __slots__ = ("id", "name", "origins")

    def __init__(self, id: str, name: str, origins: tuple[str, ...]) -> None:
        self.id = id
        self.name = name
        self.origins = origins


def relying_party() -> RelyingParty:
    found: RelyingParty = current_app.extensions["auth.passkey.rp"]
    return found
