"""What a workload is: one HTTP request, prepared against a running server, repeated by wrk.

A workload file in ``bench/workloads/`` defines ``WORKLOADS``, a list of :class:`Workload`. Its
``prepare`` gets a :class:`Context` (base URL, a signed-up user) and returns the :class:`Request`
to repeat; ``check`` looks at one real response before the load starts, so a workload that
silently answers 401 never produces a figure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

PROFILES = ("database", "redis")
AUTH = "/api/v1/auth"
#: The baseline route ``bench/wsgi.py`` adds.
BARE_PATH = "/bench/bare"
PASSWORD = "bench-password-correct-horse"


@dataclass(frozen=True)
class Request:
    """The one request wrk repeats."""

    path: str
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None


@dataclass
class BenchUser:
    """A user signed up through the real route: its credentials as a client would send them."""

    email: str
    password: str
    cookie: str  # the Cookie header value
    token: str  # the bearer token (set-auth-token)
    user_id: str


class Context:
    """What ``prepare`` may use: the server's URL and helpers that go through the real routes."""

    def __init__(self, base_url: str, profile: str, database_url: str | None = None) -> None:
        self.base_url = base_url
        self.profile = profile
        #: The server's database, for what no route may set (server-only fields such as a key's quota)
        self.database_url = database_url
        self.origin = {"Origin": base_url}
        self._users: dict[str, BenchUser] = {}

    def url(self, path: str) -> str:
        return self.base_url + path

    def user(self, name: str = "main") -> BenchUser:
        """A user of this profile's run, signed up once and reused by every workload that asks."""
        if name not in self._users:
            email = f"bench-{name}-{self.profile}@example.com"
            response = requests.post(
                self.url(f"{AUTH}/sign-up/email"),
                json={"name": name, "email": email, "password": PASSWORD},
                headers=self.origin,
                timeout=30,
            )
            response.raise_for_status()
            cookie = "; ".join(f"{k}={v}" for k, v in response.cookies.items())
            self._users[name] = BenchUser(email, PASSWORD, cookie, response.headers["set-auth-token"],
                                          response.json()["user"]["id"])
        return self._users[name]


def send(context: Context, request: Request) -> requests.Response:
    """Send ``request`` once, as wrk will, for the workload's ``check``."""
    return requests.request(request.method, context.url(request.path), headers=request.headers,
                            data=request.body, timeout=30)


def expect_status(status: int = 200) -> Callable[[requests.Response, Context], None]:
    def check(response: requests.Response, _context: Context) -> None:
        if response.status_code != status:
            raise AssertionError(f"answered {response.status_code}, expected {status}: {response.text[:200]}")
    return check


def expect_ok(response: requests.Response, context: Context) -> None:
    """200: the default check."""
    expect_status(200)(response, context)


def expect_user(response: requests.Response, context: Context) -> None:
    """200 and the main user in the body: the credential really was resolved."""
    expect_status(200)(response, context)
    body: Any = response.json()
    if not body or body.get("user", {}).get("email") != context.user().email:
        raise AssertionError(f"the response does not carry the signed-in user: {response.text[:200]}")


@dataclass(frozen=True)
class Workload:
    """One line of the report.

    ``min_ratio`` maps a profile to the least ``req/s / bare req/s`` that passes (no entry: no
    target); ``hash_bound`` asks that req/s reach that share of the argon2-only ceiling instead.
    """

    name: str
    describe: str
    prepare: Callable[[Context], Request]
    check: Callable[[requests.Response, Context], None] = expect_ok
    profiles: tuple[str, ...] = PROFILES
    min_ratio: dict[str, float] = field(default_factory=dict)
    hash_bound: float | None = None
