def init_app(app):
    from app.modules.auth.passkey import models  # noqa: F401
