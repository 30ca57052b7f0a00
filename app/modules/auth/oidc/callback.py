"""Finishing the authorization code flow: every check between the provider's redirect and a session.

In order (each failure redirects to ``errorCallbackURL?error=<code>`` with better-auth's codes, or to
the ``/error`` page when the state is unusable):

1. ``state``: known, unspent, unexpired, and the one in this browser's signed cookie (``state.py``,
   RFC 6749 §10.12) → ``state_not_found`` / ``state_mismatch``.
2. An ``error`` from the provider is passed on; no ``code`` → ``no_code``.
3. RFC 9207 §2.4: the ``iss`` parameter must be the provider's issuer (``issuer_mismatch``), and
   must be present when the provider advertises it (``issuer_missing``): defeats mix-up attacks.
4. The code is exchanged with the PKCE verifier (RFC 7636 §4.5) → ``invalid_code``.
5. The ID token is validated (OIDC Core §3.1.3.7, ``id_token.py``), UserInfo's ``sub`` must match
   the ID token's (Core §5.3.4) → ``unable_to_get_user_info``; no email → ``email_not_found``.
6. The user is found, linked or made (``accounts.py``) → ``account_not_linked``; banned → ``banned``.
7. Roles and memberships are synced, and the user's cached sessions invalidated when anything a
   session shows changed, before the commit (docs/architecture.md, "Caches never outlive the truth").
8. A new session replaces any presented one (session fixation, OWASP Session Management).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

from flask import Response, request
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.modules import audit_logger
from app.modules.auth.cookies import delete_cookie, read_signed_cookie, token_from_request
from app.modules.auth.crypto import hash_token
from app.modules.auth.oidc.accounts import AccountNotLinked, resolve_user, store_tokens
from app.modules.auth.oidc.client import TokenExchangeError, exchange_code, fetch_userinfo
from app.modules.auth.oidc.discovery import DiscoveryError, ProviderMetadata
from app.modules.auth.oidc.federation import Federation, federation
from app.modules.auth.oidc.id_token import IdTokenError, verify_id_token
from app.modules.auth.oidc.profile import group_paths, mapped_roles, profile_from_claims, realm_roles
from app.modules.auth.oidc.provisioning import candidate_slugs, existing_slugs, sync_memberships
from app.modules.auth.oidc.state import STATE_COOKIE, FlowState, StateError, consume_flow
from app.modules.auth.routes.common import settings, start_session, with_session_cookie
from app.modules.auth.sessions import invalidate_user, revoke_by_hash

log = logging.getLogger(__name__)

CALLBACK_FIELDS = ("code", "state", "error", "error_description", "iss", "session_state")
_MAX_PARAM = 2048


class CallbackError(Exception):
    """Ends the callback with a redirect to the error URL carrying ``code``."""

    def __init__(self, code: str, description: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.description = description


def redirect_to(url: str) -> Response:
    return Response(status=302, headers={"Location": url})


def _error_redirect(url: str, code: str, description: str | None = None) -> Response:
    params = {"error": code[:128]}
    if description:
        params["error_description"] = description[:256]
    sep = "&" if "?" in url else "?"
    response = redirect_to(f"{url}{sep}{urlencode(params)}")
    delete_cookie(response, STATE_COOKIE)
    return response


def _param(name: str) -> str | None:
    value = request.args.get(name)
    return value[:_MAX_PARAM] if value else None


def post_to_get(url: str) -> Response:
    """better-auth's answer to ``response_mode=form_post``: the same parameters, as a GET."""
    merged = {k: request.form[k] for k in CALLBACK_FIELDS if request.form.get(k)}
    merged.update({k: request.args[k] for k in CALLBACK_FIELDS if request.args.get(k)})
    return redirect_to(f"{url}?{urlencode(merged)}")


def _check_issuer(metadata: ProviderMetadata, iss: str | None) -> None:
    if iss is not None:
        if iss not in metadata.accepted_issuers:
            raise CallbackError("issuer_mismatch")
    elif metadata.iss_parameter_supported:
        raise CallbackError("issuer_missing")


def _claims(fed: Federation, metadata: ProviderMetadata, token: dict[str, Any], flow: FlowState) -> dict[str, Any]:
    id_token = token.get("id_token")
    if not isinstance(id_token, str):
        log.warning("OpenID provider sent no id_token")
        raise CallbackError("unable_to_get_user_info")
    try:
        claims = verify_id_token(
            id_token,
            keys=fed.jwks(metadata),
            issuers=metadata.accepted_issuers,
            client_id=fed.client.client_id,
            nonce=flow.nonce,
            algorithms=metadata.id_token_algs,
            access_token=token.get("access_token"),
        )
    except IdTokenError as error:
        log.warning("ID token refused: %s", error)
        raise CallbackError("unable_to_get_user_info") from None
    wants_roles = fed.map_roles or fed.map_groups or fed.provision_organizations
    lacks_roles = not realm_roles(claims) and not group_paths(claims)
    if metadata.userinfo_endpoint and (not claims.get("email") or (wants_roles and lacks_roles)):
        try:
            info = fetch_userinfo(metadata.userinfo_endpoint, str(token["access_token"]))
        except Exception as error:  # noqa: BLE001 - any failure: no trustworthy profile
            log.warning("UserInfo failed: %s", error)
            raise CallbackError("unable_to_get_user_info") from None
        if info.get("sub") != claims["sub"]:  # Core §5.3.4: else the response may be substituted
            log.warning("UserInfo sub does not match the ID token's")
            raise CallbackError("unable_to_get_user_info")
        claims = {**info, **claims}
    return claims


