"""The application factory."""

from __future__ import annotations

import atexit
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from config import ConfigError, Environment, Settings, load_settings

__all__ = ["ConfigError", "create_app"]

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def _database_uri(settings: Settings, app: Flask) -> str:
    if settings.database_url:
        return settings.database_url
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{Path(app.instance_path) / 'app.db'}"


def _engine_options(uri: str) -> dict[str, Any]:
    if uri.startswith("sqlite"):
        return {"connect_args": {"timeout": 15}}
    return {
        "pool_pre_ping": True,
        "pool_size": 5,
        "max_overflow": 10,
        "connect_args": {"connect_timeout": 3},
    }


def _close_at_exit(ref: weakref.ref[Flask]) -> None:
    from app.modules import close_modules

    app = ref()
    if app is not None:
        close_modules(app)


def _warn_of_development_defaults(settings: Settings) -> None:
    """Production started on a default meant for a laptop: it serves, so say it at start. Without
    ``AUTH__BASE_URL`` the app trusts only ``http://localhost:5000`` as its origin (every browser
    POST is refused) and names it in mails and OpenAPI; without ``DATABASE_URL`` it writes SQLite
    inside the container."""
    if not settings.is_production:
        return
    import logging

    log = logging.getLogger("app")
    if "base_url" not in settings.auth.model_fields_set:
        log.warning("AUTH__BASE_URL is not set in production: the app takes %s as its own origin and "
                    "refuses cookie requests from any other", settings.base_url)
    if settings.database_url is None:
        log.warning("DATABASE_URL is not set in production: the data goes to SQLite in instance/")


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    """Build the application from the environment, with ``overrides`` (env-style keys) on top.

    Raises :class:`ConfigError` (one line, naming the variable) when a setting is wrong.
    """
    settings = load_settings(overrides)
    app = Flask(__name__, instance_relative_config=True)

    from app.core.logging import configure_logging
    from app.extensions import db, migrate  # before logging is set up: alembic logs its plugins at import

    configure_logging(settings.log_level, json_lines=settings.is_production)

    uri = _database_uri(settings, app)
    app.config.update(
        SETTINGS=settings,
        SETTINGS_OVERRIDES=dict(overrides or {}),
        TESTING=settings.app_env is Environment.TESTING,
        SECRET_KEY=settings.auth.secret or "",
        SQLALCHEMY_DATABASE_URI=uri,
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(uri),
        MAX_CONTENT_LENGTH=settings.max_content_length,
        # No implicit OPTIONS answers: without CORS configured, better-auth answers none either.
        PROVIDE_AUTOMATIC_OPTIONS=False,
        JSON_SORT_KEYS=False,
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]
    if settings.auth.trusted_proxies:
        # The app, not gunicorn, decides which X-Forwarded-* hops to believe (gunicorn.conf.py
        # leaves them alone): the client address and scheme come from the N nearest proxies.
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = settings.auth.trusted_proxies
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops
        )

    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR))
    if settings.redis_url:
        from app.core.redis import make_redis

        app.extensions["redis"] = make_redis(
            settings.redis_url,
            socket_timeout=settings.redis_socket_timeout,
            connect_timeout=settings.redis_connect_timeout,
            cooldown=settings.redis_breaker_cooldown,
        )

    # Imported for its effect: the application's resources join auth's organization roles.
    from app import access_control as access_control
    from app.api import bp as api_bp
    from app.core import init_core
    from app.modules import ensure_ready, registry, setup_modules
    from app.web import bp as web_bp

    init_core(app)
    setup_modules(app)
    from app.core.cors import init_cors

    init_cors(app, extra_headers=app.extensions.get("cors.extra_headers", ()))
    app.register_blueprint(api_bp)
    app.register_blueprint(web_bp)

    modules = registry(app)

    @app.before_request
    def _ready_on_first_request() -> None:
        # Under gunicorn post_worker_init has already done this; under `flask run` the first
        # request does it. One attribute read per request once ready.
        if not modules.ready:
            ensure_ready(app)

    atexit.register(_close_at_exit, weakref.ref(app))
    _warn_of_development_defaults(settings)  # once every setting passed: an error stays one line
    return app
