"""The Scalar API reference page renders our operations in a real Chromium, from a self-hosted script."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, Route, expect

from tests.browser.conftest import PageErrors, StaticServer
from tests.jsenv import JS_DIR, ensure_node_modules
from tests.live_server import LiveServerFactory

SCALAR_BROWSER_DIR = JS_DIR / "node_modules" / "@scalar" / "api-reference" / "dist" / "browser"
SCREENSHOT = Path("/tmp/reference.png")
OPERATIONS = (
    "Sign in with email and password",
    "Sign up with email and password",
    "Sign out: the session dies",
)


@pytest.mark.node
@pytest.mark.browser
def test_reference_renders_our_operations(
    make_live_server: LiveServerFactory, page: Page, page_errors: PageErrors, static_server: StaticServer
) -> None:
    ensure_node_modules()  # @scalar/api-reference, from tests/js/package.json
    script = SCALAR_BROWSER_DIR / "standalone.js"
    assert script.is_file(), f"{script} is missing: has @scalar/api-reference changed its layout?"
    scalar = static_server(directory=SCALAR_BROWSER_DIR)
    server = make_live_server(OPENAPI__SCALAR_SCRIPT_URL=f"{scalar}/standalone.js")

    # Only 127.0.0.1 is reachable: refuse the rest (Scalar's web fonts) at once rather than hang on it.
    def local_only(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            route.abort()

    page.context.route("**/*", local_only)
    page.goto(f"{server.url}/api/v1/auth/reference")

    expect(page.get_by_role("heading", name="SaaS foundation API")).to_be_visible()  # the document's title
    # The sidebar lists the tags, collapsed but the first: open ours (unless it is the first) and
    # find its operations.
    expect(page.get_by_role("button", name=" Group - Auth", exact=False).first).to_be_visible()
    opener = page.get_by_role("button", name="Open Group - Auth", exact=True)
    if opener.count():
        opener.click()
    for summary in OPERATIONS:
        expect(page.get_by_role("link", name=summary).first).to_be_visible()
    # Picking one scrolls the reference to it: its heading and its path, as rendered from the document.
    page.get_by_role("link", name=OPERATIONS[0]).first.click()
    heading = page.get_by_role("heading", name=OPERATIONS[0], exact=True)
    expect(heading).to_be_visible()
    expect(page.get_by_text("/api/v1/auth/sign-in/email").first).to_be_visible()
    expect(page.get_by_text("Invalid email or password").first).to_be_visible()  # a documented response
    page.screenshot(path=str(SCREENSHOT), full_page=False)
    assert not [e for e in page_errors if "Refused to" in e]  # no CSP violation