def _end_presented_session() -> None:
    token, _ = token_from_request(request)
    if token:
        revoke_by_hash([hash_token(token)])


def _sign_in(fed: Federation, flow: FlowState, token: dict[str, Any], claims: dict[str, Any]) -> Response:
    profile = profile_from_claims(claims)
    if not profile.email:
        raise CallbackError("email_not_found")
    try:
        resolved = resolve_user(profile)
    except AccountNotLinked:
        db.session.rollback()
        audit_logger.log_async(
            actor_id=None,
            action="auth.oidc.account_not_linked",
            resource_type="user",
            details={"provider": fed.provider_id, "email": profile.email},
        )
        raise CallbackError("account_not_linked") from None
    user = resolved.user
    if user.is_banned():
        db.session.rollback()
        raise CallbackError("banned")
    store_tokens(resolved.account, token, ",".join(fed.client.scopes), settings().auth.secret)
    before = (user.role, user.firstname, user.lastname, user.email_verified)
    if profile.firstname:
        user.firstname = profile.firstname
    if profile.lastname:
        user.lastname = profile.lastname
    org_slugs: frozenset[str] = frozenset()
    if fed.provision_organizations:
        org_slugs = existing_slugs(candidate_slugs(claims))
    role = mapped_roles(claims, map_roles=fed.map_roles, map_groups=fed.map_groups, org_slugs=org_slugs)
    if role is not None:
        user.role = role
    memberships = sync_memberships(user.id, claims, fed.provider_id) if fed.provision_organizations else []
    changed = before != (user.role, user.firstname, user.lastname, user.email_verified) or bool(memberships)
    if changed and not resolved.is_new_user:
        invalidate_user(user.id)
    _end_presented_session()
    session_token, _ = start_session(user, dont_remember=False)
    try:
        db.session.commit()
    except IntegrityError:  # a concurrent first sign-in of the same identity won the race
        db.session.rollback()
        raise CallbackError("unable_to_link_account") from None
    _audit(fed, resolved.is_new_user, resolved.linked, user.id, before[0], user.role, memberships)
    target = (flow.new_user_url or flow.callback_url) if resolved.is_new_user else flow.callback_url
    response = redirect_to(target)
    delete_cookie(response, STATE_COOKIE)
    return with_session_cookie(response, session_token, dont_remember=False)


def _audit(
    fed: Federation,
    is_new: bool,
    linked: bool,
    user_id: str,
    old_role: str | None,
    role: str | None,
    memberships: list[dict[str, str]],
) -> None:
    details = {"provider": fed.provider_id}
    if is_new:
        audit_logger.log_async(
            actor_id=user_id, action="user.sign_up", resource_type="user", resource_id=user_id, details=details
        )
    if linked:
        audit_logger.log_async(
            actor_id=user_id, action="account.link", resource_type="user", resource_id=user_id, details=details
        )
    if not is_new and old_role != role:
        audit_logger.log_async(
            actor_id=user_id,
            action="user.role_sync",
            resource_type="user",
            resource_id=user_id,
            details={**details, "from": old_role or "", "to": role or ""},
        )
    for change in memberships:
        audit_logger.log_async(
            actor_id=user_id,
            action="member.provisioned",
            resource_type="organization",
            resource_id=change["organizationId"],
            details={**details, "role": change["role"], "change": change["change"]},
        )
    audit_logger.log_async(
        actor_id=user_id, action="auth.sign_in", resource_type="user", resource_id=user_id, details=details
    )


def _finish(fed: Federation | None, provider_id: str, flow: FlowState) -> Response:
    error = _param("error")
    if error:
        raise CallbackError(error, _param("error_description"))
    code = _param("code")
    if not code:
        raise CallbackError("no_code")
    if fed is None or provider_id != fed.provider_id:
        raise CallbackError("oauth_provider_not_found")
    try:
        metadata = fed.metadata()
    except DiscoveryError as failure:
        log.error("OpenID provider discovery failed: %s", failure)
        raise CallbackError("internal_server_error") from None
    _check_issuer(metadata, _param("iss"))
    try:
        token = exchange_code(
            fed.client,
            metadata.token_endpoint,
            code=code,
            code_verifier=flow.code_verifier,
            redirect_uri=flow.redirect_uri,
        )
    except TokenExchangeError as failure:
        log.warning("code exchange refused: %s", failure)
        raise CallbackError("invalid_code") from None
    claims = _claims(fed, metadata, token, flow)
    if flow.link_user_id is not None:
        from app.modules.auth.oidc.link import link_account

        response = link_account(fed, flow, token, claims)
        delete_cookie(response, STATE_COOKIE)
        return response
    return _sign_in(fed, flow, token, claims)


def finish_callback(provider_id: str) -> Response:
    """The whole callback: a redirect to where the flow asked, with a session, or to the error URL."""
    default_error_url = f"{settings().base_url}/api/v1/auth/error"
    state = _param("state")
    if not state:
        return _error_redirect(default_error_url, "state_not_found")
    try:
        flow = consume_flow(state, read_signed_cookie(request, STATE_COOKIE))
    except StateError as failure:
        log.warning("OAuth state refused: %s", failure.code)
        return _error_redirect(failure.error_url or default_error_url, failure.code)
    try:
        return _finish(federation(), provider_id, flow)
    except CallbackError as failure:
        return _error_redirect(flow.error_url or default_error_url, failure.code, failure.description)
