"""gunicorn settings: ``gunicorn -c gunicorn.conf.py wsgi:app``.

- ``GUNICORN_BIND`` (or ``0.0.0.0:$PORT``, default port 8000), ``WEB_CONCURRENCY`` workers (default 2),
  ``GUNICORN_THREADS`` threads each (gthread worker, default 4), ``GUNICORN_TIMEOUT`` seconds.
- Every value is typed and checked in ``serving.py`` (``ServerSettings``), and the app settings too,
  as gunicorn loads this file, before any worker forks: a wrong value is one line on stderr and exit
  status 2, rather than a traceback or workers dying one after the other.
- Metrics: every worker writes its counters to ``PROMETHEUS_MULTIPROC_DIR`` (a fresh temporary
  directory unless given), ``/metrics`` adds them up, and a dead worker's gauges are discarded.
- Modules: ``post_worker_init`` runs their ``on_ready``, ``worker_exit`` their ``on_close`` (on
  SIGTERM too: the worker finishes its requests, then closes).
- Forwarded headers are left to the application, which believes exactly ``AUTH__TRUSTED_PROXIES``
  hops; gunicorn neither trusts nor rewrites them.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from typing import Any

# config.py and serving.py sit beside this file (and are installed with the project too).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from config import load_settings
from serving import exit_on_config_error, load_server_settings

# Checked here, as gunicorn loads this file, before anything forks: one line and exit status 2.
with exit_on_config_error():
    _app_settings = load_settings()
    _server = load_server_settings()
    if _app_settings.modules.audit:  # its drain must fit in graceful_timeout; its key is required in production
        from app.modules.audit.settings import check_audit_settings, load_keyring

        load_keyring(
            check_audit_settings(), production=_app_settings.is_production, auth_secret=_app_settings.auth.secret
        )

bind = _server.bind
workers = _server.workers
worker_class = "gthread"
threads = _server.threads
timeout = _server.timeout
graceful_timeout = _server.graceful_timeout
keepalive = 5
loglevel = _app_settings.log_level.lower()
accesslog = _server.access_log
errorlog = "-"
# The app reads X-Forwarded-* itself (ProxyFix, AUTH__TRUSTED_PROXIES hops): gunicorn must not
# decide the scheme from a header on its own.
forwarded_allow_ips = "*"
secure_scheme_headers: dict[str, str] = {}
# gunicorn >= 24's control socket lives in $HOME, shared by every server of the user; opt in.
if _server.control_socket:
    control_socket = _server.control_socket
else:
    control_socket_disable = True

_created_metrics_dir: str | None = None


def _prepare_metrics_dir() -> None:
    """Give the workers an empty multiprocess directory: stale files would add old counts."""
    global _created_metrics_dir
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        os.makedirs(given, exist_ok=True)
        for name in os.listdir(given):
            if name.endswith(".db"):
                os.remove(os.path.join(given, name))
        return
    _created_metrics_dir = tempfile.mkdtemp(prefix="prometheus-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _created_metrics_dir


def on_starting(server: Any) -> None:
    """Prepare the metrics directory the workers share (the settings were checked on loading)."""
    _prepare_metrics_dir()


def post_worker_init(worker: Any) -> None:
    """Run the modules' ``on_ready`` in each worker before it accepts requests."""
    from app.modules import ensure_ready

    ensure_ready(worker.wsgi)


def worker_exit(server: Any, worker: Any) -> None:
    """Run the modules' ``on_close`` when a worker stops (SIGTERM, max requests, reload)."""
    from app.modules import close_modules

    app = getattr(worker, "wsgi", None)
    if app is not None and "modules" in getattr(app, "extensions", {}):
        close_modules(app)


def child_exit(server: Any, worker: Any) -> None:
    """Discard a dead worker's live gauges, as prometheus-client's multiprocess mode requires."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def on_exit(server: Any) -> None:
    """Remove the metrics directory when this master created it."""
    if _created_metrics_dir:
        shutil.rmtree(_created_metrics_dir, ignore_errors=True)
