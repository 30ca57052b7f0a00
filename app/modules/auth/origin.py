"""Origin checks (CSRF) and redirect-target checks, as better-auth §2.1 does them.

Implements OWASP CSRF Prevention Cheat Sheet, "Verifying Origin with Standard Headers" and
"Fetch Metadata headers", and OWASP Unvalidated Redirects and Forwards Cheat Sheet (allow-list of
destinations). It follows better-auth's ``origin-check.mjs`` and ``trusted-origins.mjs``:

- GET, HEAD and OPTIONS are never checked (they must not change state).
- A POST carrying a ``Cookie`` header (the only kind a browser can forge cross-site with the
  user's credentials) needs an ``Origin`` (or ``Referer``) that is trusted: missing or ``null`` is
  ``MISSING_OR_NULL_ORIGIN``, untrusted is ``INVALID_ORIGIN``.
- Sign-in and sign-up (``form_csrf=True``) are checked without cookies too (login CSRF):
  ``Sec-Fetch-Site: cross-site`` with ``Sec-Fetch-Mode: navigate`` is blocked; any other
  ``Sec-Fetch-*`` header means a browser, whose origin must then validate; otherwise an
  ``Origin``/``Referer`` that is present must be trusted. No header at all (curl, servers) passes.
- ``callbackURL`` and friends must be a safe relative path or on a trusted origin.

Deliberately stricter than better-auth: URLs with userinfo (``https://good@evil``), backslashes,
whitespace or control characters, and ``scheme:host`` forms without ``//`` never match an origin,
and a host-only pattern (``*.example.com``) admits only http(s) URLs; better-auth lets
``javascript://a.example.com/%0aalert(1)`` through such a pattern.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import Flask, Request

from app.core.errors import ApiError

__all__ = [
    "CALLBACK_FIELDS",
    "MESSAGES",
    "TrustedOrigins",
    "check_callback_fields",
    "check_redirect_url",
    "check_request_origin",
    "is_safe_relative_url",
]

#: better-auth's messages (``@better-auth/core/dist/error/codes.mjs``), by code.
MESSAGES: dict[str, str] = {
    "MISSING_OR_NULL_ORIGIN": "Missing or null Origin",
    "INVALID_ORIGIN": "Invalid origin",
    "CROSS_SITE_NAVIGATION_LOGIN_BLOCKED": (
        "Cross-site navigation login blocked. This request appears to be a CSRF attack."
    ),
    "INVALID_CALLBACK_URL": "Invalid callbackURL",
    "INVALID_REDIRECT_URL": "Invalid redirectURL",
    "INVALID_ERROR_CALLBACK_URL": "Invalid errorCallbackURL",
    "INVALID_NEW_USER_CALLBACK_URL": "Invalid newUserCallbackURL",
}

#: Body/query fields that name a redirect target, with the error code of each (origin-check.mjs).
CALLBACK_FIELDS: dict[str, str] = {
    "callbackURL": "INVALID_CALLBACK_URL",
    "redirectTo": "INVALID_REDIRECT_URL",
    "errorCallbackURL": "INVALID_ERROR_CALLBACK_URL",
    "newUserCallbackURL": "INVALID_NEW_USER_CALLBACK_URL",
}

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_UNSAFE_CHARS = re.compile(r"[\x00-\x20\x7f-\x9f\\]")
_CONTROL_OR_BACKSLASH = re.compile(r"[\x00-\x1f\x7f-\x9f\\]")
_ENCODED_SEPARATOR = re.compile(r"%2f|%5c", re.IGNORECASE)
_HOSTNAME = re.compile(r"^[a-z0-9_]([a-z0-9_.-]*[a-z0-9])?$")
_IP_WILDCARD_HOST = re.compile(r"^(?=.*\d)[\d*?.]+$")
_IPV4 = re.compile(r"^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_RELATIVE_BASE = "better-auth.invalid"


def _forbidden(code: str) -> ApiError:
    return ApiError(403, code, MESSAGES.get(code, "Invalid URL"))


def is_safe_relative_url(value: str) -> bool:
    """True for a root-relative path that every browser resolves on this origin.

    Rejects ``//host``, ``/\\host``, encoded separators (``/%2fhost``) and control characters,
    which browsers or routers read as another host (RFC 3986 §4.2, WHATWG URL parser).
    """
    if not value.startswith("/") or value.startswith("//") or _CONTROL_OR_BACKSLASH.search(value):
        return False
    path = re.split(r"[?#]", value, maxsplit=1)[0]
    if _ENCODED_SEPARATOR.search(path):
        return False
    parts = urlsplit(f"https://{_RELATIVE_BASE}{value}")
    return parts.hostname == _RELATIVE_BASE and not parts.username and parts.port is None


def _http_origin(url: str) -> str | None:
    """``scheme://host[:port]`` of an http(s) URL, lower-cased, or None when it is not a clean one."""
    if _UNSAFE_CHARS.search(url):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not url[len(scheme) + 1 :].startswith("//"):
        return None
    if not parts.netloc or "@" in parts.netloc or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:  # IPv6 literal: urlsplit strips the brackets
        host = f"[{host}]"
    elif not _HOSTNAME.match(host):
        return None
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}:{port}"
    return f"{scheme}://{host}"


