"""The audit module: structured audit entries, written synchronously or fire-and-forget.

``init_app`` checks the ``MODULES__AUDIT__*`` settings, installs :class:`DatabaseAuditLogger` as
``app.extensions["audit_logger"]`` (what ``app.modules.audit_contract`` proxies to), registers
``GET /api/v1/audit`` and the ``flask audit`` commands, and adds ``audit:read`` to the organization
roles. ``on_ready`` starts the writer (which first writes what stopped processes left in the
spool), ``on_close`` drains the spool. Its migrations are in ``migrations/versions`` (branch ``audit``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from flask import Flask

from app.modules import AppModule
from app.modules.audit.keys import Keyring
from app.modules.audit.settings import AuditSettings, load_audit_settings, load_keyring
from config import Settings


class AuditState:
    """What the module keeps per application, in ``app.extensions["audit"]``."""

    def __init__(self, settings: AuditSettings, keyring: Keyring) -> None:
        self.settings = settings
        self.keyring = keyring


class AuditModule(AppModule):
    name = "audit"

    #: The permission this module declares: an organization's owners and admins read its audit log.
    statements: ClassVar[Mapping[str, tuple[str, ...]]] = {"audit": ("read",)}
    grants: ClassVar[Mapping[str, Mapping[str, tuple[str, ...]]]] = {"owner": statements, "admin": statements}

    def init_app(self, app: Flask) -> None:
        # Imported for its effect: the table must be known to db.
        from app.modules.audit import models as models
        from app.modules.audit.api import bp
        from app.modules.audit.cli import audit_cli
        from app.modules.audit.logger import DatabaseAuditLogger
        from app.modules.auth.organization.roles import organization_ac

        settings = load_audit_settings(app)
        config: Settings = app.config["SETTINGS"]
        keyring = load_keyring(settings, production=config.is_production, auth_secret=config.auth.secret)
        app.extensions["audit"] = AuditState(settings, keyring)
        app.extensions["audit_logger"] = DatabaseAuditLogger(app, settings, keyring)
        organization_ac.extend(self.statements, self.grants)
        app.register_blueprint(bp)
        app.cli.add_command(audit_cli)

    def on_ready(self, app: Flask) -> None:
        from app.modules.audit.logger import DatabaseAuditLogger

        logger = app.extensions.get("audit_logger")
        if isinstance(logger, DatabaseAuditLogger):
            logger.start()

    def on_close(self, app: Flask) -> None:
        from app.modules.audit.logger import DatabaseAuditLogger

        logger = app.extensions.get("audit_logger")
        if isinstance(logger, DatabaseAuditLogger):
            logger.close()


module = AuditModule()
