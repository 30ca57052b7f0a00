"""Bodies and answers of the magic-link routes (better-auth ``magicLink`` 1.7)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from app.core.api import ApiModel
from app.modules.auth.schemas import Email, Name, SessionOut, Url, UserOut


class SignInMagicLinkBody(ApiModel):
    email: Email
    name: Name | None = None
    callback_url: Url | None = Field(default=None, alias="callbackURL")
    new_user_callback_url: Url | None = Field(default=None, alias="newUserCallbackURL")
    error_callback_url: Url | None = Field(default=None, alias="errorCallbackURL")
    #: better-auth hands it to ``sendMagicLink``; accepted and not used here.
    metadata: dict[str, Any] | None = None


class MagicLinkVerifyQuery(ApiModel):
    token: str = Field(max_length=256)
    callback_url: Url | None = Field(default=None, alias="callbackURL")
    new_user_callback_url: Url | None = Field(default=None, alias="newUserCallbackURL")
    error_callback_url: Url | None = Field(default=None, alias="errorCallbackURL")


class StatusOut(ApiModel):
    status: bool


class MagicLinkSessionOut(ApiModel):
    token: str
    user: UserOut
    session: SessionOut
