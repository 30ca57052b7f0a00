"""The spool: ``log_async`` appends each entry to a local file before it returns.

One folder per instance (``MODULES__AUDIT__SPOOL_DIR``), shared by the processes of one machine.
Each process appends JSON lines to segments of its own, ``<nanoseconds>-<pid>.jsonl``, opened with
``O_APPEND`` and held under an exclusive ``flock`` while the process lives:

- ``write(2)`` hands the line to the kernel before ``log_async`` returns: a process killed with
  SIGKILL (the OOM killer, gunicorn's timeout) loses nothing that it accepted.
- The writer thread ``fsync``s before every batch it sends to the database (and while it waits for
  one that is down): a machine crash or power cut loses at most what was appended since the last
  sync, one batch's worth. In a container the folder must be a volume that outlives the container.
- The kernel drops the ``flock`` of a dead process, so a segment whose lock can be taken belongs to
  nobody: any process of the instance may claim it and replay it (``claim_dead``); the replay is
  idempotent because entries carry ids. ``flock`` rather than ``fcntl`` locks: those vanish when
  the process closes *any* descriptor of the file, and are not bound to one open file.
- Names sort by creation time, so dead segments replay in the order they were written.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

Entry = dict[str, Any]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
LIVE_SUFFIX = ".jsonl"
#: A dead segment whose replay failed for a reason other than an outage: retried at the next start.
HELD_SUFFIX = ".held"
#: How much of a segment is read at once when a batch is taken.
READ_CHUNK = 1024 * 1024


def encode(entry: Entry) -> bytes:
    """One spool line of an entry built by ``build_entry`` (``entry.spool_line`` makes them faster)."""
    payload = {key: value for key, value in entry.items() if key != "created_at"}
    payload["created_us"] = (entry["created_at"] - EPOCH) // timedelta(microseconds=1)
    return json.dumps(payload, separators=(",", ":")).encode() + b"\n"


def decode(line: bytes) -> Entry:
    """The entry of a spool line: JSON whose ``created_us`` is microseconds since the epoch (UTC)."""
    entry: Entry = json.loads(line)
    entry["created_at"] = EPOCH + timedelta(microseconds=int(entry.pop("created_us")))
    return entry


def decode_lines(data: bytes) -> tuple[list[Entry], int]:
    """Entries of the complete lines in ``data`` and the bytes they span; a torn tail is left."""
    end = data.rfind(b"\n") + 1
    entries = []
    for line in data[:end].splitlines():
        if not line.strip():
            continue
        try:
            entries.append(decode(line))
        except (ValueError, KeyError, TypeError) as error:
            log.error("audit spool: an unreadable line was skipped (%s): %r", error, line[:500])
    return entries, end


def _sync_folder(folder: Path) -> None:
    """Make a new file's name durable, not only its bytes."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class Segment:
    path: Path
    fd: int
    size: int = 0  # bytes completely appended
    synced: int = 0  # bytes known to be on disk
    read: int = 0  # bytes written to the database
    appended: int = 0  # entries appended
    done: int = 0  # entries written (or given up for this run)
    keep: bool = False  # something failed for good: leave it for the next start


@dataclass
class Batch:
    segment: Segment
    entries: list[Entry]
    end: int  # offset after the batch's last line
    lines: int  # lines the batch spans (an unreadable one is skipped, still counted)


