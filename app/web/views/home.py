"""The home page."""

from __future__ import annotations

from flask import render_template
from flask.typing import ResponseReturnValue

from app.web import bp


@bp.get("/")
def index() -> ResponseReturnValue:
    return render_template("web/index.html")
