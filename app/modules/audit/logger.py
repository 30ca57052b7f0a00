"""The audit logger the module installs in ``app.extensions["audit_logger"]``.

``log`` writes before it returns and lets errors surface; ``log_async`` checks the entry, appends it
to the local spool and returns. The writer thread starts in ``on_ready`` (gunicorn's
``post_worker_init``, after the fork) or at the first ``log_async`` of a process, so a fork never
copies a running thread: a child that inherits a writer drops the parent's descriptors and makes
its own.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Mapping
from typing import Any

from flask import Flask

from app.extensions import db
from app.modules.audit.chain import append
from app.modules.audit.entry import build_entry, spool_line
from app.modules.audit.keys import Keyring
from app.modules.audit.metrics import WRITTEN
from app.modules.audit.settings import AuditSettings
from app.modules.audit.spool import decode
from app.modules.audit.writer import AsyncWriter, Entry, write_logged


class DatabaseAuditLogger:
    """Writes audit entries to ``audit_log``, synchronously or through the per-process writer."""

    def __init__(self, app: Flask, settings: AuditSettings, keyring: Keyring) -> None:
        self.app = app
        self.settings = settings
        self.keyring = keyring
        self._writer: AsyncWriter | None = None
        self._lock = threading.Lock()
        self._closed = False
        os.register_at_fork(after_in_child=_after_fork(weakref.ref(self)))

    def log(
        self,
        *,
        actor_id: str | None,
        action: str,
        resource_type: str,
        resource_id: str | None = None,
        details: Mapping[str, Any] | None = None,
        organization_id: str | None = None,
    ) -> None:
        """Write one entry now, in its own transaction; database errors are raised to the caller.

        On SQLite call it after committing your own session's writes: SQLite has one writer.
        """
        entry = build_entry(
            actor_id=actor_id,
            action=action,
            resource_type=resource_type,
            resource_id=resource_id,
            details=details,
            organization_id=organization_id,
        )
        self._write([entry])
        WRITTEN.inc()

    def log_async(
        self,
        *,
        actor_id: str | None,
        action: str,
        resource_type: str,
        resource_id: str | None = None,
        details: Mapping[str, Any] | None = None,
        organization_id: str | None = None,
    ) -> None:
        """Check one entry and append it to the spool; returns once the kernel has it (a SIGKILL
        loses nothing). Only an invalid entry raises, database errors never do."""
        line = spool_line(
            actor_id=actor_id,
            action=action,
            resource_type=resource_type,
            resource_id=resource_id,
            details=details,
            organization_id=organization_id,
        )
        writer = self._current_writer()
        if writer is None:  # closed: no thread to hand it to
            write_logged(self._write, [decode(line)])
            return
        writer.submit(line)

    def start(self) -> None:
        """Start this process's writer now: it first writes what stopped processes left spooled."""
        self._current_writer()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until this process's queued entries are written; False if ``timeout`` ran out."""
        writer = self._writer
        if writer is None or writer.pid != os.getpid():
            return True
        return writer.flush(timeout)

    def close(self) -> None:
        """Drain and stop the writer (what is left stays spooled); later ``log_async`` calls write synchronously."""
        with self._lock:
            self._closed = True
            writer, self._writer = self._writer, None
        if writer is not None and writer.pid == os.getpid():
            writer.close()

    def _current_writer(self) -> AsyncWriter | None:
        writer = self._writer
        if writer is not None and writer.pid == os.getpid():
            return writer
        with self._lock:
            if self._closed:
                return None
            if self._writer is None or self._writer.pid != os.getpid():
                # After a fork the parent's thread is gone here and its queue belongs to the parent.
                self._writer = AsyncWriter(self.app, self.settings, self._write)
            return self._writer

    def _write(self, entries: list[Entry]) -> int:
        with self.app.app_context():
            return append(db.engine, entries, self.keyring)


def _after_fork(ref: weakref.ref[DatabaseAuditLogger]) -> Any:
    def reset() -> None:
        logger = ref()
        if logger is not None:  # a lock held by another thread at fork time would never be released here
            logger._lock = threading.Lock()
            writer = logger._writer
            if writer is not None and writer.pid != os.getpid():
                writer.spool.forget()  # the parent's segments stay the parent's

    return reset