@dataclass
class Spool:
    """The segments of this process: appended by request threads, drained by the writer thread."""

    folder: Path
    segment_bytes: int
    segments: list[Segment] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)

    # -- request threads ----------------------------------------------------------------------
    def append(self, line: bytes) -> None:
        """Append one line; returns once the kernel has it. ``OSError`` when the disk refuses."""
        with self.lock:
            segment = self.segments[-1] if self.segments else None
            if segment is None or segment.size >= self.segment_bytes:
                segment = self._open_segment()
            view = memoryview(line)
            while view:
                view = view[os.write(segment.fd, view):]
            segment.size += len(line)
            segment.appended += 1

    def _open_segment(self) -> Segment:
        path = self.folder / f"{time.time_ns():020d}-{os.getpid()}{LIVE_SUFFIX}"
        # One descriptor for appending, reading back (pread) and syncing; the lock is bound to it.
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a new file: nobody else can hold it
        _sync_folder(self.folder)
        segment = Segment(path, fd)
        self.segments.append(segment)
        return segment

    @property
    def backlog(self) -> int:
        """Entries appended and not yet written (or given up) by this process."""
        with self.lock:
            return sum(s.appended - s.done for s in self.segments)

    # -- the writer thread --------------------------------------------------------------------
    def sync(self) -> None:
        """``fsync`` every segment that grew since the last sync."""
        with self.lock:
            pending = [(s, s.size) for s in self.segments if s.size > s.synced]
        for segment, size in pending:
            os.fsync(segment.fd)
            segment.synced = max(segment.synced, size)

    def take(self, max_entries: int) -> Batch | None:
        """The next entries after what was written, at most ``max_entries``; None when drained."""
        with self.lock:
            segment = next((s for s in self.segments if s.read < s.size), None)
            if segment is None:
                return None
            start, stop = segment.read, segment.size
        data = os.pread(segment.fd, min(stop - start, READ_CHUNK), start)
        if b"\n" not in data:  # one line longer than a chunk: read it whole
            data = os.pread(segment.fd, stop - start, start)
        end = 0
        for _ in range(max_entries):
            found = data.find(b"\n", end)
            if found < 0:
                break
            end = found + 1
        entries, _ = decode_lines(data[:end])
        return Batch(segment, entries, start + end, data.count(b"\n", 0, end))

    def commit(self, batch: Batch, *, keep: bool = False) -> None:
        """Mark the batch written; unlink segments that are finished and no longer appended to."""
        with self.lock:
            segment = batch.segment
            segment.read = batch.end
            segment.done += batch.lines
            segment.keep = segment.keep or keep
            finished = [s for s in self.segments[:-1] if s.read >= s.size and not s.keep]
            for old in finished:
                self.segments.remove(old)
        for old in finished:
            self._remove(old)

    def close(self) -> int:
        """Unlink what was written, close the rest (another process replays it); the entries left."""
        self.sync()
        left = 0
        with self.lock:
            segments, self.segments = self.segments, []
        for segment in segments:
            if segment.read >= segment.size and not segment.keep:
                self._remove(segment)
            else:
                left += segment.appended - segment.done
                self._close(segment)
        return left

    def forget(self) -> None:
        """In a forked child: drop the parent's descriptors without touching its files."""
        for segment in self.segments:
            self._close(segment)
        self.segments = []

    @staticmethod
    def _close(segment: Segment) -> None:
        try:
            os.close(segment.fd)
        except OSError as error:
            if error.errno != errno.EBADF:
                raise

    def _remove(self, segment: Segment) -> None:
        try:
            segment.path.unlink()
        except FileNotFoundError:
            pass
        self._close(segment)


@dataclass
class Claimed:
    """A dead process's segment, locked by this process for its replay."""

    path: Path
    fd: int

    def entries(self, batch_size: int) -> Iterator[list[Entry]]:
        with os.fdopen(os.dup(self.fd), "rb") as stream:
            batch: list[bytes] = []
            for line in stream:
                if not line.endswith(b"\n"):
                    log.warning("audit spool: torn last line of %s ignored (a crash during its write)", self.path)
                    break
                batch.append(line)
                if len(batch) >= batch_size:
                    yield decode_lines(b"".join(batch))[0]
                    batch = []
            if batch:
                yield decode_lines(b"".join(batch))[0]

    def finish(self) -> None:
        """Replayed: remove the file, then let go of it."""
        self.path.unlink(missing_ok=True)
        os.close(self.fd)

    def hold(self) -> None:
        """Not replayable now for good reason: rename so only the next start retries it."""
        if self.path.suffix == LIVE_SUFFIX:
            os.replace(self.path, self.path.with_suffix(HELD_SUFFIX))
        os.close(self.fd)

    def release(self) -> None:
        """Not replayable now (database away): leave it as it is for the next attempt."""
        os.close(self.fd)


def claim_dead(folder: Path, *, include_held: bool) -> Iterator[Claimed]:
    """Segments of processes that are gone, oldest first, each locked while the caller replays it."""
    suffixes = (LIVE_SUFFIX, HELD_SUFFIX) if include_held else (LIVE_SUFFIX,)
    try:
        names = sorted(name for name in os.listdir(folder) if name.endswith(suffixes))
    except FileNotFoundError:
        return
    for name in names:
        path = folder / name
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            same = os.stat(path).st_ino == os.fstat(fd).st_ino  # not replayed and unlinked meanwhile
        except (BlockingIOError, FileNotFoundError):
            same = False
        if not same:
            os.close(fd)
            continue
        yield Claimed(path, fd)
