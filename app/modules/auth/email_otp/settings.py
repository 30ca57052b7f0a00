"""The email-OTP plugin's settings (``AUTH__EMAIL_OTP__*``), better-auth's ``emailOTP()`` options.

Defaults are better-auth 1.7's: 6 digits, 300 s, 3 attempts per code, 3 requests per 60 s and
client on each route. ``address_max`` per ``address_window`` is ours: mails to one address from one
client, and four times that from all clients; past it the answer is the same and nothing is sent
(0 switches it off).
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from app.core.settings import Section

ENV_PREFIX = "AUTH__EMAIL_OTP__"


class EmailOtpSettings(Section):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX)

    enabled: bool = False
    otp_length: int = Field(default=6, ge=6, le=12)
    expires_in: int = Field(default=300, ge=1, le=86_400, description="seconds")
    allowed_attempts: int = Field(default=3, ge=1, le=20)
    #: better-auth ``disableSignUp``: a sign-in code for an unknown address creates no user.
    disable_sign_up: bool = False
    #: better-auth ``changeEmail.enabled``: request-email-change and change-email.
    change_email_enabled: bool = False
    rate_limit_window: int = Field(default=60, ge=1)
    rate_limit_max: int = Field(default=3, ge=1)
    address_window: int = Field(default=600, ge=1)
    address_max: int = Field(default=5, ge=0)

