"""The WSGI entry point: ``gunicorn wsgi:app`` or ``FLASK_APP=wsgi flask run``."""

from __future__ import annotations

import sys

from app import ConfigError, create_app

try:
    app = create_app()
except ConfigError as error:
    print(f"configuration error: {error}", file=sys.stderr)
    sys.exit(2)
