#!/usr/bin/env python3
"""The production install, as the Dockerfile does it, in a fresh virtualenv: CI's proof that the image works.

1. A fresh venv in a temporary directory; the Dockerfile's ``COPY`` lines copy the same files into
   an app directory and its ``RUN pip ...`` lines run there, unchanged (the lock with
   ``--require-hashes``, the project with ``--no-deps``, no extras). Only ``PIP_NO_CACHE_DIR`` is
   left out, so pip's cache keeps the step fast.
2. Every module of ``app``, ``config``, ``wsgi`` and ``gunicorn.conf.py`` is imported with that venv:
   an import that only a dev extra satisfies fails here.
3. For SQLite and for PostgreSQL (a fresh database on ``TEST_DATABASE_URL``, with ``TEST_REDIS_URL``
   as ``REDIS_URL`` when set): ``flask --app wsgi db upgrade``, then the Dockerfile's ``CMD``
   (gunicorn with ``gunicorn.conf.py``; two workers, every module on, an admin to bootstrap) must answer
   ``/api/v1/healthz`` and ``/api/v1/readyz`` with 200, and stop cleanly on SIGTERM.
4. ``docker build`` when ``docker info`` succeeds; otherwise it says it skipped and why.

Standard library only: it runs before, and apart from, the dev venv. ``TEST_BACKENDS`` (default
``sqlite postgres``) picks the databases. Exit status 1 on any failure.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = os.environ.get("PYTHON") or shutil.which("python3.11") or "python3"

IMPORT_EVERYTHING = """
import importlib, pkgutil, runpy
import app
names = ["config", "serving"] + sorted(m.name for m in pkgutil.walk_packages(app.__path__, "app."))
for name in names:
    importlib.import_module(name)
