"""Helpers for the page journeys: browser contexts with JavaScript on or off, axe-core checks,
screenshots at desktop and phone width, and the steps every journey shares."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, Page, expect

from tests.jsenv import JS_DIR, ensure_node_modules
from tests.live_server import LiveServer

PASSWORD = "correct horse battery"
SCREENSHOTS = Path(os.environ.get("WEB_SCREENSHOTS", Path(__file__).parent / "screenshots"))
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}
AXE_SOURCE = JS_DIR / "node_modules" / "axe-core" / "axe.min.js"
SESSION_COOKIE = "better-auth.session_token"


def new_context(chromium: Any, *, js: bool) -> BrowserContext:
    context: BrowserContext = chromium.new_context(java_script_enabled=js, viewport=DESKTOP)
    return context


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Serious and critical axe-core (WCAG 2.x A/AA) violations of the page as it is now.

    axe runs in an isolated copy of the page's script world, so it works on pages whose own
    scripts are off; the page's CSP does not apply to scripts injected by the test driver.
    """
    ensure_node_modules()
    page.evaluate(AXE_SOURCE.read_text(encoding="utf-8") + "\n;0")  # CDP evaluation: not subject to the CSP
    result: dict[str, Any] = page.evaluate(
        "() => axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa', 'best-practice']}})"
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def check_page(page: Page, name: str, *, js: bool) -> None:
    """Every page a journey meets: no serious/critical axe violation (JS on), screenshots at both widths."""
    if js:
        violations = axe_violations(page)
        assert violations == [], f"{name}: {violations}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    suffix = "" if js else "-nojs"
    page.screenshot(path=str(SCREENSHOTS / f"{name}{suffix}-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    width = page.evaluate("() => document.documentElement.scrollWidth") if js else None
    page.screenshot(path=str(SCREENSHOTS / f"{name}{suffix}-phone.png"), full_page=True)
    page.set_viewport_size(DESKTOP)
    if width is not None:
        assert width <= PHONE["width"], f"{name}: {width}px wide at phone width (horizontal scrolling)"


def sign_up(page: Page, server: LiveServer, email: str, *, name: str = "Alice", password: str = PASSWORD) -> None:
    page.goto(f"{server.url}/sign-up")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign up").click()


def sign_in(page: Page, server: LiveServer, email: str, password: str = PASSWORD, next_path: str = "") -> None:
    page.goto(f"{server.url}/sign-in" + (f"?next={next_path}" if next_path else ""))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("#signed-out")).to_be_visible()


def expect_signed_in(page: Page, server: LiveServer, email: str) -> None:
    page.goto(f"{server.url}/")
    expect(page.locator("#signed-in")).to_have_text(f"Signed in as {email}")


def expect_signed_out(page: Page, server: LiveServer) -> None:
    page.goto(f"{server.url}/")
    expect(page.locator("#signed-out")).to_be_visible()


def api_session_email(context: BrowserContext, server: LiveServer) -> str | None:
    """Who the context's cookies sign in as, asked of the JSON API (the same cookie jar)."""
    response = context.request.get(f"{server.auth_url}/get-session")
    assert response.ok, response.text()
    body: Any = response.json()
    return body["user"]["email"] if body else None


def mailed_link(server: LiveServer, to: str, subject_word: str) -> str:
    mails = [m for m in server.mails() if m["to"] == to.lower() and re.search(subject_word, m["subject"], re.I)]
    assert mails, f"no {subject_word!r} mail to {to}: {server.mails()}"
    url: str = mails[-1]["url"]
    return url
