"""The server-rendered pages in a real Chromium, through whole journeys, with JavaScript on and off.

Each journey passes every page it meets through axe-core (no serious or critical violation) and
writes its screenshots at desktop and phone width to ``tests/browser/screenshots/``.
"""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
import requests
from playwright.sync_api import Page, expect

from tests.browser.conftest import PageErrors
from tests.browser.web_support import (
    PASSWORD,
    SESSION_COOKIE,
    api_session_email,
    check_page,
    expect_signed_in,
    expect_signed_out,
    mailed_link,
    new_context,
    sign_in,
    sign_out,
    sign_up,
)
from tests.live_server import LiveServerFactory

pytestmark = [pytest.mark.browser, pytest.mark.node]

JS = pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])


def _page(chromium: Any, js: bool, errors: PageErrors | None = None) -> Page:
    page = new_context(chromium, js=js).new_page()
    if errors is not None:
        page.on("console", errors.console)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
    return page


@JS
def test_sign_up_verify_two_factor_journey(
    make_live_server: LiveServerFactory, chromium: Any, js: bool, page_errors: PageErrors
) -> None:
    """sign-up -> verify by the mailed link -> sign-in -> 2FA setup from the page's secret ->
    sign-out -> 2FA sign-in with TOTP -> with a backup code (trusting the device) -> the trusted
    device skips the challenge."""
    server = make_live_server(AUTH__REQUIRE_EMAIL_VERIFICATION="true")
    email = f"tf-{str(js).lower()}@example.com"
    page = _page(chromium, js, page_errors)

    page.goto(f"{server.url}/")
    check_page(page, "home-anonymous", js=js)
    page.goto(f"{server.url}/sign-up")
    check_page(page, "sign-up", js=js)
    page.get_by_role("button", name="Sign up").click()  # empty: every error next to its field
    expect(page.locator("#name-error")).to_have_text("Enter your name.")
    expect(page.locator("#email-error")).to_have_text("Enter your email address.")
    expect(page.get_by_label("Name")).to_have_attribute("aria-invalid", "true")
    sign_up(page, server, email, password="short")
    expect(page.locator("#password-error")).to_contain_text("Password too short")
    check_page(page, "sign-up-errors", js=js)
    sign_up(page, server, email)
    expect(page).to_have_url(f"{server.url}/verify-email/sent")
    check_page(page, "verify-email-sent", js=js)

    sign_in(page, server, email)  # not verified yet: refused in plain words
    expect(page.get_by_role("alert")).to_contain_text("not verified yet")
    check_page(page, "sign-in-unverified", js=js)

    page.goto(mailed_link(server, email, "verify"))
    expect(page).to_have_url(re.compile(r"/verify-email/done$"))
    expect(page.locator("#email-verified")).to_be_visible()
    check_page(page, "email-verified", js=js)

    # An anonymous visit to a page goes to sign-in and comes back after it.
    page.goto(f"{server.url}/account/security")
    expect(page).to_have_url(f"{server.url}/sign-in?next=/account/security")
    check_page(page, "sign-in", js=js)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(f"{server.url}/account/security")
    assert api_session_email(page.context, server) == email  # the page's sign-in is the API's
    check_page(page, "security", js=js)

    page.get_by_role("link", name="Set up two-factor sign-in").click()
    check_page(page, "two-factor-off", js=js)
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Set up two-factor sign-in").click()
    expect(page.locator("#password-error")).to_have_text("That is not your password.")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Set up two-factor sign-in").click()
    expect(page).to_have_url(f"{server.url}/account/two-factor/setup")
    expect(page.locator("svg title")).to_have_text("QR code of your two-factor secret")
    secret = page.locator("#totp-secret").inner_text().strip()
    codes = [c.strip() for c in page.locator("#backup-codes code").all_inner_texts()]
    assert len(codes) == 10 and len(set(codes)) == 10
    # JavaScript only enhances: the copy buttons exist with it and stay hidden without it.
    expect(page.get_by_role("button", name="Copy the codes")).to_have_count(1 if js else 0)
    check_page(page, "two-factor-setup", js=js)
    totp = pyotp.TOTP(secret)
    page.get_by_label("Code from your authenticator app").fill("000000" if totp.now() != "000000" else "111111")
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    expect(page.locator("#code-error")).to_contain_text("That code is not right")
    page.get_by_label("Code from your authenticator app").fill(totp.at(time.time() - 30))  # the previous step
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    expect(page.locator("#two-factor-on")).to_be_visible()
    check_page(page, "two-factor-on", js=js)
    page.goto(f"{server.url}/account/two-factor/setup")  # the backup codes are never shown again
    expect(page).to_have_url(f"{server.url}/account/two-factor")
    sign_out(page)
    assert api_session_email(page.context, server) is None

    # TOTP
    sign_in(page, server, email)
    expect(page).to_have_url(f"{server.url}/sign-in/two-factor")
    assert api_session_email(page.context, server) is None  # no session before the second factor
    check_page(page, "two-factor-challenge", js=js)
    page.get_by_label("Code from your authenticator app").fill(totp.now())
    page.get_by_role("button", name="Verify").click()
    expect_signed_in(page, server, email)
    sign_out(page)

    # A backup code, trusting this device; the code is spent afterwards.
    sign_in(page, server, email)
    page.get_by_label("Backup code").fill(codes[0])
    page.locator("#backup-trust_device").check()
    page.get_by_role("button", name="Use backup code").click()
    expect_signed_in(page, server, email)
    sign_out(page)

    # The trusted device goes straight in.
    sign_in(page, server, email)
    expect(page).to_have_url(f"{server.url}/")
    expect(page.locator("#signed-in")).to_have_text(f"Signed in as {email}")

    # Elsewhere (no trusted-device cookie) the spent backup code is refused next to its field.
    other = _page(chromium, js)
    sign_in(other, server, email)
    other.get_by_label("Backup code").fill(codes[0])
    other.get_by_role("button", name="Use backup code").click()
    expect(other.locator("#backup-code-error")).to_contain_text("not right, or it was already used")
    check_page(other, "two-factor-challenge-error", js=js)

    # New backup codes: shown once, the old ones stop working, a new one works.
    page.goto(f"{server.url}/account/two-factor")
    page.locator("#regen-password").fill(PASSWORD)
    page.get_by_role("button", name="Make new backup codes").click()
    fresh = [c.strip() for c in page.locator("#backup-codes code").all_inner_texts()]
    assert len(fresh) == 10 and not set(fresh) & set(codes)
    check_page(page, "backup-codes", js=js)
    other.get_by_label("Backup code").fill(codes[1])
    other.get_by_role("button", name="Use backup code").click()
    expect(other.locator("#backup-code-error")).to_contain_text("not right")
    other.get_by_label("Backup code").fill(fresh[0])
    other.get_by_role("button", name="Use backup code").click()
    expect_signed_in(other, server, email)
    other.context.close()

    # Off: a wrong password is refused next to its field; then sign-in asks for one factor again.
    page.goto(f"{server.url}/account/two-factor")
    page.locator("#off-password").fill("wrong password")
    page.get_by_role("button", name="Turn off two-factor sign-in").click()
    expect(page.locator("#off-password-error")).to_have_text("That is not your password.")
    page.locator("#off-password").fill(PASSWORD)
    page.get_by_role("button", name="Turn off two-factor sign-in").click()
    expect(page.get_by_role("status")).to_have_text("Two-factor sign-in is off.")
    sign_out(page)
    sign_in(page, server, email)
    expect(page).to_have_url(f"{server.url}/")
    if js:
        assert page_errors == []  # no CSP violation, no script error on any page
    page.context.close()


