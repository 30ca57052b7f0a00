"""Bodies and answers of the email-OTP routes (better-auth ``emailOTP`` 1.7)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from app.core.api import ApiModel
from app.modules.auth.schemas import Password, UserOut

#: Checked by the routes: a malformed address is better-auth's 400 INVALID_EMAIL.
RawEmail = Annotated[str, Field(max_length=320)]
Code = Annotated[str, Field(max_length=64)]
OtpType = Literal["email-verification", "sign-in", "forget-password", "change-email"]


class SendOtpBody(ApiModel):
    email: RawEmail
    type: OtpType


class CheckOtpBody(ApiModel):
    email: RawEmail
    type: OtpType
    otp: Code


class VerifyEmailOtpBody(ApiModel):
    email: RawEmail
    otp: Code


class SignInOtpBody(ApiModel):
    email: RawEmail
    otp: Code
    name: Annotated[str | None, Field(max_length=255)] = None
    image: Annotated[str | None, Field(max_length=2048)] = None
    remember_me: bool = Field(default=True, alias="rememberMe")


class EmailOnlyBody(ApiModel):
    email: RawEmail


class ResetPasswordOtpBody(ApiModel):
    email: RawEmail
    otp: Code
    password: Password


class RequestEmailChangeBody(ApiModel):
    new_email: RawEmail = Field(alias="newEmail")
    otp: Code | None = None


class ChangeEmailOtpBody(ApiModel):
    new_email: RawEmail = Field(alias="newEmail")
    otp: Code


class SuccessOut(ApiModel):
    success: bool


class VerifyEmailOtpOut(ApiModel):
    status: bool
    token: str | None
    user: UserOut


class TokenUserOut(ApiModel):
    token: str
    user: UserOut
