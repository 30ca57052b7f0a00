"""Targets, the JSON result and the Markdown table: the figures as ratios to the bare endpoint."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.audit_spool import TARGET_US, AuditCost
from bench.hashcost import HashCost
from bench.workload import Workload
from bench.wrk import Measurement

#: A worker's resident memory after the run must stay under this (MiB).
MAX_WORKER_RSS_MB = 80.0


@dataclass(frozen=True)
class Verdict:
    target: str
    passed: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"target": self.target, "passed": self.passed, "detail": self.detail}


def ratio_verdict(profile: str, workload: Workload, measured: Measurement, bare: Measurement) -> Verdict | None:
    """Judged on req/s against the bare rounds run next to the workload's; the CPU ratio is given too."""
    minimum = workload.min_ratio.get(profile)
    if minimum is None:
        return None
    ratio = measured.requests_per_second / bare.requests_per_second
    cpu = f"; CPU {measured.cpu_us:.0f} / {bare.cpu_us:.0f} µs per request = {bare.cpu_us / measured.cpu_us:.2f}x" \
        if measured.cpu_us else ""
    return Verdict(f"{profile}/{workload.name} >= {minimum:.2f}x bare", ratio >= minimum,
                   f"{measured.requests_per_second:.0f} / {bare.requests_per_second:.0f} req/s = {ratio:.2f}x{cpu}")


def hash_verdict(profile: str, workload: Workload, measured: Measurement, cost: HashCost) -> Verdict | None:
    """Sign-in is hash-bound when it reaches ``hash_bound`` of the argon2-only ceiling."""
    if workload.hash_bound is None:
        return None
    share = measured.requests_per_second / cost.ceiling_per_second
    other_ms = cost.cpus * 1000 / measured.requests_per_second - cost.verify_ms if measured.requests_per_second else 0
    return Verdict(
        f"{profile}/{workload.name} >= {workload.hash_bound:.2f}x argon2 ceiling", share >= workload.hash_bound,
        f"{measured.requests_per_second:.1f} / {cost.ceiling_per_second:.1f} verify/s = {share:.2f}x "
        f"(one verify {cost.verify_ms:.1f} ms; ~{other_ms:.1f} CPU-ms per sign-in besides it)",
    )


def audit_verdict(cost: AuditCost) -> Verdict:
    """``log_async`` is cheap enough for a route to call (measured in-process, see ``audit_spool.py``)."""
    return Verdict(f"audit log_async median < {TARGET_US:.0f} µs CPU per entry", cost.passed,
                   f"{cost.cpu_us:.1f} µs CPU (wall {cost.median_us:.1f}, p90 {cost.p90_us:.1f}; checks and encoding "
                   f"{cost.encode_us:.1f}; "
                   f"back to back while the writer drains {cost.draining_us:.1f}; {cost.ratio_to_bare:.3f}x "
                   f"a bare in-process request of {cost.bare_request_us:.0f} µs)")


def rss_verdict(profile: str, rss: dict[int, float]) -> Verdict:
    worst = max(rss.values()) if rss else float("nan")
    return Verdict(f"{profile}/worker RSS < {MAX_WORKER_RSS_MB:.0f} MB", bool(rss) and worst < MAX_WORKER_RSS_MB,
                   ", ".join(f"pid {pid}: {mb:.1f} MB" for pid, mb in sorted(rss.items())))


def markdown(result: dict[str, Any]) -> str:
    """The run as Markdown: one table of workloads, then the targets."""
    lines = [
        f"## Benchmark {result['started']}",
        "",
        f"{result['host']['cpus']} CPUs, {result['server']['workers']} gunicorn workers x "
        f"{result['server']['threads']} threads, wrk -c {result['load']['connections']}, each workload "
        f"{result['load']['rounds']} rounds of {result['load']['round_seconds']} s alternating with as many "
        f"rounds of bare; argon2id t={result['argon2']['time_cost']} "
        f"m={result['argon2']['memory_kib']} KiB p={result['argon2']['parallelism']}: one verify "
        f"{result['argon2']['verify_ms']:.1f} ms, ceiling {result['argon2']['ceiling_per_second']:.1f}/s",
        "",
        "| profile | workload | req/s | bare req/s next to it | x bare | target | CPU µs/req | x bare (CPU) "
        "| p50 ms | p99 ms | errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    targets = result.get("min_ratios", {})
    for profile, run in result["profiles"].items():
        for name, row in run["workloads"].items():
            target = targets.get(name, {}).get(profile)
            lines.append(
                f"| {profile} | {name} | {row['requests_per_second']:.1f} | "
                f"{row.get('bare_requests_per_second', 0):.1f} | {row['ratio_to_bare']:.2f} | "
                f"{f'>= {target:.2f}' if target is not None else ''} | {row.get('cpu_us', 0):.0f} | "
                f"{row.get('cpu_ratio_to_bare', 0):.2f} | {row['p50_ms']:.2f} | {row['p99_ms']:.2f} | {row['errors']} |"
            )
    lines += ["", "| profile | worker RSS after the run (MB) |", "|---|---|"]
    for profile, run in result["profiles"].items():
        lines.append(f"| {profile} | {', '.join(f'{mb:.1f}' for mb in run['worker_rss_mb'].values())} |")
    lines += ["", "Targets:", ""]
    lines += [f"- {'PASS' if v['passed'] else 'FAIL'} {v['target']}: {v['detail']}" for v in result["targets"]]
    return "\n".join(lines) + "\n"
