"""Server-rendered pages: sign-in (with the two-factor step), sign-up, password reset, email
verification, the account pages, two-factor setup and API keys.

One blueprint, split into ``views/`` by area. Forms post to these views, which validate them with
Flask-WTF (CSRF on every POST) and then call the auth API's own functions in-process
(:mod:`app.web.calls`): no logic is written twice and no HTTP request is made to ourselves. Who is
signed in is the better-auth session cookie, so a page sign-in is an API sign-in and the other way
round; Flask's session (flash messages, the return address) is server-side (:mod:`.session_store`).

Every page works without JavaScript; ``static/web.js`` only adds copy buttons. The pages run under
a strict ``Content-Security-Policy``: no inline script or style at all.

Templates live under ``web/`` and can be overridden: a file of the same name in the folder named
by ``WEB__TEMPLATE_FOLDER`` (or in the application's own ``templates/web/``) wins.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, Response
from flask.blueprints import BlueprintSetupState
from pydantic import field_validator
from pydantic_settings import SettingsConfigDict

from app.core.security_headers import DEFAULT_CSP
from app.core.settings import Section, section


class WebSettings(Section):
    """The server-rendered pages: ``WEB__*``."""

    model_config = SettingsConfigDict(env_prefix="WEB__")

    #: A folder of templates searched before the built-in ones (``web/sign_in.html``, ...).
    template_folder: str | None = None

    @field_validator("template_folder")
    @classmethod
    def _folder_exists(cls, value: str | None) -> str | None:
        if value and not Path(value).is_dir():
            raise ValueError(f"{value!r} is not a directory")
        return value or None

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static", static_url_path="/web-static")

#: Scripts, styles and requests from this origin only; nothing inline, no framing, no plugins.
CONTENT_SECURITY_POLICY = DEFAULT_CSP


@bp.after_request
def _security_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    if response.mimetype == "text/html":
        # The page shows who is signed in (and sometimes a secret shown once): never from a cache.
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.record_once
def _setup(state: BlueprintSetupState) -> None:
    init_web(state.app)  # type: ignore[arg-type]


def init_web(app: Flask) -> None:
    """Extensions the pages need: the template override folder, the server-side session, CSRF."""
    from jinja2 import BaseLoader, ChoiceLoader, FileSystemLoader

    from app.web.csrf import init_csrf
    from app.web.session_store import init_session

    folder = section(app, WebSettings).template_folder
    if folder:
        loaders: list[BaseLoader] = [FileSystemLoader(folder)]
        if app.jinja_loader is not None:  # the application's own templates/
            loaders.append(app.jinja_loader)
        app.jinja_loader = ChoiceLoader(loaders)
    init_session(app)
    init_csrf(app)


from app.web import context, csrf  # noqa: E402,F401 - template globals, the CSRF check
from app.web.views import account, admin, api_keys, audit, auth, home, organizations, passwordless, two_factor  # noqa: E402,F401 - the pages