runpy.run_path("gunicorn.conf.py")
import wsgi
print(f"{len(names) + 2} modules imported (app.*, config, serving, wsgi, gunicorn.conf.py)")
"""


STARTED = time.monotonic()


def step(message: str) -> None:
    print(f"==> [{time.monotonic() - STARTED:5.1f} s] {message}", flush=True)


def run(command: list[str], *, cwd: Path, env: dict[str, str], timeout: float = 600) -> str:
    """Run ``command``; its output is printed only when it fails (then this raises)."""
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        sys.stdout.write(done.stdout + done.stderr)
        raise RuntimeError(f"{shlex.join(command)} exited {done.returncode}")
    return done.stdout


# -- the Dockerfile ----------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(instruction, arguments) of the Dockerfile, continuation lines joined, comments dropped."""
    logical: list[str] = []
    pending = ""
    for raw in (ROOT / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pending += line[:-1] + " " if line.endswith("\\") else line
        if not line.endswith("\\"):
            logical.append(pending)
            pending = ""
    return [(text.split(None, 1)[0].upper(), text.split(None, 1)[1]) for text in logical]


def final_stage(instructions: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """The instructions of the image's last stage, and each earlier stage's WORKDIR by stage name.

    A ``COPY --from=<stage>`` takes a file that stage made by running one of our own scripts
    (``scripts/fetch_scalar.sh``); ``scripts/setup.sh`` ran the same script here, so the check takes
    the file from the checkout, at the path relative to that stage's WORKDIR.
    """
    stages: list[list[tuple[str, str]]] = []
    workdirs: dict[str, str] = {}
    name = ""
    for instruction, arguments in instructions:
        if instruction == "FROM":
            stages.append([])
            words = arguments.split()
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else ""
            continue
        if instruction == "WORKDIR" and name:
            workdirs[name] = arguments.strip().rstrip("/") + "/"
        if stages:
            stages[-1].append((instruction, arguments))
    return (stages[-1] if stages else []), workdirs


def dockerfile_env(instructions: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction, arguments in instructions:
        if instruction == "ENV":
            for item in shlex.split(arguments):
                key, _, value = item.partition("=")
                env[key] = value
    env.pop("PIP_NO_CACHE_DIR", None)  # the one difference: pip's cache keeps CI fast
    return env


def install_as_the_dockerfile_does(workdir: Path, venv: Path, env: dict[str, str]) -> None:
    instructions, stage_workdirs = final_stage(dockerfile_instructions())
    copies = runs = 0
    for instruction, arguments in instructions:
        if instruction == "COPY":
            *sources, target = shlex.split(arguments)
            stage_dir = ""
            if sources and sources[0].startswith("--from="):
                stage_dir = stage_workdirs[sources.pop(0).removeprefix("--from=")]
            destination = workdir / target
            for source in sources:
                path = ROOT / source.removeprefix(stage_dir) if stage_dir else ROOT / source
                if stage_dir and not path.exists():
                    raise RuntimeError(f"{path.relative_to(ROOT)} is missing: run scripts/setup.sh (it fetches it)")
                if path.is_dir():
                    shutil.copytree(path, destination, dirs_exist_ok=True,
                                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
                elif target.endswith("/"):
                    destination.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, destination / path.name)
                else:
                    shutil.copy2(path, destination)
            copies += 1
        elif instruction == "RUN" and arguments.startswith("pip "):
            step(f"RUN {arguments}")
            run(["sh", "-c", arguments], cwd=workdir, env=env)
            runs += 1
    if not copies or not runs:
        raise RuntimeError("the Dockerfile has no COPY or no RUN pip line: nothing was installed")
    if (venv / "bin" / "pip").exists():
        installed = run([str(venv / "bin" / "pip"), "freeze"], cwd=workdir, env=env)
        dev_only = ("pytest", "ruff", "mypy", "playwright")
        extras = [name for name in dev_only if re.search(rf"^{name}==", installed, re.M)]
        if extras:
            raise RuntimeError(f"dev packages in the production venv: {', '.join(extras)}")


# -- serving -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - a loopback URL we built
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def dockerfile_cmd() -> list[str]:
    commands = [json.loads(arguments) for instruction, arguments in dockerfile_instructions() if instruction == "CMD"]
    if not commands or not isinstance(commands[-1], list):
        raise RuntimeError("the Dockerfile has no CMD in exec form")
    return [str(part) for part in commands[-1]]


def serve_and_probe(workdir: Path, env: dict[str, str], label: str) -> None:
    port = free_port()
    env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "2",
           "AUTH__BASE_URL": f"http://127.0.0.1:{port}"}
    log_path = workdir.parent / f"gunicorn-{label}.log"
    command = dockerfile_cmd()  # found on the venv's PATH, as in the image
    step(f"{label}: CMD {shlex.join(command)}")
    with log_path.open("w") as log:
        proc = subprocess.Popen(command, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        statuses: dict[str, int] = {}
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited {proc.returncode} before serving")
            try:
                statuses = {path: status_of(base + path) for path in ("/api/v1/healthz", "/api/v1/readyz")}
            except OSError:
                statuses = {}
            if statuses and all(code == 200 for code in statuses.values()):
                break
            time.sleep(0.25)
        else:
            raise RuntimeError(f"gunicorn did not answer 200 on both probes within 60 s: {statuses}")
        step(f"{label}: gunicorn answers GET /api/v1/healthz 200 and GET /api/v1/readyz 200")
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
        if code != 0:
            raise RuntimeError(f"gunicorn exited {code} after SIGTERM")
        step(f"{label}: gunicorn stopped on SIGTERM (exit 0)")
    except BaseException:
        sys.stdout.write(log_path.read_text())
        raise
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# -- databases -----------------------------------------------------------------------------


def admin_sql(venv: Path, server_url: str, statement: str, env: dict[str, str]) -> None:
    """Run one statement on the server's admin database with the venv's own psycopg."""
    code = "import psycopg, sys\nwith psycopg.connect(sys.argv[1], autocommit=True) as c: c.execute(sys.argv[2])"
    run([str(venv / "bin" / "python"), "-c", code, server_url, statement], cwd=ROOT, env=env)


def check_backend(backend: str, workdir: Path, venv: Path, env: dict[str, str]) -> None:
    env = dict(env)
    dropped = None
    if backend == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{workdir.parent / 'app.db'}"
    else:
        server = os.environ.get("TEST_DATABASE_URL")
        if not server:
            raise RuntimeError("no PostgreSQL: set TEST_DATABASE_URL, or TEST_BACKENDS=sqlite")
        name = f"prodcheck_{secrets.token_hex(6)}"
        admin_sql(venv, server, f'CREATE DATABASE "{name}"', env)
        parts = urlsplit(server)
        env["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{name}"))
        if os.environ.get("TEST_REDIS_URL"):
            env["REDIS_URL"] = os.environ["TEST_REDIS_URL"]
        dropped = name
    try:
        step(f"{backend}: flask --app wsgi db upgrade on a fresh database")
        run([str(venv / "bin" / "flask"), "--app", "wsgi", "db", "upgrade"], cwd=workdir, env=env)
        serve_and_probe(workdir, env, backend)
    finally:
        if dropped:
            admin_sql(venv, os.environ["TEST_DATABASE_URL"], f'DROP DATABASE IF EXISTS "{dropped}" WITH (FORCE)', env)


def docker_build() -> None:
    docker = shutil.which("docker")
    if docker is None:
        step("docker build skipped: no docker command on this machine")
        return
    info = subprocess.run([docker, "info"], capture_output=True, text=True, check=False)
    if info.returncode != 0:
        reason = (info.stderr.strip().splitlines() or ["docker info failed"])[-1]
        step(f"docker build skipped: docker info failed ({reason})")
        return
    step("docker build -t saas-foundation:ci .")
    run([docker, "build", "-t", "saas-foundation:ci", "."], cwd=ROOT, env=dict(os.environ), timeout=1800)
    step("docker build: image saas-foundation:ci built")


def main() -> int:
    backends = (os.environ.get("TEST_BACKENDS") or "sqlite postgres").split()
    with tempfile.TemporaryDirectory(prefix="prodcheck-") as tmp:
        venv, workdir = Path(tmp) / "venv", Path(tmp) / "srv" / "app"
        workdir.mkdir(parents=True)
        step(f"fresh venv ({PYTHON}) in {venv}")
        run([PYTHON, "-m", "venv", str(venv)], cwd=ROOT, env=dict(os.environ))
        keep = {k: v for k, v in os.environ.items()
                if k in ("HOME", "LANG", "LC_ALL", "TMPDIR") or k.startswith("PIP_")}
        env = {**keep, **dockerfile_env(dockerfile_instructions()), "VIRTUAL_ENV": str(venv),
               "PATH": f"{venv / 'bin'}:/usr/local/bin:/usr/bin:/bin", "APP_ENV_FILE": "",
               "AUTH__SECRET": secrets.token_urlsafe(48), "MODULES__TENANT": "true", "MODULES__AUDIT": "true",
               "MODULES__AUDIT__KEY": secrets.token_urlsafe(48),
               "ADMIN__EMAIL": "admin@example.com", "ADMIN__PASSWORD": secrets.token_urlsafe(16)}
        env.pop("PIP_NO_CACHE_DIR", None)
        install_as_the_dockerfile_does(workdir, venv, env)
        step("import every module with the production venv")
        print(run([str(venv / "bin" / "python"), "-c", IMPORT_EVERYTHING], cwd=workdir,
                  env={**env, "DATABASE_URL": f"sqlite:///{tmp}/import.db"}).strip())
        for backend in backends:
            check_backend(backend, workdir, venv, env)
    docker_build()
    step("production install: OK")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (RuntimeError, subprocess.TimeoutExpired) as failure:
        print(f"==> production install: FAILED: {failure}", file=sys.stderr)
        sys.exit(1)
