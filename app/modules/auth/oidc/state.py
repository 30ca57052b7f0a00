"""The authorization request's state: CSRF protection and PKCE, bound to the browser, single-use.

- ``state`` (RFC 6749 §10.12, OAuth 2.0 Security BCP RFC 9700 §4.7): 32 random characters, sent to
  the provider and set in a signed ``better-auth.state`` cookie (5 minutes). The callback must
  bring back the same value in the query *and* in the cookie (compared in constant time), so a code
  injected into another browser (login CSRF) is refused.
- The server-side record (a ``verification`` row, 10 minutes, as better-auth) holds the PKCE
  ``code_verifier`` (RFC 7636 §4.1, 128 characters), the OIDC ``nonce`` and the redirect targets.
  Its identifier is the SHA-256 of the state, so a leaked table gives nothing to replay, and it is
  deleted when read (a conditional delete: of two racing callbacks only one wins), so every state
  works once.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import asdict, dataclass
from datetime import timedelta

from sqlalchemy import delete, select

from app.extensions import db, rows_matched
from app.modules.auth.crypto import generate_id, generate_random_string, hash_token
from app.modules.auth.models import Verification, utcnow

STATE_PREFIX = "auth-state:"
STATE_COOKIE = "state"
STATE_COOKIE_MAX_AGE = 300
STATE_EXPIRES_IN = 600


class StateError(Exception):
    """The callback's state is unusable; ``code`` is better-auth's error code, ``error_url`` where to go."""

    def __init__(self, code: str, error_url: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.error_url = error_url


@dataclass(frozen=True, slots=True)
class FlowState:
    """What the callback needs to finish the flow the sign-in started."""

    callback_url: str
    error_url: str | None
    new_user_url: str | None
    code_verifier: str
    nonce: str
    redirect_uri: str
    expires_at: float
    #: ``link-social``: the user the identity is to be linked to, their email, and the hash of the
    #: session that asked (the link is refused once that session is gone, as better-auth's).
    link_user_id: str | None = None
    link_email: str | None = None
    link_session: str | None = None


def _identifier(state: str) -> str:
    return STATE_PREFIX + hash_token(state)


def new_flow(
    *,
    callback_url: str,
    error_url: str | None,
    new_user_url: str | None,
    redirect_uri: str,
    link: tuple[str, str, str] | None = None,
) -> FlowState:
    """A new flow; ``link`` = (user id, email, session token hash) for ``link-social``."""
    now = utcnow()
    link_user_id, link_email, link_session = link or (None, None, None)
    return FlowState(
        link_user_id=link_user_id,
        link_email=link_email,
        link_session=link_session,
        callback_url=callback_url,
        error_url=error_url,
        new_user_url=new_user_url,
        code_verifier=generate_random_string(128),
        nonce=generate_random_string(32),
        redirect_uri=redirect_uri,
        expires_at=(now + timedelta(seconds=STATE_EXPIRES_IN)).timestamp(),
    )


def save_flow(flow: FlowState) -> str:
    """Store the flow (added, not committed) and return its fresh ``state`` value."""
    state = generate_random_string(32)
    now = utcnow()
    db.session.add(
        Verification(
            id=generate_id(),
            identifier=_identifier(state),
            value=json.dumps(asdict(flow), separators=(",", ":")),
            expires_at=now + timedelta(seconds=STATE_EXPIRES_IN),
            created_at=now,
            updated_at=now,
        )
    )
    return state


def consume_flow(state: str, cookie_state: str | None) -> FlowState:
    """Take the flow for ``state`` (deleting it, committed) and check the browser binding.

    Raises :class:`StateError` ``state_mismatch`` when the state is unknown, spent, expired, or not
    the one in this browser's cookie.
    """
    if not state or len(state) > 256:
        raise StateError("state_mismatch")
    identifier = _identifier(state)
    row = db.session.scalar(select(Verification).where(Verification.identifier == identifier))
    if row is None:
        raise StateError("state_mismatch")
    deleted = rows_matched(db.session.execute(delete(Verification).where(Verification.id == row.id)))
    db.session.commit()
    if deleted != 1:  # another request consumed it first
        raise StateError("state_mismatch")
    try:
        flow = FlowState(**json.loads(row.value))
    except (TypeError, ValueError):
        raise StateError("state_mismatch") from None
    if not cookie_state or not hmac.compare_digest(cookie_state.encode(), state.encode()):
        raise StateError("state_mismatch", flow.error_url)
    if row.expires_at <= utcnow() or flow.expires_at <= utcnow().timestamp():
        raise StateError("state_mismatch", flow.error_url)
    return flow
