"""Test-only WSGI entry: ``POST /log/<n>?tag=T`` spools n async audit entries and answers at once.

Each entry's ``resource_id`` is ``<tag>-<number>``, so a drill can count every entry it sent.
"""

from __future__ import annotations

import os

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from app import create_app
from app.modules import audit_logger

app = create_app()


@app.post("/log/<int:count>")
def log_many(count: int) -> ResponseReturnValue:
    tag = request.args.get("tag") or str(os.getpid())
    for number in range(count):
        audit_logger.log_async(
            actor_id="gunicorn", action="gunicorn.test", resource_type="test", resource_id=f"{tag}-{number}"
        )
    return jsonify({"queued": count, "pid": os.getpid()})
