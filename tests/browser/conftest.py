"""Browser fixtures: one Chromium per test session, a fresh context (cookie jar) per test.

Playwright drives the system Chromium (``/usr/bin/chromium``); its own browser downloads are never
used. ``static_server`` serves files from another origin (another port of 127.0.0.1, or the same
port under the name ``localhost``, which is another *site* for the browser). ``make_live_server``
comes from ``tests.live_server``.
"""

from __future__ import annotations

import functools
import shutil
import threading
from collections.abc import Callable, Iterator, Mapping
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.live_server import make_live_server  # noqa: F401 - a fixture for every browser test

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """The system Chromium, launched once for the session (skipped when absent)."""
    if not Path(CHROMIUM).exists():
        pytest.skip("needs chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


class PageErrors(list[str]):
    """Script errors of a page: uncaught exceptions and console errors, CSP violations among them
    ("Refused to ..."); failed loads (HTTP errors the page handles, the favicon) are left out."""

    def console(self, msg: Any) -> None:
        if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
            self.append(msg.text)


@pytest.fixture
def page_errors() -> PageErrors:
    return PageErrors()


@pytest.fixture
def context(chromium: Any) -> Iterator[Any]:
    """A fresh browser context: its own cookies and storage."""
    ctx = chromium.new_context()
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: Any, page_errors: PageErrors) -> Any:
    """A page in the fresh context; its console errors and uncaught exceptions go to ``page_errors``."""
    pg = context.new_page()
    pg.on("console", page_errors.console)
    pg.on("pageerror", lambda exc: page_errors.append(str(exc)))
    return pg


class _Handler(SimpleHTTPRequestHandler):
    pages: Mapping[str, str] = {}
    cors = False

    def end_headers(self) -> None:
        if self.cors:  # as a CDN answers: any origin may read (needed for Subresource Integrity)
            self.send_header("Access-Control-Allow-Origin", "*")
        super().end_headers()

    def do_GET(self) -> None:
        body = self.pages.get(self.path.split("?", 1)[0])
        if body is None:
            super().do_GET()
            return
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


StaticServer = Callable[..., str]


@pytest.fixture
def static_server(tmp_path: Path) -> Iterator[StaticServer]:
    """``static_server(directory=..., pages={"/x.html": html}, host="127.0.0.1", cors=False) -> base URL``.

    A plain ``http.server`` in a thread on a free port of 127.0.0.1; ``host`` only names it in the
    returned URL (``localhost`` makes it another site than the app at ``127.0.0.1``).
    """
    servers: list[tuple[ThreadingHTTPServer, threading.Thread]] = []

    def start(
        directory: Path | None = None,
        pages: Mapping[str, str] | None = None,
        host: str = "127.0.0.1",
        cors: bool = False,
    ) -> str:
        handler = type("Handler", (_Handler,), {"pages": dict(pages or {}), "cors": cors})
        factory = functools.partial(handler, directory=str(directory or tmp_path))
        server = ThreadingHTTPServer(("127.0.0.1", 0), factory)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        servers.append((server, thread))
        return f"http://{host}:{server.server_port}"

    yield start
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