def _glob(pattern: str) -> re.Pattern[str]:
    """better-auth's ``wildcardMatch`` with no separator: ``*`` any run, ``?`` one character."""
    out = []
    for char in pattern:
        out.append(".*?" if char == "*" else "." if char == "?" else re.escape(char))
    return re.compile("".join(out), re.DOTALL)


def _ipv4_guard(pattern_authority: str, authority: str) -> bool:
    """A wildcard of digits and dots (``192.168.*.*``) names addresses: admit only an IPv4 host."""
    pattern_host = pattern_authority.split(":", 1)[0]
    if not _IP_WILDCARD_HOST.match(pattern_host):
        return True
    return bool(_IPV4.match(authority.split(":", 1)[0]))


def _normalize_path(path: str) -> str:
    """Percent-decoded path with ``.``/``..`` resolved, so ``/cb/../evil`` cannot pass for ``/cb``."""
    segments: list[str] = []
    for segment in unquote(path).split("/"):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment not in (".", ""):
            segments.append(segment)
    return "/" + "/".join(segments) if segments else ""


@dataclass(frozen=True)
class _CustomUrl:
    scheme: str
    authority: str
    path: str


def _parse_custom(value: str, wildcard: bool = False) -> _CustomUrl | None:
    """Split ``myapp://host/path`` with plain string operations, as better-auth does."""
    if _CONTROL_OR_BACKSLASH.search(value):
        return None
    scheme_end = value.find(":")
    if scheme_end <= 0:
        return None
    scheme = value[:scheme_end].lower()
    rest = value[scheme_end + 1 :]
    authority = ""
    if rest.startswith("//"):
        rest = rest[2:]
        match = re.search(r"[/#]" if wildcard else r"[/?#]", rest)
        authority, rest = (rest, "") if match is None else (rest[: match.start()], rest[match.start() :])
    match = re.search(r"#" if wildcard else r"[?#]", rest)
    path = _normalize_path(rest if match is None else rest[: match.start()])
    return _CustomUrl(scheme, authority.lower(), path)


def _matches(url: str, pattern: str) -> bool:
    """One absolute URL against one trusted-origin pattern (better-auth ``matchesOriginPattern``)."""
    wildcard = "*" in pattern or "?" in pattern
    if wildcard and "://" not in pattern:  # host pattern: *.example.com, 192.168.*.*
        origin = _http_origin(url)
        if origin is None:
            return False
        host = origin.split("://", 1)[1]
        return bool(_glob(pattern).fullmatch(host)) and _ipv4_guard(pattern, host)
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme in _DEFAULT_PORTS:
        origin = _http_origin(url)
        if origin is None:
            return False
        if not wildcard:
            return origin == pattern
        if not _glob(pattern).fullmatch(origin):
            return False
        return _ipv4_guard(pattern.split("://", 1)[1], origin.split("://", 1)[1])
    parsed = _parse_custom(url)
    parsed_pattern = _parse_custom(pattern, wildcard)
    if parsed is None or parsed_pattern is None or parsed.scheme != parsed_pattern.scheme:
        return False
    if "@" in parsed.authority:
        return False
    if wildcard:
        if parsed_pattern.authority and not (
            _glob(parsed_pattern.authority).fullmatch(parsed.authority)
            and _ipv4_guard(parsed_pattern.authority, parsed.authority)
        ):
            return False
        return not parsed_pattern.path or bool(_glob(parsed_pattern.path).fullmatch(parsed.path or "/"))
    if parsed_pattern.authority and parsed.authority != parsed_pattern.authority:
        return False
    if not parsed_pattern.path:
        return True
    return parsed.path == parsed_pattern.path or parsed.path.startswith(parsed_pattern.path + "/")


