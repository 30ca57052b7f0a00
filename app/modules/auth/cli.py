"""``flask auth ...``: operator commands of the auth module.

``flask auth check`` is the bridge diagnostic: it inspects the configured app the way a request
would meet it (hooks, exclusions, cookies, per-request state, guards, Redis, and whether the
secret opens the stored keys and encrypted columns: ``secret_check.py``) and prints one
``PASS``/``FAIL`` line per check, exiting 1 on any failure, so a deployment pipeline can gate on it.
"""

from __future__ import annotations

import contextvars
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from flask.testing import FlaskClient

from app.core.identity import current
from app.core.proxies import unproxied
from app.core.redis import REDIS_ERRORS

auth_cli = AppGroup("auth", help="Auth module commands.")

#: Paths the bridge must skip however they are spelled, and paths it must never skip.
SKIPPED_VARIANTS = (
    "/api/v1/healthz",
    "//api/v1/healthz/",
    "/api/v1//healthz",
    "/api/v1/healthz?probe=1",
    "/api/v1/readyz/",
    "/api/v1/livez//",
    "/metrics/",
    "/api/v1/auth/get-session",
    "//api/v1/auth//sign-in/email/",
)
RESOLVED_VARIANTS = ("/api/v1/me", "/api/v1/me/", "//api/v1/me", "/api/v1/authx", "/api/v1/healthzz", "/")
#: What the bridge binds into the identity; an anonymous request must see every one of them empty.
IDENTITY_FIELDS = ("user", "session", "resolved", "api_key", "organization_id", "tenant")
ME_PATH = "/api/v1/me"
AUTH = "/api/v1/auth"


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One line of the report: the check's name, whether it passed, and why."""

    name: str
    passed: bool
    detail: str

    def line(self) -> str:
        return f"{'PASS' if self.passed else 'FAIL'} {self.name}: {self.detail}"


class CheckFailed(Exception):
    """Raised inside a check with the reason it failed."""


def check_bridge_registered(app: Flask) -> str:
    """Exactly one bridge: twice means every request resolves twice, zero means no identity at all."""
    state = app.extensions.get("auth")
    bridge = state.bridge if state is not None else None
    if bridge is None:
        raise CheckFailed('app.extensions["auth"].bridge is not set')
    count = app.before_request_funcs.get(None, []).count(bridge)
    if count != 1:
        raise CheckFailed(f"the bridge is in app.before_request_funcs[None] {count} times, expected 1")
    return 'app.extensions["auth"].bridge set, once in before_request_funcs[None]'


def check_exclusions() -> str:
    """The skip list must hold for every spelling of a path, or ``//api/v1/me`` would dodge nothing."""
    from app.modules.auth.bridge import is_skipped

    not_skipped = [p for p in SKIPPED_VARIANTS if not is_skipped(p)]
    wrongly_skipped = [p for p in RESOLVED_VARIANTS if is_skipped(p)]
    problems = []
    if not_skipped:
        problems.append(f"not skipped: {', '.join(not_skipped)}")
    if wrongly_skipped:
        problems.append(f"skipped but must resolve: {', '.join(wrongly_skipped)}")
    if problems:
        raise CheckFailed("; ".join(problems))
    return f"{len(SKIPPED_VARIANTS)} probe/auth spellings skipped, {len(RESOLVED_VARIANTS)} application paths resolved"


