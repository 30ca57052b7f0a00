"""A browser without a browser: ``requests.Session`` through the real redirects of the flow.

It follows redirects by hand so a test can stop at, inspect or tamper with any hop: the authorize
URL, the provider's login interaction, and the provider's redirect back to our callback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit, urlunsplit

import requests

MAX_HOPS = 20


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def with_query(url: str, **changes: str | None) -> str:
    """``url`` with query parameters replaced (a value of None removes the parameter)."""
    parts = urlsplit(url)
    query = query_of(url)
    for key, value in changes.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = value
    return urlunsplit(parts._replace(query=urlencode(query)))


@dataclass
class Browser:
    """One user agent: its own cookie jar."""

    app_url: str
    issuer: str
    session: requests.Session = field(default_factory=requests.Session)

    @property
    def auth_url(self) -> str:
        return f"{self.app_url}/api/v1/auth"

    def start(self, path: str = "/sign-in/social", **body: Any) -> requests.Response:
        """POST the sign-in; returns the JSON answer (``url``, ``redirect``) as a response."""
        payload = {
            "provider": "keycloak",
            "callbackURL": "/dashboard",
            "errorCallbackURL": "/oops",
            "newUserCallbackURL": "/welcome",
            **body,
        }
        if path == "/sign-in/oauth2":
            payload["providerId"] = payload.pop("provider")
        return self.session.post(f"{self.auth_url}{path}", json=payload, headers={"Origin": self.app_url}, timeout=10)

    def to_callback(self, authorize_url: str, login: str | None) -> str:
        """Follow the provider until it redirects back to the app; log ``login`` in on the way.

        Returns the callback URL (not requested yet). ``login=None`` aborts the interaction.
        """
        url = authorize_url
        for _ in range(MAX_HOPS):
            if url.startswith(self.app_url):
                return url
            response = self.session.get(url, allow_redirects=False, timeout=10)
            if response.is_redirect:
                url = urljoin(url, response.headers["Location"])
                continue
            assert response.status_code == 200, (url, response.status_code, response.text)
            uid = response.json()["uid"]
            action = "login" if login is not None else "abort"
            response = self.session.post(
                f"{self.issuer}/interaction/{uid}/{action}",
                data={"login": login or ""},
                allow_redirects=False,
                timeout=10,
            )
            assert response.is_redirect, (response.status_code, response.text)
            url = urljoin(url, response.headers["Location"])
        raise AssertionError("too many redirects")

    def callback(self, callback_url: str) -> requests.Response:
        """Request the app's callback; returns its answer (a 302), not followed."""
        response = self.session.get(callback_url, allow_redirects=False, timeout=10)
        assert response.status_code == 302, (response.status_code, response.text)
        return response

    def sign_in(self, login: str | None, path: str = "/sign-in/social", **body: Any) -> requests.Response:
        """The whole flow; returns the callback's redirect."""
        started = self.start(path, **body)
        assert started.status_code == 200, started.text
        return self.callback(self.to_callback(started.json()["url"], login))

    def get_session(self) -> Any:
        response = self.session.get(f"{self.auth_url}/get-session", timeout=10)
        assert response.status_code == 200, response.text
        return response.json()


def location(response: requests.Response) -> str:
    return str(response.headers["Location"])


def error_of(response: requests.Response) -> str | None:
    return query_of(location(response)).get("error")
