"""``python -m bench.profile``: where a request's time goes, per credential, in one process.

Builds the app on ``DATABASE_URL`` (a migrated database) and ``REDIS_URL`` (optional) with the
bench's production settings, signs a user up through the real routes, then runs each workload's
request ``--requests`` times under cProfile through the WSGI test client and prints the functions
with the most cumulative time (the bare route first: what every request pays anyway).

    DATABASE_URL=postgresql://... REDIS_URL=redis://... .venv/bin/python -m bench.profile --top 25
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import secrets
import time
from typing import Any

from flask import Flask


def _app() -> Flask:
    os.environ.update({
        "APP_ENV": "production", "APP_ENV_FILE": "",
        "AUTH__SECRET": os.environ.get("AUTH__SECRET") or "bench-profile-secret-0123456789-abcdefghijklmnop",
        "AUTH__RATE_LIMIT__ENABLED": "false", "AUTH__API_KEY__RATE_LIMIT_ENABLED": "false", "LOG_LEVEL": "WARNING",
        "AUTH__BASE_URL": "http://localhost",
    })
    from app.modules import ensure_ready
    from bench.wsgi import app

    ensure_ready(app)
    return app


def _workloads(app: Flask) -> dict[str, dict[str, str]]:
    client = app.test_client()
    origin = {"Origin": "http://localhost"}
    email = f"profile-{secrets.token_hex(4)}@example.com"
    response = client.post("/api/v1/auth/sign-up/email", json={"email": email, "password": "profile password 1",
                                                               "name": "p"}, headers=origin)
    assert response.status_code == 200, response.json
    body: Any = response.json
    token = body["token"]
    cookie = response.headers["Set-Cookie"].split(";", 1)[0]
    created: Any = client.post("/api/v1/auth/api-key/create", json={"name": "profile"}, headers=origin).json
    issued: Any = client.get("/api/v1/auth/token").json
    key, jwt = created["key"], issued["token"]
    from app.modules.auth.api_key import KeyFields, create_api_key

    with app.app_context():  # a quota is server-only: set as application code sets it
        _, quota_key = create_api_key(body["user"]["id"], KeyFields(remaining=10**9, rate_limit_enabled=False))
    return {
        "bare": {},
        "me-cookie": {"Cookie": cookie},
        "me-bearer": {"Authorization": f"Bearer {token}"},
        "me-jwt": {"Authorization": f"Bearer {jwt}"},
        "me-api-key": {"x-api-key": key},
        "me-api-key-quota": {"x-api-key": quota_key},
        "get-session": {"Cookie": cookie},
    }


#: Where each workload goes (the others: ``/api/v1/me``).
_PATHS = {"bare": "/bench/bare", "get-session": "/api/v1/auth/get-session"}


def _plain_timings(client: Any, chosen: dict[str, dict[str, str]], requests: int) -> None:
    """µs per request without the profiler, the workloads interleaved in rounds of 100 so each sees
    the same machine: wall time, and this thread's CPU time (which a loaded machine inflates much
    less). The ratios are what the bench's would be if one thread were the limit."""
    wall = dict.fromkeys(chosen, 0.0)
    cpu = dict.fromkeys(chosen, 0.0)
    rounds = max(1, requests // 100)
    for _ in range(rounds):
        for name, headers in chosen.items():
            path = _PATHS.get(name, "/api/v1/me")
            began, began_cpu = time.perf_counter(), time.thread_time()
            for _ in range(100):
                client.get(path, headers=headers)
            wall[name] += time.perf_counter() - began
            cpu[name] += time.thread_time() - began_cpu
    print("=== without the profiler, interleaved: us per request (bare / workload), wall and CPU ===")
    for name in chosen:
        print(f"  {name:12} wall {wall[name] / (rounds * 100) * 1e6:6.0f} us {wall['bare'] / wall[name]:5.2f}x"
              f"   CPU {cpu[name] / (rounds * 100) * 1e6:6.0f} us {cpu['bare'] / cpu[name]:5.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    app = _app()
    workloads = _workloads(app)
    only = {n for n in args.only.split(",") if n}

    chosen = {name: headers for name, headers in workloads.items() if not only or name in only or name == "bare"}
    client = app.test_client(use_cookies=False)  # the workload's own Cookie header, nothing else
    for name, headers in chosen.items():
        for _ in range(50):  # warm caches and statement caches
            assert client.get(_PATHS.get(name, "/api/v1/me"), headers=headers).status_code == 200
    _plain_timings(client, chosen, args.requests)
    for name, headers in chosen.items():
        path = _PATHS.get(name, "/api/v1/me")
        profiler = cProfile.Profile()
        began = time.perf_counter()
        profiler.enable()
        for _ in range(args.requests):
            client.get(path, headers=headers)
        profiler.disable()
        per_request = (time.perf_counter() - began) / args.requests * 1e6
        out = io.StringIO()
        stats: Any = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(args.top)
        print(f"=== {name}: {per_request:.0f} us per request under cProfile ===")
        print("\n".join(line for line in out.getvalue().splitlines()[6:] if line.strip()))


if __name__ == "__main__":
    main()
