"""better-auth's openAPI plugin routes: the generated document and the Scalar reference page."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, jsonify, send_file
from flask.typing import ResponseReturnValue
from markupsafe import escape
from pydantic import AnyHttpUrl, Field, field_validator
from pydantic_settings import SettingsConfigDict

from app.core.api import ApiModel, endpoint
from app.core.errors import ApiError
from app.core.openapi import AUTH_BASE, document
from app.core.settings import Section, current, section
from app.modules.auth import scalar_bundle

bp = Blueprint("auth_reference", __name__, url_prefix="/api/v1/auth")


class OpenApiSettings(Section):
    """``OPENAPI__*``: where the reference page loads Scalar from."""

    model_config = SettingsConfigDict(env_prefix="OPENAPI__")

    #: Empty: the self-hosted, pinned bundle (``scripts/fetch_scalar.sh``); else a CDN URL of the script.
    scalar_script_url: AnyHttpUrl | None = None
    #: Subresource Integrity of the CDN script (``sha384-...``); the self-hosted one has its own.
    scalar_script_integrity: Annotated[str, Field(pattern=r"^sha(256|384|512)-[A-Za-z0-9+/]+={0,2}$")] | None = None

    @field_validator("scalar_script_url", "scalar_script_integrity", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value == "" else value


@bp.record_once
def _check_settings(state: Any) -> None:
    section(state.app, OpenApiSettings)  # a wrong OPENAPI__* value stops the start


class Ok(ApiModel):
    ok: bool


@bp.get("/ok")
@endpoint(summary="Check that the auth API answers", tags=["Auth"], response=Ok)
def ok() -> ResponseReturnValue:
    return {"ok": True}


@bp.get("/open-api/generate-schema")
@endpoint(summary="The auth API's OpenAPI document (better-auth's path; the whole API is /api/v1/openapi.json)",
          tags=["Reference"], response={"type": "object"})
def generate_schema() -> ResponseReturnValue:
    return jsonify(document(AUTH_BASE))


_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>API reference</title>
</head>
<body>
  <script id="api-reference" type="application/json" data-configuration='{config}'>{spec}</script>
  <script src="{script}"{integrity} crossorigin="anonymous"></script>
</body>
</html>
"""

#: Scalar's options: no web fonts from fonts.scalar.com (the page works offline, under the CSP below).
_CONFIG = json.dumps({"theme": "default", "withDefaultFonts": False}, separators=(",", ":"))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _policy(script_source: str) -> str:
    """The page's CSP: the default one (app.core.security_headers) plus what Scalar needs, which is
    inline styles (its components set them) and data: images and fonts; scripts only from
    ``script_source``, and nothing inline runs (the document is a JSON data block)."""
    return "; ".join(
        (
            "default-src 'none'",
            f"script-src {script_source}",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "form-action 'self'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        )
    )


@bp.get("/reference")
@endpoint(
    summary="Scalar API reference UI",
    tags=["Reference"],
    content_type="text/html",
)
def reference() -> ResponseReturnValue:
    options = current(OpenApiSettings)
    cdn = str(options.scalar_script_url) if options.scalar_script_url else None
    integrity: str | None
    if cdn is None:
        script, integrity, source = scalar_bundle.URL_PATH, scalar_bundle.SHA384, "'self'"
    else:
        script, integrity, source = cdn, options.scalar_script_integrity, _origin(cdn)
    # "</" cannot appear inside the JSON, so the script element cannot be closed early.
    spec = json.dumps(document()).replace("</", "<\\/")
    html = _PAGE.format(
        config=escape(_CONFIG),
        spec=spec,
        script=escape(script),
        integrity=f' integrity="{escape(integrity)}"' if integrity else "",
    )
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = _policy(source)
    return response


@bp.get("/reference/scalar-standalone.js")
@endpoint(
    summary="The pinned Scalar bundle the reference page loads (integrity-checked by the page)",
    tags=["Reference"],
    content_type="text/javascript",
    responses={404: "Bundle not installed (scripts/fetch_scalar.sh)"},
)
def scalar_script() -> ResponseReturnValue:
    """The pinned Scalar bundle (``scripts/fetch_scalar.sh``); 404 when it was not fetched."""
    if not scalar_bundle.FILE.is_file():
        raise ApiError(404, "NOT_FOUND", "The Scalar bundle is not installed: run scripts/fetch_scalar.sh")
    response = send_file(scalar_bundle.FILE, mimetype="text/javascript", max_age=86400, conditional=True)
    return response
