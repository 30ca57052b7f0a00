"""Fire-and-forget that loses nothing: the spool, and one writer thread per process draining it.

``submit`` appends the entry to this process's spool segment (see ``spool.py``) and wakes the
thread, which syncs the segment and inserts batches in spool order inside its own app context.
A database that is away is retried with backoff for as long as the process runs; a write that can
never succeed is logged and counted, and its segment is kept for the next start. ``close`` drains
until ``drain_timeout``; what is left stays in the spool and is written at the next start by any
process of the instance (``recover``), exactly once because inserts skip entry ids already written.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask

from app.modules.audit.chain import format_time
from app.modules.audit.errors import is_transient
from app.modules.audit.metrics import FAILED, QUEUE_DEPTH, RETRIED, SYNC_FALLBACKS, WRITTEN
from app.modules.audit.settings import AuditSettings
from app.modules.audit.spool import Claimed, Spool, claim_dead, decode

log = logging.getLogger(__name__)

Entry = dict[str, Any]
#: Writes a batch of entries to the chain (skipping ids already there); returns how many it inserted.
WriteBatch = Callable[[list[Entry]], int]

FIRST_RETRY_DELAY = 0.1
#: How often an idle writer syncs and looks whether it should stop, seconds.
IDLE_POLL = 0.25


def describe(entries: list[Entry]) -> str:
    """The entries as JSON lines, for the log line of a write that failed for good."""
    return "\n".join(
        json.dumps({**e, "created_at": format_time(e["created_at"])}, ensure_ascii=False, default=str)
        for e in entries
    )


def record_failed(entries: list[Entry], error: BaseException, where: str) -> None:
    """Count entries the database refused for good and log them whole; ``where`` says what happens next."""
    FAILED.inc(len(entries))
    log.error("audit: %d entries could not be written (%s); %s; entries follow\n%s",
              len(entries), error, where, describe(entries))


def write_logged(write: WriteBatch, entries: list[Entry]) -> None:
    """Write without retrying (no spool to fall back on); a failure is logged and counted, not raised."""
    SYNC_FALLBACKS.inc()
    try:
        write(entries)
    except Exception as error:  # noqa: BLE001 - log_async never raises into the request
        record_failed(entries, error, "they are not kept")
    else:
        WRITTEN.inc(len(entries))


class AsyncWriter:
    """The spool and its writer thread; created in the process that uses it (never across a fork)."""

    def __init__(self, app: Flask, settings: AuditSettings, write: WriteBatch) -> None:
        self.app = app
        self.settings = settings
        self.pid = os.getpid()
        self._write = write
        self.spool = Spool(Path(str(settings.spool_dir)), settings.segment_bytes)
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._idle = threading.Condition()
        self._deadline = float("inf")
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()

    # -- request threads ---------------------------------------------------------------------
    def submit(self, line: bytes) -> None:
        """Append a spool line and wake the writer; if the disk refuses, write the entry here."""
        try:
            self.spool.append(line)
        except OSError as error:
            log.error("audit spool %s refused an entry (%s); writing it synchronously", self.spool.folder, error)
            write_logged(self._write, [decode(line)])
            return
        if not self._wake.is_set():
            self._wake.set()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every spooled entry is written or given up; False if ``timeout`` ran out first."""
        with self._idle:
            return self._idle.wait_for(lambda: self.spool.backlog == 0, timeout)

    @property
    def pending(self) -> int:
        return self.spool.backlog

    def close(self) -> None:
        """Stop, draining the spool for at most ``drain_timeout`` seconds; the rest stays spooled."""
        drain = float(self.settings.drain_timeout or 0.0)
        self._deadline = time.monotonic() + drain
        self._closing.set()
        self._wake.set()
        self._thread.join(drain + 0.2)
        if self._thread.is_alive():  # stuck in a database call: keep its descriptors, sync them
            self.spool.sync()
            left = self.spool.backlog
        else:
            left = self.spool.close()
        QUEUE_DEPTH.set(0)
        if left:
            log.error(
                "audit: %d entries not written within the %gs drain; they stay in the spool %s and are "
                "written at the next start", left, drain, self.spool.folder)

    # -- the writer thread -------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            try:
                self._loop()
                return
            except Exception:  # the thread must outlive any surprise: the spool keeps the entries
                log.exception("audit writer: unexpected error; resuming in 1 s")
                if self._closing.wait(1.0):
                    return

    def _loop(self) -> None:
        with self.app.app_context():
            next_scan = 0.0
            first_scan = True
            while True:
                if not self._closing.is_set() and time.monotonic() >= next_scan:
                    self.recover(include_held=first_scan)
                    first_scan = False
                    next_scan = time.monotonic() + self.settings.recover_interval
                batch = self.spool.take(self.settings.batch_size)
                QUEUE_DEPTH.set(self.spool.backlog)
                if batch is None:
                    self._notify_idle()
                    if self._closing.is_set():
                        return
                    self._wake.wait(IDLE_POLL)
                    self._wake.clear()
                    continue
                self.spool.sync()  # the batch is on disk before the database sees it
                outcome = self._write_with_retry(batch.entries)
                if outcome is None:
                    return  # the drain's deadline passed: the rest stays in the spool
                self.spool.commit(batch, keep=not outcome)
                self._notify_idle()

    def _notify_idle(self) -> None:
        with self._idle:
            self._idle.notify_all()

    def _pause(self, seconds: float) -> None:
        """Sleep between retries, syncing the spool; a close cuts it short."""
        self.spool.sync()
        self._closing.wait(max(0.0, min(seconds, self._deadline - time.monotonic())))

    def _write_with_retry(self, entries: list[Entry]) -> bool | None:
        """True: written; False: some refused for good (logged); None: gave up at the drain's deadline."""
        delay = FIRST_RETRY_DELAY
        while True:
            try:
                written = self._write(entries)
            except Exception as error:  # noqa: BLE001 - classified below; the thread must live on
                if is_transient(error):
                    if time.monotonic() >= self._deadline:
                        return None
                    RETRIED.inc()
                    log.warning("audit database unavailable, retrying %d entries in %.1fs: %s",
                                len(entries), delay, error)
                    self._pause(delay)
                    delay = min(delay * 2, self.settings.retry_max_delay)
                    continue
                if len(entries) > 1:  # one bad entry must not sink its neighbours
                    results = [self._write_with_retry([entry]) for entry in entries]
                    return None if None in results else all(results)
                record_failed(entries, error, "kept in the spool for the next start")
                return False
            WRITTEN.inc(written)
            return True

    # -- segments of dead processes ------------------------------------------------------------
    def recover(self, *, include_held: bool) -> int:
        """Replay the segments no live process holds, oldest first; returns how many were finished."""
        finished = 0
        for claimed in claim_dead(self.spool.folder, include_held=include_held):
            finished += self._replay(claimed)
            if self._closing.is_set():
                break
        return finished

    def _replay(self, claimed: Claimed) -> bool:
        failed = False
        try:
            for entries in claimed.entries(self.settings.batch_size):
                outcome = self._write_with_retry(entries)
                if outcome is None:
                    claimed.release()
                    return False
                failed = failed or not outcome
        except Exception as error:  # noqa: BLE001 - never keep a claim (and its lock) on the way out
            log.error("audit spool: could not replay %s (%s); left for a later attempt", claimed.path, error)
            claimed.release()
            return False
        if failed:
            claimed.hold()
            return False
        claimed.finish()
        log.info("audit spool: wrote %s, left by a stopped process", claimed.path.name)
        return True
