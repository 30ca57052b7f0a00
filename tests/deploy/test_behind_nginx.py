"""The production shape, for real: Debian's nginx with ``deploy/nginx.conf`` in front of two
gunicorn instances (separate masters, as on two machines) sharing one PostgreSQL database and one
Redis, ``APP_ENV=production`` and ``AUTH__TRUSTED_PROXIES=1``.

Through the proxy (and, where a step must land on one instance, straight at it): a session
revoked on one instance is refused at once on the other; rate limits and the account lockout
count across both; the JWKS is the same everywhere; the client address recorded is the real one,
whatever the client wrote in ``X-Forwarded-For``; the proxy's limits match the app's; and a dozen
clients trickling headers or bodies at 1 byte every 2 s do not keep ``/api/v1/healthz`` from
answering (each instance has one worker of 4 threads: without the proxy's buffering, those clients
would hold all 8).

One test on one stack: starting the stack costs more than all the checks together.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import TEST_SECRET, create_pg_database, drop_pg_database
from tests.deploy.client import Client, Reply
from tests.deploy.processes import (
    NGINX,
    Instance,
    app_environment,
    free_port,
    migrate,
    start_instance,
    start_nginx,
    status_of,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.skipif(not Path(NGINX).exists(), reason="needs nginx (apt-get install -y nginx-light)"),
]

AUTH = "/api/v1/auth"
PASSWORD = "correct horse battery"
LOCKOUT_AFTER = 4
SLOW_CLIENTS = 12
SLOW_HEADER_CLIENTS = 4  # the others send full headers, then trickle a body
TRICKLE_INTERVAL = 2.0
SLOW_DURATION = 12.0
PROBE_INTERVAL = 0.5
MAX_CONTENT_LENGTH = 1048576


@dataclass(frozen=True)
class Stack:
    proxy: int
    a: Instance
    b: Instance
    base_url: str
    nginx_log: Path

    def client(self, source: str) -> Client:
        """A client at loopback address ``source`` that sends the app's origin with its POSTs."""
        return Client(source, origin=self.base_url)


@pytest.fixture
def stack(redis_url: str, tmp_path: Path) -> Iterator[Stack]:
    database_url = create_pg_database()
    try:
        proxy, port_a, port_b = free_port(), free_port(), free_port()
        base_url = f"http://127.0.0.1:{proxy}"
        env = app_environment(
            APP_ENV="production",
            AUTH__SECRET=TEST_SECRET,
            AUTH__TRUSTED_PROXIES="1",
            AUTH__BASE_URL=base_url,
            AUTH__LOCKOUT__MAX_FAILURES=str(LOCKOUT_AFTER),
            DATABASE_URL=database_url,
            REDIS_URL=redis_url,
            WEB_CONCURRENCY="1",
            GUNICORN_THREADS="4",
            LOG_LEVEL="WARNING",
            # argon2 at its floor: hashing is not under test, and the sign-in rate-limit steps must
            # fit in its 10 s window on a busy machine.
            AUTH__ARGON2__MEMORY_COST="8",
            AUTH__ARGON2__TIME_COST="1",
        )
        migrate(env, tmp_path / "migrate.log")
        with (
            start_instance("a", port_a, env, tmp_path) as a,
            start_instance("b", port_b, env, tmp_path) as b,
            start_nginx(proxy, [port_a, port_b], tmp_path / "nginx") as nginx_log,
        ):
            yield Stack(proxy, a, b, base_url, nginx_log)
    finally:
        drop_pg_database(database_url)


