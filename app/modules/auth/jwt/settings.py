"""The jwt plugin's settings (``AUTH__JWT__*``), better-auth's ``jwt()`` options.

A :class:`~app.core.settings.Section`, read at start by the plugin's ``init_app``.
"""

from __future__ import annotations

from typing import Literal

from flask import current_app
from pydantic import Field
from pydantic_settings import SettingsConfigDict

from app.core.settings import Section, current

ENV_PREFIX = "AUTH__JWT__"

Algorithm = Literal["EdDSA", "RS256", "ES256"]


class JwtSettings(Section):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX)

    #: Algorithm of new keys (better-auth ``keyPairConfig.alg``); existing keys keep theirs.
    alg: Algorithm = "EdDSA"
    #: ``iss`` and ``aud`` claims; None: the base URL (``AUTH__BASE_URL``), as better-auth.
    issuer: str | None = None
    audience: str | None = None
    #: Lifetime of a token, seconds (better-auth ``expirationTime "15m"``).
    expires_in: int = Field(default=900, ge=10, le=86400)
    #: A key signs for this long, seconds; None: until ``flask auth jwks rotate`` (better-auth
    #: ``jwks.rotationInterval``).
    rotation_interval: int | None = Field(default=None, ge=60)
    #: A key that stopped signing stays in ``/jwks`` this long, seconds (better-auth 30 days).
    grace_period: int = Field(default=2_592_000, ge=0)
    #: The ``set-auth-jwt`` header on get-session (better-auth: on; ``disableSettingJwtHeader``).
    set_header: bool = True
    #: Seconds a process reuses the decrypted signing key before looking for a newer one.
    signing_cache_ttl: float = Field(default=60.0, ge=0)
    #: Least seconds between two JWKS reloads caused by tokens with an unknown ``kid``.
    refresh_min_interval: float = Field(default=2.0, ge=0)
    #: Clock skew tolerated on ``exp``/``iat``, seconds.
    leeway: int = Field(default=0, ge=0, le=300)
    #: Purely stateless verification: a JWT stays valid until ``exp`` even after its session is
    #: revoked or its user banned or changed (better-auth's behaviour). Off: every process refuses
    #: it from the revocation sequence, with no database read per request.
    stateless: bool = False


def jwt_settings() -> JwtSettings:
    """Shorthand for ``current(JwtSettings)``."""
    return current(JwtSettings)


def issuer() -> str:
    base: str = current_app.config["SETTINGS"].base_url
    return jwt_settings().issuer or base


def audience() -> str:
    base: str = current_app.config["SETTINGS"].base_url
    return jwt_settings().audience or base
