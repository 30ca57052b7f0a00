"""Real processes for the deployment tests: gunicorn instances and Debian's nginx, on loopback.

- :func:`start_instance`: one gunicorn master (``gunicorn -c gunicorn.conf.py wsgi:app``, as the
  image runs it) on a given port, with its access log in a file (which requests it answered).
- :func:`render_nginx_conf`: ``deploy/nginx.conf`` with only what must differ here substituted:
  the upstream servers, the listen address, and temp directories of our own.
- :func:`start_nginx`: nginx in the foreground (``daemon off``) with its own prefix, pid file and
  logs in a test directory.

Every wait is bounded; every process is stopped by its own pid.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NGINX_CONF = ROOT / "deploy" / "nginx.conf"
BIN = Path(sys.executable).parent
NGINX = "/usr/sbin/nginx"
START_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def status_of(url: str, timeout: float = 5) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def wait_for(url: str, proc: subprocess.Popen[bytes], what: str, log: Path) -> None:
    """Until ``url`` answers 200, ``proc`` dies (fail, with its log) or the start timeout passes."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"{what} exited with {proc.returncode}:\n{log.read_text()}"
        try:
            if status_of(url, timeout=2) == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{what} did not answer {url} within {START_TIMEOUT} s:\n{log.read_text()}")


def stop(proc: subprocess.Popen[bytes], sig: signal.Signals = signal.SIGTERM, timeout: float = 30) -> int:
    """Signal ``proc`` and wait for it; SIGKILL when it outlives ``timeout``."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    return proc.returncode


@dataclass(frozen=True)
class Instance:
    """A running gunicorn master: ``port`` on 127.0.0.1, its access log and its stderr."""

    name: str
    port: int
    access_log: Path
    output: Path

    def served(self, marker: str) -> int:
        """How many requests with this User-Agent marker this instance answered."""
        if not self.access_log.exists():
            return 0
        return sum(f'"{marker}"' in line for line in self.access_log.read_text().splitlines())


def app_environment(**values: str) -> dict[str, str]:
    """This process's environment without any app or gunicorn setting, plus ``values``."""
    prefixes = ("MODULES__", "AUTH__", "ADMIN__", "MAIL__", "KEYCLOAK__", "GUNICORN_", "PROMETHEUS_")
    names = {"REDIS_URL", "DATABASE_URL", "WEB_CONCURRENCY", "PORT", "APP_ENV"}
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes) and k not in names}
    env.update(APP_ENV_FILE="", PYTHONPATH=str(ROOT), **values)
    return env


def migrate(env: dict[str, str], log: Path) -> None:
    """``flask --app wsgi db upgrade``, as the compose file's one-shot ``migrate`` service runs it."""
    with log.open("wb") as out:
        done = subprocess.run(
            [str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=120, check=False,
        )
    assert done.returncode == 0, log.read_text()


@contextmanager
def start_instance(name: str, port: int, env: dict[str, str], workdir: Path) -> Iterator[Instance]:
    """A gunicorn master serving the app on 127.0.0.1:``port`` until the block ends (SIGTERM)."""
    instance = Instance(name, port, workdir / f"{name}-access.log", workdir / f"{name}.log")
    env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_ACCESS_LOG": str(instance.access_log)}
    with instance.output.open("wb") as out:
        proc = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        wait_for(f"http://127.0.0.1:{port}/api/v1/readyz", proc, f"gunicorn {name}", instance.output)
        yield instance
    finally:
        code = stop(proc)
        output = instance.output.read_text()
        assert code == 0, f"gunicorn {name} exited with {code}:\n{output}"
        assert "Traceback" not in output, output


def _replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"deploy/nginx.conf: expected {old!r} exactly once"
    return text.replace(old, new)


def render_nginx_conf(listen_port: int, upstream_ports: list[int], workdir: Path) -> str:
    """``deploy/nginx.conf`` for loopback: our upstreams, our listen port, temp dirs in ``workdir``.

    Nothing else is changed: the limits, timeouts, buffering and headers under test are the file's.
    """
    text = NGINX_CONF.read_text()
    servers = [line for line in text.splitlines() if line.strip().startswith("server app")]
    assert len(servers) == 2, "deploy/nginx.conf: expected the two upstream servers app1 and app2"
    template = servers[0]
    text = _replace_once(text, servers[0] + "\n", "".join(
        template.replace("app1:8000", f"127.0.0.1:{port}") + "\n" for port in upstream_ports
    ))
    text = _replace_once(text, servers[1] + "\n", "")
    text = _replace_once(text, "listen 8080;", f"listen 127.0.0.1:{listen_port};")
    temp_dirs = []
    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        path = workdir / f"{kind}_temp"
        path.mkdir(exist_ok=True)
        temp_dirs.append(f"    {kind}_temp_path {path};\n")
    return _replace_once(text, "http {\n", "http {\n" + "".join(temp_dirs))


@contextmanager
def start_nginx(listen_port: int, upstream_ports: list[int], workdir: Path) -> Iterator[Path]:
    """nginx on 127.0.0.1:``listen_port`` in front of ``upstream_ports``; yields its output file."""
    workdir.mkdir(exist_ok=True)
    conf = workdir / "nginx.conf"
    conf.write_text(render_nginx_conf(listen_port, upstream_ports, workdir))
    output = workdir / "nginx.log"
    # In the foreground with our own pid file; as root, workers stay root so they can use the
    # test's private directories (the image's nginx runs its workers as user nginx).
    globals_ = f"daemon off; pid {workdir / 'nginx.pid'};" + (" user root;" if os.geteuid() == 0 else "")
    command = [NGINX, "-p", str(workdir), "-c", str(conf), "-e", str(workdir / "error.log"), "-g", globals_]
    check = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=30, check=False)
    assert check.returncode == 0, check.stderr
    with output.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(f"http://127.0.0.1:{listen_port}/api/v1/healthz", proc, "nginx", output)
        yield output
    finally:
        # SIGQUIT: nginx's graceful shutdown (finish the requests in flight).
        assert stop(proc, signal.SIGQUIT) == 0, output.read_text()
