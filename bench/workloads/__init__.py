"""Every workload: each module here defines ``WORKLOADS``; they run in module-name order.

``core`` comes first (it holds the bare baseline); add a file, e.g. ``api_key.py``, to add yours.
"""

from __future__ import annotations

import importlib
import pkgutil

from bench.workload import Workload


def all_workloads() -> list[Workload]:
    """``core`` first, then the other modules by name; names must be unique."""
    names = sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))
    names.sort(key=lambda n: n != "core")
    found: list[Workload] = []
    for name in names:
        found.extend(importlib.import_module(f"{__name__}.{name}").WORKLOADS)
    duplicates = {w.name for w in found if [x.name for x in found].count(w.name) > 1}
    if duplicates:
        raise ValueError(f"workload names used twice: {sorted(duplicates)}")
    return found
