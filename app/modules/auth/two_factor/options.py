"""Settings of the two-factor plugin, from ``AUTH__TWO_FACTOR__*`` (env or ``create_app`` overrides)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from app.core.settings import Section

PREFIX = "AUTH__TWO_FACTOR__"


class TwoFactorOptions(Section):
    """better-auth's twoFactor options we support, with its defaults (reference §6)."""

    model_config = SettingsConfigDict(env_prefix=PREFIX)

    #: Issuer shown in authenticator apps; None: ``AUTH__APP_NAME``.
    issuer: str | None = None
    digits: int = Field(default=6, ge=6, le=8)
    period: int = Field(default=30, ge=15, le=120)
    backup_code_amount: int = Field(default=10, ge=1, le=50)
    backup_code_length: int = Field(default=10, ge=8, le=32)
    #: How long a sign-in challenge (the ``two_factor`` cookie) lives, seconds.
    challenge_max_age: int = Field(default=600, ge=60, le=3600)
    #: Codes tried per challenge before a new sign-in is needed.
    max_attempts: int = Field(default=5, ge=1, le=20)
    trust_device_max_age: int = Field(default=2_592_000, ge=60, le=34_560_000)
    #: The OTP method (better-auth ``otpOptions``): codes sent by mail through the project's mailer.
    otp_enabled: bool = False
    #: How long a mailed code works, seconds (better-auth: 3 minutes).
    otp_period: int = Field(default=180, ge=30, le=3600)
    otp_digits: int = Field(default=6, ge=6, le=10)
    #: Wrong codes per mailed code before a new one must be requested (better-auth ``allowedAttempts``).
    otp_allowed_attempts: int = Field(default=5, ge=1, le=20)
