"""Drive one workload with wrk and read its figures: requests/s, p50, p99, errors.

The request (method, headers, body) goes in a generated Lua script, so POST workloads need nothing
more than GET ones. wrk (Debian's ``wrk``) is installed by ``bench/run.sh`` when missing.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from typing import Any

from bench.workload import Request

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}
_RPS = re.compile(r"^Requests/sec:\s+([\d.]+)", re.M)
_TOTAL = re.compile(r"^\s*(\d+) requests in", re.M)
_PERCENTILE = re.compile(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$", re.M)
_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


@dataclass(frozen=True)
class Measurement:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # non-2xx/3xx answers plus socket errors
    #: CPU time (user + system) the server's workers spent per request, µs (0: not measured)
    cpu_us: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def combine(rounds: list[Measurement], seconds: float) -> Measurement:
    """Rounds of one workload as one figure: requests over the whole measured time, the median
    round's p50, the worst round's p99, CPU per request over every request."""
    requests = sum(r.requests for r in rounds)
    cpu = sum(r.cpu_us * r.requests for r in rounds)
    p50 = sorted(r.p50_ms for r in rounds)[len(rounds) // 2]
    return Measurement(requests / seconds, p50, max(r.p99_ms for r in rounds), requests,
                       sum(r.errors for r in rounds), cpu / requests if requests else 0.0)


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("wrk is not installed: run bench/run.sh (it installs it) or apt-get install -y wrk")
    return path


def _lua_string(value: str) -> str:
    level = "=" * 4
    while f"]{level}]" in value:
        level += "="
    return f"[{level}[{value}]{level}]"


def lua_script(request: Request) -> str:
    lines = [f"wrk.method = {_lua_string(request.method)}"]
    if request.body is not None:
        lines.append(f"wrk.body = {_lua_string(request.body)}")
    # The spaces matter: ``t[[==[k]==]]`` would be a call of ``t`` with a long string in Lua.
    lines += [f"wrk.headers[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in request.headers.items()]
    return "\n".join(lines) + "\n"


def parse(output: str) -> Measurement:
    """wrk's ``--latency`` report to a :class:`Measurement`; raises when a figure is missing."""
    rps, total = _RPS.search(output), _TOTAL.search(output)
    percentiles = {p: float(v) * _UNITS[u] for p, v, u in _PERCENTILE.findall(output)}
    if rps is None or total is None or "50" not in percentiles or "99" not in percentiles:
        raise ValueError(f"unreadable wrk output:\n{output}")
    errors = sum(int(n) for n in _NON_2XX.findall(output))
    socket = _SOCKET.search(output)
    if socket:
        errors += sum(int(n) for n in socket.groups())
    return Measurement(float(rps.group(1)), percentiles["50"], percentiles["99"], int(total.group(1)), errors)


def run(base_url: str, request: Request, *, duration: int, connections: int, threads: int = 1) -> Measurement:
    """One bounded wrk run against ``base_url`` (127.0.0.1 only); wrk stops after ``duration`` seconds."""
    if not base_url.startswith("http://127.0.0.1:"):
        raise ValueError("the benchmark only loads 127.0.0.1")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=True) as script:
        script.write(lua_script(request))
        script.flush()
        completed = subprocess.run(
            [require_wrk(), "--latency", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s",
             "--timeout", "10s", "-s", script.name, base_url + request.path],
            capture_output=True, text=True, timeout=duration + 60, check=True,
        )
    return parse(completed.stdout)
