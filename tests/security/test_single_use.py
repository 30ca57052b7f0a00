"""Single-use secrets are consumed atomically: of N concurrent requests with one secret, one wins.

Each test fires real concurrent HTTP requests (threads, each with its own connection) at a served
app (``tests/live_server.py``, werkzeug's threaded server) on the configured database: run with
``TEST_BACKEND=postgres`` for PostgreSQL, where requests really run in parallel transactions.
Found by review: 8 parallel ``POST /reset-password`` with one token answered 8 x 200 and wrote 8
``user.password_reset`` audit entries; an older reset token still worked after a newer one (or a
password change) had been used.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from sqlalchemy import func, select

from app.extensions import db
from tests.auth.helpers import PASSWORD
from tests.live_server import LiveServer
from tests.live_server import make_live_server as make_live_server  # the fixture

pytestmark = pytest.mark.modules("audit", "tenant")

N = 8


def race(n: int, call: Callable[[int], requests.Response]) -> list[requests.Response]:
    """``call(i)`` from ``n`` threads released at once; every answer, in thread order."""
    barrier = threading.Barrier(n)
    answers: list[Any] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            answers[i] = call(i)
        except Exception as error:  # noqa: BLE001 - recorded and asserted below
            answers[i] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(isinstance(a, requests.Response) for a in answers), answers
    return answers


def browser(server: LiveServer) -> requests.Session:
    session = requests.Session()
    session.headers["Origin"] = server.url
    return session


def sign_up(server: LiveServer, email: str) -> requests.Session:
    client = browser(server)
    answer = client.post(f"{server.auth_url}/sign-up/email", json={"name": "A", "email": email, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return client


def audit_count(server: LiveServer, action: str) -> int:
    from app.modules.audit.models import AuditLog

    logger = server.app.extensions["audit_logger"]
    assert logger.flush(10)
    with server.app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == action)) or 0)


def reset_token(server: LiveServer, email: str, count: int = 1) -> str:
    """Request a reset link and return the token of the ``count``-th mail to ``email``."""
    from tests.auth.helpers import read_outbox

    answer = browser(server).post(f"{server.auth_url}/request-password-reset", json={"email": email})
    assert answer.status_code == 200
    mails = read_outbox(str(server.outbox), email, count=count)
    assert len(mails) == count
    return urlparse(mails[-1]["url"]).path.rsplit("/", 1)[1]


@pytest.fixture
def server(make_live_server: Any) -> LiveServer:
    live: LiveServer = make_live_server(MODULES__AUDIT="true", MODULES__TENANT="true")
    return live


def test_one_reset_token_resets_once_under_concurrency(server: LiveServer) -> None:
    sign_up(server, "ada@example.com")
    token = reset_token(server, "ada@example.com")

    answers = race(
        N,
        lambda i: browser(server).post(
            f"{server.auth_url}/reset-password", json={"token": token, "newPassword": f"new password {i}"}
        ),
    )

    won = [i for i, a in enumerate(answers) if a.status_code == 200]
    assert len(won) == 1, [(a.status_code, a.text) for a in answers]
    assert all(a.status_code == 400 and a.json()["code"] == "INVALID_TOKEN" for a in answers if a.status_code != 200)
    assert audit_count(server, "user.password_reset") == 1
    # The winner's password is the one that counts.
    signed_in = browser(server).post(
        f"{server.auth_url}/sign-in/email", json={"email": "ada@example.com", "password": f"new password {won[0]}"}
    )
    assert signed_in.status_code == 200


def test_a_reset_kills_every_older_reset_token(server: LiveServer) -> None:
    sign_up(server, "ada@example.com")
    older = reset_token(server, "ada@example.com")
    newer = reset_token(server, "ada@example.com", count=2)
    assert older != newer
    used = browser(server).post(f"{server.auth_url}/reset-password", json={"token": newer, "newPassword": "p" * 12})
    assert used.status_code == 200

    replay = browser(server).post(f"{server.auth_url}/reset-password", json={"token": older, "newPassword": "q" * 12})

    assert replay.status_code == 400 and replay.json()["code"] == "INVALID_TOKEN"


def test_a_password_change_kills_outstanding_reset_tokens(server: LiveServer) -> None:
    client = sign_up(server, "ada@example.com")
    token = reset_token(server, "ada@example.com")
    changed = client.post(
        f"{server.auth_url}/change-password", json={"currentPassword": PASSWORD, "newPassword": "p" * 12}
    )
    assert changed.status_code == 200

    replay = browser(server).post(f"{server.auth_url}/reset-password", json={"token": token, "newPassword": "q" * 12})

    assert replay.status_code == 400 and replay.json()["code"] == "INVALID_TOKEN"


def test_one_change_email_link_changes_once_under_concurrency(server: LiveServer) -> None:
    from tests.auth.helpers import read_outbox

    client = sign_up(server, "ada@example.com")
    assert client.post(f"{server.auth_url}/change-email", json={"newEmail": "new@example.com"}).status_code == 200
    (mail,) = read_outbox(str(server.outbox), "new@example.com")
    link = urlparse(mail["url"])
    url = f"{server.url}{link.path}?token={parse_qs(link.query)['token'][0]}"

    answers = race(N, lambda i: browser(server).get(url, allow_redirects=False))

    assert sum(a.status_code == 200 for a in answers) == 1, [(a.status_code, a.text) for a in answers]
    assert audit_count(server, "user.email_change") == 1


def test_an_email_change_kills_verification_links_of_the_old_address(server: LiveServer) -> None:
    from tests.auth.helpers import read_outbox

    client = sign_up(server, "ada@example.com")
    sent = client.post(f"{server.auth_url}/send-verification-email", json={"email": "ada@example.com"})
    assert sent.status_code == 200
    (old_link,) = read_outbox(str(server.outbox), "ada@example.com")
    assert client.post(f"{server.auth_url}/change-email", json={"newEmail": "new@example.com"}).status_code == 200
    (change,) = read_outbox(str(server.outbox), "new@example.com")
    change_url = urlparse(change["url"])
    assert client.get(f"{server.url}{change_url.path}?{change_url.query}", allow_redirects=False).status_code == 302

    old = urlparse(old_link["url"])
    replay = browser(server).get(f"{server.url}{old.path}?token={parse_qs(old.query)['token'][0]}")

    assert replay.status_code == 401 and replay.json()["code"] == "USER_NOT_FOUND"


def test_one_invitation_is_accepted_once_under_concurrency(server: LiveServer) -> None:
    owner = sign_up(server, "owner@example.com")
    org = owner.post(f"{server.auth_url}/organization/create", json={"name": "Acme", "slug": "acme"}).json()["id"]
    invited = owner.post(
        f"{server.auth_url}/organization/invite-member",
        json={"email": "guest@example.com", "role": "member", "organizationId": org},
    ).json()["id"]
    guests = [sign_up(server, "guest@example.com")]
    from tests.auth.helpers import verify_email

    verify_email(server.app, "guest@example.com")
    guests += [browser(server) for _ in range(N - 1)]
    for guest in guests[1:]:
        guest.cookies.update(guests[0].cookies)

    answers = race(
        N,
        lambda i: guests[i].post(f"{server.auth_url}/organization/accept-invitation", json={"invitationId": invited}),
    )

    assert sum(a.status_code == 200 for a in answers) == 1, [(a.status_code, a.text) for a in answers]
    assert audit_count(server, "organization.join") == 1


def test_an_accepted_invitation_cannot_be_rejected_afterwards(server: LiveServer) -> None:
    owner = sign_up(server, "owner@example.com")
    org = owner.post(f"{server.auth_url}/organization/create", json={"name": "Acme", "slug": "acme"}).json()["id"]
    invited = owner.post(
        f"{server.auth_url}/organization/invite-member",
        json={"email": "guest@example.com", "role": "member", "organizationId": org},
    ).json()["id"]
    guest = sign_up(server, "guest@example.com")
    from tests.auth.helpers import verify_email

    verify_email(server.app, "guest@example.com")
    accept = guest.post(f"{server.auth_url}/organization/accept-invitation", json={"invitationId": invited})
    assert accept.status_code == 200

    rejected = guest.post(f"{server.auth_url}/organization/reject-invitation", json={"invitationId": invited})

    assert rejected.status_code == 400 and rejected.json()["code"] == "INVITATION_NOT_FOUND"


def test_one_oauth_state_is_consumed_once_under_concurrency(server: LiveServer) -> None:
    from app.modules.auth.oidc.state import StateError, consume_flow, new_flow, save_flow

    app = server.app
    with app.app_context():
        state = save_flow(new_flow(callback_url="/", error_url=None, new_user_url=None, redirect_uri="/cb"))
        db.session.commit()
    barrier = threading.Barrier(N)
    won: list[int] = []

    def run(i: int) -> None:
        with app.app_context():
            barrier.wait()
            try:
                consume_flow(state, state)
                won.append(i)
            except StateError:
                pass
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(N)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(won) == 1


def _two_factor_user(server: LiveServer, email: str) -> tuple[requests.Session, bytes]:
    from tests.auth.test_two_factor import code, key_of

    client = sign_up(server, email)
    started = client.post(f"{server.auth_url}/two-factor/enable", json={"password": PASSWORD})
    key = key_of(started.json()["totpURI"])
    assert client.post(f"{server.auth_url}/two-factor/verify-totp", json={"code": code(key)}).status_code == 200
    return client, key


def _challenged(server: LiveServer, email: str, cookies: Any = None) -> requests.Session:
    client = browser(server)
    if cookies is not None:
        client.cookies.update(cookies)
    answer = client.post(f"{server.auth_url}/sign-in/email", json={"email": email, "password": PASSWORD})
    assert answer.json().get("twoFactorRedirect") is True, answer.text
    return client


def test_one_two_factor_challenge_signs_in_once_under_concurrency(server: LiveServer) -> None:
    _, key = _two_factor_user(server, "ada@example.com")
    challenged = _challenged(server, "ada@example.com")
    copies = [browser(server) for _ in range(N)]
    for copy in copies:
        copy.cookies.update(challenged.cookies)
    with server.app.app_context():
        from app.modules.auth.two_factor.models import TwoFactor

        db.session.execute(db.update(TwoFactor).values(last_used_step=None))  # the enabling code may be reused
        db.session.commit()
    from tests.auth.test_two_factor import code

    totp = code(key)
    answers = race(N, lambda i: copies[i].post(f"{server.auth_url}/two-factor/verify-totp", json={"code": totp}))

    assert sum(a.status_code == 200 for a in answers) == 1, [(a.status_code, a.text) for a in answers]


def test_one_trusted_device_cookie_passes_once_under_concurrency(server: LiveServer) -> None:
    from tests.auth.test_two_factor import code

    _, key = _two_factor_user(server, "ada@example.com")
    challenged = _challenged(server, "ada@example.com")
    with server.app.app_context():
        from app.modules.auth.two_factor.models import TwoFactor

        db.session.execute(db.update(TwoFactor).values(last_used_step=None))
        db.session.commit()
    trusted = challenged.post(
        f"{server.auth_url}/two-factor/verify-totp", json={"code": code(key), "trustDevice": True}
    )
    assert trusted.status_code == 200, trusted.text
    trust_cookie = {"better-auth.trust_device": challenged.cookies["better-auth.trust_device"]}
    copies = [browser(server) for _ in range(N)]
    for copy in copies:
        copy.cookies.update(trust_cookie)

    answers = race(
        N,
        lambda i: copies[i].post(
            f"{server.auth_url}/sign-in/email", json={"email": "ada@example.com", "password": PASSWORD}
        ),
    )

    through = [a for a in answers if a.status_code == 200 and "token" in a.json()]
    assert len(through) == 1, [a.text for a in answers]
