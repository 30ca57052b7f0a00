"""The pages without a browser: CSRF on every POST, Flask's session kept server-side, the
template override folder, the ``next`` rule, and a failing API call shown in plain words."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.core.settings import load
from app.web import WebSettings
from app.web.context import safe_next
from config import ConfigError

PASSWORD = "correct horse battery"


def csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert found, html
    return found.group(1)


def signed_up(client: Any, email: str = "ann@example.com") -> None:
    token = csrf(client.get("/sign-up").text)
    answer = client.post("/sign-up", data={"csrf_token": token, "name": "Ann", "email": email, "password": PASSWORD})
    assert answer.status_code == 303, answer.text


@pytest.mark.parametrize("path", ["/sign-in", "/sign-up", "/sign-out", "/forgot-password", "/reset-password",
                                  "/verify-email/sent", "/account", "/account/security", "/account/api-keys",
                                  "/account/api-keys/revoke", "/account/sessions/revoke-others",
                                  "/account/two-factor", "/account/two-factor/disable"])
def test_every_post_needs_the_form_token(app: Any, path: str) -> None:
    client = app.test_client()
    signed_up(client)
    client.get("/sign-in")  # the Flask session exists, so only the token is missing
    answer = client.post(path, data={"email": "ann@example.com", "password": PASSWORD, "target": "x"})
    assert answer.status_code == 400
    assert "This form has expired" in answer.text and "Nothing was changed" in answer.text
    forged = client.post(path, data={"csrf_token": "forged", "email": "ann@example.com", "password": PASSWORD})
    assert forged.status_code == 400
    assert client.get("/account").status_code == 200  # still signed in: the sign-out was refused too


def test_pages_keep_their_session_in_the_database_while_redis_fails(make_app: Any) -> None:
    """The page session holds the forms' CSRF secret: with Redis failing (nothing listens on its
    port) it moves to the database, so forms still post and flashes still show."""
    from app.extensions import db
    from app.web.session_store import WebSession

    app = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    assert app.extensions.get("redis") is not None
    client = app.test_client()
    signed_up(client)  # a form post: its CSRF secret was kept
    token = csrf(client.get("/account").text)
    assert client.post("/account", data={"csrf_token": token, "name": "Ann Example"}).status_code == 303
    assert "Your profile is saved." in client.get("/account").text
    cookie = client.get_cookie("web_session")
    assert cookie is not None
    with app.app_context():
        stored = select(WebSession.session_id).where(WebSession.session_id == "web:sess:" + cookie.value)
        assert db.session.scalar(stored)


def test_the_json_api_is_not_asked_for_form_tokens(app: Any) -> None:
    client = app.test_client()
    answer = client.post("/api/v1/auth/sign-up/email", json={"name": "J", "email": "j@example.com",
                         "password": PASSWORD}, headers={"Origin": "http://localhost"})
    assert answer.status_code == 200, answer.text


def test_the_flask_session_stays_on_the_server(app: Any) -> None:
    """Flashes (and the CSRF secret) are stored server-side; the browser holds only a random id."""
    client = app.test_client()
    signed_up(client)
    token = csrf(client.get("/account").text)
    client.post("/account", data={"csrf_token": token, "name": "Ann Example"})
    cookie = client.get_cookie("web_session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    assert re.fullmatch(r"[A-Za-z0-9_-]{40,}", cookie.value)  # an id, not signed data: nothing inside
    redis = app.extensions.get("redis")
    if redis is not None:
        stored = redis.get(f"web:sess:{cookie.value}")
    else:
        from app.extensions import db
        from app.web.session_store import WebSession

        with app.app_context():
            stored = db.session.scalar(select(WebSession.data).where(WebSession.session_id == cookie.value))
    assert stored and b"Your profile is saved." in stored
    assert "Your profile is saved." in client.get("/account").text  # the flash, read back from the store
    assert "Your profile is saved." not in client.get("/account").text  # and shown once


def test_the_page_session_id_is_renewed_at_sign_in_and_sign_out(app: Any) -> None:
    """Session fixation (OWASP): a page-session id known before the sign-in is dead after it."""
    signed_up(app.test_client())
    client = app.test_client()
    token = csrf(client.get("/sign-in").text)
    planted = client.get_cookie("web_session")
    assert planted is not None
    answer = client.post("/sign-in", data={"csrf_token": token, "email": "ann@example.com", "password": PASSWORD})
    assert answer.status_code == 303, answer.text
    after_sign_in = client.get_cookie("web_session")
    assert after_sign_in is not None and after_sign_in.value != planted.value
    fixed = app.test_client()  # the attacker's browser, holding the planted id
    fixed.set_cookie("web_session", planted.value)
    assert fixed.get("/account").status_code == 302  # not signed in there, and nothing carried over
    token = csrf(client.get("/account").text)
    assert client.post("/sign-out", data={"csrf_token": token}).status_code == 303
    after_sign_out = client.get_cookie("web_session")
    assert after_sign_out is None or after_sign_out.value != after_sign_in.value


def test_a_template_folder_overrides_the_pages(make_app: Any, tmp_path: Path) -> None:
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "sign_in.html").write_text(
        '{% extends "web/base.html" %}{% block main %}<h1 id="custom">Welcome to Acme</h1>'
        "<form method=post>{{ form.csrf_token }}{{ form.email }}</form>{% endblock %}"
    )
    client = make_app(WEB__TEMPLATE_FOLDER=str(tmp_path)).test_client()
    sign_in = client.get("/sign-in")
    assert '<h1 id="custom">Welcome to Acme</h1>' in sign_in.text
    assert "web.css" in sign_in.text  # it still extends the built-in layout
    assert "<h1>Sign up</h1>" in client.get("/sign-up").text  # pages not overridden are the built-in ones


def test_a_missing_template_folder_stops_the_start() -> None:
    with pytest.raises(ConfigError) as caught:
        load(WebSettings, {"WEB__TEMPLATE_FOLDER": "/nonexistent/templates"})
    assert "WEB__TEMPLATE_FOLDER" in str(caught.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/account", "/account"),
        ("/account/api-keys?x=1", "/account/api-keys?x=1"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("javascript:alert(1)", "/"),
        ("account", "/"),
        ("/a\r\nLocation: x", "/"),
        ("", "/"),
        (None, "/"),
    ],
)
def test_next_is_a_local_path_only(value: str | None, expected: str) -> None:
    assert safe_next(value) == expected


def test_anonymous_visits_go_to_sign_in_with_next(app: Any) -> None:
    client = app.test_client()
    for path in ("/account", "/account/security", "/account/two-factor", "/account/api-keys"):
        answer = client.get(path)
        assert answer.status_code == 302 and answer.headers["Location"] == f"/sign-in?next={path}"


def test_an_api_key_does_not_open_the_pages(app: Any) -> None:
    """Pages are for browser sessions: a key (no cookie session, no CSRF binding) is sent to sign-in."""
    client = app.test_client()
    signed_up(client)
    key = client.post("/api/v1/auth/api-key/create", json={"name": "k"},
                      headers={"Origin": "http://localhost"}).json["key"]
    anonymous = app.test_client()
    assert anonymous.get("/account", headers={"x-api-key": key}).status_code == 302


def test_page_errors_are_plain_words(app: Any) -> None:
    client = app.test_client()
    token = csrf(client.get("/sign-up").text)
    answer = client.post("/sign-up", data={"csrf_token": token, "name": "A", "email": "not-an-email",
                                           "password": "x"})
    assert answer.status_code == 200
    assert "Enter a valid email address." in answer.text
    assert "{" not in re.sub(r"<[^>]+>", "", answer.text.split("<main", 1)[1])  # no JSON on the page


def test_every_page_sends_the_strict_policy_and_no_inline_code(app: Any) -> None:
    client = app.test_client()
    signed_up(client)
    pages = ["/", "/account", "/account/security", "/account/two-factor", "/account/api-keys", "/organizations",
             "/verify-email/sent", "/verify-email/done", "/forgot-password", "/reset-password?token=x"]
    anonymous = app.test_client()
    for path in pages:
        for who in (client, anonymous):
            answer = who.get(path)
            if answer.status_code == 302:  # a page that needs a sign-in
                assert answer.headers["Location"].startswith("/sign-in?next=")
                continue
            assert answer.status_code == 200, path
            assert answer.headers["Content-Security-Policy"].startswith("default-src 'none'")
            assert answer.headers["X-Frame-Options"] == "DENY"
            assert answer.headers["Cache-Control"] == "no-store"
            html = answer.text
            assert "<script>" not in html and " style=" not in html and " onclick=" not in html, path
            assert '<html lang="en">' in html and "<main" in html


def test_an_unconfirmed_invitee_is_offered_the_confirmation_link(make_app: Any, tmp_path: Path) -> None:
    """An invitation needs a confirmed address: the pages say so and mail the link, no dead end."""
    from tests.auth.helpers import post, read_outbox, sign_up
    from tests.auth.helpers import verify_email as confirm
    from tests.auth.test_organization import create_org

    outbox = tmp_path / "outbox.jsonl"
    app = make_app(MAIL__BACKEND="file", MAIL__FILE=str(outbox))
    owner = app.test_client()
    sign_up(owner, "owner@example.com")
    create_org(owner, "acme")
    invitation = post(owner, "/organization/invite-member", {"email": "ann@example.com", "role": "member"}).json
    invitee = app.test_client()
    signed_up(invitee)  # through the sign-up page: signed in, address not confirmed yet
    page = invitee.get(f"/accept-invitation/{invitation['id']}")
    assert page.status_code == 200 and "Confirm your email address" in page.text
    assert "Confirm your email address" in invitee.get("/organizations").text
    assert "Confirm your email address" in invitee.get("/account").text
    answer = invitee.post("/verify-email/sent", data={"csrf_token": csrf(page.text), "email": "ann@example.com"})
    assert answer.status_code == 303
    mails = read_outbox(str(outbox), "ann@example.com", count=2)  # the sign-up's link, then this one
    assert "verify-email" in mails[-1]["url"]
    confirm(app, "ann@example.com")
    page = invitee.get(f"/accept-invitation/{invitation['id']}")
    assert "Confirm your email address" not in page.text and "Join Acme" in page.text


def test_passwordless_sign_in_and_passkeys_are_linked_only_when_on(make_app: Any) -> None:
    off = make_app().test_client()
    assert "Sign in without a password" not in off.get("/sign-in").text
    app = make_app(AUTH__PASSKEY__ENABLED="true")
    client = app.test_client()
    assert 'href="/passwordless"' in client.get("/sign-in").text
    signed_up(client)
    assert "Add or remove passkeys" in client.get("/account/security").text
    signed_up(off, "bob@example.com")
    assert "Add or remove passkeys" not in off.get("/account/security").text
