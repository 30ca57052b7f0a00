"""The audit module's own settings (``MODULES__AUDIT__*``), checked when the module starts.

``config.Settings`` only knows the toggle ``MODULES__AUDIT``; the module's tuning lives here so the
module stays one folder. Values come from the environment (and ``.env``), and, when the application
factory keeps its overrides in ``app.config["SETTINGS_OVERRIDES"]``, from those on top.
"""

from __future__ import annotations

from flask import Flask
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from config import load_section

ENV_PREFIX = "MODULES__AUDIT__"


class AuditSettings(BaseSettings):
    """Tuning of the audit module; the defaults suit one gunicorn worker on PostgreSQL."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="ignore", frozen=True, case_sensitive=False, env_file=".env"
    )

    #: ``flask audit prune`` without ``--older-than`` deletes entries older than this; None: keep all.
    retention_days: int | None = Field(default=None, ge=1)
    #: Entries waiting for the writer thread; a full queue makes ``log_async`` write synchronously.
    queue_size: int = Field(default=10_000, ge=1, le=1_000_000)
    #: Entries inserted per transaction by the writer thread.
    batch_size: int = Field(default=500, ge=1, le=10_000)
    #: Seconds ``log_async`` waits for room in a full queue before writing synchronously.
    enqueue_timeout: float = Field(default=0.5, ge=0, le=60)
    #: Seconds shutdown waits for the queue to drain (keep under gunicorn's graceful_timeout, 30 s).
    drain_timeout: float = Field(default=25.0, ge=0, le=3600)
    #: Longest pause between retries while the database is unavailable, seconds.
    retry_max_delay: float = Field(default=5.0, gt=0, le=300)


def load_audit_settings(app: Flask) -> AuditSettings:
    """Read and check the settings; a bad value raises ``ConfigError`` naming the variable."""
    return load_section(AuditSettings, app.config.get("SETTINGS_OVERRIDES"))
