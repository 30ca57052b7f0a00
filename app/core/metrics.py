"""Prometheus metrics: request count and duration by route template, method and status.

Under gunicorn, ``PROMETHEUS_MULTIPROC_DIR`` (set by ``gunicorn.conf.py``) switches prometheus-client
to its multiprocess mode, so ``/metrics`` adds up every worker rather than whichever answered.
Probes and the metrics route itself are not counted.
"""

from __future__ import annotations

import os
import time

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

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


def metrics_view() -> Response:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        payload = generate_latest(registry)
    else:
        payload = generate_latest()
    return Response(payload, mimetype=CONTENT_TYPE_LATEST)


def init_metrics(app: Flask) -> None:
    app.before_request(_start_timer)
    app.after_request(_record)
    app.add_url_rule("/metrics", "metrics", metrics_view, methods=["GET"])
