"""The audit module: structured audit entries, written synchronously or fire-and-forget."""

from __future__ import annotations

from app.modules import AppModule


class AuditModule(AppModule):
    name = "audit"


module = AuditModule()
