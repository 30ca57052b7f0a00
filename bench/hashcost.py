"""What one sign-in cannot go below: argon2id verification at the app's configured parameters.

The ceiling is measured, not computed: one thread per CPU verifying in a loop for a few seconds
(argon2-cffi releases the GIL), which is what the workers' threads do during the sign-in workload.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

from app.modules.auth.passwords import PasswordHasher
from config import load_settings


@dataclass(frozen=True)
class HashCost:
    time_cost: int
    memory_kib: int
    parallelism: int
    verify_ms: float  # median of single-threaded verifications
    ceiling_per_second: float  # verifications/s with one thread per CPU
    cpus: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def measure(env: dict[str, str], samples: int = 15, seconds: float = 3.0) -> HashCost:
    """Time argon2id verify with the settings ``env`` gives the app (bounded: ``seconds`` of load)."""
    settings = load_settings(env).auth.argon2
    hasher = PasswordHasher(settings)
    stored = hasher.hash("bench-password")
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        hasher.verify(stored, "bench-password")
        times.append(time.perf_counter() - start)
    cpus = len(os.sched_getaffinity(0))
    counts = [0] * cpus
    stop = time.monotonic() + seconds

    def loop(index: int) -> None:
        while time.monotonic() < stop:
            hasher.verify(stored, "bench-password")
            counts[index] += 1

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(cpus)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    return HashCost(settings.time_cost, settings.memory_cost, settings.parallelism,
                    statistics.median(times) * 1000, sum(counts) / elapsed, cpus)
