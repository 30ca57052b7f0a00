"""Request and response schemas of the two-factor routes (better-auth reference §6)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from app.core.api import ApiModel
from app.modules.auth.schemas import Password, UserOut

Code = Annotated[str, Field(max_length=64)]


class PasswordBody(ApiModel):
    password: Password


class EnableBody(ApiModel):
    password: Password
    method: Literal["totp", "otp"] = "totp"
    issuer: Annotated[str | None, Field(max_length=255)] = None


class VerifyTotpBody(ApiModel):
    code: Code
    trust_device: bool = Field(default=False, alias="trustDevice")


class SendOtpBody(ApiModel):
    trust_device: bool | None = Field(default=None, alias="trustDevice")


class VerifyOtpBody(ApiModel):
    code: Code
    trust_device: bool = Field(default=False, alias="trustDevice")


class VerifyBackupCodeBody(ApiModel):
    code: Code
    disable_session: bool = Field(default=False, alias="disableSession")
    trust_device: bool = Field(default=False, alias="trustDevice")


class EnableResponse(ApiModel):
    method: str
    totpURI: str
    backupCodes: list[str]


class TotpUriResponse(ApiModel):
    totpURI: str


class BackupCodesResponse(ApiModel):
    status: bool
    backupCodes: list[str]


class TokenAndUser(ApiModel):
    token: str | None
    user: UserOut


class ChallengeResponse(ApiModel):
    """What sign-in answers a 2FA user instead of a session."""

    twoFactorRedirect: bool
    twoFactorMethods: list[str]


class StatusOut(ApiModel):
    status: bool
