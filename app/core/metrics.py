"""Prometheus metrics: request count and duration by route template, method and status.

Under gunicorn, ``PROMETHEUS_MULTIPROC_DIR`` (set by ``gunicorn.conf.py``) switches prometheus-client
to its multiprocess mode, so ``/metrics`` adds up every worker rather than whichever answered.
Probes and the metrics route itself are not counted.

``METRICS__TOKEN`` restricts ``/metrics`` (and ``/api/v1/version``) to ``Authorization: Bearer
<token>``, compared in constant time (CWE-208; OWASP REST Security Cheat Sheet, "Access
Control"): Prometheus sends it with ``authorization: {credentials: ...}`` in its scrape config.
"""

from __future__ import annotations

import hmac
import os
import time
from typing import Any

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from app.core.settings import Section, current, section

REQUESTS = Counter(
    "http_requests_total", "HTTP requests answered", ["route", "method", "status"]
)
DURATION = Histogram(
    "http_request_duration_seconds",
    "Time spent answering HTTP requests",
    ["route", "method", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)

#: Paths never counted: liveness/readiness probes would drown the real traffic.
UNCOUNTED = frozenset({"/metrics", "/api/v1/healthz", "/api/v1/livez", "/api/v1/readyz"})


def _start_timer() -> None:
    g.metrics_start = time.perf_counter()


def _record(response: Response) -> Response:
    start = g.pop("metrics_start", None)
    if start is None or request.path.rstrip("/") in UNCOUNTED:
        return response
    rule = request.url_rule
    route = rule.rule if rule is not None else "<unmatched>"
    labels = (route, request.method, str(response.status_code))
    REQUESTS.labels(*labels).inc()
    DURATION.labels(*labels).observe(time.perf_counter() - start)
    return response


class MetricsSettings(Section):
    """Who may read ``/metrics`` and ``/api/v1/version``: ``METRICS__*``."""

    model_config = SettingsConfigDict(env_prefix="METRICS__")

    #: When set, both answer only ``Authorization: Bearer <token>`` (401 otherwise).
    token: str | None = Field(default=None, min_length=16)

    @field_validator("token", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value


def require_metrics_token() -> None:
    """Refuse the request unless it carries the configured bearer token (no token set: open)."""
    from app.core.errors import ApiError

    token = current(MetricsSettings).token
    if token is None:
        return
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if not (scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())):
        raise ApiError(401, "UNAUTHORIZED", "A valid bearer token is required",
                       headers={"WWW-Authenticate": 'Bearer realm="metrics"'})


def metrics_view() -> Response:
    require_metrics_token()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        payload = generate_latest(registry)
    else:
        payload = generate_latest()
    # content_type, not mimetype: CONTENT_TYPE_LATEST already names its charset.
    return Response(payload, content_type=CONTENT_TYPE_LATEST)


def init_metrics(app: Flask) -> None:
    section(app, MetricsSettings)  # a wrong METRICS__TOKEN stops the start
    app.before_request(_start_timer)
    app.after_request(_record)
    app.add_url_rule("/metrics", "metrics", metrics_view, methods=["GET"])
