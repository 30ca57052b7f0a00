"""The auth module: better-auth's HTTP protocol under ``/api/v1/auth``, the bridge and the guards' policy."""

from __future__ import annotations

import importlib
from concurrent.futures import ThreadPoolExecutor

from flask import Flask, g, request
from flask_login import LoginManager

from app.core.identity import current
from app.modules import AppModule

#: better-auth plugins, each a package here with ``init_app(app)``; set up in this order.
PLUGINS = ("two_factor", "admin", "organization", "api_key", "jwt", "oidc", "email_otp", "magic_link", "passkey")


class AuthModule(AppModule):
    name = "auth"

    def init_app(self, app: Flask) -> None:
        # Imported for its effect: the tables belong to the metadata.
        from app.modules.auth import models as models
        from app.modules.auth.bridge import init_bridge
        from app.modules.auth.cli import auth_cli
        from app.modules.auth.client_ip import client_ip
        from app.modules.auth.importer.cli import import_cli
        from app.modules.auth.lockout import AccountLockout
        from app.modules.auth.mail import init_mailer
        from app.modules.auth.origin import TrustedOrigins
        from app.modules.auth.passwords import PasswordHasher
        from app.modules.auth.policy import SessionPolicy
        from app.modules.auth.protection import FORM_CSRF_PATHS, check_redirect, init_protection
        from app.modules.auth.ratelimit import RateLimiter
        from app.modules.auth.reference import bp as reference_bp
        from app.modules.auth.routes import bp
        from app.modules.auth.state import AuthState

        settings = app.config["SETTINGS"]
        trusted_proxies = settings.auth.trusted_proxies

        @app.before_request
        def _stamp_client_ip() -> None:
            # Only through AUTH__TRUSTED_PROXIES proxies is X-Forwarded-For believed (OWASP).
            g.client_ip = client_ip(request, trusted_proxies)

        app.extensions["auth"] = AuthState(
            hasher=PasswordHasher(settings.auth.argon2),
            mail_executor=ThreadPoolExecutor(max_workers=2, thread_name_prefix="auth-mail"),
            rate_limiter=RateLimiter.for_app(app),
            lockout=AccountLockout.for_app(app),
            trusted_origins=TrustedOrigins.for_app(app),
            check_redirect=check_redirect,
            form_csrf_paths=set(FORM_CSRF_PATHS),
        )
        init_bridge(app)
        app.extensions["access_policy"] = SessionPolicy()
        init_mailer(app)
        init_protection(app)
        for plugin in PLUGINS:
            importlib.import_module(f"app.modules.auth.{plugin}").init_app(app)
        app.register_blueprint(bp)
        app.register_blueprint(reference_bp)
        auth_cli.add_command(import_cli)  # flask auth import better-auth
        app.cli.add_command(auth_cli)

        login = LoginManager()
        login.init_app(app)
        login.request_loader(lambda _request: current().user)

    def on_ready(self, app: Flask) -> None:
        from app.modules.auth.bootstrap import bootstrap_admin
        from app.modules.auth.mail import warn_when_undelivered
        from app.modules.auth.revocation import start_listener

        warn_when_undelivered(app)
        bootstrap_admin(app)
        start_listener(app)  # PostgreSQL: revocations reach this process by LISTEN/NOTIFY

    def on_close(self, app: Flask) -> bool:
        from app.modules.auth.api_key.journal import close_journal
        from app.modules.auth.revocation import stop_listener

        listening = stop_listener(app) | close_journal(app)  # both run: | does not short-circuit
        state = app.extensions.get("auth")
        if state is None:
            return listening
        executor: ThreadPoolExecutor = state.mail_executor
        started = bool(executor._threads)  # threads start with the first mail: none, nothing to close
        executor.shutdown(wait=True)  # mails accepted before shutdown are still sent
        return started or listening

    def readiness(self, app: Flask) -> tuple[bool, str]:
        from app.modules.auth import oidc

        ok, detail = oidc.readiness(app)  # the identity provider's discovery document, when enabled
        return ok, "ok" if detail == "disabled" else f"keycloak: {detail}"


module = AuthModule()
