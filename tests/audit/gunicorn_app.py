"""Test-only WSGI entry: ``POST /log/<n>`` queues n async audit entries and answers at once."""

from __future__ import annotations

import os

from flask import jsonify
from flask.typing import ResponseReturnValue

from app import create_app
from app.modules import audit_logger

app = create_app()


@app.post("/log/<int:count>")
def log_many(count: int) -> ResponseReturnValue:
    for number in range(count):
        audit_logger.log_async(
            actor_id="gunicorn", action="gunicorn.test", resource_type="test", resource_id=f"{os.getpid()}-{number}"
        )
    return jsonify({"queued": count, "pid": os.getpid()})
