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
from datetime import UTC, datetime
from typing import Any

from bench import audit_spool, hashcost, report, services, wrk
from bench.server import ROOT, gunicorn, rss_mb, worker_pids
from bench.workload import PROFILES, Context, Workload, send
from bench.workloads import all_workloads

RESULTS = ROOT / "bench" / "results"


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    env = os.environ.get
    parser.add_argument("--duration", type=int, default=int(env("BENCH_DURATION", "10")), help="seconds per workload")
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


def _measure_profile(profile: str, env: dict[str, str], workloads: list[Workload], args: argparse.Namespace,
                     cost: hashcost.HashCost, verdicts: list[report.Verdict]) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    with gunicorn(env, RESULTS / f"gunicorn-{profile}.log") as (base_url, master):
        context = Context(base_url, profile)
        measured: dict[str, wrk.Measurement] = {}
        for workload in workloads:
            request = workload.prepare(context)
            workload.check(send(context, request), context)
            if args.warmup:
                wrk.run(base_url, request, duration=args.warmup, connections=args.connections)
            result = wrk.run(base_url, request, duration=args.duration, connections=args.connections)
            if result.errors:
                raise SystemExit(f"{profile}/{workload.name}: {result.errors} error answers under load")
            measured[workload.name] = result
            print(f"  {profile}/{workload.name}: {result.requests_per_second:.1f} req/s", file=sys.stderr)
        rss = {pid: rss_mb(pid) for pid in worker_pids(master)}
    bare = measured["bare"].requests_per_second
    for workload in workloads:
        result = measured[workload.name]
        rows[workload.name] = {**result.as_dict(), "ratio_to_bare": result.requests_per_second / bare,
                               "describe": workload.describe}
        for verdict in (report.ratio_verdict(profile, workload, result, bare),
                        report.hash_verdict(profile, workload, result, cost)):
            if verdict is not None:
                verdicts.append(verdict)
    verdicts.append(report.rss_verdict(profile, rss))
    return {"workloads": rows, "worker_rss_mb": {str(pid): mb for pid, mb in rss.items()}}


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
        "load": {"tool": "wrk", "connections": args.connections, "duration": args.duration, "warmup": args.warmup},
        "argon2": cost.as_dict(),
        "audit_log_async": audit.as_dict(),
        "profiles": runs,
        "targets": [v.as_dict() for v in verdicts],
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(result, indent=2) + "\n")
    print(report.markdown(result))
    missed = [v for v in verdicts if not v.passed]
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
