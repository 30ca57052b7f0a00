"""What every deployment has: errors, request ids, metrics, probes and the OpenAPI document."""

from __future__ import annotations

from flask import Flask


def init_core(app: Flask) -> None:
    # Imported here, not at the top: ``app.core.settings`` is read by ``serving.py`` and
    # ``gunicorn.conf.py`` before prometheus-client may be imported (PROMETHEUS_MULTIPROC_DIR).
    from app.core.errors import register_error_handlers
    from app.core.health import bp as health_bp
    from app.core.logging import init_request_id
    from app.core.metrics import init_metrics
    from app.core.openapi import init_openapi
    from app.core.outage import register_outage_handlers
    from app.core.security_headers import init_security_headers

    init_request_id(app)  # first: every later hook and log line sees the request id
    init_metrics(app)
    register_error_handlers(app)
    register_outage_handlers(app)
    init_security_headers(app)
    app.register_blueprint(health_bp)
    init_openapi(app)
