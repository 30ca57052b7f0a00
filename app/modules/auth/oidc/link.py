"""The callback of a ``link-social`` flow: the provider's identity becomes an account of the user
who asked (better-auth ``oauth2/link-account``), and no new session is made.

Refused, with better-auth's error codes on the error URL:

- ``unable_to_link_account``: the session that started the link is gone (signed out, revoked), or
  the provider does not vouch for the email (Keycloak is no ``trustedProviders`` entry, so an
  unverified email cannot link: OWASP Authentication Cheat Sheet, account-linking takeovers);
- ``email_does_not_match``: the identity's email is not the user's (``allowDifferentEmails`` off);
- ``account_already_linked_to_different_user``: the identity belongs to someone else.

Linking the identity the user already has refreshes its tokens (stored encrypted).
"""

from __future__ import annotations

from typing import Any

from flask import Response
from sqlalchemy import select

from app.extensions import db
from app.modules import audit_logger
from app.modules.auth.models import Account, Session, utcnow
from app.modules.auth.oidc.accounts import PROVIDER_ID, new_account, store_tokens
from app.modules.auth.oidc.callback import CallbackError, redirect_to
from app.modules.auth.oidc.federation import Federation
from app.modules.auth.oidc.profile import profile_from_claims
from app.modules.auth.oidc.state import FlowState
from app.modules.auth.routes.common import settings


def _session_live(flow: FlowState) -> bool:
    row = db.session.scalar(select(Session).where(Session.token == flow.link_session))
    return row is not None and row.user_id == flow.link_user_id and row.expires_at > utcnow()


def link_account(fed: Federation, flow: FlowState, token: dict[str, Any], claims: dict[str, Any]) -> Response:
    """Link (or refresh) the identity for ``flow.link_user_id``; a redirect to the callback URL."""
    assert flow.link_user_id is not None and flow.link_email is not None
    profile = profile_from_claims(claims)
    if not _session_live(flow) or not profile.email_verified:
        raise CallbackError("unable_to_link_account")
    if (profile.email or "").lower() != flow.link_email.lower():
        raise CallbackError("email_does_not_match")
    account = db.session.scalar(
        select(Account).where(Account.provider_id == PROVIDER_ID, Account.account_id == profile.subject)
    )
    if account is not None and account.user_id != flow.link_user_id:
        raise CallbackError("account_already_linked_to_different_user")
    created = account is None
    if account is None:
        account = new_account(flow.link_user_id, profile.subject)
    store_tokens(account, token, ",".join(fed.client.scopes), settings().auth.secret)
    db.session.commit()
    if created:
        audit_logger.log_async(
            actor_id=flow.link_user_id, action="account.link", resource_type="user",
            resource_id=flow.link_user_id, details={"provider": fed.provider_id},
        )
    return redirect_to(flow.callback_url)