def eventually(predicate: Callable[[], bool], timeout: float = 10) -> bool:
    """Poll ``predicate`` until true or ``timeout`` s (access log lines follow their response)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def both_served(stack: Stack, marker: str, total: int) -> None:
    """Every one of ``total`` requests marked ``marker`` was answered, and by both instances."""
    eventually(lambda: stack.a.served(marker) + stack.b.served(marker) >= total)
    counts = (stack.a.served(marker), stack.b.served(marker))
    assert sum(counts) == total and min(counts) >= 1, f"{marker}: answered by a, b = {counts}"


def sign_in(client: Client, port: int, email: str, password: str, marker: str) -> Reply:
    return client.request(port, "POST", f"{AUTH}/sign-in/email", {"email": email, "password": password}, marker=marker)


# -- the steps -------------------------------------------------------------------------------


def jwks_is_the_same_everywhere(stack: Stack) -> None:
    client = Client("127.0.0.1")
    ports = (stack.a.port, stack.b.port)
    direct = [client.request(port, "GET", f"{AUTH}/jwks", marker="jwks-direct") for port in ports]
    proxied = [client.request(stack.proxy, "GET", f"{AUTH}/jwks", marker="jwks-proxy") for _ in range(4)]
    bodies = [reply.json() for reply in direct + proxied]
    assert all(reply.status == 200 for reply in direct + proxied), [reply.status for reply in direct + proxied]
    assert bodies[0]["keys"] and all(key["kid"] for key in bodies[0]["keys"]), bodies[0]
    assert all(body == bodies[0] for body in bodies), bodies
    both_served(stack, "jwks-proxy", 4)


def sign_up(stack: Stack, client: Client, email: str) -> None:
    body = {"email": email, "password": PASSWORD, "name": email.split("@")[0]}
    reply = client.request(stack.proxy, "POST", f"{AUTH}/sign-up/email", body, marker="sign-up")
    assert reply.status == 200, reply.body


def current_session_id(stack: Stack, client: Client) -> str:
    reply = client.request(stack.proxy, "GET", f"{AUTH}/get-session")
    assert reply.status == 200 and reply.json(), reply.body
    session_id: str = reply.json()["session"]["id"]
    return session_id


def addresses(stack: Stack, client: Client) -> dict[str, str]:
    """``{session id: ipAddress}`` of the caller's sessions, from list-sessions through the proxy."""
    reply = client.request(stack.proxy, "GET", f"{AUTH}/list-sessions")
    assert reply.status == 200, reply.body
    return {session["id"]: session["ipAddress"] for session in reply.json()}


def client_address_is_the_real_one(stack: Stack, first: Client, second: Client) -> None:
    """nginx overwrites X-Forwarded-For with its peer: the app records that, never the forgery."""
    forged = "203.0.113.9"
    headers = {"X-Forwarded-For": forged, "X-Real-IP": forged, "Forwarded": f"for={forged}"}
    reply = second.request(
        stack.proxy, "POST", f"{AUTH}/sign-in/email", {"email": "alice@example.com", "password": PASSWORD},
        headers=headers,
    )
    assert reply.status == 200, reply.body
    recorded = addresses(stack, second)
    assert recorded[current_session_id(stack, first)] == first.source, recorded
    assert recorded[current_session_id(stack, second)] == second.source, recorded
    assert forged not in recorded.values() and "127.0.0.1" not in recorded.values(), recorded


def forwarded_host_is_believed(stack: Stack, client: Client) -> None:
    """X-Forwarded-Host/-Port/-Proto from nginx make the request's own origin the public one.

    A same-origin POST whose ``Origin`` the browser hid (``null``) is checked against the request's
    scheme and host: through the proxy that is the base URL (trusted); straight at an instance it
    is the instance's own address, which is not.
    """
    headers = {"Origin": "null", "Sec-Fetch-Site": "same-origin"}
    body = {"name": "Alice"}
    through = client.request(stack.proxy, "POST", f"{AUTH}/update-user", body, headers=headers)
    assert through.status == 200, through.body
    direct = client.request(stack.a.port, "POST", f"{AUTH}/update-user", body, headers=headers)
    assert (direct.status, direct.json()["code"]) == (403, "INVALID_ORIGIN"), direct.body