def _normalize_pattern(pattern: str) -> str:
    """Lower-case a pattern and reduce a plain http(s) one to its origin (drops a default port)."""
    pattern = pattern.strip()
    if "*" in pattern or "?" in pattern:
        return pattern.lower().rstrip("/")
    if pattern.lower().startswith(("http://", "https://")):
        return _http_origin(pattern) or pattern.lower().rstrip("/")
    return pattern


class TrustedOrigins:
    """The origins allowed to send credentialed requests and to be redirected to."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns: tuple[str, ...] = tuple(dict.fromkeys(_normalize_pattern(p) for p in patterns if p.strip()))

    @classmethod
    def from_settings(cls, settings: Any) -> TrustedOrigins:
        """The base URL's origin plus ``AUTH__TRUSTED_ORIGINS``."""
        return cls([settings.base_url, *settings.auth.trusted_origins])

    @classmethod
    def for_app(cls, app: Flask) -> TrustedOrigins:
        """The app's trusted origins, built once and kept in ``app.extensions``."""
        cached = app.extensions.get("auth.trusted_origins")
        if not isinstance(cached, TrustedOrigins):
            cached = cls.from_settings(app.config["SETTINGS"])
            app.extensions["auth.trusted_origins"] = cached
        return cached

    def is_trusted(self, origin_or_url: str, *, allow_relative_paths: bool = False) -> bool:
        """True when the origin, or the origin of the URL, matches a trusted pattern."""
        if not origin_or_url:
            return False
        if origin_or_url.startswith("/"):
            return allow_relative_paths and is_safe_relative_url(origin_or_url)
        return any(_matches(origin_or_url, pattern) for pattern in self.patterns)

    def __repr__(self) -> str:
        return f"TrustedOrigins({list(self.patterns)!r})"


def _validate_origin(request: Request, trusted: TrustedOrigins) -> None:
    origin = request.headers.get("Origin")
    value = origin or request.headers.get("Referer") or ""
    if origin == "null" and request.headers.get("Sec-Fetch-Site") == "same-origin":
        # A same-origin request whose Origin the browser hid (privacy-sensitive context).
        value = f"{request.scheme}://{request.host}"
    if not value or value == "null":
        raise _forbidden("MISSING_OR_NULL_ORIGIN")
    if not trusted.is_trusted(value):
        raise _forbidden("INVALID_ORIGIN")


def check_request_origin(request: Request, trusted: TrustedOrigins, *, form_csrf: bool = False) -> None:
    """Raise ``ApiError(403)`` when a state-changing request may be cross-site forged.

    ``form_csrf=True`` for sign-in and sign-up, which must also resist login CSRF without cookies.
    """
    if request.method in _SAFE_METHODS:
        return
    headers = request.headers
    if "Cookie" in headers:
        _validate_origin(request, trusted)
        return
    if not form_csrf:
        return
    site = headers.get("Sec-Fetch-Site")
    mode = headers.get("Sec-Fetch-Mode")
    dest = headers.get("Sec-Fetch-Dest")
    if any(value and value.strip() for value in (site, mode, dest)):
        if site == "cross-site" and mode == "navigate":
            raise _forbidden("CROSS_SITE_NAVIGATION_LOGIN_BLOCKED")
        _validate_origin(request, trusted)
        return
    if headers.get("Origin") or headers.get("Referer"):
        _validate_origin(request, trusted)


def check_redirect_url(url: str | None, trusted: TrustedOrigins, code: str) -> None:
    """Raise ``ApiError(403, code)`` unless ``url`` is empty, a safe relative path or on a trusted origin."""
    if not url:
        return
    if not isinstance(url, str):
        raise ApiError(400, "VALIDATION_ERROR", f"{MESSAGES.get(code, 'Invalid URL')}: expected a string")
    if not trusted.is_trusted(url, allow_relative_paths=True):
        raise _forbidden(code)


def check_callback_fields(
    body: Mapping[str, Any] | None, query: Mapping[str, Any] | None, trusted: TrustedOrigins
) -> None:
    """Check every redirect field of a request as better-auth's origin middleware does.

    ``callbackURL`` is read from the body, else the query; the other fields from the body only.
    """
    body = body or {}
    query = query or {}
    for field, code in CALLBACK_FIELDS.items():
        value = body.get(field)
        if field == "callbackURL" and not value:
            value = query.get(field)
        check_redirect_url(value, trusted, code)
