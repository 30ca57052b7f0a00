"""Magic links through the real mailer and SMTP: better-auth's ``magicLink`` routes, single use,
expiry, trusted redirects only, same answer for every address, limits per client and address."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs, urlsplit

from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.modules.auth.models import User, Verification
from tests.auth.helpers import ORIGIN, bearer, sign_up
from tests.live_server import bound_server, serve
from tests.passwordless.conftest import SmtpApp, link_in, text_of

ON = {"AUTH__MAGIC_LINK__ENABLED": "true", "AUTH__TRUSTED_ORIGINS": "https://app.example.com"}
EMAIL = "link@example.com"


def ask(client: Any, email: str = EMAIL, **extra: Any) -> Any:
    return client.post("/api/v1/auth/sign-in/magic-link", json={"email": email, **extra}, headers=ORIGIN)


def path_of(link: str) -> str:
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}"


def test_routes_answer_404_while_the_plugin_is_off(smtp_app: SmtpApp) -> None:
    app, _ = smtp_app()
    assert ask(app.test_client()).status_code == 404
    assert app.test_client().get("/api/v1/auth/magic-link/verify?token=x").status_code == 404


def test_a_link_signs_up_once_and_redirects_to_the_callback(smtp_app: SmtpApp) -> None:
    app, box = smtp_app(**ON)
    client = app.test_client()
    response = ask(client, name="Linda", callbackURL="/dashboard", newUserCallbackURL="/welcome")
    assert (response.status_code, response.json) == (200, {"status": True})
    mail = box.wait(EMAIL)
    assert mail["Subject"] == "Sign in to SaaS foundation" and "expires in 5 minutes" in text_of(mail)
    link = link_in(mail)
    query = parse_qs(urlsplit(link).query)
    assert link.startswith("http://localhost/api/v1/auth/magic-link/verify?")
    assert query["callbackURL"] == ["/dashboard"] and query["newUserCallbackURL"] == ["/welcome"]
    token = query["token"][0]
    assert len(token) == 32 and token.isalpha()
    with app.app_context():  # only the hash is kept
        row = db.session.scalar(select(Verification).where(Verification.identifier.like("magic-link:%")))
        assert row is not None and token not in row.identifier and token not in row.value

    browser = app.test_client()
    first = browser.get(path_of(link))
    assert first.status_code == 302 and first.headers["Location"] == "http://localhost/welcome"
    assert "better-auth.session_token=" in first.headers["Set-Cookie"]
    session = browser.get("/api/v1/auth/get-session").json
    assert session["user"]["email"] == EMAIL and session["user"]["name"] == "Linda"
    assert session["user"]["emailVerified"] is True

    second = app.test_client().get(path_of(link))
    assert second.status_code == 302
    assert second.headers["Location"] == "http://localhost/dashboard?error=INVALID_TOKEN"
    assert "Set-Cookie" not in second.headers


def test_a_known_user_lands_on_the_callback_and_json_without_one(smtp_app: SmtpApp) -> None:
    app, box = smtp_app(**ON)
    sign_up(app.test_client(), EMAIL)
    ask(app.test_client(), callbackURL="https://app.example.com/home", newUserCallbackURL="/welcome")
    first = app.test_client().get(path_of(link_in(box.wait(EMAIL))))
    assert first.headers["Location"] == "https://app.example.com/home"

    ask(app.test_client())
    link = link_in(box.wait(EMAIL, count=2))
    token = parse_qs(urlsplit(link).query)["token"][0]
    answer = app.test_client().get(f"/api/v1/auth/magic-link/verify?token={token}")
    assert answer.status_code == 200
    assert set(answer.json) == {"token", "user", "session"}
    assert answer.json["session"]["token"] == answer.json["token"]
    who = app.test_client().get("/api/v1/auth/get-session", headers=bearer(answer.json["token"])).json
    assert who["user"]["email"] == EMAIL


def test_expired_links_are_refused(smtp_app: SmtpApp) -> None:
    app, box = smtp_app(AUTH__MAGIC_LINK__EXPIRES_IN="1", **ON)
    ask(app.test_client(), callbackURL="/in", errorCallbackURL="/oops?from=link")
    link = link_in(box.wait(EMAIL))
    time.sleep(1.2)
    answer = app.test_client().get(path_of(link))
    assert answer.status_code == 302
    assert answer.headers["Location"] == "http://localhost/oops?from=link&error=INVALID_TOKEN"
    with app.app_context():
        assert db.session.scalar(select(User)) is None


def test_untrusted_redirects_are_refused_at_both_ends(smtp_app: SmtpApp) -> None:
    app, box = smtp_app(**ON)
    client = app.test_client()
    for field, code in (
        ("callbackURL", "INVALID_CALLBACK_URL"),
        ("newUserCallbackURL", "INVALID_NEW_USER_CALLBACK_URL"),
        ("errorCallbackURL", "INVALID_ERROR_CALLBACK_URL"),
    ):
        for url in ("https://evil.example.net/x", "//evil.example.net", "javascript:alert(1)", "https://good@evil.net"):
            response = ask(client, **{field: url})
            assert (response.status_code, response.json["code"]) == (403, code), (field, url)
    box.settle()
    assert box.to(EMAIL) == []
    # A genuine token with a forged callback in the link is refused before it is used.
    ask(client)
    link = link_in(box.wait(EMAIL))
    token = parse_qs(urlsplit(link).query)["token"][0]
    forged = app.test_client().get(f"/api/v1/auth/magic-link/verify?token={token}&callbackURL=https://evil.net/")
    assert (forged.status_code, forged.json["code"]) == (403, "INVALID_CALLBACK_URL")
    assert app.test_client().get(path_of(link)).status_code == 302


def test_same_answer_for_every_address_and_no_sign_up_when_disabled(smtp_app: SmtpApp) -> None:
    app, box = smtp_app(AUTH__MAGIC_LINK__DISABLE_SIGN_UP="true", **ON)
    sign_up(app.test_client(), "known@example.com")
    known = ask(app.test_client(), "known@example.com")
    unknown = ask(app.test_client(), "nobody@example.com")
    assert (known.status_code, known.json) == (unknown.status_code, unknown.json) == (200, {"status": True})
    box.wait("known@example.com")
    box.settle()
    assert box.to("nobody@example.com") == []
    assert ask(app.test_client(), "not-an-email").json["code"] == "VALIDATION_ERROR"


def test_links_per_address_and_per_client_are_limited(smtp_app: SmtpApp) -> None:
    app, app_box = smtp_app(AUTH__MAGIC_LINK__ADDRESS_MAX="2", **ON)
    box = app_box
    answers = [ask(app.test_client()) for _ in range(3)]
    assert [(a.status_code, a.json) for a in answers] == [(200, {"status": True})] * 3  # the same answer
    box.settle()
    assert len(box.to(EMAIL)) == 2  # and the third link was not sent
    limited, _ = smtp_app(AUTH__RATE_LIMIT__ENABLED="true", **ON)
    client = limited.test_client()
    statuses = [ask(client, f"u{i}@example.com").status_code for i in range(6)]
    assert statuses == [200] * 5 + [429]  # better-auth: 5 per 60 s and client
    assert int(ask(client, "x@example.com").headers["X-Retry-After"]) <= 60
    # Guessing tokens at the verify end meets the same rule (its own per-path bucket).
    guesses = [client.get(f"/api/v1/auth/magic-link/verify?token=guess{i}").status_code for i in range(6)]
    assert guesses == [302] * 5 + [429]


def test_a_two_factor_user_is_challenged_after_the_link(smtp_app: SmtpApp) -> None:
    app, box = smtp_app(**ON)
    sign_up(app.test_client(), EMAIL)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == EMAIL))
        assert user is not None
        user.two_factor_enabled = True
        user.email_verified = True
        db.session.commit()
    ask(app.test_client(), callbackURL="/in")
    answer = app.test_client().get(path_of(link_in(box.wait(EMAIL))))
    assert answer.status_code == 302 and answer.headers["Location"] == "http://localhost/in?twoFactorRedirect=true"
    cookies = " ".join(answer.headers.getlist("Set-Cookie"))
    assert "better-auth.two_factor=" in cookies and "better-auth.session_token=;" in cookies


def _follow_in_parallel(app: Flask, link: str, n: int) -> list[int]:
    import requests

    with bound_server() as server, serve(server, app) as url:
        barrier = threading.Barrier(n)

        def follow(_: int) -> int:
            barrier.wait()
            return requests.get(url + path_of(link), allow_redirects=False, timeout=30).headers["Location"]

        with ThreadPoolExecutor(n) as pool:
            return list(pool.map(follow, range(n)))


def test_concurrent_clicks_sign_in_exactly_once(smtp_app: SmtpApp) -> None:
    app, box = smtp_app(**ON)
    for round_ in range(1, 4):
        ask(app.test_client(), callbackURL="/in")
        locations = _follow_in_parallel(app, link_in(box.wait(EMAIL, count=round_)), 8)
        assert sorted(locations) == ["http://localhost/in"] + ["http://localhost/in?error=INVALID_TOKEN"] * 7
    with app.app_context():
        assert len(db.session.scalars(select(User)).all()) == 1


def test_two_links_for_a_new_address_followed_at_once_make_one_user(smtp_app: SmtpApp) -> None:
    import requests

    app, box = smtp_app(**ON)
    ask(app.test_client(), callbackURL="/in", newUserCallbackURL="/welcome")
    ask(app.test_client(), callbackURL="/in", newUserCallbackURL="/welcome")
    links = [link_in(box.wait(EMAIL, count=n)) for n in (1, 2)]
    with bound_server() as server, serve(server, app) as url:
        barrier = threading.Barrier(2)

        def follow(link: str) -> tuple[int, str]:
            barrier.wait()
            answer = requests.get(url + path_of(link), allow_redirects=False, timeout=30)
            return answer.status_code, answer.headers["Location"]

        with ThreadPoolExecutor(2) as pool:
            results = sorted(pool.map(follow, links))
    # Both links were good: both sign in, as the one user; only the creator lands on the welcome page.
    assert [status for status, _ in results] == [302, 302]
    assert {location for _, location in results} <= {"http://localhost/in", "http://localhost/welcome"}
    with app.app_context():
        assert len(db.session.scalars(select(User)).all()) == 1
