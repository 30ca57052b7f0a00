"""The server-rendered pages in a real Chromium: sign-up, sign-in, sign-out, and the CSRF rules
(of the JSON API against cross-origin pages, and of the forms' own tokens)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from tests.browser.conftest import PageErrors, StaticServer
from tests.live_server import LiveServer, LiveServerFactory

COOKIE = "better-auth.session_token"
EMAIL = "alice@example.com"
PASSWORD = "correct horse battery"


def sign_up(page: Page, server: LiveServer, email: str = EMAIL, password: str = PASSWORD) -> None:
    page.goto(f"{server.url}/sign-up")
    page.get_by_label("Name").fill("Alice")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign up").click()
    expect(page).to_have_url(f"{server.url}/")
    expect(page.locator("#signed-in")).to_have_text(f"Signed in as {email}")


def sign_in(page: Page, server: LiveServer, password: str) -> None:
    page.goto(f"{server.url}/sign-in")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def expect_anonymous(page: Page) -> None:
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    expect(page.get_by_role("link", name="Sign up")).to_be_visible()
    expect(page.get_by_text("Signed in as")).to_have_count(0)
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)


def session_email(page: Page, server: LiveServer) -> str | None:
    """Who the browser context's cookies sign in as, asked of the API (shares the context's cookie jar)."""
    response = page.context.request.get(f"{server.auth_url}/get-session")
    assert response.ok, response.text()
    body: Any = response.json()
    return body["user"]["email"] if body else None


@pytest.mark.browser
def test_sign_up_sign_out_sign_in(make_live_server: LiveServerFactory, page: Page, page_errors: PageErrors) -> None:
    server = make_live_server()
    page.goto(f"{server.url}/")
    expect_anonymous(page)

    page.get_by_role("link", name="Sign up").click()
    expect(page).to_have_url(f"{server.url}/sign-up")
    sign_up(page, server)

    # The browser stored the cookie as the server set it, out of reach of scripts.
    cookies = {c["name"]: c for c in page.context.cookies(server.url)}
    assert cookies[COOKIE]["httpOnly"] is True
    assert cookies[COOKIE]["sameSite"] == "Lax"
    assert COOKIE not in page.evaluate("document.cookie")

    page.reload()
    expect(page.locator("#signed-in")).to_have_text(f"Signed in as {EMAIL}")

    page.get_by_role("button", name="Sign out").click()
    expect_anonymous(page)
    assert COOKIE not in {c["name"] for c in page.context.cookies(server.url)}
    page.reload()
    expect_anonymous(page)

    sign_in(page, server, "wrong password!")
    expect(page.get_by_role("alert")).to_have_text("Invalid email or password")
    expect(page).to_have_url(f"{server.url}/sign-in")
    assert session_email(page, server) is None

    sign_in(page, server, PASSWORD)
    expect(page).to_have_url(f"{server.url}/")
    expect(page.locator("#signed-in")).to_have_text(f"Signed in as {EMAIL}")
    assert session_email(page, server) == EMAIL
    assert page_errors == []  # no CSP violation, no script error: the pages work under their policy


@pytest.mark.browser
def test_sign_up_shows_api_error(make_live_server: LiveServerFactory, page: Page) -> None:
    server = make_live_server()
    sign_up(page, server)
    page.context.clear_cookies()
    page.goto(f"{server.url}/sign-up")
    page.get_by_label("Name").fill("Mallory")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill("another password")
    page.get_by_role("button", name="Sign up").click()
    expect(page.locator("#email-error")).to_have_text("User already exists. Use another email.")
    expect(page.get_by_label("Email")).to_have_attribute("aria-invalid", "true")
    expect(page).to_have_url(f"{server.url}/sign-up")


def attack_page(app_url: str) -> str:
    """A page that tries to sign its visitor out of the app, as a CSRF attacker would.

    First a "simple" request (no preflight: the browser sends it whatever CORS says), then a JSON
    one (preflighted). Each outcome lands in ``#simple`` / ``#json``.
    """
    target = json.dumps(f"{app_url}/api/v1/auth/sign-out")
    return f"""<!doctype html><html><body><p id="simple">pending</p><p id="json">pending</p><script>
const target = {target};
fetch(target, {{method: "POST", mode: "no-cors", credentials: "include",
                headers: {{"Content-Type": "text/plain"}}, body: "{{}}"}})
  .then(r => r.type, e => "error: " + e)
  .then(outcome => {{
    document.getElementById("simple").textContent = "done: " + outcome;
    return fetch(target, {{method: "POST", credentials: "include",
                          headers: {{"Content-Type": "application/json"}}, body: "{{}}"}})
      .then(r => "status " + r.status, e => "blocked: " + e.name);
  }})
  .then(outcome => {{ document.getElementById("json").textContent = outcome; }});