@JS
def test_forgot_password_journey(make_live_server: LiveServerFactory, chromium: Any, js: bool) -> None:
    """forgot password -> mailed link -> reset -> the old sessions are gone, the new password works."""
    server = make_live_server()
    email = f"reset-{str(js).lower()}@example.com"
    first = _page(chromium, js)
    sign_up(first, server, email)
    expect_signed_in(first, server, email)

    page = _page(chromium, js)
    page.goto(f"{server.url}/sign-in")
    page.get_by_role("link", name="Forgot your password?").click()
    check_page(page, "forgot-password", js=js)
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Send the link").click()
    expect(page.locator("#reset-sent")).to_contain_text(email)
    check_page(page, "forgot-password-sent", js=js)

    link = mailed_link(server, email, "reset")
    page.goto(link)
    expect(page).to_have_url(re.compile(r"/reset-password\?token="))
    check_page(page, "reset-password", js=js)
    page.get_by_label("New password", exact=True).fill("a new password 1")
    page.get_by_label("Repeat the new password").fill("a different one")
    page.get_by_role("button", name="Set the new password").click()
    expect(page.locator("#confirm-error")).to_have_text("The two passwords differ.")
    page.get_by_label("New password", exact=True).fill("a new password 1")
    page.get_by_label("Repeat the new password").fill("a new password 1")
    page.get_by_role("button", name="Set the new password").click()
    expect(page).to_have_url(f"{server.url}/sign-in")
    expect(page.get_by_role("status")).to_contain_text("every session of your account has ended")

    expect_signed_out(first, server)  # the old session died with the reset
    page.goto(link)  # the link was single-use
    expect(page.get_by_role("alert")).to_contain_text("This link is not valid")
    sign_in(page, server, email)
    expect(page.get_by_role("alert")).to_have_text("Invalid email or password")
    sign_in(page, server, email, "a new password 1")
    expect(page).to_have_url(f"{server.url}/")
    expect(page.locator("#signed-in")).to_have_text(f"Signed in as {email}")
    first.context.close()
    page.context.close()


