"""Probes: liveness (the process answers), readiness (its dependencies answer), and the version."""

from __future__ import annotations

import logging
import platform
from importlib import metadata
from typing import Any

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from pydantic_settings import SettingsConfigDict
from sqlalchemy import text

from app.core.api import ApiModel, endpoint
from app.core.metrics import require_metrics_token
from app.core.proxies import unproxied
from app.core.settings import Section, current, section
from app.extensions import db

log = logging.getLogger(__name__)

bp = Blueprint("health", __name__, url_prefix="/api/v1")


class Status(ApiModel):
    status: str


class Readiness(ApiModel):
    status: str
    components: dict[str, dict[str, Any]]


class Version(ApiModel):
    name: str
    version: str
    #: Only with VERSION__SHOW_PYTHON=true.
    python: str | None = None
    modules: dict[str, bool]


def _check_database() -> dict[str, Any]:
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as error:  # noqa: BLE001 - any failure means "not ready"
        db.session.rollback()
        log.warning("readiness: database check failed: %s", error)
        return {"status": "KO", "error": type(error).__name__}
    return {"status": "OK"}


def _check_redis() -> dict[str, Any] | None:
    """Redis is an accelerator: when it fails, sessions come from the database and rate limits are
    counted per process, so it is reported ``DEGRADED`` (readiness stays 200), never ``KO``. The
    check never waits longer than the client's short timeouts, and not at all while the circuit
    breaker is open."""
    from app.core.redis import breaker_of

    client = current_app.extensions.get("redis")
    if client is None:
        return None
    breaker = breaker_of(client)
    if breaker is not None and breaker.is_open:
        return {"status": "DEGRADED", "detail": "unavailable (circuit breaker open): served without it"}
    try:
        client.ping()
    except Exception as error:  # noqa: BLE001 - a probe reports any failure, it never fails itself
        log.warning("readiness: redis check failed: %s", error)
        return {"status": "DEGRADED", "detail": f"unavailable ({type(error).__name__}): served without it"}
    return {"status": "OK"}


def _check_modules() -> dict[str, dict[str, Any]]:
    from app.modules import registry

    reg = registry(current_app)
    result: dict[str, dict[str, Any]] = {}
    for module in reg.modules:
        state = reg.state.get(module.name, "pending")
        ok, detail = (state == "ready"), state
        if ok:
            try:
                ok, detail = module.readiness(current_app)
            except Exception as error:  # noqa: BLE001 - a crashing readiness check is a failed one
                ok, detail = False, f"{type(error).__name__}: {error}"
        result[f"module:{module.name}"] = {"status": "OK" if ok else "KO", "detail": detail}
    return result


@bp.get("/healthz")
@endpoint(summary="Liveness: the process answers", tags=["Health"], response=Status)
def healthz() -> ResponseReturnValue:
    return {"status": "OK"}


@bp.get("/livez")
@endpoint(summary="Liveness (Kubernetes spelling)", tags=["Health"], response=Status)
def livez() -> ResponseReturnValue:
    return {"status": "OK"}


@bp.get("/readyz")
@endpoint(
    summary="Readiness: database, Redis and every module",
    tags=["Health"],
    response=Readiness,
    responses={503: "A component that requests need is not ready (a degraded Redis is 200)"},
)
def readyz() -> ResponseReturnValue:
    from app.modules import ensure_ready

    ensure_ready(unproxied(current_app))
    components: dict[str, dict[str, Any]] = {"database": _check_database()}
    redis_status = _check_redis()
    if redis_status is not None:
        components["redis"] = redis_status
    components.update(_check_modules())
    ok = all(c["status"] in ("OK", "DEGRADED") for c in components.values())
    degraded = any(c["status"] == "DEGRADED" for c in components.values())
    status = ("DEGRADED" if degraded else "OK") if ok else "KO"
    return jsonify({"status": status, "components": components}), 200 if ok else 503


class VersionSettings(Section):
    model_config = SettingsConfigDict(env_prefix="VERSION__")

    #: ``/api/v1/version`` names the Python version only when asked to (it helps an attacker pick exploits).
    show_python: bool = False


@bp.record_once
def _check_settings(state: Any) -> None:
    section(state.app, VersionSettings)  # a wrong VERSION__* value stops the start


@bp.get("/version")
@endpoint(summary="Version of the running application", tags=["Health"], response=Version,
          responses={401: "METRICS__TOKEN is set and the request lacks it"})
def version() -> ResponseReturnValue:
    require_metrics_token()
    settings = current_app.config["SETTINGS"]
    try:
        app_version = metadata.version("saas-foundation")
    except metadata.PackageNotFoundError:
        app_version = "0.0.0+unknown"
    body: dict[str, Any] = {"name": "saas-foundation", "version": app_version}
    if current(VersionSettings).show_python:
        body["python"] = platform.python_version()
    body["modules"] = settings.modules.model_dump()
    return body
