"""The example module: a tenant resource, ``/api/v1/projects``, to copy from.

Off unless ``MODULES__EXAMPLE=true``, and it needs the tenant module (``requires``, checked at start):
its queries carry no tenant filter of their own, so without the tenant module one organization would
list another's projects. It owns its table (:mod:`.models`) and its migration (``migrations/``);
the ``project`` permissions are the application's (``app/access_control.py``).
"""

from __future__ import annotations

from flask import Flask

from app.modules import AppModule


class ExampleModule(AppModule):
    name = "example"
    requires = ("tenant",)

    def init_app(self, app: Flask) -> None:
        from app.modules.example.routes import bp

        app.register_blueprint(bp)


module = ExampleModule()
