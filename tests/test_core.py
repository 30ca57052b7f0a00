"""Probes, metrics and request ids: what every deployment has."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families

from app import create_app
from app.core.api import endpoint
from app.modules import close_modules
from tests.conftest import BASE_OVERRIDES, AppFactory

ROOT = Path(__file__).resolve().parent.parent


# -- probes ----------------------------------------------------------------------------------


def test_liveness_and_version(client: object) -> None:
    assert client.get("/api/v1/healthz").get_json() == {"status": "OK"}  # type: ignore[attr-defined]
    assert client.get("/api/v1/livez").status_code == 200  # type: ignore[attr-defined]
    version = client.get("/api/v1/version").get_json()  # type: ignore[attr-defined]
    assert version["name"] == "saas-foundation"
    assert version["modules"]["auth"] is True


def test_readyz_ok_lists_components(make_app: AppFactory) -> None:
    app = make_app()
    response = app.test_client().get("/api/v1/readyz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "OK"
    assert body["components"]["database"] == {"status": "OK"}
    assert body["components"]["module:auth"]["status"] == "OK"
    if app.config["SETTINGS"].redis_url:
        assert body["components"]["redis"] == {"status": "OK"}


@pytest.mark.modules("audit")
def test_readyz_lists_each_enabled_module(make_app: AppFactory) -> None:
    body = make_app(MODULES__AUDIT="true").test_client().get("/api/v1/readyz").get_json()
    assert body["components"]["module:audit"]["status"] == "OK"


def _closed_app(overrides: dict[str, str]) -> Flask:
    return create_app({**BASE_OVERRIDES, **overrides})


def test_readyz_names_an_unreachable_database() -> None:
    app = _closed_app({"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/x"})
    try:
        response = app.test_client().get("/api/v1/readyz")
        assert response.status_code == 503
        body = response.get_json()
        assert body["status"] == "KO"
        assert body["components"]["database"]["status"] == "KO"
        assert app.test_client().get("/api/v1/healthz").status_code == 200
    finally:
        close_modules(app)


def test_page_session_housekeeping_never_fails_a_request_while_the_database_is_down() -> None:
    """Expired page sessions are deleted on one page request in N; with the database down that
    request still answers (the stock Flask-Session cleanup retried with sleeps, then raised: a 503)."""
    app = _closed_app({"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/x"})
    try:
        app.session_interface.cleanup_n_requests = 1  # type: ignore[attr-defined]
        client = app.test_client()
        assert [client.get("/web-static/web.css").status_code for _ in range(3)] == [200] * 3
        assert client.get("/api/v1/healthz").status_code == 200
    finally:
        close_modules(app)


def test_readyz_names_an_unreachable_redis_as_degraded(database_url: str) -> None:
    """Redis is an accelerator: without it the app still serves, so readiness stays 200 and says so."""
    app = _closed_app({"DATABASE_URL": database_url, "REDIS_URL": "redis://127.0.0.1:1/0"})
    try:
        for _ in range(2):  # the first call trips the circuit breaker, the second is answered without calling
            response = app.test_client().get("/api/v1/readyz")
            assert response.status_code == 200
            body = response.get_json()
            assert body["status"] == "DEGRADED"
            assert body["components"]["redis"]["status"] == "DEGRADED"
            assert body["components"]["database"]["status"] == "OK"
    finally:
        close_modules(app)


@pytest.mark.redis
def test_readyz_with_a_reachable_redis(make_app: AppFactory, redis_url: str) -> None:
    app = make_app(REDIS_URL=redis_url)
    body = app.test_client().get("/api/v1/readyz").get_json()
    assert body["components"]["redis"] == {"status": "OK"}


def test_connection_timeouts_are_short(make_app: AppFactory) -> None:
    """An unreachable (not refusing) host must not hold a probe for long: the drivers give up in seconds."""
    pg_app = create_app({**BASE_OVERRIDES, "DATABASE_URL": "postgresql://postgres@10.255.255.1/x"})
    try:
        assert pg_app.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]["connect_timeout"] <= 5
    finally:
        close_modules(pg_app)
    redis_app = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    pool_kwargs = redis_app.extensions["redis"].connection_pool.connection_kwargs
    assert pool_kwargs["socket_connect_timeout"] <= 5
    assert pool_kwargs["socket_timeout"] <= 5


# -- metrics ---------------------------------------------------------------------------------


def _counts(app: Flask) -> dict[tuple[str, str, str], float]:
    text = app.test_client().get("/metrics").get_data(as_text=True)
    counts: dict[tuple[str, str, str], float] = {}
    for family in text_string_to_metric_families(text):
        if family.name != "http_requests":
            continue
        for sample in family.samples:
            if sample.name == "http_requests_total":
                labels = sample.labels
                counts[(labels["route"], labels["method"], labels["status"])] = sample.value
    return counts


def test_metrics_count_by_route_template_method_and_status(database_url: str) -> None:
    app = create_app({**BASE_OVERRIDES, "DATABASE_URL": database_url})

    @app.route("/api/v1/test/items/<item_id>", methods=["GET", "DELETE"])
    @endpoint(summary="An item", tags=["Test"], response={"type": "object"})
    def item(item_id: str) -> dict[str, str]:
        return {"id": item_id}

    try:
        before = _counts(app)
        client = app.test_client()
        for path in ("/api/v1/test/items/1", "/api/v1/test/items/2", "/api/v1/test/items/3"):
            assert client.get(path).status_code == 200
        assert client.delete("/api/v1/test/items/9").status_code == 200
        assert client.post("/api/v1/test/items/9").status_code == 405
        for probe in ("/api/v1/healthz", "/api/v1/livez", "/api/v1/readyz", "/metrics", "/api/v1/healthz/"):
            client.get(probe)
        after = _counts(app)
    finally:
        close_modules(app)

    def delta(key: tuple[str, str, str]) -> float:
        return after.get(key, 0) - before.get(key, 0)

    template = "/api/v1/test/items/<item_id>"
    assert delta((template, "GET", "200")) == 3
    assert delta((template, "DELETE", "200")) == 1
    assert delta(("<unmatched>", "POST", "405")) >= 1  # no rule matched the method: no template either
    assert not [key for key in after if key[0].startswith("/api/v1/test/items/") and key[0] != template]
    for probe in ("/api/v1/healthz", "/api/v1/livez", "/api/v1/readyz", "/metrics"):
        assert not [key for key in after if key[0] == probe and delta(key)], probe


def test_unmatched_paths_share_one_label(client: object, app: Flask) -> None:
    before = _counts(app)
    for n in range(3):
        client.get(f"/api/v1/nothing-here-{n}")  # type: ignore[attr-defined]
    after = _counts(app)
    key = ("<unmatched>", "GET", "404")
    assert after[key] - before.get(key, 0) == 3
    assert not [k for k in after if "nothing-here" in k[0]]


# -- request ids -----------------------------------------------------------------------------


def test_request_id_is_taken_when_sane_and_generated_otherwise(client: object) -> None:
    get = client.get  # type: ignore[attr-defined]
    assert get("/api/v1/healthz", headers={"X-Request-ID": "abc-123.x:y_z"}).headers["X-Request-ID"] == "abc-123.x:y_z"
    for insane in ("has spaces", "x" * 200, "<script>", "a\u00e9b"):
        echoed = get("/api/v1/healthz", headers={"X-Request-ID": insane}).headers["X-Request-ID"]
        assert echoed != insane
        assert len(echoed) == 32 and all(c in "0123456789abcdef" for c in echoed)
    first = get("/api/v1/healthz").headers["X-Request-ID"]
    second = get("/api/v1/healthz").headers["X-Request-ID"]
    assert first != second


_LOGGING_SCRIPT = """
import logging, sys
from app import create_app
app = create_app({"APP_ENV": sys.argv[1], "AUTH__SECRET": "x" * 40, "DATABASE_URL": sys.argv[2],
                  "LOG_LEVEL": "INFO"})
@app.get("/api/v1/test/log")
def log_something():
    logging.getLogger("app.test").info("inside the view")
    return {"ok": True}
app.test_client().get("/api/v1/test/log", headers={"X-Request-ID": "req-42"})
"""


def _log_lines(env_name: str, database_url: str) -> list[str]:
    env = {**os.environ, "APP_ENV_FILE": "", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", _LOGGING_SCRIPT, env_name, database_url],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return [line for line in result.stderr.splitlines() if "inside the view" in line]


def test_log_lines_are_json_in_production_with_the_request_id(database_url: str) -> None:
    lines = _log_lines("production", database_url)
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["message"] == "inside the view"
    assert record["request_id"] == "req-42"
    assert record["level"] == "INFO"
    assert record["logger"] == "app.test"


def test_log_lines_are_text_in_development_with_the_request_id(database_url: str) -> None:
    lines = _log_lines("development", database_url)
    assert len(lines) == 1
    assert "[req-42]" in lines[0]
    assert "app.test: inside the view" in lines[0]
    with pytest.raises(json.JSONDecodeError):
        json.loads(lines[0])
