"""Request ids and log formatting.

Every request carries an id: ``X-Request-ID`` when the caller sent a sane one, a fresh one
otherwise. It is echoed back and stamped on every log line written while the request runs, so one
grep follows a request across the proxy, the app and the database logs.
"""

from __future__ import annotations

import logging
import re
import sys
import uuid
from typing import TextIO

from flask import Flask, Response, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_configured = False


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = g.get("request_id", "-") if has_request_context() else "-"
        return True


class StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is now (test runners and servers swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def configure_logging(level: str, *, json_lines: bool) -> None:
    """Configure the root logger once per process: JSON lines in production, text elsewhere."""
    global _configured
    root = logging.getLogger()
    root.setLevel(level)
    if _configured:
        return
    _configured = True
    handler = StderrHandler()
    handler.addFilter(RequestIdFilter())
    if json_lines:
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s [%(request_id)s] %(name)s: %(message)s")
        )
    root.addHandler(handler)


def _take_request_id() -> None:
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = incoming if _SANE_ID.match(incoming) else uuid.uuid4().hex


def _echo_request_id(response: Response) -> Response:
    request_id = g.get("request_id")
    if request_id:
        response.headers[REQUEST_ID_HEADER] = request_id
    return response


def init_request_id(app: Flask) -> None:
    app.before_request(_take_request_id)
    app.after_request(_echo_request_id)
