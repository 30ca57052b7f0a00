"""The serving settings: what ``gunicorn.conf.py`` reads, typed and checked in one place.

gunicorn reads them when it loads its configuration, before any worker forks; the application can
read them too (``load_server_settings().graceful_timeout``: how long a worker has to finish on
SIGTERM, which bounds any shutdown work). A wrong value is a :class:`config.ConfigError`, and
``exit_on_config_error`` turns it into the same one line and exit status 2 as the app settings.
The variables keep the names platforms already set (``PORT``, ``WEB_CONCURRENCY``).

``python -m serving [gunicorn options]`` is the server command (the image's ``CMD``): it checks every
setting, then runs gunicorn with ``gunicorn.conf.py`` and ``wsgi:app`` in this process. Plain
``gunicorn -c gunicorn.conf.py wsgi:app`` works too and checks the same settings, except one:
gunicorn itself reads ``WEB_CONCURRENCY`` with ``int()`` while importing, before any configuration
file, so a non-number there is gunicorn's own traceback unless started through this module.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from app.core.settings import Section, load
from config import ConfigError

__all__ = ["ServerSettings", "exit_on_config_error", "load_server_settings", "main"]

_HOST_PORT = re.compile(r"^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]*):(\d{1,5})$")


def _valid_address(address: str) -> bool:
    if address.startswith("unix:"):
        return len(address) > len("unix:")
    if re.fullmatch(r"fd://\d+", address):
        return True
    match = _HOST_PORT.match(address)
    return match is not None and int(match.group(1)) <= 65535  # port 0: any free port


def _writable_place(path: str) -> bool:
    parent = Path(path).expanduser().resolve().parent
    return parent.is_dir() and os.access(parent, os.W_OK)


class ServerSettings(Section):
    """gunicorn's settings from the environment (and ``.env``); see docs/settings.md, "Serving"."""

    model_config = SettingsConfigDict(env_prefix="")

    port: int = Field(default=8000, ge=1, le=65535, validation_alias="PORT")
    #: Full bind address(es), comma-separated; wins over PORT.
    gunicorn_bind: str | None = Field(default=None, validation_alias="GUNICORN_BIND")
    workers: int = Field(default=2, ge=1, le=256, validation_alias="WEB_CONCURRENCY")
    threads: int = Field(default=4, ge=1, le=1024, validation_alias="GUNICORN_THREADS")
    #: Seconds before a silent worker is killed and replaced; 0 never.
    timeout: int = Field(default=30, ge=0, le=86400, validation_alias="GUNICORN_TIMEOUT")
    #: Seconds a worker has, after SIGTERM, to finish its requests and its modules' on_close.
    graceful_timeout: int = Field(default=20, ge=1, le=3600, validation_alias="GUNICORN_GRACEFUL_TIMEOUT")
    #: "-" for stdout, or a file whose folder exists.
    access_log: str | None = Field(default=None, validation_alias="GUNICORN_ACCESS_LOG")
    control_socket: str | None = Field(default=None, validation_alias="GUNICORN_CONTROL_SOCKET")

    @field_validator("gunicorn_bind", "access_log", "control_socket", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("gunicorn_bind")
    @classmethod
    def _bind(cls, value: str | None) -> str | None:
        if value is not None and not all(_valid_address(part.strip()) for part in value.split(",")):
            raise ValueError("is not a bind address; expected HOST:PORT, [IPv6]:PORT or unix:/path (comma-separated)")
        return value

    @field_validator("access_log")
    @classmethod
    def _access_log(cls, value: str | None) -> str | None:
        if value not in (None, "-") and not _writable_place(value):
            raise ValueError("is not a writable place; expected - (stdout) or a file in an existing, writable folder")
        return value

    @field_validator("control_socket")
    @classmethod
    def _control_socket(cls, value: str | None) -> str | None:
        if value is not None and not _writable_place(value):
            raise ValueError("is not a writable place; expected a path in an existing, writable folder")
        return value

    @property
    def bind(self) -> list[str]:
        if self.gunicorn_bind:
            return [part.strip() for part in self.gunicorn_bind.split(",")]
        return [f"0.0.0.0:{self.port}"]


def load_server_settings() -> ServerSettings:
    """The serving settings; :class:`ConfigError` (one line, naming the variable) when one is wrong."""
    return load(ServerSettings)


@contextmanager
def exit_on_config_error() -> Iterator[None]:
    """A :class:`ConfigError` inside becomes one line on stderr and exit status 2."""
    try:
        yield
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr, flush=True)
        sys.exit(2)


def main(argv: list[str] | None = None) -> None:
    """Check the app and serving settings (one line, exit 2), then become gunicorn."""
    from config import load_settings

    with exit_on_config_error():
        load_settings()
        load_server_settings()
    conf = Path(__file__).resolve().with_name("gunicorn.conf.py")
    if not conf.is_file():
        conf = Path.cwd() / "gunicorn.conf.py"
    from gunicorn.app.wsgiapp import run

    sys.argv = ["gunicorn", "-c", str(conf), *(sys.argv[1:] if argv is None else argv), "wsgi:app"]
    run(prog="gunicorn")


if __name__ == "__main__":
    main()
