"""The module system: the :class:`AppModule` contract, and how modules are switched on and off.

Each module lives in its own package under ``app/modules/<name>`` and exposes ``module``, an
:class:`AppModule`. ``MODULES__<NAME>`` switches it. A disabled module leaves stand-ins behind (the
guards pass, the audit logger drops), so route code never imports conditionally::

    from app.modules import audit_logger, require_auth, require_permission, require_role, require_tenant

The contract, the import rules and a request's path through the hooks: docs/architecture.md.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from dataclasses import dataclass, field

from flask import Flask

from app.core.identity import Identity
from app.modules.audit_contract import audit_logger
from app.modules.guards import require_auth, require_permission, require_role, require_tenant

__all__ = [
    "AppModule",
    "ModuleRegistry",
    "audit_logger",
    "close_modules",
    "ensure_ready",
    "import_all_models",
    "registry",
    "require_auth",
    "require_permission",
    "require_role",
    "require_tenant",
    "setup_modules",
]

log = logging.getLogger(__name__)

#: How long a failed database wait holds off the next attempt to run ``on_ready``.
READY_RETRY_SECONDS = 2.0


class AppModule:
    """What every module provides. Override what the module needs; the defaults do nothing."""

    name: str = ""
    #: The modules this one needs switched on; checked at start (a one-line ``ConfigError``).
    requires: tuple[str, ...] = ()

    def init_app(self, app: Flask) -> None:
        """Register blueprints, request hooks and CLI commands. No database access here."""

    def on_ready(self, app: Flask) -> None:
        """Run once the database answers: bootstrap data. Must be idempotent."""

    def on_close(self, app: Flask) -> bool | None:
        """Graceful shutdown: drain queues, close pools. True when something was actually closed
        (logged at INFO); None or False (nothing was running, a CLI command) is logged at DEBUG."""
        return None

    def readiness(self, app: Flask) -> tuple[bool, str]:
        """This module's own readiness check for ``/api/v1/readyz``: (ok, detail)."""
        return True, "ok"

    def contribute_identity(self, identity: Identity) -> Identity:
        """Add this module's context to the request's identity (the tenant module: the tenant).

        Called by the auth bridge, the only writer of identity, once it knows who is asking; return
        ``dataclasses.replace(identity, ...)``, never write ``g``. A refusal is not raised here: put
        it in ``refusal`` and the guards raise it. Never called when the auth module is off."""
        return identity

    def release_request(self) -> None:
        """Drop the per-request state this module created (registered as ``teardown_request``)."""


@dataclass
class ModuleRegistry:
    """Kept in ``app.extensions["modules"]``: the enabled modules and where each one stands."""

    modules: list[AppModule] = field(default_factory=list)
    #: name -> "pending" | "ready" | "failed: <reason>"
    state: dict[str, str] = field(default_factory=dict)
    ready: bool = False
    closed: bool = False
    _next_attempt: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, name: str) -> AppModule | None:
        return next((m for m in self.modules if m.name == name), None)


def registry(app: Flask) -> ModuleRegistry:
    reg: ModuleRegistry = app.extensions["modules"]
    return reg


def _load(name: str) -> AppModule:
    package = importlib.import_module(f"app.modules.{name}")
    module: AppModule = package.module
    return module


def enabled_names(app: Flask) -> list[str]:
    """The modules whose ``MODULES__<NAME>`` toggle is on, in the fixed order of ``config.MODULE_ORDER``."""
    from config import MODULE_ORDER, Settings

    settings: Settings = app.config["SETTINGS"]
    return [name for name in MODULE_ORDER if getattr(settings.modules, name)]


def setup_modules(app: Flask) -> ModuleRegistry:
    """Enable the modules whose toggles are on, after checking that what each requires is on too."""
    from config import ConfigError

    reg = ModuleRegistry()
    app.extensions["modules"] = reg
    names = enabled_names(app)
    modules = [_load(name) for name in names]
    for module in modules:
        missing = [need for need in module.requires if need not in names]
        if missing:
            raise ConfigError(f"MODULES__{module.name.upper()}=true needs MODULES__{missing[0].upper()}=true")
    for name, module in zip(names, modules, strict=True):
        module.init_app(app)
        reg.modules.append(module)
        reg.state[name] = "pending"
    app.teardown_request(lambda _error: _release_request(reg))
    return reg


def _release_request(reg: ModuleRegistry) -> None:
    """Every module's ``release_request``, in reverse order; one failing never skips the others."""
    for module in reversed(reg.modules):
        try:
            module.release_request()
        except Exception:
            log.exception("module %s failed in release_request", module.name)


def _database_answers(app: Flask) -> bool:
    from sqlalchemy import text

    from app.extensions import db

    try:
        with app.app_context():
            db.session.execute(text("SELECT 1"))
            db.session.remove()
    except Exception as error:  # noqa: BLE001 - any driver error means "not yet"
        log.warning("database not answering yet, modules not ready: %s", error)
        return False
    return True


def ensure_ready(app: Flask) -> bool:
    """Run every enabled module's ``on_ready`` once, when the database answers.

    Called by gunicorn's ``post_worker_init``, by the first request under ``flask run``, and by the
    tests. A module whose ``on_ready`` fails is logged and marked failed; the app still serves and
    ``/api/v1/readyz`` names the module.
    """
    reg = registry(app)
    if reg.ready:
        return True
    with reg._lock:
        if reg.ready or time.monotonic() < reg._next_attempt:
            return reg.ready
        if not _database_answers(app):
            reg._next_attempt = time.monotonic() + READY_RETRY_SECONDS
            return False
        for module in reg.modules:
            try:
                with app.app_context():
                    module.on_ready(app)
            except Exception as error:
                log.exception("module %s failed in on_ready", module.name)
                reg.state[module.name] = f"failed: {type(error).__name__}: {error}"
            else:
                reg.state[module.name] = "ready"
        reg.ready = True
    return True


def import_all_models() -> None:
    """Import every ``models`` module of every module and plugin present, enabled or not.

    Migrations compare against all of them, so a disabled module's tables are never proposed for
    dropping. The application's own models are the application's to import (``create_app`` does).
    """
    import pkgutil

    import app.modules as modules_package

    for info in pkgutil.walk_packages(modules_package.__path__, prefix="app.modules."):
        if info.name.rsplit(".", 1)[-1] == "models":
            importlib.import_module(info.name)


def close_modules(app: Flask) -> None:
    """Call every module's ``on_close`` once, in reverse order; errors are logged, not raised."""
    reg = registry(app)
    with reg._lock:
        if reg.closed:
            return
        reg.closed = True
    for module in reversed(reg.modules):
        try:
            with app.app_context():
                closed = module.on_close(app)
        except Exception:
            log.exception("module %s failed in on_close", module.name)
        else:
            # Every process closes at exit, `flask` commands and `import wsgi` too: only real work is news.
            log.log(logging.INFO if closed else logging.DEBUG, "module %s closed", module.name)