def revocation_is_seen_at_once_everywhere(stack: Stack, victim: Client, other: Client) -> None:
    """A session read on instance a, revoked through instance b, is refused by a's next request."""
    stale = dict(victim.cookies)

    def as_victim() -> Client:  # the revoked cookie, resent even after a response clears it
        return Client(victim.source, origin=stack.base_url, cookies=dict(stale))

    victim_id = current_session_id(stack, victim)
    for port in (stack.a.port, stack.b.port):  # both instances know the session (and cache it)
        reply = as_victim().request(port, "GET", f"{AUTH}/get-session")
        assert reply.json() and reply.json()["session"]["id"] == victim_id, reply.body
    revoked = other.request(stack.b.port, "POST", f"{AUTH}/revoke-session", {"token": victim_id})
    assert revoked.status == 200 and revoked.json() == {"status": True}, revoked.body

    reply = as_victim().request(stack.a.port, "GET", f"{AUTH}/get-session")
    assert reply.status == 200 and reply.json() is None, reply.body
    reply = as_victim().request(stack.a.port, "GET", f"{AUTH}/list-sessions")
    assert reply.status == 401, reply.body
    proxied = [as_victim().request(stack.proxy, "GET", f"{AUTH}/get-session", marker="after-revoke") for _ in range(4)]
    assert [reply.json() for reply in proxied] == [None] * 4, [reply.body for reply in proxied]
    both_served(stack, "after-revoke", 4)
    assert other.request(stack.proxy, "GET", f"{AUTH}/get-session").json() is not None


def rate_limit_is_shared(stack: Stack) -> None:
    """Sign-in allows 3 requests per 10 s per address: counted across a, b and the proxy."""
    client = stack.client("127.0.0.4")
    body = {"email": "nobody@example.com", "password": "wrong password"}
    ports = [stack.a.port, stack.b.port, stack.proxy, stack.proxy, stack.a.port, stack.b.port]
    statuses = [client.request(port, "POST", f"{AUTH}/sign-in/email", body).status for port in ports]
    assert statuses == [401, 401, 401, 429, 429, 429], statuses


def lockout_is_shared(stack: Stack) -> None:
    """Failures on a, b and through the proxy (each from a fresh address) lock the account for all."""
    ports = [stack.a.port, stack.b.port, stack.proxy, stack.proxy]
    assert len(ports) == LOCKOUT_AFTER
    for number, port in enumerate(ports):
        reply = sign_in(stack.client(f"127.0.0.{10 + number}"), port, "alice@example.com", "wrong", "fail")
        assert reply.status == 401, reply.body
    for number, port in enumerate([stack.proxy, stack.a.port, stack.b.port]):
        reply = sign_in(stack.client(f"127.0.0.{20 + number}"), port, "alice@example.com", PASSWORD, "locked")
        assert (reply.status, reply.json()["code"]) == (401, "INVALID_EMAIL_OR_PASSWORD"), reply.body
    control = sign_in(stack.client("127.0.0.30"), stack.proxy, "bob@example.com", PASSWORD, "control")
    assert control.status == 200, control.body


def proxy_limits_match_the_app(stack: Stack) -> None:
    """Bodies over MAX_CONTENT_LENGTH and oversized headers end at nginx, in the app's envelope."""
    conn = http.client.HTTPConnection("127.0.0.1", stack.proxy, timeout=30)
    try:
        conn.putrequest("POST", f"{AUTH}/sign-in/email")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(MAX_CONTENT_LENGTH + 1))
        conn.endheaders()  # nginx answers from Content-Length alone, before any of the body
        response = conn.getresponse()
        assert response.status == 413, response.status
        assert b'"code":"PAYLOAD_TOO_LARGE"' in response.read()
    finally:
        conn.close()
    # At the limit, the request is the app's to judge (here: not an email address).
    client = Client("127.0.0.1")
    padding = MAX_CONTENT_LENGTH - len('{"email":"","password":"x"}')
    body = {"email": "a" * padding, "password": "x"}
    reply = client.request(stack.proxy, "POST", f"{AUTH}/sign-in/email", body)
    assert reply.status == 400 and reply.json()["code"], (reply.status, reply.body[:200])
    reply = client.request(stack.proxy, "GET", "/api/v1/healthz", headers={"X-Large": "a" * 9000})
    assert (reply.status, reply.json()["code"]) == (431, "REQUEST_HEADER_FIELDS_TOO_LARGE"), reply.body
    # Metrics only from inside: straight at an instance, not through the public proxy.
    assert status_of(f"http://127.0.0.1:{stack.a.port}/metrics") == 200
    assert status_of(f"{stack.base_url}/metrics") == 404