def _client_base(app: Flask) -> tuple[str, dict[str, str]]:
    """The base URL's origin: requests come from there, so the origin check and cookie flags apply."""
    parts = urlsplit(app.config["SETTINGS"].base_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    return origin, {"Origin": origin}


def _expect(response: Any, status: int, what: str) -> dict[str, Any]:
    if response.status_code != status:
        body = response.get_data(as_text=True)[:200]
        raise CheckFailed(f"{what} answered {response.status_code}, expected {status}: {body}")
    body_json: dict[str, Any] = response.get_json(silent=True) or {}
    return body_json


def _delete_user(app: Flask, email: str) -> None:
    """Remove the throwaway user, its sessions (cache entries marked stale first) and its accounts."""
    from sqlalchemy import delete, select

    from app.extensions import db
    from app.modules.auth.models import Account, User
    from app.modules.auth.sessions import revoke_user_sessions

    with app.app_context():
        try:
            user = db.session.scalar(select(User).where(User.email == email))
            if user is not None:
                revoke_user_sessions(user.id)
                db.session.execute(delete(Account).where(Account.user_id == user.id))
                db.session.delete(user)
                db.session.commit()
        finally:
            db.session.remove()


def _verify_email(app: Flask, email: str) -> None:
    from sqlalchemy import select

    from app.extensions import db
    from app.modules.auth.models import User

    with app.app_context():
        try:
            user = db.session.scalar(select(User).where(User.email == email))
            if user is None:
                raise CheckFailed("sign-up did not store the user")
            user.email_verified = True
            db.session.commit()
        finally:
            db.session.remove()


@contextmanager
def _signed_in(app: Flask) -> Iterator[tuple[FlaskClient, str, str, str]]:
    """A throwaway user signed up and in through the real routes: (client with its cookie, base,
    email, token). The user, its sessions and accounts are deleted on the way out."""
    base, origin = _client_base(app)
    email = f"auth-check-{secrets.token_hex(6)}@example.com"
    password = secrets.token_urlsafe(24)
    try:
        _expect(
            app.test_client().post(f"{AUTH}/sign-up/email", json={"name": "auth check", "email": email,
                                   "password": password}, headers=origin, base_url=base),
            200, "sign-up",
        )
        if app.config["SETTINGS"].auth.require_email_verification:
            _verify_email(app, email)  # sign-in refuses unverified addresses otherwise
        browser = app.test_client()
        signed_in = _expect(
            browser.post(f"{AUTH}/sign-in/email", json={"email": email, "password": password},
                         headers=origin, base_url=base),
            200, "sign-in",
        )
        yield browser, base, email, str(signed_in.get("token"))
    finally:
        _delete_user(app, email)


def check_cookie_round_trip(app: Flask) -> str:
    """Sign up and in for real, then read the session back through the cookie and the bridge."""
    with _signed_in(app) as (browser, base, email, token):
        session = _expect(browser.get(f"{AUTH}/get-session", base_url=base), 200, "get-session with the cookie")
        if (session.get("user") or {}).get("email") != email:
            raise CheckFailed("get-session with the sign-in cookie did not return the signed-in user")
        if (session.get("session") or {}).get("token") != token:
            raise CheckFailed("get-session returned another session than the one sign-in created")
        me = _expect(browser.get(ME_PATH, base_url=base), 200, f"{ME_PATH} with the cookie")
        if (me.get("user") or {}).get("email") != email:
            raise CheckFailed(f"{ME_PATH} with the cookie did not see the signed-in user")
    return f"sign-up, sign-in, get-session and {ME_PATH} agree on a throwaway user (deleted)"


def check_fresh_state(app: Flask) -> str:
    """A signed-in request then an anonymous one: the first's identity is released when it ends
    (``teardown_request``) and the second starts from an empty identity."""
    with _signed_in(app) as (browser, base, _email, _token):
        with browser:
            me = _expect(browser.get(ME_PATH, base_url=base), 200, f"{ME_PATH} signed in")
            if not (me.get("user") or {}).get("id"):
                raise CheckFailed("the signed-in request resolved no identity")
            if current().user is not None:
                raise CheckFailed("the signed-in request's identity outlived it (not released at teardown)")
        with app.test_client() as anonymous:
            _expect(anonymous.get(ME_PATH, base_url=base), 401, f"anonymous {ME_PATH}")
            identity = current()
            leaked = [name for name in IDENTITY_FIELDS if getattr(identity, name) is not None]
            if identity.permissions:
                leaked.append("permissions")
            if leaked:
                raise CheckFailed(f"the anonymous request after a signed-in one sees {', '.join(leaked)}")
    return "an anonymous request right after a signed-in one sees no identity (401, anonymous)"


def check_guards(app: Flask) -> str:
    """Without the auth policy the guards let everyone through: that must never pass unnoticed."""
    policy = app.extensions.get("access_policy")
    if policy is None:
        raise CheckFailed('app.extensions["access_policy"] is not set: the guards let every request through')
    methods = ("authenticate", "check_roles", "check_permissions")
    missing = [m for m in methods if not callable(getattr(policy, m, None))]
    if missing:
        raise CheckFailed(f"{type(policy).__name__} lacks {', '.join(missing)}")
    if type(policy).__name__ == "PassThroughPolicy":
        raise CheckFailed("the installed policy is the pass-through stand-in")
    return f"{type(policy).__name__} installed in app.extensions[\"access_policy\"]"


def check_redis(app: Flask) -> str:
    """Sessions, rate limits and counters are shared through Redis when it is configured."""
    url = app.config["SETTINGS"].redis_url
    if not url:
        return "not configured (sessions and counters in the database and this process)"
    client = app.extensions.get("redis")
    if client is None:
        raise CheckFailed('REDIS_URL is set but app.extensions["redis"] is missing')
    where = urlsplit(url)
    target = f"{where.hostname}:{where.port or 6379}{where.path or '/0'}"
    try:
        client.ping()
    except REDIS_ERRORS as error:  # any client error means unreachable
        raise CheckFailed(f"{target} unreachable: {error}") from None
    return f"{target} answers PING"


def _in_fresh_context(check: Callable[[Flask], str], app: Flask) -> str:
    """Run ``check`` with no app context active, as gunicorn serves a request.

    ``flask`` commands run inside an app context, and requests made inside one share its ``g``;
    an empty ``contextvars.Context`` gives each test-client request its own, as in production.
    """
    return contextvars.Context().run(check, app)


def _secret_opens(check: Callable[[Flask], str], app: Flask) -> str:
    from app.modules.auth.secret_check import SecretMismatch

    try:
        return check(app)
    except SecretMismatch as mismatch:
        raise CheckFailed(str(mismatch)) from None


def run_checks(app: Flask) -> list[CheckResult]:
    """Every check, in order; one failing does not stop the others."""
    from app.modules.auth.secret_check import check_encrypted_columns, check_signing_keys

    checks: list[tuple[str, Callable[[], str]]] = [
        ("bridge-registered", lambda: check_bridge_registered(app)),
        ("bridge-exclusions", check_exclusions),
        ("cookie-session-round-trip", lambda: _in_fresh_context(check_cookie_round_trip, app)),
        ("fresh-request-state", lambda: _in_fresh_context(check_fresh_state, app)),
        ("guards-installed", lambda: check_guards(app)),
        ("redis", lambda: check_redis(app)),
        ("jwks-keys", lambda: _secret_opens(check_signing_keys, app)),
        ("encrypted-columns", lambda: _secret_opens(check_encrypted_columns, app)),
    ]
    results = []
    for name, check in checks:
        try:
            results.append(CheckResult(name, True, check()))
        except CheckFailed as failure:
            results.append(CheckResult(name, False, str(failure)))
        except Exception as error:  # noqa: BLE001 - a crashing check is a failed check, with its reason
            results.append(CheckResult(name, False, f"{type(error).__name__}: {error}"))
    return results


@auth_cli.command("check")
def check_command() -> None:
    """Check the auth bridge of the configured app; exit status 1 when a check fails."""
    app: Flask = unproxied(current_app)
    results = run_checks(app)
    for result in results:
        click.echo(result.line())
    failed = sum(not r.passed for r in results)
    click.echo(f"auth check: {len(results) - failed} passed, {failed} failed")
    if failed:
        raise click.exceptions.Exit(1)
