"""The audit module's own settings (``MODULES__AUDIT__*``), checked when the module starts.

``config.Settings`` only knows the toggle ``MODULES__AUDIT``; the module's tuning lives here so the
module stays one folder. Values come from the environment (and ``.env``), and, when the application
factory keeps its overrides in ``app.config["SETTINGS_OVERRIDES"]``, from those on top.

The shutdown drain must end before gunicorn's graceful timeout, or the master SIGKILLs the worker
in the middle of it: ``DRAIN_TIMEOUT`` defaults to three quarters of ``GUNICORN_GRACEFUL_TIMEOUT``
and a value that does not fit stops the start.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from pydantic import Field
from pydantic_settings import SettingsConfigDict

from app.core.settings import Section, load
from app.modules.audit.keys import Keyring, build_keyring
from config import ConfigError

ENV_PREFIX = "MODULES__AUDIT__"
#: gunicorn's graceful timeout, as ``gunicorn.conf.py`` reads it.
GRACEFUL_TIMEOUT_VARIABLE = "GUNICORN_GRACEFUL_TIMEOUT"
#: Share of the graceful timeout the drain may use by default; the rest is for requests in flight.
DRAIN_SHARE = 0.75


class AuditSettings(Section):
    """Tuning of the audit module; the defaults suit a few gunicorn workers on PostgreSQL."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX)

    #: ``flask audit prune`` without ``--older-than`` deletes entries older than this; None: keep all.
    retention_days: int | None = Field(default=None, ge=1)
    #: Folder of the spool (``log_async`` appends there first); None: ``instance/audit-spool``.
    spool_dir: str | None = None
    #: A process starts a new spool segment once its current one is this large, bytes.
    segment_bytes: int = Field(default=8 * 1024 * 1024, ge=4096, le=1024**3)
    #: Entries inserted per transaction by the writer thread.
    batch_size: int = Field(default=500, ge=1, le=10_000)
    #: Seconds shutdown waits for the spool to drain; None: 3/4 of GUNICORN_GRACEFUL_TIMEOUT.
    drain_timeout: float | None = Field(default=None, ge=0, le=3600)
    #: Longest pause between retries while the database is unavailable, seconds.
    retry_max_delay: float = Field(default=5.0, gt=0, le=300)
    #: How often a running process looks for segments left by dead processes, seconds.
    recover_interval: float = Field(default=5.0, gt=0, le=3600)
    #: The HMAC key of the chain (see ``keys.py``); checked there, so no error line ever shows it.
    key: str | None = Field(default=None, repr=False)
    key_id: str = "1"
    previous_keys: str | None = Field(default=None, repr=False)
    #: Entries up to this id may be unkeyed (written before keys; migration 0009 prints the id).
    legacy_until: int = Field(default=0, ge=0)


def server_graceful_timeout() -> float:
    """Seconds gunicorn grants a worker after SIGTERM before it SIGKILLs it (``serving.py`` reads it)."""
    from serving import load_server_settings

    return float(load_server_settings().graceful_timeout)


def check_audit_settings(
    overrides: Mapping[str, Any] | None = None, instance_path: str | None = None
) -> AuditSettings:
    """Read the settings, derive the drain timeout and the spool folder; ``ConfigError`` names a bad one."""
    settings = load(AuditSettings, overrides)
    graceful = server_graceful_timeout()
    update: dict[str, Any] = {}
    if settings.drain_timeout is None:
        update["drain_timeout"] = round(graceful * DRAIN_SHARE, 3)
    elif settings.drain_timeout >= graceful:
        raise ConfigError(
            f"{ENV_PREFIX}DRAIN_TIMEOUT={settings.drain_timeout!r} does not fit in "
            f"{GRACEFUL_TIMEOUT_VARIABLE}={graceful:g}; expected fewer seconds than the graceful timeout"
        )
    if settings.spool_dir is None and instance_path is not None:
        update["spool_dir"] = str(Path(instance_path) / "audit-spool")
    return settings.model_copy(update=update) if update else settings


def load_audit_settings(app: Flask) -> AuditSettings:
    """The settings of ``app``; a bad value raises ``ConfigError`` naming the variable."""
    return check_audit_settings(app.config.get("SETTINGS_OVERRIDES"), app.instance_path)


def load_keyring(settings: AuditSettings, *, production: bool, auth_secret: str | None) -> Keyring:
    """The chain's keys; ``ConfigError`` (never showing a key) when they are missing or malformed."""
    return build_keyring(ENV_PREFIX, settings.key, settings.key_id, settings.previous_keys,
                         production=production, auth_secret=auth_secret)
