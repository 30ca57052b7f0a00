"""What ``audit_logger.log_async`` costs the route that calls it: checks, the spool append, the wake-up.

    .venv/bin/python -m bench.audit_spool [--entries 20000]

Measured in one process, inside a request context (so the request's ip, user agent and id are
stamped as in a route), with the writer thread draining into a throwaway SQLite database, in
rounds of 200 calls, each round starting with the spool drained (a writer that keeps up, as in a
worker whose routes log a few entries each).

The verdict is on the median CPU time the calling thread spends per call (user and system time,
so the ``write(2)`` counts): what the route pays, and a figure that a shared, loaded machine does
not inflate the way it inflates wall time. The target (< 50 µs) lets a route log several entries
without it showing. The row also gives:

- the wall time per call (median and p90);
- the same calls back to back while the writer drains them (its decoding and inserting compete
  for the GIL: the insert's CPU, paid by the process rather than by the call);
- the part of a call spent checking and encoding the entry (``entry.spool_line``);
- as the same-run yardstick of the other rows, one bare request (``GET /api/v1/livez`` through
  the test client) and the ratio of the two, which moves much less than wall time under load.

The kinds of rounds are interleaved so that load changes hit them alike. ``python -m bench``
measures it too and lists it with the other targets.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

#: The target of the median cost of one ``log_async`` call, microseconds.
TARGET_US = 50.0
ROUND = 200


@dataclass(frozen=True)
class AuditCost:
    entries: int
    cpu_us: float  # the calling thread's CPU time per call (user + system), median over rounds: the verdict
    median_us: float  # wall time: median over rounds of the mean time of a call, each round on a drained spool
    p90_us: float
    draining_us: float  # the same, back to back while the writer drains them
    encode_us: float  # of which: checking and encoding the entry (spool_line)
    bare_request_us: float  # one bare request through the test client, median as above

    @property
    def ratio_to_bare(self) -> float:
        return self.median_us / self.bare_request_us

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio_to_bare": self.ratio_to_bare}

    @property
    def passed(self) -> bool:
        return self.cpu_us < TARGET_US

    def row(self) -> str:
        return (f"| audit log_async | {self.cpu_us:.1f} µs CPU/entry (wall {self.median_us:.1f}, p90 "
                f"{self.p90_us:.1f}; checks "
                f"and encoding {self.encode_us:.1f}; back to back while draining {self.draining_us:.1f}; "
                f"{self.ratio_to_bare:.3f}x a bare request of {self.bare_request_us:.0f} µs) | "
                f"< {TARGET_US:.0f} µs | {'PASS' if self.passed else 'FAIL'} |")


def _round(call: Any, calls: int = ROUND, cpu: list[float] | None = None) -> float:
    """Wall-clock microseconds per call of ``calls`` calls in a row; the calling thread's CPU time
    per call (user and system: the ``write``) is appended to ``cpu``."""
    start, start_cpu = time.perf_counter(), time.thread_time()
    for number in range(calls):
        call(number)
    if cpu is not None:
        cpu.append((time.thread_time() - start_cpu) / calls * 1e6)
    return (time.perf_counter() - start) / calls * 1e6


def measure(entries: int = 20_000) -> AuditCost:
    from flask_migrate import upgrade

    from app import create_app
    from app.modules import audit_logger, close_modules, ensure_ready
    from app.modules.audit.entry import spool_line

    folder = Path(tempfile.mkdtemp(prefix="bench-audit-"))
    app = create_app({
        "APP_ENV": "testing", "AUTH__SECRET": "bench-secret-" + "x" * 32, "LOG_LEVEL": "WARNING",
        "DATABASE_URL": f"sqlite:///{folder / 'bench.db'}", "MODULES__AUDIT": "true", "MODULES__AUTH": "false",
        "MODULES__AUDIT__SPOOL_DIR": str(folder / "spool"), "MODULES__AUDIT__KEY": "bench-audit-key-" + "k" * 32,
    })
    with app.app_context():
        upgrade()
    ensure_ready(app)
    details = {"changed": ["name", "plan"], "plan": "pro"}

    def log(number: int) -> None:
        audit_logger.log_async(actor_id="user-1", action="project.update", resource_type="project",
                               resource_id=f"p-{number}", details=details, organization_id="org-1")

    def encode(number: int) -> None:
        spool_line(actor_id="user-1", action="project.update", resource_type="project",
                    resource_id=f"p-{number}", details=details, organization_id="org-1")

    def drained() -> None:
        app.extensions["audit_logger"].flush(120)

    client = app.test_client()

    def bare(number: int) -> None:
        client.get("/api/v1/livez")

    headers = {"User-Agent": "bench/1.0"}
    logged: list[float] = []
    cpu: list[float] = []
    draining: list[float] = []
    encoded: list[float] = []
    bared: list[float] = []
    with app.test_request_context("/bench", headers=headers, environ_base={"REMOTE_ADDR": "10.0.0.1"}):
        _round(log)  # warm up: the writer thread and the first segment
        for _ in range(max(1, entries // ROUND)):
            drained()
            logged.append(_round(log, cpu=cpu))
            draining.append(_round(log))
            encoded.append(_round(encode))
            bared.append(_round(bare, ROUND // 10))
    drained()
    close_modules(app)
    deciles = statistics.quantiles(logged, n=10)
    return AuditCost(entries, statistics.median(cpu), statistics.median(logged), deciles[-1],
                     statistics.median(draining),
                     statistics.median(encoded), statistics.median(bared))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.audit_spool", description=__doc__)
    parser.add_argument("--entries", type=int, default=20_000)
    cost = measure(parser.parse_args().entries)
    print("| row | measured | target | verdict |\n|---|---|---|---|")
    print(cost.row())


if __name__ == "__main__":
    main()
