"""The Scalar API reference page renders our operations in a real Chromium: from the app's own pinned
bundle (the default) and from another origin (the CDN option), with an integrity hash in both."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, Route, expect

from app.modules.auth.scalar_bundle import FILE as SELF_HOSTED
from app.modules.auth.scalar_bundle import SHA384
from tests.browser.conftest import PageErrors, StaticServer
from tests.jsenv import JS_DIR, ensure_node_modules
from tests.live_server import LiveServerFactory

SCALAR_BROWSER_DIR = JS_DIR / "node_modules" / "@scalar" / "api-reference" / "dist" / "browser"
OPERATIONS = (
    "Sign in with email and password",
    "Sign up with email and password",
    "Sign out: the session dies",
)


def _local_only(route: Route) -> None:
    """Only 127.0.0.1 is reachable: refuse the rest at once rather than hang on it."""
    if urlsplit(route.request.url).hostname == "127.0.0.1":
        route.continue_()
    else:
        route.abort()


def _renders_our_operations(page: Page, url: str, page_errors: PageErrors) -> None:
    page.context.route("**/*", _local_only)
    page.goto(f"{url}/api/v1/auth/reference")

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
    assert not [e for e in page_errors if "Refused to" in e], page_errors  # no CSP or integrity violation


@pytest.mark.browser
def test_reference_renders_from_the_self_hosted_bundle(
    make_live_server: LiveServerFactory, page: Page, page_errors: PageErrors
) -> None:
    """The default: the pinned bundle served by the app, under the page's CSP, with its SRI hash."""
    assert SELF_HOSTED.is_file(), "scripts/fetch_scalar.sh fetches the bundle (scripts/setup.sh runs it)"
    server = make_live_server()
    _renders_our_operations(page, server.url, page_errors)


@pytest.mark.node
@pytest.mark.browser
def test_reference_renders_from_another_origin(
    make_live_server: LiveServerFactory, page: Page, page_errors: PageErrors, static_server: StaticServer
) -> None:
    """The CDN option (``OPENAPI__SCALAR_SCRIPT_URL``), with an integrity hash, from another origin."""
    ensure_node_modules()  # @scalar/api-reference, from tests/js/package.json
    script = SCALAR_BROWSER_DIR / "standalone.js"
    assert script.is_file(), f"{script} is missing: has @scalar/api-reference changed its layout?"
    scalar = static_server(directory=SCALAR_BROWSER_DIR, cors=True)
    server = make_live_server(
        OPENAPI__SCALAR_SCRIPT_URL=f"{scalar}/standalone.js", OPENAPI__SCALAR_SCRIPT_INTEGRITY=SHA384
    )
    _renders_our_operations(page, server.url, page_errors)


@pytest.mark.browser
def test_a_bundle_that_does_not_match_its_hash_is_refused(
    make_live_server: LiveServerFactory,
    page: Page,
    page_errors: PageErrors,
    static_server: StaticServer,
    tmp_path: Path,
) -> None:
    """Subresource Integrity at work: a changed script does not run."""
    (tmp_path / "standalone.js").write_text("document.title = 'tampered';")
    scalar = static_server(directory=tmp_path, cors=True)
    server = make_live_server(
        OPENAPI__SCALAR_SCRIPT_URL=f"{scalar}/standalone.js", OPENAPI__SCALAR_SCRIPT_INTEGRITY=SHA384
    )
    page.context.route("**/*", _local_only)
    page.goto(f"{server.url}/api/v1/auth/reference")
    page.wait_for_load_state("load")
    assert page.title() == "API reference"
    assert any("integrity" in e for e in page_errors), page_errors
