"""Typed settings, read from the environment (and a ``.env`` file when present).

Nested keys are separated by ``__``: ``MODULES__AUTH=false`` sets ``settings.modules.auth``.
A wrong value stops the start with :class:`ConfigError`, whose message is one line that names the
variable, what is wrong with its value and the form that is expected.

Only what the factory needs before any module exists is here; every module, plugin and core part
declares its own section next to its code (``app.core.settings``; docs/architecture.md, "Settings").
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

log = logging.getLogger(__name__)

#: Modules in the order they are set up; the toggles are ``MODULES__<NAME>``.
MODULE_ORDER: tuple[str, ...] = ("auth", "tenant", "audit", "example")

MIN_SECRET_LENGTH = 32

#: Where development keeps its secret when AUTH__SECRET is unset (``DEV_SECRET_FILE`` moves it): the
#: server (``make run``) and every ``flask`` command read the same one, so keys and encrypted
#: columns written by one are readable by the other, and sessions survive restarts.
DEFAULT_DEV_SECRET_FILE = Path(__file__).resolve().parent / "instance" / "dev-secret"

#: ``scheme://user:password@`` in a URL: the password is masked in error lines.
_URL_PASSWORD = re.compile(r"(://[^:/@]*:)[^@/]*@")


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one line meant for an operator."""


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TESTING = "testing"
    PRODUCTION = "production"


