"""Cross-origin access for single-page apps on other origins, with Flask-CORS.

The Fetch standard's CORS protocol (https://fetch.spec.whatwg.org/#http-cors-protocol) and OWASP's
HTML5 Security Cheat Sheet ("Cross Origin Resource Sharing"): origins come from an allow-list and
are echoed one at a time, never ``*`` with credentials; an origin not on the list gets no CORS
header at all, so the browser keeps the answer from the page.

- ``/api/v1/auth/*`` admits ``AUTH__TRUSTED_ORIGINS`` (better-auth's ``trustedOrigins``); the other
  ``/api/*`` routes admit ``CORS__ORIGINS`` (the same list unless set). The base URL's own origin is
  left out: same-origin requests need no CORS headers.
- Credentials are allowed (``credentials: "include"`` cookies and ``Authorization``), and the bearer
  and JWT plugins' ``set-auth-token`` / ``set-auth-jwt`` are exposed to scripts.
- A preflight (``OPTIONS`` with ``Access-Control-Request-Method``) from an admitted origin, for a
  route that takes the requested method, is answered 204; any other ``OPTIONS`` stays 405/404
  (``PROVIDE_AUTOMATIC_OPTIONS`` is off, as better-auth answers no OPTIONS of its own).

CORS only decides what a page may *read*: the origin check on cookie-carrying state-changing
requests (``app.modules.auth.origin``, OWASP CSRF Prevention) still runs on every auth POST.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from flask import Flask, Response, request
from flask_cors import CORS
from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict
from werkzeug.exceptions import MethodNotAllowed

from app.core.settings import Section, section
from config import CsvList, Settings, check_origins, split_csv

#: Request headers a cross-origin front end may send (the better-auth client, API keys, the tenant).
DEFAULT_CORS_HEADERS = ["Content-Type", "Authorization", "X-API-Key", "X-Tenant-ID", "X-Request-ID"]


class CorsSettings(Section):
    """``CORS__*``: which other origins may call the API from a browser (Fetch standard, CORS protocol).

    The auth routes admit ``AUTH__TRUSTED_ORIGINS``; the application routes ``CORS__ORIGINS``, which
    defaults to the same list.
    """

    model_config = SettingsConfigDict(env_prefix="CORS__")

    origins: CsvList = Field(default_factory=list)
    #: How long a browser may cache a preflight answer, seconds.
    max_age: int = Field(default=600, ge=0, le=86400)
    allow_headers: CsvList = Field(default_factory=lambda: list(DEFAULT_CORS_HEADERS))

    _split = field_validator("origins", "allow_headers", mode="before")(split_csv)

    _origins = field_validator("origins")(lambda value: check_origins(value))

__all__ = ["EXPOSED_HEADERS", "CorsPolicy", "init_cors", "origin_pattern"]

#: Response headers scripts on an admitted origin may read (bearer and jwt plugins).
EXPOSED_HEADERS = ("set-auth-token", "set-auth-jwt")
AUTH_PREFIX = "/api/v1/auth/"
AUTH_METHODS = ("GET", "POST")
APP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_EXPOSE = "Access-Control-Expose-Headers"
_IP_WILDCARD_HOST = re.compile(r"^(?=.*\d)[\d*?.]+$")


def _glob(pattern: str, *, ip: bool) -> str:
    """A trusted-origin wildcard as a regex over origin characters only (``*`` never spans a ``/``)."""
    star, one = (r"\d{1,3}", r"\d") if ip else (r"[a-z0-9.:-]*", r"[a-z0-9.:-]")
    return "".join(star if c == "*" else one if c == "?" else re.escape(c) for c in pattern)


def origin_pattern(pattern: str) -> str | re.Pattern[str]:
    """One ``AUTH__TRUSTED_ORIGINS`` entry as Flask-CORS matches origins: a literal, or an anchored regex.

    ``*.example.com`` admits ``http(s)://<anything>.example.com[:port]``, ``192.168.*.*`` only IPv4
    addresses; the same origins ``TrustedOrigins.is_trusted`` admits.
    """
    pattern = pattern.strip().lower().rstrip("/")
    if "*" not in pattern and "?" not in pattern:
        return pattern
    if "://" not in pattern:
        host = pattern
        regex = r"https?://" + _glob(host, ip=bool(_IP_WILDCARD_HOST.match(host.split(":", 1)[0])))
    else:
        scheme, host = pattern.split("://", 1)
        regex = re.escape(scheme) + "://" + _glob(host, ip=bool(_IP_WILDCARD_HOST.match(host.split(":", 1)[0])))
    return re.compile(regex + r"\Z", re.IGNORECASE)


def _matches(origin: str, patterns: Iterable[str | re.Pattern[str]]) -> bool:
    for pattern in patterns:
        if isinstance(pattern, re.Pattern):
            if pattern.match(origin):
                return True
        elif origin.casefold() == pattern:
            return True
    return False


@dataclass(frozen=True)
class CorsPolicy:
    """Which origins may call which part of the API from a browser."""

    auth_origins: tuple[str | re.Pattern[str], ...]
    app_origins: tuple[str | re.Pattern[str], ...]
    allow_headers: tuple[str, ...]
    max_age: int

    @classmethod
    def from_settings(cls, settings: Settings, cors: CorsSettings) -> CorsPolicy:
        from app.modules.auth.origin import TrustedOrigins

        base = TrustedOrigins([settings.base_url]).patterns
        auth = [p for p in TrustedOrigins(settings.auth.trusted_origins).patterns if p not in base]
        app_list = [p for p in TrustedOrigins(cors.origins).patterns if p not in base] if cors.origins else auth
        return cls(
            auth_origins=tuple(origin_pattern(p) for p in auth),
            app_origins=tuple(origin_pattern(p) for p in app_list),
            allow_headers=tuple(dict.fromkeys(cors.allow_headers)),
            max_age=cors.max_age,
        )

    def origins_for(self, path: str) -> tuple[str | re.Pattern[str], ...]:
        if path.startswith(AUTH_PREFIX):
            return self.auth_origins
        return self.app_origins if path.startswith("/api/") else ()

    def admits(self, path: str, origin: str | None) -> bool:
        return bool(origin) and _matches(origin or "", self.origins_for(path))


def _merge_expose_headers(response: Response) -> Response:
    """One ``Access-Control-Expose-Headers`` line: the routes' own (bearer) and Flask-CORS's, deduplicated;
    and ``Vary: Origin`` on every API answer (Flask-CORS leaves it out for a single literal origin), so
    no cache hands an answer without CORS headers to a page that needs them, or the reverse."""
    if request.path.startswith("/api/"):
        response.vary.add("Origin")
    values = response.headers.getlist(_EXPOSE)
    if len(values) > 1:
        names = dict.fromkeys(n.strip() for v in values for n in v.split(",") if n.strip())
        response.headers[_EXPOSE] = ", ".join(names)
    return response


def init_cors(app: Flask, extra_headers: Iterable[str] = ()) -> CorsPolicy:
    """Admit the configured origins (``extra_headers``: e.g. custom API-key headers) and answer preflights."""
    policy = CorsPolicy.from_settings(app.config["SETTINGS"], section(app, CorsSettings))
    app.extensions["cors.policy"] = policy
    known = {h.lower() for h in policy.allow_headers}
    headers = [*policy.allow_headers, *(h for h in extra_headers if h.lower() not in known)]
    common = {
        "supports_credentials": True,
        "expose_headers": list(EXPOSED_HEADERS),
        "allow_headers": headers,
        "max_age": policy.max_age,
        "vary_header": True,
        "always_send": False,  # no Origin, no CORS headers (Flask-CORS would list every literal origin)
    }
    resources = {}
    if policy.auth_origins:
        resources[r"/api/v1/auth/.*"] = {**common, "origins": [*policy.auth_origins], "methods": [*AUTH_METHODS]}
    if policy.app_origins:
        resources[r"/api/(?!v1/auth/).*"] = {**common, "origins": [*policy.app_origins], "methods": [*APP_METHODS]}
    if not resources:
        return policy

    def answer_preflight() -> Response | None:
        wanted = request.headers.get("Access-Control-Request-Method", "").upper()
        if request.method != "OPTIONS" or not wanted:
            return None
        routing = request.routing_exception
        if not isinstance(routing, MethodNotAllowed) or wanted not in (routing.valid_methods or ()):
            return None
        if not policy.admits(request.path, request.headers.get("Origin")):
            return None
        answer = Response(status=204)
        del answer.headers["Content-Type"]
        return answer

    # before every other hook (rate limit, origin check, tenant): a preflight carries no credentials
    app.before_request_funcs.setdefault(None, []).insert(0, answer_preflight)
    app.after_request(_merge_expose_headers)  # registered first, so it runs after Flask-CORS's
    CORS(app, resources=resources)
    return policy
