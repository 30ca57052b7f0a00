"""The app as gunicorn serves it, plus ``/bench/bare``: the baseline every ratio is taken against.

The bare route passes through every hook a real route does (request id, metrics, the auth bridge
with no credential) and answers a constant JSON body, so ``route / bare`` isolates what the route's
own work (session lookup, database, hashing) costs.
"""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue

from app import create_app
from bench.workload import BARE_PATH

app = create_app()


@app.get(BARE_PATH)
def bare() -> ResponseReturnValue:
    return jsonify(ok=True)
