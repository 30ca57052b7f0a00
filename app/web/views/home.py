"""The home page."""

from __future__ import annotations

from flask import render_template
from flask.typing import ResponseReturnValue

from app.web import bp


@bp.get("/")
def index() -> ResponseReturnValue:
    return render_template("web/index.html")


@bp.errorhandler(403)
def _forbidden(_: Exception) -> ResponseReturnValue:
    return render_template("web/error.html", heading="Not allowed",
                           message="Your account may not open this page."), 403


@bp.errorhandler(404)
def _not_found(_: Exception) -> ResponseReturnValue:
    return render_template("web/error.html", heading="Not found", message="There is nothing here."), 404
