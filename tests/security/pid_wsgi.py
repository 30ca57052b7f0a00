"""Test-only WSGI entry: the real app, with each answer naming the worker process that gave it."""

from __future__ import annotations

import os

from flask import Response

from wsgi import app


@app.after_request
def _worker_pid(response: Response) -> Response:
    response.headers["X-Worker-Pid"] = str(os.getpid())
    return response