</script></body></html>"""


@dataclass
class Seen:
    """A sign-out request as the app received it, and its answer."""

    origin: str | None
    cookie: str
    status: str = ""
    body: bytes = b""


def record_sign_outs(app: Flask) -> list[Seen]:
    """Wrap the served app's WSGI callable: every POST to sign-out is recorded as it arrives."""
    seen: list[Seen] = []
    inner = app.wsgi_app

    def recording(environ: dict[str, Any], start_response: Any) -> Any:
        if environ["PATH_INFO"] != "/api/v1/auth/sign-out" or environ["REQUEST_METHOD"] != "POST":
            return inner(environ, start_response)
        entry = Seen(origin=environ.get("HTTP_ORIGIN"), cookie=environ.get("HTTP_COOKIE", ""))
        seen.append(entry)

        def recording_start(status: str, headers: Any, *rest: Any) -> Any:
            entry.status = status
            return start_response(status, headers, *rest)

        entry.body = b"".join(inner(environ, recording_start))
        return [entry.body]

    app.wsgi_app = recording  # type: ignore[method-assign]
    return seen


def run_attack(page: Page, server: LiveServer, attacker: str) -> Seen:
    """Open the attacker's page; return the simple sign-out request as the app saw it."""
    seen = record_sign_outs(server.app)
    page.goto(f"{attacker}/attack.html")
    expect(page.locator("#simple")).to_have_text("done: opaque")
    expect(page.locator("#json")).to_have_text(re.compile(r"^blocked: TypeError$"))
    # The JSON attempt never reached the route: its preflight was not answered with CORS consent.
    assert len(seen) == 1
    return seen[0]


@pytest.mark.browser
def test_same_site_cross_origin_post_is_refused(
    make_live_server: LiveServerFactory, page: Page, static_server: StaticServer
) -> None:
    """Another port of 127.0.0.1 is another origin but the same site: the cookie goes along, the
    origin check refuses the request."""
    server = make_live_server()
    sign_up(page, server)
    attacker = static_server(pages={"/attack.html": attack_page(server.url)})
    assert attacker != server.url

    seen = run_attack(page, server, attacker)
    assert seen.origin == attacker
    assert f"{COOKIE}=" in seen.cookie  # SameSite=Lax did not stop it: same site
    assert seen.status.startswith("403")
    assert json.loads(seen.body)["code"] == "INVALID_ORIGIN"

    assert session_email(page, server) == EMAIL
    page.goto(f"{server.url}/")
    expect(page.locator("#signed-in")).to_have_text(f"Signed in as {EMAIL}")


@pytest.mark.browser
def test_cross_site_post_carries_no_cookie(
    make_live_server: LiveServerFactory, page: Page, static_server: StaticServer
) -> None:
    """``localhost`` is another site than ``127.0.0.1``: SameSite=Lax keeps the cookie off the request."""
    server = make_live_server()
    sign_up(page, server)
    attacker = static_server(pages={"/attack.html": attack_page(server.url)}, host="localhost")

    seen = run_attack(page, server, attacker)
    assert seen.origin == attacker
    assert COOKIE not in seen.cookie  # whatever the route answers, it has no session to end

    assert session_email(page, server) == EMAIL
    page.goto(f"{server.url}/")
    expect(page.locator("#signed-in")).to_have_text(f"Signed in as {EMAIL}")


# -- without a browser: what the pages send ---------------------------------------------------


def test_pages_send_a_strict_policy(make_app: Any) -> None:
    client = make_app().test_client()
    for path in ("/", "/sign-in", "/sign-up", "/web-static/web.js", "/web-static/web.css"):
        response = client.get(path)
        assert response.status_code == 200, path
        policy = response.headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy
        assert "script-src 'self';" in policy
        assert "'unsafe-inline'" not in policy
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get("/").headers["Cache-Control"] == "no-store"
    for path in ("/", "/sign-in", "/sign-up"):
        assert b"<script>" not in client.get(path).data  # nothing inline: the policy would block it


def test_forms_are_labelled_for_password_managers(make_app: Any) -> None:
    client = make_app().test_client()
    sign_in = client.get("/sign-in").get_data(as_text=True)
    assert '<label for="email">' in sign_in and 'autocomplete="username"' in sign_in
    assert 'autocomplete="current-password"' in sign_in
    sign_up = client.get("/sign-up").get_data(as_text=True)
    assert 'autocomplete="new-password"' in sign_up and 'autocomplete="email"' in sign_up


def test_pages_without_the_auth_module(make_app: Any) -> None:
    client = make_app(MODULES__AUTH="false").test_client()
    home = client.get("/")
    assert home.status_code == 200
    assert b"Sign in" not in home.data and b"/api/v1/auth/reference" not in home.data
    assert client.get("/sign-in").status_code == 404
    assert client.get("/sign-up").status_code == 404