@JS
def test_sessions_and_account_journey(make_live_server: LiveServerFactory, chromium: Any, js: bool) -> None:
    """Profile, email change by the mailed link, password change, sessions: revoke and sign out
    everywhere else, seen from the other browsers."""
    server = make_live_server()
    email = f"acct-{str(js).lower()}@example.com"
    page, laptop, phone = _page(chromium, js), _page(chromium, js), _page(chromium, js)
    sign_up(page, server, email)
    sign_in(laptop, server, email)
    sign_in(phone, server, email)

    page.goto(f"{server.url}/account")
    check_page(page, "account", js=js)
    page.get_by_label("Name", exact=True).fill("")
    page.get_by_role("button", name="Save profile").click()
    expect(page.locator("#name-error")).to_have_text("Enter your name.")
    page.get_by_label("Name", exact=True).fill("Alice Liddell")
    page.get_by_label("First name").fill("Alice")
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_role("status")).to_have_text("Your profile is saved.")
    expect(page.get_by_label("Name", exact=True)).to_have_value("Alice Liddell")
    assert page.context.request.get(f"{server.auth_url}/get-session").json()["user"]["name"] == "Alice Liddell"

    new_email = f"acct-{str(js).lower()}-new@example.com"
    page.get_by_label("New email").fill(new_email)
    page.get_by_role("button", name="Change email").click()
    expect(page.get_by_role("status")).to_contain_text(f"We mailed a confirmation link to {new_email}")
    page.goto(mailed_link(server, new_email, "verify"))
    page.goto(f"{server.url}/account")
    expect(page.locator("#current-email")).to_have_text(new_email)
    email = new_email

    page.goto(f"{server.url}/account/security")
    expect(page.locator("#sessions > li")).to_have_count(3)
    page.get_by_label("Current password").fill("not it at all")
    page.get_by_label("New password", exact=True).fill("another password 2")
    page.get_by_label("Repeat the new password").fill("another password 2")
    page.get_by_role("button", name="Change password").click()
    expect(page.locator("#current_password-error")).to_have_text("That is not your current password.")
    check_page(page, "security-errors", js=js)

    # Revoke one session (the laptop's), then every other one (the phone's).
    laptop_row = page.locator("#sessions > li").filter(has_not_text="This browser").first
    laptop_row.get_by_role("button", name="Sign out this session").click()
    expect(page.get_by_role("status")).to_have_text("That session is signed out.")
    expect(page.locator("#sessions > li")).to_have_count(2)
    signed_out = [p for p in (laptop, phone) if api_session_email(p.context, server) is None]
    assert len(signed_out) == 1
    page.get_by_role("button", name="Sign out everywhere else").click()
    expect(page.get_by_role("status")).to_have_text("Every other session is signed out.")
    expect(page.locator("#sessions > li")).to_have_count(1)
    expect_signed_out(laptop, server)
    expect_signed_out(phone, server)
    expect_signed_in(page, server, email)

    # The password change itself; the new password signs in elsewhere, the old one does not.
    page.goto(f"{server.url}/account/security")
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill("another password 2")
    page.get_by_label("Repeat the new password").fill("another password 2")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("status")).to_have_text("Your password is changed.")
    expect_signed_in(page, server, email)
    sign_in(laptop, server, email)
    expect(laptop.get_by_role("alert")).to_have_text("Invalid email or password")
    sign_in(laptop, server, email, "another password 2")
    expect_signed_in(laptop, server, email)
    for p in (page, laptop, phone):
        p.context.close()


