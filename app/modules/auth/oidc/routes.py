"""The OIDC sign-in routes, on better-auth's paths (reference §14).

- ``POST /sign-in/social {provider}`` (1.7) and ``POST /sign-in/oauth2 {providerId}`` (before 1.7)
  answer ``{url, redirect}`` with ``Location`` and the signed ``state`` cookie.
- ``GET|POST /callback/<id>`` and ``/oauth2/callback/<id>`` finish the flow (``callback.py``).

Redirect targets (``callbackURL``, ``errorCallbackURL``, ``newUserCallbackURL``) must be relative
or on a trusted origin (OWASP Unvalidated Redirects and Forwards), checked before anything is
stored, as better-auth's origin middleware does.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from flask import request
from flask.typing import ResponseReturnValue

from app.core.api import endpoint
from app.core.errors import ApiError
from app.extensions import db
from app.modules.auth.cookies import set_signed_cookie
from app.modules.auth.oidc import schemas as s
from app.modules.auth.oidc.callback import finish_callback, post_to_get
from app.modules.auth.oidc.client import authorization_url
from app.modules.auth.oidc.discovery import DiscoveryError
from app.modules.auth.oidc.federation import federation
from app.modules.auth.oidc.state import STATE_COOKIE, STATE_COOKIE_MAX_AGE, new_flow, save_flow
from app.modules.auth.routes.common import bp, json_response, require_session, session_guard, settings
from app.modules.auth.state import auth_state

log = logging.getLogger(__name__)

TAGS = ["Auth: OpenID Connect"]
CALLBACK_PATH = "/callback/{id}"
LEGACY_CALLBACK_PATH = "/oauth2/callback/{id}"


def _check(url: str | None, code: str) -> None:
    auth_state().check_redirect(url, code)


def _start(
    provider_id: str,
    body: s.SocialSignInBody | s.OAuth2SignInBody | s.LinkSocialBody,
    callback_path: str,
    link: tuple[str, str, str] | None = None,
) -> ResponseReturnValue:
    _check(body.callback_url, "INVALID_CALLBACK_URL")
    _check(body.error_callback_url, "INVALID_ERROR_CALLBACK_URL")
    _check(body.new_user_callback_url, "INVALID_NEW_USER_CALLBACK_URL")
    fed = federation()
    if fed is None or provider_id != fed.provider_id:
        raise ApiError(404, "PROVIDER_NOT_FOUND", "Provider not found")
    if isinstance(body, s.LinkSocialBody) and body.id_token is not None:
        raise ApiError(404, "ID_TOKEN_NOT_SUPPORTED", "id_token not supported")
    try:
        metadata = fed.metadata()
    except DiscoveryError as error:
        log.error("OpenID provider discovery failed: %s", error)
        raise ApiError(503, "PROVIDER_UNAVAILABLE", "The identity provider cannot be reached") from None
    base = settings().base_url
    flow = new_flow(
        callback_url=body.callback_url or base,
        error_url=body.error_callback_url,
        new_user_url=body.new_user_callback_url,
        redirect_uri=f"{base}/api/v1/auth{callback_path.format(id=provider_id)}",
        link=link,
    )
    state = save_flow(flow)
    db.session.commit()
    client = fed.client
    if isinstance(body, s.LinkSocialBody) and body.scopes:  # more scopes for the link, as better-auth's
        client = replace(client, scopes=tuple(dict.fromkeys([*client.scopes, *body.scopes])))
    url = authorization_url(
        client,
        metadata.authorization_endpoint,
        redirect_uri=flow.redirect_uri,
        state=state,
        code_verifier=flow.code_verifier,
        nonce=flow.nonce,
    )
    response = json_response({"url": url, "redirect": not body.disable_redirect})
    if not body.disable_redirect:
        response.headers["Location"] = url
    set_signed_cookie(response, STATE_COOKIE, state, STATE_COOKIE_MAX_AGE)
    return response


@bp.post("/sign-in/social")
@endpoint(
    summary="Start a sign-in with the OpenID provider (Keycloak): the authorize URL",
    tags=TAGS,
    body=s.SocialSignInBody,
    response=s.AuthorizationRedirect,
    responses={403: "Untrusted callback URL", 404: "Unknown provider", 503: "Provider unreachable"},
)
def sign_in_social(body: s.SocialSignInBody) -> ResponseReturnValue:
    return _start(body.provider, body, CALLBACK_PATH)


@bp.post("/link-social")
@endpoint(
    summary="Link the signed-in user to an identity at the OpenID provider: the authorize URL",
    tags=TAGS,
    body=s.LinkSocialBody,
    response=s.AuthorizationRedirect,
    responses={403: "Untrusted callback URL", 404: "Unknown provider", 503: "Provider unreachable"},
)
@session_guard
def link_social(body: s.LinkSocialBody) -> ResponseReturnValue:
    resolved = require_session()
    link = (resolved.user_id, str(resolved.user["email"]), resolved.token_hash)
    return _start(body.provider, body, CALLBACK_PATH, link)


@bp.post("/sign-in/oauth2")
@endpoint(
    summary="Start a sign-in with the OpenID provider (before better-auth 1.7: genericOAuth)",
    tags=TAGS,
    body=s.OAuth2SignInBody,
    response=s.AuthorizationRedirect,
    responses={403: "Untrusted callback URL", 404: "Unknown provider", 503: "Provider unreachable"},
)
def sign_in_oauth2(body: s.OAuth2SignInBody) -> ResponseReturnValue:
    return _start(body.provider_id, body, LEGACY_CALLBACK_PATH)


def _callback(provider_id: str, path: str) -> ResponseReturnValue:
    if request.method == "POST":  # form_post: come back as a GET, so the Lax state cookie is sent
        return post_to_get(f"{settings().base_url}/api/v1/auth{path.format(id=provider_id)}")
    return finish_callback(provider_id)


@bp.route("/callback/<provider_id>", methods=["GET", "POST"])
@endpoint(
    summary="The provider's redirect back: finishes the sign-in, then redirects to callbackURL",
    tags=TAGS,
    query=s.CallbackParams,
    response=None,
    responses={302: "To callbackURL (or newUserCallbackURL), or errorCallbackURL?error=<code>"},
)
def callback(provider_id: str, query: s.CallbackParams) -> ResponseReturnValue:
    return _callback(provider_id, CALLBACK_PATH)


@bp.route("/oauth2/callback/<provider_id>", methods=["GET", "POST"])
@endpoint(
    summary="The provider's redirect back (before better-auth 1.7: genericOAuth)",
    tags=TAGS,
    query=s.CallbackParams,
    response=None,
    responses={302: "To callbackURL (or newUserCallbackURL), or errorCallbackURL?error=<code>"},
)
def legacy_callback(provider_id: str, query: s.CallbackParams) -> ResponseReturnValue:
    return _callback(provider_id, LEGACY_CALLBACK_PATH)
