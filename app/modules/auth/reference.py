"""better-auth's openAPI plugin routes: the generated document and the Scalar reference page."""

from __future__ import annotations

import json

from flask import Blueprint, Response, current_app, jsonify
from flask.typing import ResponseReturnValue
from markupsafe import escape

from app.core.api import ApiModel, endpoint
from app.core.openapi import AUTH_BASE, document

bp = Blueprint("auth_reference", __name__, url_prefix="/api/v1/auth")


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
  <script id="api-reference" type="application/json" data-configuration='{{"theme":"default"}}'>{spec}</script>
  <script src="{script}"></script>
</body>
</html>
"""


@bp.get("/reference")
@endpoint(
    summary="Scalar API reference UI",
    tags=["Reference"],
    content_type="text/html",
)
def reference() -> ResponseReturnValue:
    settings = current_app.config["SETTINGS"]
    # "</" cannot appear inside the JSON, so the script element cannot be closed early.
    spec = json.dumps(document()).replace("</", "<\\/")
    html = _PAGE.format(spec=spec, script=escape(settings.openapi.scalar_script_url))
    return Response(html, mimetype="text/html")
