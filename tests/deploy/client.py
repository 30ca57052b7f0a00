"""A tiny HTTP client that connects from a chosen loopback address and keeps its own cookies.

The whole of 127.0.0.0/8 is loopback on Linux, so a test can be several clients with different
addresses: nginx sees each one's address as ``$remote_addr``, and the app must record that one,
not nginx's own 127.0.0.1 and not whatever the client wrote in ``X-Forwarded-For``. Every
request opens a new connection (no state hides in a kept-alive one) and carries a ``User-Agent``
marker, which the instances' access logs show, so a test can tell which instance answered.
"""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

__all__ = ["Client", "Reply"]


@dataclass(frozen=True)
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Client:
    """A client at ``source`` (a loopback address); ``origin`` is sent on every POST when set."""

    source: str
    origin: str | None = None
    cookies: dict[str, str] = field(default_factory=dict)

    def request(
        self,
        port: int,
        method: str,
        path: str,
        body: Any = None,
        *,
        marker: str = "deploy-test",
        headers: dict[str, str] | None = None,
        timeout: float = 30,
    ) -> Reply:
        """``method path`` on 127.0.0.1:``port``; JSON ``body``; cookies sent and updated."""
        sent = {"User-Agent": marker, "Accept": "application/json"}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        data = None
        if body is not None:
            data = json.dumps(body, separators=(",", ":")).encode()
            sent["Content-Type"] = "application/json"
        if method == "POST" and self.origin:
            sent["Origin"] = self.origin
        sent.update(headers or {})
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout, source_address=(self.source, 0))
        try:
            conn.request(method, path, body=data, headers=sent)
            response = conn.getresponse()
            reply = Reply(response.status, response.headers, response.read())
        finally:
            conn.close()
        for header in reply.headers.get_all("Set-Cookie") or []:
            self._store(header)
        return reply

    def _store(self, header: str) -> None:
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        for name, morsel in jar.items():
            if morsel["max-age"] in ("0", "-1") or not morsel.value:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = morsel.value
