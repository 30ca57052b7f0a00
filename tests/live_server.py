"""A real HTTP server around a test app, for clients that are not Flask's test client (node, browsers).

``serve(app)`` runs werkzeug's threaded server on 127.0.0.1 in a background thread. The socket is
bound (port 0, so the kernel picks a free port) *before* the app is built, and the app is attached
afterwards: the app must know its own URL (``AUTH__BASE_URL``: emailed links, trusted origin), and
binding first leaves no window in which another process could take the port.

Fixtures (import them into a test module, ``from tests.live_server import live_server``):

- ``make_live_server(**env_overrides) -> LiveServer``: an app from ``make_app`` with the file mail
  backend (``LiveServer.outbox``) and ``AUTH__BASE_URL`` set to the served URL, running until the test ends.
- ``live_server``: ``make_live_server()`` with the defaults.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

__all__ = ["LiveServer", "bound_server", "live_server", "make_live_server", "serve"]

#: A second origin the live apps trust, for a front end served apart from the API (e.g. a Vite dev server).
SPA_ORIGIN = "http://localhost:5173"


class _QuietHandler(WSGIRequestHandler):
    """No access log lines in the test output; errors still reach the app's logger."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def _placeholder_app(environ: Any, start_response: Any) -> list[bytes]:
    start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
    return [b"app not attached yet"]


@contextmanager
def bound_server() -> Iterator[BaseWSGIServer]:
    """A threaded server bound to a free port on 127.0.0.1, not yet serving; attach ``.app`` then ``serve``."""
    server = make_server("127.0.0.1", 0, _placeholder_app, threaded=True, request_handler=_QuietHandler)
    try:
        yield server
    finally:
        server.server_close()


@contextmanager
def serve(server: BaseWSGIServer, app: Flask | None = None) -> Iterator[str]:
    """Serve ``app`` (or the one already attached) in a background thread; yields the base URL."""
    if app is not None:
        server.app = app
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@dataclass(frozen=True)
class LiveServer:
    """A served app: ``url`` is its origin (no trailing slash), ``outbox`` the JSON-lines mail file."""

    url: str
    app: Flask
    outbox: Path

    @property
    def auth_url(self) -> str:
        return f"{self.url}/api/v1/auth"

    def mails(self) -> list[dict[str, Any]]:
        """Every mail sent so far (``to, subject, text, url``), oldest first."""
        if not self.outbox.exists():
            return []
        lines = self.outbox.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]


LiveServerFactory = Callable[..., LiveServer]


@pytest.fixture
def make_live_server(make_app: Callable[..., Flask], tmp_path: Path) -> Iterator[LiveServerFactory]:
    """``make_live_server(**env_overrides)``: a served app, stopped when the test ends."""
    with ExitStack() as stack:

        def factory(**overrides: Any) -> LiveServer:
            server = stack.enter_context(bound_server())
            url = f"http://127.0.0.1:{server.server_port}"
            outbox = tmp_path / f"outbox-{server.server_port}.jsonl"
            values: dict[str, Any] = {
                "MAIL__BACKEND": "file",
                "MAIL__FILE": str(outbox),
                "AUTH__BASE_URL": url,
                "AUTH__TRUSTED_ORIGINS": SPA_ORIGIN,
                **overrides,
            }
            app = make_app(**values)
            stack.enter_context(serve(server, app))
            return LiveServer(url=url, app=app, outbox=outbox)

        yield factory


@pytest.fixture
def live_server(make_live_server: LiveServerFactory) -> LiveServer:
    """The app with default settings, served on a free port of 127.0.0.1."""
    return make_live_server()