@JS
def test_api_key_journey(make_live_server: LiveServerFactory, chromium: Any, js: bool) -> None:
    """API key create (shown once) -> used from a plain HTTP client -> disabled -> revoked -> refused."""
    server = make_live_server()
    email = f"keys-{str(js).lower()}@example.com"
    page = _page(chromium, js)
    sign_up(page, server, email)
    page.goto(f"{server.url}/account/api-keys")
    check_page(page, "api-keys-empty", js=js)
    page.get_by_label("Expires after (days)").fill("0")
    page.get_by_role("button", name="Create key").click()
    expect(page.locator("#name-error")).to_have_text("Give the key a name.")
    expect(page.locator("#expires_in_days-error")).to_have_text("Enter a number of days from 1 to 3650.")
    page.get_by_label("Name").fill("CI deploy")
    page.get_by_label("Expires after (days)").fill("30")
    page.get_by_role("button", name="Create key").click()
    key = page.locator("#new-api-key").inner_text().strip()
    assert len(key) > 20
    check_page(page, "api-key-created", js=js)

    headers = {"x-api-key": key}
    answer = requests.get(f"{server.auth_url}/get-session", headers=headers, timeout=10)
    assert answer.status_code == 200 and answer.json()["user"]["email"] == email

    page.goto(f"{server.url}/account/api-keys")  # shown once: not on the next load
    expect(page.locator("#new-api-key")).to_have_count(0)
    expect(page.locator("#api-keys > li")).to_have_count(1)
    expect(page.locator("#api-keys")).to_contain_text("CI deploy")
    check_page(page, "api-keys", js=js)

    page.get_by_text("Edit CI deploy").click()
    page.locator("#api-keys input[name=name]").fill("CI (paused)")
    page.locator("#api-keys input[name=enabled]").uncheck()
    page.get_by_role("button", name="Save CI deploy").click()
    expect(page.get_by_role("status")).to_have_text("The key is saved.")
    expect(page.locator("#api-keys")).to_contain_text("CI (paused)")
    expect(page.locator("#api-keys")).to_contain_text("Disabled")
    refused = requests.get(f"{server.auth_url}/get-session", headers=headers, timeout=10)
    assert refused.status_code == 401 and refused.json()["code"] == "KEY_DISABLED"

    page.get_by_role("button", name="Revoke CI (paused)").click()
    expect(page.get_by_role("status")).to_have_text("The key is revoked: it stops working now.")
    expect(page.locator("#api-keys > li")).to_have_count(0)
    refused = requests.get(f"{server.auth_url}/get-session", headers=headers, timeout=10)
    assert refused.status_code == 401 and refused.json()["code"] == "INVALID_API_KEY"
    page.context.close()


@JS
def test_sign_in_by_keyboard_alone(make_live_server: LiveServerFactory, chromium: Any, js: bool) -> None:
    """The skip link comes first, the fields follow in reading order, Enter submits."""
    server = make_live_server()
    page = _page(chromium, js)
    sign_up(page, server, f"keys-{str(js).lower()}@example.com")
    page.context.clear_cookies()
    page.goto(f"{server.url}/sign-in")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    for _ in range(5):  # after the skip link: the main content's first field within a few steps
        page.keyboard.press("Tab")
        if page.get_by_label("Email").evaluate("e => e === document.activeElement"):
            break
    expect(page.get_by_label("Email")).to_be_focused()
    page.keyboard.type(f"keys-{str(js).lower()}@example.com")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password", exact=True)).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.locator("#signed-in")).to_be_visible()
    page.context.close()


@JS
def test_sign_in_next_is_never_an_open_redirect(make_live_server: LiveServerFactory, chromium: Any, js: bool) -> None:
    server = make_live_server()
    page = _page(chromium, js)
    sign_up(page, server, f"next-{str(js).lower()}@example.com")
    page.context.clear_cookies()
    for hostile in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"):
        sign_in(page, server, f"next-{str(js).lower()}@example.com", next_path=hostile)
        expect(page).to_have_url(f"{server.url}/")
        page.context.clear_cookies()
    page.context.close()


@JS
def test_a_signed_in_api_session_is_a_page_session(
    make_live_server: LiveServerFactory, chromium: Any, js: bool
) -> None:
    """The other way round: signed in through the JSON API, the pages know the user; signed out
    through the pages, the API does not."""
    server = make_live_server()
    page = _page(chromium, js)
    context = page.context
    answer = context.request.post(
        f"{server.auth_url}/sign-up/email",
        data={"name": "Bob", "email": f"bob-{str(js).lower()}@example.com", "password": PASSWORD},
        headers={"Origin": server.url},
    )
    assert answer.ok, answer.text()
    assert SESSION_COOKIE in {c["name"] for c in context.cookies(server.url)}
    expect_signed_in(page, server, f"bob-{str(js).lower()}@example.com")
    sign_out(page)
    assert api_session_email(context, server) is None
    context.close()


def test_reset_link_lands_with_its_token(make_live_server: LiveServerFactory) -> None:
    """Without a browser: the mailed reset link goes through the API to the page, token appended."""
    server = make_live_server()
    requests.post(f"{server.auth_url}/sign-up/email", json={"name": "C", "email": "c@example.com",
                  "password": PASSWORD}, headers={"Origin": server.url}, timeout=10).raise_for_status()
    session = requests.Session()
    page = session.get(f"{server.url}/forgot-password", timeout=10)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text)
    assert token, page.text
    sent = session.post(f"{server.url}/forgot-password", data={"csrf_token": token.group(1),
                        "email": "c@example.com"}, timeout=10)
    assert sent.status_code == 200 and "If <strong>c@example.com</strong> has an account" in sent.text
    landed = session.get(mailed_link(server, "c@example.com", "reset"), allow_redirects=False, timeout=10)
    target = urlsplit(landed.headers["Location"])
    assert target.path == "/reset-password" and parse_qs(target.query)["token"]
