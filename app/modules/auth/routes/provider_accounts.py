"""Linked provider accounts (better-auth ``routes/account``): unlink-account, get-access-token,
refresh-token and account-info.

The provider tokens stay encrypted at rest (``oidc/accounts.py``); they are decrypted only to answer
the account's own user, over a fresh (unlink) or present session. Codes and messages are
better-auth 1.7's: an account of a provider that is not configured (``credential``, or Keycloak
while federation is off) answers ``PROVIDER_NOT_SUPPORTED`` / ``PROVIDER_NOT_CONFIGURED``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from app.core.api import endpoint
from app.core.errors import ApiError
from app.extensions import db
from app.modules import audit_logger
from app.modules.auth import schemas as s
from app.modules.auth.crypto import symmetric_decrypt
from app.modules.auth.models import Account, utcnow
from app.modules.auth.routes.common import TAGS, bp, json_response, require_session, session_guard
from app.modules.auth.serializers import iso
from app.modules.auth.sessions import ResolvedSession, is_fresh


def _error(status: int, code: str, message: str) -> ApiError:
    return ApiError(status, code, message)


ACCOUNT_NOT_FOUND = ("ACCOUNT_NOT_FOUND", "Account not found")


def _secret() -> str:
    secret: str = current_app.config["SETTINGS"].auth.secret
    return secret


def _decrypt(value: str | None) -> str | None:
    return symmetric_decrypt(value, _secret()) if value else None


def _scopes(account: Account) -> list[str]:
    return [x for x in (account.scope or "").replace(" ", ",").split(",") if x]


def _account(resolved: ResolvedSession, account_id: str | None) -> Account:
    """The caller's account by its id; a stored account cookie is never used (storeAccountCookie off)."""
    row: Account | None = None
    if account_id is not None:
        row = db.session.scalar(select(Account).where(Account.user_id == resolved.user_id, Account.id == account_id))
    if row is None:
        raise _error(400, *ACCOUNT_NOT_FOUND)
    return row


def _federation(account: Account, code: str, message: str) -> Any:
    from app.modules.auth.oidc.federation import federation

    fed = federation()
    if fed is None or account.provider_id != fed.provider_id:
        raise _error(400, code, message)
    return fed


def _refresh(fed: Any, account: Account) -> dict[str, Any]:
    """Refresh with the provider, store the new tokens (encrypted) and return the token response."""
    from app.modules.auth.oidc.accounts import store_tokens
    from app.modules.auth.oidc.client import refresh_tokens

    refresh_token = _decrypt(account.refresh_token)
    if not refresh_token:
        raise _error(400, "REFRESH_TOKEN_NOT_FOUND", "Refresh token not found")
    token = refresh_tokens(fed.client, fed.metadata().token_endpoint, refresh_token)
    store_tokens(account, token, account.scope or "", _secret())
    db.session.commit()
    return token


def _valid_access_token(fed: Any, account: Account) -> dict[str, Any]:
    """better-auth's ``getValidAccessToken``: refreshed first when it expires within five seconds."""
    expires = account.access_token_expires_at
    if account.refresh_token and expires is not None and expires - utcnow() < timedelta(seconds=5):
        _refresh(fed, account)
    return {
        "accessToken": _decrypt(account.access_token),
        "accessTokenExpiresAt": iso(account.access_token_expires_at),
        "scopes": _scopes(account),
        "idToken": _decrypt(account.id_token),
    }


@bp.post("/unlink-account")
@endpoint(summary="Unlink one of the user's accounts (never the last one); needs a fresh session", tags=TAGS,
          body=s.UnlinkAccountBody, response=s.StatusResponse,
          responses={400: "Last account, or not found", 403: "Session not fresh"})
@session_guard
def unlink_account(body: s.UnlinkAccountBody) -> ResponseReturnValue:
    resolved = require_session()
    if not is_fresh(resolved):
        raise _error(403, "SESSION_NOT_FRESH", "Session is not fresh")
    accounts = db.session.scalars(select(Account).where(Account.user_id == resolved.user_id)).all()
    if len(accounts) == 1:  # better-auth's allowUnlinkingAll is off: a user keeps a way to sign in
        raise _error(400, "FAILED_TO_UNLINK_LAST_ACCOUNT", "You can't unlink your last account")
    found = next((a for a in accounts if a.id == body.account_id), None)
    if found is None:
        raise _error(400, *ACCOUNT_NOT_FOUND)
    db.session.delete(found)
    db.session.commit()
    audit_logger.log_async(actor_id=resolved.user_id, action="account.unlink", resource_type="account",
                           resource_id=found.id, details={"providerId": found.provider_id})
    return json_response({"status": True})


