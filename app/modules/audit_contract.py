"""The audit logger every module and route may call, whether or not the audit module is on.

``audit_logger`` is a proxy to ``app.extensions["audit_logger"]``; without the audit module that is
:class:`NullAuditLogger`, which accepts entries and drops them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from flask import current_app
from werkzeug.local import LocalProxy


class AuditLogger(Protocol):
    def log(
        self,
        *,
        actor_id: str | None,
        action: str,
        resource_type: str,
        resource_id: str | None = None,
        details: Mapping[str, Any] | None = None,
        organization_id: str | None = None,
    ) -> None: ...

    def log_async(
        self,
        *,
        actor_id: str | None,
        action: str,
        resource_type: str,
        resource_id: str | None = None,
        details: Mapping[str, Any] | None = None,
        organization_id: str | None = None,
    ) -> None: ...


class NullAuditLogger:
    """The stand-in when the audit module is off: accepts every entry and keeps none."""

    def log(self, **entry: Any) -> None:
        return None

    def log_async(self, **entry: Any) -> None:
        return None


_NULL = NullAuditLogger()


def _current() -> AuditLogger:
    logger: AuditLogger = current_app.extensions.get("audit_logger", _NULL)
    return logger


audit_logger: AuditLogger = LocalProxy(_current)  # type: ignore[assignment]