class _Section(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ModulesSettings(_Section):
    auth: bool = True
    tenant: bool = False
    audit: bool = False
    #: The example tenant resource (``/api/v1/projects``); needs ``tenant``.
    example: bool = False


def split_csv(value: Any) -> Any:
    if isinstance(value, str):
        parts = (part.strip() for part in value.split(","))
        # "myapp://" is a custom scheme origin: only a trailing slash after a host is dropped.
        return [part if part.endswith("://") else part.rstrip("/") for part in parts if part]
    return value


CsvList = Annotated[list[str], NoDecode]


def check_origins(value: list[str]) -> list[str]:
    for origin in value:
        wildcard_ipv4 = re.fullmatch(r"[\d*?]+(\.[\d*?]+){3}", origin) is not None
        if "://" not in origin and not origin.startswith("*.") and not wildcard_ipv4:
            raise ValueError(f"{origin!r} is not an origin; expected scheme://host[:port], *.domain or 192.168.*.*")
    return value


class RateLimitSettings(_Section):
    #: None means "as better-auth": on in production, off elsewhere.
    enabled: bool | None = None
    window: int = Field(default=10, ge=1)
    max: int = Field(default=100, ge=1)


class SessionSettings(_Section):
    #: Lifetime of a session, seconds (better-auth: 7 days).
    expires_in: int = Field(default=604800, ge=60, le=400 * 86400)
    #: How often get-session slides the expiry forward, seconds (better-auth: 1 day).
    update_age: int = Field(default=86400, ge=0)
    #: A session younger than this counts as fresh for sensitive actions, seconds; 0 disables.
    fresh_age: int = Field(default=86400, ge=0)
    #: Keep resolved sessions in each process's memory (in front of Redis and the database),
    #: checked against the revocation sequence (PostgreSQL LISTEN/NOTIFY, polled on SQLite).
    memory_cache: bool = True


class Argon2Settings(_Section):
    """argon2id cost; the defaults are OWASP's (Password Storage Cheat Sheet): m=19 MiB, t=2, p=1."""

    time_cost: int = Field(default=2, ge=1)
    memory_cost: int = Field(default=19456, ge=8)
    parallelism: int = Field(default=1, ge=1)


class LockoutSettings(_Section):
    """Lockout after repeated failed sign-ins, per account and client, with device cookies
    (OWASP Authentication Cheat Sheet "Account Lockout"; OWASP "Slow Down Online Guessing Attacks
    with Device Cookies")."""

    enabled: bool = True
    max_failures: int = Field(default=10, ge=1)
    window: int = Field(default=900, ge=1)
    duration: int = Field(default=900, ge=1)
    #: Untrusted clients wait ``delay`` seconds per attempt once an account has this many failures.
    slow_after: int = Field(default=5, ge=1)
    delay: float = Field(default=1.0, ge=0, le=10)
    #: Lifetime of the device cookie a successful sign-in leaves in the browser, seconds.
    device_cookie_max_age: int = Field(default=180 * 86400, ge=60)


class DeleteUserSettings(_Section):
    """``AUTH__DELETE_USER__*``: better-auth's ``user.deleteUser``, off by default as there."""

    enabled: bool = False


class AuthSettings(_Section):
    secret: str | None = None
    base_url: AnyHttpUrl = AnyHttpUrl("http://localhost:5000")
    trusted_origins: CsvList = Field(default_factory=list)
    rate_limit: RateLimitSettings = RateLimitSettings()
    #: Number of reverse proxies in front of the app whose X-Forwarded-For entries are trusted.
    trusted_proxies: int = Field(default=0, ge=0, le=10)
    cookie_prefix: str = Field(default="better-auth", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    #: None: secure cookies when the base URL is https (as better-auth).
    secure_cookies: bool | None = None
    #: SameSite of the auth cookies; "none" lets a front end on another *site* send them (needs Secure).
    cookie_same_site: Literal["lax", "strict", "none"] = "lax"
    session: SessionSettings = SessionSettings()
    argon2: Argon2Settings = Argon2Settings()
    lockout: LockoutSettings = LockoutSettings()
    #: Where rate-limit and lockout counters live: auto (Redis with REDIS_URL, else the database),
    #: redis, database or memory (this process only).
    counter_storage: Literal["auto", "redis", "database", "memory"] = "auto"
    min_password_length: int = Field(default=8, ge=1)
    max_password_length: int = Field(default=128, ge=8, le=4096)
    require_email_verification: bool = False
    delete_user: DeleteUserSettings = DeleteUserSettings()
    app_name: str = "SaaS foundation"

    _split = field_validator("trusted_origins", mode="before")(split_csv)

    _origins = field_validator("trusted_origins")(lambda value: check_origins(value))


class Settings(BaseSettings):
    """All settings of the application; docs/settings.md describes each variable."""

    model_config = SettingsConfigDict(
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
        frozen=True,
        case_sensitive=False,
    )

    app_env: Environment = Environment.PRODUCTION
    database_url: str | None = None
    redis_url: str | None = None
    #: Redis read and connect timeouts, seconds: tens of milliseconds, Redis is an accelerator.
    redis_socket_timeout: float = Field(default=0.08, gt=0, le=10)
    redis_connect_timeout: float = Field(default=0.05, gt=0, le=10)
    #: Seconds no request calls a Redis that just failed (the circuit breaker's cool-down).
    redis_breaker_cooldown: float = Field(default=5.0, ge=0, le=300)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    #: Largest request body accepted, in bytes (larger ones are answered 413).
    max_content_length: int = Field(default=1024 * 1024, ge=1024)

    modules: ModulesSettings = ModulesSettings()
    auth: AuthSettings = AuthSettings()

    @field_validator("log_level", mode="before")
    @classmethod
    def _log_level_upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError("is not a database URL; expected sqlite:///path or postgresql://user@host/db") from None
        if url.get_backend_name() == "postgres":  # Heroku's spelling
            url = url.set(drivername="postgresql")
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise ValueError(f"names the unsupported backend {url.get_backend_name()!r}; expected sqlite or postgresql")
        if url.get_backend_name() == "postgresql":
            if not url.host and not url.query.get("host"):
                raise ValueError("has no host; expected postgresql://user@host:port/db")
            # psycopg 3 is the driver we ship; postgres:// and postgresql:// both mean it.
            url = url.set(drivername="postgresql+psycopg")
        return url.render_as_string(hide_password=False)

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("is not a Redis URL; expected redis://host:port/db")
        return value

    @model_validator(mode="after")
    def _redis_counters_need_redis(self) -> Settings:
        if self.auth.counter_storage == "redis" and not self.redis_url:
            raise ValueError("AUTH__COUNTER_STORAGE=redis needs REDIS_URL; expected auto, database or memory")
        return self

    @model_validator(mode="after")
    def _same_site_none_needs_secure(self) -> Settings:
        secure = self.auth.secure_cookies
        if secure is None:
            secure = self.base_url.startswith("https://")
        if self.auth.cookie_same_site == "none" and not secure:
            raise ValueError(
                "AUTH__COOKIE_SAME_SITE=none needs Secure cookies (browsers drop SameSite=None without it); "
                "expected an https AUTH__BASE_URL or AUTH__SECURE_COOKIES=true"
            )
        return self

    @model_validator(mode="after")
    def _modules_need_auth(self) -> Settings:
        if self.modules.tenant and not self.modules.auth:
            raise ValueError("MODULES__TENANT=true needs MODULES__AUTH=true; the tenant is the user's organization")
        return self

    @model_validator(mode="after")
    def _secret_rules(self) -> Settings:
        secret = self.auth.secret
        if self.app_env is Environment.PRODUCTION and self.modules.auth:
            if not secret:
                raise ValueError(
                    "AUTH__SECRET is required in production; expected a random string of at least "
                    f"{MIN_SECRET_LENGTH} characters (python -c 'import secrets; print(secrets.token_urlsafe(48))')"
                )
            if len(secret) < MIN_SECRET_LENGTH:
                raise ValueError(
                    f"AUTH__SECRET is {len(secret)} characters long; expected at least {MIN_SECRET_LENGTH}"
                )
        return self

    # -- derived values -------------------------------------------------------------------
    @property
    def is_production(self) -> bool:
        return self.app_env is Environment.PRODUCTION

    @property
    def rate_limit_enabled(self) -> bool:
        enabled = self.auth.rate_limit.enabled
        return self.is_production if enabled is None else enabled

    @property
    def base_url(self) -> str:
        return str(self.auth.base_url).rstrip("/")


def _nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    """Turn ``{"MODULES__AUTH": "false"}`` into ``{"modules": {"auth": "false"}}``."""
    nested: dict[str, Any] = {}
    for key, value in flat.items():
        parts = key.lower().split("__")
        if parts[0] == "modules" and len(parts) > 2:
            continue  # a module's own setting (MODULES__AUDIT__RETENTION_DAYS): the module reads it
        node = nested
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return nested


def _variable_name(loc: tuple[int | str, ...]) -> str:
    return "__".join(str(part) for part in loc if not str(part).startswith("function-")).upper()


def _shown(name: str, value: Any) -> str:
    """The offending value as the error line shows it: never a secret, never a URL's password."""
    if isinstance(value, dict) or name.endswith(("SECRET", "PASSWORD", "TOKEN")):
        return ""
    if isinstance(value, str) and name.endswith("_URL"):
        value = _URL_PASSWORD.sub(r"\1***@", value)
    return f"={value!r}"


def describe_error(error: ValidationError, prefix: str = "") -> str:
    """The first error as one line: ``NAME=value what is wrong; what is expected``.

    ``prefix`` is a section's ``env_prefix`` (``AUTH__JWT__``); a model-level validator (no field
    in its location) names the variables itself, so its message is the line.
    """
    first = error.errors()[0]
    field = _variable_name(first["loc"])
    message = first["msg"].removeprefix("Value error, ")
    if not field:
        return message
    name = prefix.upper() + field
    shown = _shown(name, first.get("input"))
    if first["type"] == "bool_parsing":
        message = "is not a boolean; expected true or false"
    elif not message.startswith(("is ", "has ", "names ", "needs ")):
        message = f"is invalid: {message}"
    return f"{name}{shown} {message}"


def _warn_unknown_modules(environ: Mapping[str, str]) -> None:
    known = {f"MODULES__{name.upper()}" for name in MODULE_ORDER}
    for key in environ:
        upper = key.upper()
        if upper.startswith("MODULES__") and upper.count("__") == 1 and upper not in known:
            log.warning("unknown module toggle %s ignored; known: %s", key, ", ".join(sorted(known)))


def load_settings(overrides: Mapping[str, Any] | None = None, *, env_file: str | None = ".env") -> Settings:
    """Build the settings from the environment, with ``overrides`` (env-style keys) on top."""
    env_file = os.environ.get("APP_ENV_FILE", env_file) or None
    _warn_unknown_modules({**os.environ, **(overrides or {})})
    try:
        settings = Settings(_env_file=env_file, **_nest(overrides or {}))
    except ValidationError as error:
        raise ConfigError(describe_error(error)) from None
    if not settings.auth.secret and settings.modules.auth:
        if settings.app_env is Environment.DEVELOPMENT:
            secret = development_secret(Path(os.environ.get("DEV_SECRET_FILE") or DEFAULT_DEV_SECRET_FILE))
        else:  # testing: a throwaway secret per process is what tests want
            secret = secrets.token_urlsafe(48)
        settings = settings.model_copy(update={"auth": settings.auth.model_copy(update={"secret": secret})})
    return settings


def development_secret(path: Path) -> str:
    """The development secret kept in ``path``, created (mode 0600) by whichever process comes first.

    The file appears whole or not at all (written aside, then hard-linked into place), so two
    processes starting together (``make run``'s reloader, a ``flask`` command) end with one secret.
    """
    try:
        secret = path.read_text().strip()
    except FileNotFoundError:
        secret = ""
    except OSError as error:
        raise ConfigError(
            f"AUTH__SECRET is not set and {path} cannot be read ({error.strerror}); set AUTH__SECRET"
        ) from None
    if not secret:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            aside = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
            fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as file:
                file.write(secrets.token_urlsafe(48) + "\n")
            try:
                os.link(aside, path)
            except FileExistsError:
                pass  # another process made it first: use theirs
            finally:
                os.unlink(aside)
            secret = path.read_text().strip()
        except OSError as error:
            raise ConfigError(
                f"AUTH__SECRET is not set and {path} cannot be created ({error.strerror}); set AUTH__SECRET"
            ) from None
    if len(secret) < MIN_SECRET_LENGTH:
        raise ConfigError(
            f"{path} holds a secret of {len(secret)} characters; expected at least {MIN_SECRET_LENGTH} "
            "(delete the file to get a new one)"
        )
    return secret