@bp.post("/get-access-token")
@endpoint(summary="A valid provider access token for one of the user's accounts (refreshed when due)",
          tags=TAGS, body=s.AccountSelection, response=s.AccessTokenOut,
          responses={400: "Account not found, provider not supported, refresh failed"})
@session_guard
def get_access_token(body: s.AccountSelection) -> ResponseReturnValue:
    resolved = require_session()
    account = _account(resolved, body.account_id)
    fed = _federation(account, "PROVIDER_NOT_SUPPORTED", f"Provider {account.provider_id} is not supported.")
    try:
        return json_response(_valid_access_token(fed, account))
    except ApiError:
        raise
    except Exception:  # noqa: BLE001 - as better-auth: any provider failure is one answer
        raise _error(400, "FAILED_TO_GET_ACCESS_TOKEN", "Failed to get a valid access token") from None


@bp.post("/refresh-token")
@endpoint(summary="Refresh one of the user's provider accounts with the provider (refresh grant)", tags=TAGS,
          body=s.AccountSelection, response=s.RefreshTokenOut,
          responses={400: "Account not found, provider not supported, no refresh token, refresh failed"})
@session_guard
def refresh_token(body: s.AccountSelection) -> ResponseReturnValue:
    resolved = require_session()
    account = _account(resolved, body.account_id)
    fed = _federation(account, "PROVIDER_NOT_SUPPORTED", f"Provider {account.provider_id} is not supported.")
    if not account.refresh_token:
        raise _error(400, "REFRESH_TOKEN_NOT_FOUND", "Refresh token not found")
    try:
        token = _refresh(fed, account)
    except ApiError:
        raise
    except Exception:  # noqa: BLE001 - as better-auth: any provider failure is one answer
        raise _error(400, "FAILED_TO_REFRESH_ACCESS_TOKEN", "Failed to refresh access token") from None
    return json_response({
        "accessToken": token["access_token"],
        "refreshToken": _decrypt(account.refresh_token),
        "accessTokenExpiresAt": iso(account.access_token_expires_at),
        "refreshTokenExpiresAt": iso(account.refresh_token_expires_at),
        "scope": account.scope,
        "idToken": _decrypt(account.id_token),
        "providerId": account.provider_id,
        "accountId": account.id,
    })


@bp.get("/account-info")
@endpoint(summary="The provider's view of the user (UserInfo) for one of the user's accounts", tags=TAGS,
          query=s.AccountSelection, response=s.AccountInfoOut,
          responses={400: "Account not found, provider not configured", 401: "No session, or no user info"})
@session_guard
def account_info(query: s.AccountSelection) -> ResponseReturnValue:
    from app.modules.auth.oidc.client import fetch_userinfo
    from app.modules.auth.oidc.profile import profile_from_claims

    resolved = require_session()
    account = _account(resolved, query.account_id)
    fed = _federation(
        account, "PROVIDER_NOT_CONFIGURED", "Account is not associated with a configured social provider."
    )
    try:
        tokens = _valid_access_token(fed, account)
    except ApiError:
        raise
    except Exception:  # noqa: BLE001 - as better-auth: any provider failure is one answer
        raise _error(400, "FAILED_TO_GET_ACCESS_TOKEN", "Failed to get a valid access token") from None
    if not tokens["accessToken"]:
        raise _error(400, "ACCESS_TOKEN_NOT_FOUND", "Access token not found")
    endpoint_url = fed.metadata().userinfo_endpoint
    try:
        claims = fetch_userinfo(endpoint_url, tokens["accessToken"]) if endpoint_url else None
    except Exception:  # noqa: BLE001 - an expired or revoked token, the provider away: no user info
        claims = None
    if not claims:
        raise _error(401, "FAILED_TO_GET_USER_INFO", "Failed to get user info")
    profile = profile_from_claims(claims)
    return json_response({
        "user": {"id": profile.subject, "name": profile.name, "email": profile.email, "image": profile.image,
                 "emailVerified": profile.email_verified},
        "data": claims,
        "account": {"id": account.id, "providerId": account.provider_id, "accountId": account.account_id},
    })
