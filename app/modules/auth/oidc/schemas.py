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


class IdTokenBody(ApiModel):
    token: Annotated[str, Field(max_length=8192)]
    nonce: Short | None = None
    access_token: Annotated[str | None, Field(max_length=8192)] = Field(default=None, alias="accessToken")
    refresh_token: Annotated[str | None, Field(max_length=8192)] = Field(default=None, alias="refreshToken")


class LinkSocialBody(_Redirects):
    """better-auth's ``/link-social`` body (``idToken`` linking is not offered here)."""

    provider: Annotated[str, Field(min_length=1, max_length=64)]
    scopes: list[Annotated[str, Field(max_length=255)]] | None = Field(default=None, max_length=50)
    id_token: IdTokenBody | None = Field(default=None, alias="idToken")
    request_sign_up: bool | None = Field(default=None, alias="requestSignUp")
    login_hint: Short | None = Field(default=None, alias="loginHint")


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
