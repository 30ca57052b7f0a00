"""``python -m bench``: serve the app with gunicorn on a fresh PostgreSQL database, once with database
sessions and once with Redis sessions, load each workload with wrk, and report.

Writes ``bench/results/latest.json`` and prints a Markdown table. Exit status 0 when the run
completed, whatever the targets say (``--strict`` makes a missed target exit 1); 2 when a workload
could not be measured (failed check, error answers).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from bench import audit_spool, hashcost, report, services, wrk
from bench.server import ROOT, cpu_seconds, gunicorn, rss_mb, worker_pids
from bench.workload import PROFILES, Context, Request, Workload, send
from bench.workloads import all_workloads

RESULTS = ROOT / "bench" / "results"


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    env = os.environ.get
    parser.add_argument("--rounds", type=int, default=int(env("BENCH_ROUNDS", "3")),
                        help="bare/workload alternations per workload")
    parser.add_argument("--round-seconds", type=int, default=int(env("BENCH_ROUND_SECONDS", "3")),
                        help="seconds of each wrk run")
    parser.add_argument("--warmup", type=int, default=int(env("BENCH_WARMUP", "2")), help="seconds of unmeasured load")
    parser.add_argument("--connections", type=int, default=int(env("BENCH_CONNECTIONS", "32")))
    parser.add_argument("--profiles", default=env("BENCH_PROFILES", ",".join(PROFILES)))
    parser.add_argument("--only", default=env("BENCH_ONLY", ""), help="comma-separated workload names (bare always)")
    parser.add_argument("--database-server", default=env("BENCH_DATABASE_SERVER",
                                                         "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--redis-url", default=env("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15"))
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    return parser.parse_args()


def _app_env() -> dict[str, str]:
    """Production settings (argon2 at its OWASP default), rate limiting off: wrk is one client IP."""
    return {
        **os.environ,
        "APP_ENV": "production",
        "APP_ENV_FILE": "",
        "AUTH__SECRET": secrets.token_urlsafe(48),
        "AUTH__RATE_LIMIT__ENABLED": "false",
        # better-auth's per-key default is 10 requests a day: a load test needs it off.
        "AUTH__API_KEY__RATE_LIMIT_ENABLED": "false",
        # As the Dockerfile: argon2's 19 MiB buffers go back to the system after each hash instead
        # of staying in glibc's arenas (about 60 MB less per worker after sign-ins).
        "MALLOC_MMAP_THRESHOLD_": "131072",
        "MALLOC_ARENA_MAX": "2",
        "LOG_LEVEL": "WARNING",
        "REDIS_URL": "",
    }


def _round(base_url: str, request: Request, args: argparse.Namespace, workers: list[int]) -> wrk.Measurement:
    """One wrk run of ``args.round_seconds``, with the CPU its workers spent per request."""
    before = cpu_seconds(workers)
    result = wrk.run(base_url, request, duration=args.round_seconds, connections=args.connections)
    spent = cpu_seconds(workers) - before
    return replace(result, cpu_us=spent * 1e6 / result.requests if result.requests else 0.0)


def _measure_profile(profile: str, env: dict[str, str], workloads: list[Workload], args: argparse.Namespace,
                     cost: hashcost.HashCost, verdicts: list[report.Verdict]) -> dict[str, Any]:
    """Each workload side by side with the bare route: ``args.rounds`` alternations of a bare round
    and a workload round, so both see the same machine (on a shared host the load moves by more
    than the differences measured). A workload's ratio is to the bare rounds next to it."""
    rows: dict[str, Any] = {}
    # gthread workers accept connections until they hold ``worker_connections`` (1000): one worker
    # often took all 32 keep-alive connections of a round while the other idled, which moved the
    # bare route between 656 and 1,628 req/s. A cap just above an even share makes both serve.
    workers_count = int(env.get("WEB_CONCURRENCY", "2"))
    cap = -(-args.connections // workers_count) + 2
    env = {**env, "GUNICORN_CMD_ARGS": f"{env.get('GUNICORN_CMD_ARGS', '')} --worker-connections {cap}".strip()}
    with gunicorn(env, RESULTS / f"gunicorn-{profile}.log") as (base_url, master):
        workers = worker_pids(master)
        context = Context(base_url, profile, env.get("DATABASE_URL"))
        bare_workload = next(w for w in workloads if w.name == "bare")
        bare_request = bare_workload.prepare(context)
        bare_workload.check(send(context, bare_request), context)
        seconds = float(args.rounds * args.round_seconds)
        all_bare: list[wrk.Measurement] = []
        for workload in workloads:
            if workload is bare_workload:
                continue
            request = workload.prepare(context)
            workload.check(send(context, request), context)
            if args.warmup:
                wrk.run(base_url, request, duration=args.warmup, connections=args.connections)
            bare_rounds: list[wrk.Measurement] = []
            rounds: list[wrk.Measurement] = []
            for _ in range(args.rounds):
                bare_rounds.append(_round(base_url, bare_request, args, workers))
                rounds.append(_round(base_url, request, args, workers))
            result, bare = wrk.combine(rounds, seconds), wrk.combine(bare_rounds, seconds)
            if result.errors or bare.errors:
                raise SystemExit(f"{profile}/{workload.name}: {result.errors + bare.errors} error answers under load")
            all_bare += bare_rounds
            rows[workload.name] = _row(workload, result, bare)
            print(f"  {profile}/{workload.name}: {result.requests_per_second:.1f} req/s, bare next to it "
                  f"{bare.requests_per_second:.1f} ({rows[workload.name]['ratio_to_bare']:.2f}x; "
                  f"CPU {result.cpu_us:.0f} / {bare.cpu_us:.0f} us per request)", file=sys.stderr)
            for verdict in (report.ratio_verdict(profile, workload, result, bare),
                            report.hash_verdict(profile, workload, result, cost)):
                if verdict is not None:
                    verdicts.append(verdict)
        overall = wrk.combine(all_bare, seconds * len(all_bare) / args.rounds) if all_bare else None
        if overall is not None:
            rows = {"bare": _row(bare_workload, overall, overall), **rows}
        rss = {pid: rss_mb(pid) for pid in worker_pids(master)}
    verdicts.append(report.rss_verdict(profile, rss))
    return {"workloads": rows, "worker_rss_mb": {str(pid): mb for pid, mb in rss.items()}}


def _row(workload: Workload, result: wrk.Measurement, bare: wrk.Measurement) -> dict[str, Any]:
    return {
        **result.as_dict(),
        "bare_requests_per_second": bare.requests_per_second,
        "ratio_to_bare": result.requests_per_second / bare.requests_per_second,
        # What the ratio would be if the workers' CPU were the only limit (moves less with the load).
        "cpu_ratio_to_bare": bare.cpu_us / result.cpu_us if result.cpu_us else 0.0,
        "describe": workload.describe,
    }


def main() -> int:
    args = _args()
    wrk.require_wrk()
    profiles = [p.strip() for p in args.profiles.split(",") if p.strip()]
    only = {n.strip() for n in args.only.split(",") if n.strip()}
    workloads = [w for w in all_workloads() if not only or w.name in only or w.name == "bare"]
    env = _app_env()
    started = datetime.now(UTC).isoformat(timespec="seconds")
    print("measuring argon2id verification...", file=sys.stderr)
    cost = hashcost.measure(env)
    print("measuring audit_logger.log_async...", file=sys.stderr)
    audit = audit_spool.measure()
    verdicts: list[report.Verdict] = [report.audit_verdict(audit)]
    runs: dict[str, Any] = {}
    began = time.monotonic()
    with services.fresh_database(args.database_server, env) as database_url:
        env["DATABASE_URL"] = database_url
        for profile in profiles:
            chosen = [w for w in workloads if profile in w.profiles]
            print(f"profile {profile}:", file=sys.stderr)
            if profile == "redis":
                with services.flushed_redis(args.redis_url) as redis_url:
                    runs[profile] = _measure_profile(profile, {**env, "REDIS_URL": redis_url}, chosen, args, cost,
                                                     verdicts)
            else:
                runs[profile] = _measure_profile(profile, env, chosen, args, cost, verdicts)
    result = {
        "started": started,
        "seconds": round(time.monotonic() - began, 1),
        "host": {"cpus": cost.cpus, "python": sys.version.split()[0]},
        "server": {"workers": int(env.get("WEB_CONCURRENCY", "2")), "threads": int(env.get("GUNICORN_THREADS", "4"))},
        "load": {"tool": "wrk", "connections": args.connections, "rounds": args.rounds,
                 "round_seconds": args.round_seconds, "warmup": args.warmup},
        "argon2": cost.as_dict(),
        "audit_log_async": audit.as_dict(),
        "profiles": runs,
        "min_ratios": {w.name: w.min_ratio for w in workloads if w.min_ratio},
        "targets": [v.as_dict() for v in verdicts],
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(result, indent=2) + "\n")
    print(report.markdown(result))
    missed = [v for v in verdicts if not v.passed]
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
