"""better-auth's error page: where failed redirects land when no error callback was given."""

from __future__ import annotations

from flask import Response
from flask.typing import ResponseReturnValue
from markupsafe import escape

from app.core.api import endpoint
from app.modules.auth import schemas as s
from app.modules.auth.routes.common import TAGS, bp

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Authentication error</title></head>
<body><main><h1>Authentication error</h1><p>Something went wrong while signing you in.</p>
<p>Error code: <code>{code}</code></p></main></body></html>
"""


@bp.get("/error")
@endpoint(
    summary="Human-readable error page for failed auth redirects",
    tags=TAGS,
    query=s.ErrorQuery,
    content_type="text/html",
)
def error_page(query: s.ErrorQuery) -> ResponseReturnValue:
    return Response(_PAGE.format(code=escape(query.error or "UNKNOWN")), mimetype="text/html")
