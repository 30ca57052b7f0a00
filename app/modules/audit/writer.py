"""Fire-and-forget done properly: a bounded queue and one writer thread per process.

The thread inserts in batches inside its own app context. A briefly unavailable database is retried
with exponential backoff and the entries are kept; a write that can never succeed is logged with its
entries (so an operator can replay them) and counted. ``close`` drains the queue before returning.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Flask

from app.modules.audit.chain import format_time
from app.modules.audit.errors import is_transient
from app.modules.audit.metrics import FAILED, QUEUE_DEPTH, RETRIED, SYNC_FALLBACKS, WRITTEN
from app.modules.audit.settings import AuditSettings

log = logging.getLogger(__name__)

Entry = dict[str, Any]
#: Writes a batch of entries to the chain; errors surface.
WriteBatch = Callable[[list[Entry]], None]

FIRST_RETRY_DELAY = 0.1
#: How often an idle writer looks whether it should stop.
IDLE_POLL = 0.25


def describe(entries: list[Entry]) -> str:
    """The entries as JSON lines, for the log line of a write that failed for good."""
    return "\n".join(
        json.dumps({**e, "created_at": format_time(e["created_at"])}, ensure_ascii=False, default=str)
        for e in entries
    )


def record_lost(entries: list[Entry], error: BaseException) -> None:
    """Count entries that will never be written and log them whole, so they can be replayed."""
    FAILED.inc(len(entries))
    log.error("audit: %d entries could not be written (%s); entries follow\n%s", len(entries), error, describe(entries))


def write_logged(write: WriteBatch, entries: list[Entry]) -> None:
    """Write without retrying; a failure is logged and counted, not raised."""
    SYNC_FALLBACKS.inc()
    try:
        write(entries)
    except Exception as error:  # noqa: BLE001 - log_async never raises into the request
        record_lost(entries, error)
    else:
        WRITTEN.inc(len(entries))


class AsyncWriter:
    """The queue and its writer thread; created in the process that uses it (never across a fork)."""

    def __init__(self, app: Flask, settings: AuditSettings, write: WriteBatch) -> None:
        self.app = app
        self.settings = settings
        self.pid = os.getpid()
        self._write = write
        self._queue: queue.Queue[Entry] = queue.Queue(maxsize=settings.queue_size)
        self._pending = 0
        self._idle = threading.Condition()
        self._closing = threading.Event()
        self._deadline = float("inf")
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()

    # -- producers ---------------------------------------------------------------------------
    def submit(self, entry: Entry) -> None:
        """Queue ``entry``; when the queue stays full or is closed, write it here. Never raises."""
        if not self._closing.is_set():
            with self._idle:
                self._pending += 1
            try:
                self._queue.put(entry, timeout=self.settings.enqueue_timeout)
            except queue.Full:
                self._done(1)
            else:
                QUEUE_DEPTH.inc()
                if self._closing.is_set() and not self._thread.is_alive():
                    self._drain_here()  # closed while we queued: nobody else will write it
                return
        write_logged(self._write, [entry])

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued entry is written or given up; False if ``timeout`` ran out first."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self) -> None:
        """Stop taking entries and drain the queue, for at most ``drain_timeout`` seconds."""
        self._deadline = time.monotonic() + self.settings.drain_timeout
        self._closing.set()
        self._thread.join(self.settings.drain_timeout + 1.0)
        if not self._thread.is_alive():
            self._drain_here()
        else:
            log.error("audit writer did not drain in %ss; %d entries left", self.settings.drain_timeout, self._pending)

    def _drain_here(self) -> None:
        while True:
            try:
                entry = self._queue.get_nowait()
            except queue.Empty:
                return
            QUEUE_DEPTH.dec()
            try:
                self._write_one(entry)
            finally:
                self._done(1)

    @property
    def pending(self) -> int:
        return self._pending

    # -- the writer thread -------------------------------------------------------------------
    def _run(self) -> None:
        with self.app.app_context():
            while True:
                try:
                    first = self._queue.get(timeout=IDLE_POLL)
                except queue.Empty:
                    if self._closing.is_set():
                        return
                    continue
                batch = [first]
                while len(batch) < self.settings.batch_size:
                    try:
                        batch.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                try:
                    self._write_with_retry(batch)
                finally:
                    QUEUE_DEPTH.dec(len(batch))
                    self._done(len(batch))

    def _write_with_retry(self, batch: list[Entry]) -> None:
        delay = FIRST_RETRY_DELAY
        while True:
            try:
                self._write(batch)
            except Exception as error:  # noqa: BLE001 - classified below; the thread must live on
                if is_transient(error) and time.monotonic() < self._deadline:
                    RETRIED.inc()
                    log.warning(
                        "audit database unavailable, retrying %d entries in %.1fs: %s",
                        len(batch), delay, error)
                    time.sleep(min(delay, max(0.0, self._deadline - time.monotonic())))
                    delay = min(delay * 2, self.settings.retry_max_delay)
                    continue
                if len(batch) > 1 and not is_transient(error):
                    for entry in batch:  # one bad entry must not sink its neighbours
                        self._write_one(entry)
                    return
                record_lost(batch, error)
                return
            WRITTEN.inc(len(batch))
            return

    def _write_one(self, entry: Entry) -> None:
        try:
            self._write([entry])
        except Exception as error:  # noqa: BLE001 - logged and counted
            record_lost([entry], error)
        else:
            WRITTEN.inc()

    def _done(self, count: int) -> None:
        with self._idle:
            self._pending -= count
            if self._pending == 0:
                self._idle.notify_all()
