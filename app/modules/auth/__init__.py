"""The auth module: better-auth's HTTP protocol under ``/api/v1/auth``."""

from __future__ import annotations

from flask import Flask

from app.modules import AppModule


class AuthModule(AppModule):
    name = "auth"

    def init_app(self, app: Flask) -> None:
        from app.modules.auth.reference import bp as reference_bp

        app.register_blueprint(reference_bp)
        app.extensions["auth"] = self


module = AuthModule()
