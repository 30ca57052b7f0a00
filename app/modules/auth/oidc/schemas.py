"""Request and response shapes of the OIDC routes (better-auth's, camelCase on the wire)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from app.core.api import ApiModel

Url = Annotated[str, Field(max_length=2048)]
Short = Annotated[str, Field(max_length=512)]


class _Redirects(ApiModel):
    callback_url: Url | None = Field(default=None, alias="callbackURL")
    error_callback_url: Url | None = Field(default=None, alias="errorCallbackURL")
    new_user_callback_url: Url | None = Field(default=None, alias="newUserCallbackURL")
    disable_redirect: bool = Field(default=False, alias="disableRedirect")


class SocialSignInBody(_Redirects):
    provider: Annotated[str, Field(min_length=1, max_length=64)]


class OAuth2SignInBody(_Redirects):
    """The pre-1.7 ``genericOAuthClient`` body."""

    provider_id: Annotated[str, Field(min_length=1, max_length=64)] = Field(alias="providerId")


class AuthorizationRedirect(ApiModel):
    url: str
    redirect: bool


class CallbackParams(ApiModel):
    """What the provider sends back (query, or form body with ``response_mode=form_post``)."""

    code: Short | None = None
    state: Short | None = None
    error: Short | None = None
    error_description: Short | None = None
    iss: Url | None = None
    session_state: Short | None = None
