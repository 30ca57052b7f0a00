"""Typed settings, read from the environment (and a ``.env`` file when present).

Nested keys are separated by ``__``: ``MODULES__AUTH=false`` sets ``settings.modules.auth``.
A wrong value stops the start with :class:`ConfigError`, whose message is one line that names the
variable, what is wrong with its value and the form that is expected.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

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


def _split_csv(value: Any) -> Any:
    if isinstance(value, str):
        parts = (part.strip() for part in value.split(","))
        # "myapp://" is a custom scheme origin: only a trailing slash after a host is dropped.
        return [part if part.endswith("://") else part.rstrip("/") for part in parts if part]
    return value


CsvList = Annotated[list[str], NoDecode]


def _check_origins(value: list[str]) -> list[str]:
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

    _split = field_validator("trusted_origins", mode="before")(_split_csv)

    _origins = field_validator("trusted_origins")(lambda value: _check_origins(value))


#: Request headers a cross-origin front end may send (the better-auth client, API keys, the tenant).
DEFAULT_CORS_HEADERS = ["Content-Type", "Authorization", "X-API-Key", "X-Tenant-ID", "X-Request-ID"]


class CorsSettings(_Section):
    """``CORS__*``: which other origins may call the API from a browser (Fetch standard, CORS protocol).

    The auth routes admit ``AUTH__TRUSTED_ORIGINS``; the application routes ``CORS__ORIGINS``, which
    defaults to the same list.
    """

    origins: CsvList = Field(default_factory=list)
    #: How long a browser may cache a preflight answer, seconds.
    max_age: int = Field(default=600, ge=0, le=86400)
    allow_headers: CsvList = Field(default_factory=lambda: list(DEFAULT_CORS_HEADERS))

    _split = field_validator("origins", "allow_headers", mode="before")(_split_csv)

    _origins = field_validator("origins")(lambda value: _check_origins(value))


class SmtpSettings(_Section):
    host: str = "localhost"
    port: int = Field(default=587, ge=1, le=65535)
    username: str | None = None
    password: str | None = None
    #: "starttls" (port 587), "ssl" (implicit TLS, port 465) or "none" (local relays only).
    security: Literal["starttls", "ssl", "none"] = "starttls"
    timeout: float = Field(default=10.0, gt=0)
    #: PEM file of an extra CA trusted for the SMTP server (private relays); verification stays on.
    ca_file: str | None = None


class MailSettings(_Section):
    backend: Literal["console", "smtp", "file"] = "console"
    from_address: str = "no-reply@localhost"
    #: With backend=file: one JSON object per line (to, subject, text, url).
    file: str | None = None
    smtp: SmtpSettings = SmtpSettings()


class KeycloakSettings(_Section):
    """Keycloak (any OpenID Connect provider) federation: ``KEYCLOAK__*``."""

    enabled: bool = False
    #: The issuer as the server reaches it, e.g. http://keycloak:8080/realms/acme.
    issuer: AnyHttpUrl | None = None
    #: The issuer as browsers reach it, when it differs (containers, split DNS).
    public_url: AnyHttpUrl | None = None
    client_id: str | None = None
    client_secret: str | None = None
    map_roles: bool = False
    map_groups: bool = False
    scopes: str = "openid email profile"


class AdminSettings(_Section):
    email: str | None = None
    password: str | None = None


class MetricsSettings(_Section):
    """Who may read ``/metrics`` and ``/api/v1/version``: ``METRICS__*``."""

    #: When set, both answer only ``Authorization: Bearer <token>`` (401 otherwise).
    token: str | None = Field(default=None, min_length=16)

    @field_validator("token", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value


class VersionSettings(_Section):
    #: ``/api/v1/version`` names the Python version only when asked to (it helps an attacker pick exploits).
    show_python: bool = False


class WebSettings(_Section):
    """The server-rendered pages: ``WEB__*``."""

    #: A folder of templates searched before the built-in ones (``web/sign_in.html``, ...).
    template_folder: str | None = None

    @field_validator("template_folder")
    @classmethod
    def _folder_exists(cls, value: str | None) -> str | None:
        if value and not Path(value).is_dir():
            raise ValueError(f"{value!r} is not a directory")
        return value or None


class OpenApiSettings(_Section):
    #: Empty: the self-hosted, pinned bundle (``scripts/fetch_scalar.sh``); else a CDN URL of the script.
    scalar_script_url: AnyHttpUrl | None = None
    #: Subresource Integrity of the CDN script (``sha384-...``); the self-hosted one has its own.
    scalar_script_integrity: Annotated[str, Field(pattern=r"^sha(256|384|512)-[A-Za-z0-9+/]+={0,2}$")] | None = None

    @field_validator("scalar_script_url", "scalar_script_integrity", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value == "" else value


class Settings(BaseSettings):
    """All settings of the application; see README for each variable."""

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
    admin: AdminSettings = AdminSettings()
    mail: MailSettings = MailSettings()
    keycloak: KeycloakSettings = KeycloakSettings()
    openapi: OpenApiSettings = OpenApiSettings()
    metrics: MetricsSettings = MetricsSettings()
    version: VersionSettings = VersionSettings()
    cors: CorsSettings = CorsSettings()
    web: WebSettings = WebSettings()

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
    def _mail_file_needs_path(self) -> Settings:
        if self.mail.backend == "file" and not self.mail.file:
            raise ValueError("MAIL__FILE is required when MAIL__BACKEND=file; expected a file path")
        return self

    @model_validator(mode="after")
    def _keycloak_complete(self) -> Settings:
        if self.keycloak.enabled:
            for name in ("issuer", "client_id", "client_secret"):
                if not getattr(self.keycloak, name):
                    raise ValueError(f"KEYCLOAK__{name.upper()} is required when KEYCLOAK__ENABLED=true")
        return self

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


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    name = _variable_name(first["loc"])
    message = first["msg"].removeprefix("Value error, ")
    if not name:  # model-level validators name the variable themselves
        return message
    shown = _shown(name, first.get("input"))
    if first["type"] == "bool_parsing":
        message = "is not a boolean; expected true or false"
    elif not message.startswith(("is ", "has ", "names ")):
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
        raise ConfigError(_describe(error)) from None
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


SectionT = TypeVar("SectionT", bound=BaseSettings)


def load_section(model: type[SectionT], overrides: Mapping[str, Any] | None = None) -> SectionT:
    """A module's own settings: ``model`` is a ``BaseSettings`` whose ``env_prefix`` names them
    (``MODULES__AUDIT__``, ``AUTH__API_KEY__``...). Read from the environment and ``.env`` like the
    rest, with ``create_app``'s overrides (``app.config["SETTINGS_OVERRIDES"]``) on top; a wrong value
    is a :class:`ConfigError` naming the variable."""
    prefix = str(model.model_config.get("env_prefix", "")).upper()
    picked = {
        key.upper().removeprefix(prefix).lower(): value
        for key, value in (overrides or {}).items()
        if key.upper().startswith(prefix) and key.upper() != prefix.rstrip("_")
    }
    picked = {key: value for key, value in picked.items() if key in model.model_fields}
    env_file = os.environ.get("APP_ENV_FILE", ".env") or None
    try:
        return model(_env_file=env_file, **picked)
    except ValidationError as error:
        first = error.errors()[0]
        name = prefix + "__".join(str(part) for part in first["loc"]).upper()
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "bool_parsing":
            message = "is not a boolean; expected true or false"
        elif not message.startswith(("is ", "has ", "names ", "needs ")):
            message = f"is invalid: {message}"
        shown = "" if name.endswith(("SECRET", "PASSWORD")) or name == prefix else f"={first.get('input')!r}"
        raise ConfigError(f"{name}{shown} {message}" if name != prefix else message) from None
