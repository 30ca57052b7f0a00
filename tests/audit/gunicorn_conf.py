"""Test-only gunicorn settings: the worker_exit hook that drains the modules, as gunicorn.conf.py does."""

from __future__ import annotations

from typing import Any

graceful_timeout = 60
loglevel = "info"


def worker_exit(server: Any, worker: Any) -> None:
    from app.modules import close_modules

    close_modules(worker.wsgi)