# -- slow clients ----------------------------------------------------------------------------


@dataclass
class Trickle:
    """One slow client's tally: bytes it got out, connections nginx closed on it."""

    sent: int = 0
    reconnects: int = 0
    errors: int = 0


def trickle(port: int, source: str, headers_only: bool, stop: threading.Event, tally: Trickle) -> None:
    """Send a request 1 byte every TRICKLE_INTERVAL s, reconnecting when nginx drops us, until ``stop``."""
    if headers_only:  # a header that never ends (slowloris)
        head, slow = b"", b"GET /api/v1/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 100
    else:  # complete headers, then a body that never ends
        head = (
            f"POST {AUTH}/sign-in/email HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            "Content-Length: 100\r\n\r\n"
        ).encode()
        slow = b'{"email":"' + b"a" * 89
    while not stop.is_set():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0)) as sock:
                sock.sendall(head)
                for byte in slow:
                    sock.sendall(bytes([byte]))
                    tally.sent += 1
                    if stop.wait(TRICKLE_INTERVAL):
                        return
            tally.errors += 1  # the whole request went out: not what this client is for
        except OSError:
            tally.reconnects += 1
            stop.wait(0.2)


def slow_clients_do_not_starve_healthz(stack: Stack) -> None:
    stop = threading.Event()
    tallies = [Trickle() for _ in range(SLOW_CLIENTS)]
    threads = [
        threading.Thread(
            target=trickle,
            args=(stack.proxy, f"127.0.1.{1 + n}", n < SLOW_HEADER_CLIENTS, stop, tallies[n]),
            daemon=True,
        )
        for n in range(SLOW_CLIENTS)
    ]
    for thread in threads:
        thread.start()
    probes: list[str] = []
    try:
        time.sleep(TRICKLE_INTERVAL)  # every slow client is connected and has started
        deadline = time.monotonic() + SLOW_DURATION
        while time.monotonic() < deadline:
            try:
                probes.append(str(status_of(f"{stack.base_url}/api/v1/healthz", timeout=10)))
            except OSError as error:
                probes.append(repr(error))
            time.sleep(PROBE_INTERVAL)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=15)
    assert len(probes) >= 10 and probes == ["200"] * len(probes), probes
    # The slow clients were there all along: each trickled most of its bytes, none got through.
    minimum = int((SLOW_DURATION + TRICKLE_INTERVAL) / TRICKLE_INTERVAL) // 2
    assert all(tally.sent >= minimum for tally in tallies), tallies
    assert not any(tally.errors for tally in tallies), tallies
    assert not any(thread.is_alive() for thread in threads)


def test_two_instances_behind_nginx(stack: Stack) -> None:
    jwks_is_the_same_everywhere(stack)
    alice, alice_elsewhere = stack.client("127.0.0.2"), stack.client("127.0.0.3")
    sign_up(stack, alice, "alice@example.com")
    sign_up(stack, stack.client("127.0.0.5"), "bob@example.com")
    client_address_is_the_real_one(stack, alice, alice_elsewhere)
    forwarded_host_is_believed(stack, alice)
    revocation_is_seen_at_once_everywhere(stack, alice, alice_elsewhere)
    rate_limit_is_shared(stack)
    lockout_is_shared(stack)
    proxy_limits_match_the_app(stack)
    slow_clients_do_not_starve_healthz(stack)
    assert "[emerg]" not in stack.nginx_log.read_text() and "[alert]" not in stack.nginx_log.read_text()
