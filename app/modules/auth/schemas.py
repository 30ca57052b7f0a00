"""Request and response schemas of the auth routes: they validate bodies and write the OpenAPI document."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, model_validator

from app.core.api import ApiModel

# zod's email pattern, which better-auth uses: same acceptances, same refusals.
_EMAIL = re.compile(r"^(?!\.)(?!.*\.\.)([A-Za-z0-9_'+\-.]*)[A-Za-z0-9_+-]@([A-Za-z0-9][A-Za-z0-9\-]*\.)+[A-Za-z]{2,}$")


def normalize_email(value: str) -> str:
    """Lower-cased and trimmed, or ValueError when it is not an address zod would accept."""
    value = value.strip().lower()
    if len(value) > 320 or not _EMAIL.match(value):
        raise ValueError("Invalid email address")
    return value


def _not_null(value: Any) -> Any:
    if value is None:
        raise ValueError("Invalid input: expected string, received null")
    return value


def one_permission_map(data: Any) -> Any:
    """better-auth's ``z.xor([{permission: record}, {permissions: record}])``: exactly one of the two
    must be a map of resource to actions, else zod's bare ``[body] Invalid input``. The other key,
    when present and not such a map, is dropped (zod's non-strict objects ignore it)."""
    if not isinstance(data, dict):
        return data

    def is_map(value: Any) -> bool:
        return isinstance(value, dict) and all(
            isinstance(k, str) and isinstance(v, list) and all(isinstance(a, str) for a in v) for k, v in value.items()
        )

    valid = [key for key in ("permission", "permissions") if is_map(data.get(key))]
    if len(valid) != 1:
        raise ValueError("Invalid input")
    return {k: v for k, v in data.items() if k not in ("permission", "permissions") or k in valid}


Email = Annotated[str, AfterValidator(normalize_email)]
Name = Annotated[str, Field(max_length=255)]
#: Bounded generously here; the password policy (8-128) answers its own error codes.
Password = Annotated[str, Field(max_length=4096)]
Url = Annotated[str, Field(max_length=2048)]
OptionalString = Annotated[str | None, BeforeValidator(_not_null)]


class ProfileFields(ApiModel):
    firstname: Annotated[str | None, Field(max_length=255)] = None
    lastname: Annotated[str | None, Field(max_length=255)] = None
    bio: Annotated[str | None, Field(max_length=5000)] = None


class SignUpBody(ProfileFields):
    name: Name
    email: Email
    password: Password
    image: Annotated[OptionalString, Field(max_length=2048)] = None
    callback_url: Url | None = Field(default=None, alias="callbackURL")
    remember_me: bool = Field(default=True, alias="rememberMe")


class SignInBody(ApiModel):
    #: Checked by the route: a malformed address is better-auth's 400 INVALID_EMAIL here.
    email: Annotated[str, Field(max_length=320)]
    password: Password
    callback_url: Url | None = Field(default=None, alias="callbackURL")
    remember_me: bool = Field(default=True, alias="rememberMe")


class SignOutBody(ApiModel):
    callback_url: Url | None = Field(default=None, alias="callbackURL")


class GetSessionQuery(ApiModel):
    disable_cookie_cache: bool = Field(default=False, alias="disableCookieCache")
    disable_refresh: bool = Field(default=False, alias="disableRefresh")


class RevokeSessionBody(ApiModel):
    token: Annotated[str, Field(min_length=1, max_length=256)]


class UpdateUserBody(ProfileFields):
    name: Name | None = None
    image: Annotated[str | None, Field(max_length=2048)] = None
    email: str | None = Field(default=None, json_schema_extra={"deprecated": True})


class ChangePasswordBody(ApiModel):
    current_password: Password = Field(alias="currentPassword")
    new_password: Password = Field(alias="newPassword")
    revoke_other_sessions: bool = Field(default=False, alias="revokeOtherSessions")


class VerifyPasswordBody(ApiModel):
    password: Password


class ChangeEmailBody(ApiModel):
    new_email: Email = Field(alias="newEmail")
    callback_url: Url | None = Field(default=None, alias="callbackURL")


class SendVerificationEmailBody(ApiModel):
    email: Email
    callback_url: Url | None = Field(default=None, alias="callbackURL")


class VerifyEmailQuery(ApiModel):
    token: Annotated[str, Field(min_length=1, max_length=4096)]
    callback_url: Url | None = Field(default=None, alias="callbackURL")


class RequestPasswordResetBody(ApiModel):
    email: Email
    redirect_to: Url | None = Field(default=None, alias="redirectTo")


class ResetPasswordTokenQuery(ApiModel):
    callback_url: Url = Field(alias="callbackURL")


class ResetPasswordBody(ApiModel):
    new_password: Password = Field(alias="newPassword")
    token: Annotated[str | None, Field(max_length=256)] = None


class DeleteUserBody(ApiModel):
    password: Password | None = None
    callback_url: Url | None = Field(default=None, alias="callbackURL")


class ErrorQuery(ApiModel):
    error: Annotated[str | None, Field(max_length=128)] = None


# -- responses ----------------------------------------------------------------------------


class UserOut(ApiModel):
    id: str
    name: str
    email: str
    emailVerified: bool
    image: str | None
    createdAt: str
    updatedAt: str
    twoFactorEnabled: bool
    role: str | None
    banned: bool
    banReason: str | None
    banExpires: str | None
    firstname: str | None
    lastname: str | None
    bio: str | None


class SessionOut(ApiModel):
    id: str
    token: str
    userId: str
    expiresAt: str
    createdAt: str
    updatedAt: str
    ipAddress: str
    userAgent: str
    impersonatedBy: str | None
    activeOrganizationId: str | None
    activeTeamId: str | None = Field(default=None, description="With AUTH__ORGANIZATION__TEAMS__ENABLED")


class SessionAndUser(ApiModel):
    session: SessionOut
    user: UserOut


class TokenAndUser(ApiModel):
    token: str | None
    user: UserOut


class SignInResponse(ApiModel):
    redirect: bool
    token: str
    url: str | None = Field(default=None, description="Present with callbackURL")
    user: UserOut


class StatusResponse(ApiModel):
    status: bool


class SuccessResponse(ApiModel):
    success: bool


class MessageStatusResponse(ApiModel):
    status: bool
    message: str


class DeleteUserResponse(ApiModel):
    success: bool
    message: str


class VerifyEmailResponse(ApiModel):
    status: bool
    user: UserOut | None


class AccountOut(ApiModel):
    id: str
    providerId: str
    accountId: str
    userId: str
    createdAt: str
    updatedAt: str
    scopes: list[str]


class UnlinkAccountBody(ApiModel):
    account_id: Annotated[str, Field(max_length=255)] = Field(alias="accountId")


class AccountSelection(ApiModel):
    """better-auth's ``accountSelectionSchema``: a union of two strict objects, ``{accountId, userId?}``
    or ``{useAccountCookie: true, userId?}``; anything else is zod's bare ``Invalid input``. ``userId``
    is for server-side callers: over HTTP the session's user always wins."""

    account_id: Annotated[str | None, Field(max_length=255)] = Field(default=None, alias="accountId")
    use_account_cookie: bool | None = Field(default=None, alias="useAccountCookie")
    user_id: Annotated[str | None, Field(max_length=255)] = Field(default=None, alias="userId")

    @model_validator(mode="before")
    @classmethod
    def _one_shape(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        by_id = isinstance(data.get("accountId"), str)
        by_cookie = data.get("useAccountCookie") in (True, "true")
        user_ok = "userId" not in data or isinstance(data["userId"], str)
        if by_id == by_cookie or not user_ok:
            raise ValueError("Invalid input")
        extra = [k for k in data if k not in ("userId", "accountId" if by_id else "useAccountCookie")]
        if extra:  # zod names them when only they stand between the body and one of the objects
            names = ", ".join(f'"{k}"' for k in extra)
            raise ValueError(f"Unrecognized key{'s' if len(extra) > 1 else ''}: {names}")
        return data


class AccessTokenOut(ApiModel):
    accessToken: str | None
    accessTokenExpiresAt: str | None
    scopes: list[str]
    idToken: str | None


class RefreshTokenOut(ApiModel):
    accessToken: str
    refreshToken: str | None
    accessTokenExpiresAt: str | None
    refreshTokenExpiresAt: str | None
    scope: str | None
    idToken: str | None
    providerId: str
    accountId: str


class AccountInfoOut(ApiModel):
    user: dict[str, Any]
    data: dict[str, Any]
    account: dict[str, Any]


class UpdateSessionOut(ApiModel):
    session: dict[str, Any]


class UpdateSessionBody(ApiModel):
    """better-auth's ``z.record(z.string(), z.any())``: the session's own input fields, by name."""

    model_config = ConfigDict(extra="allow")
