"""Per-IP, per-path rate limits on the auth routes, with better-auth's default rules (§2.2).

Implements OWASP Authentication Cheat Sheet "Protect against automated attacks" and OWASP
Credential Stuffing Prevention Cheat Sheet (throttling by source address); the 429 answer and its
``X-Retry-After`` header follow better-auth (RFC 6585 §4 for the status).

- Key: ``"<ip>|<path>"``, the path relative to the auth base path (``/sign-in/email``), the IP from
  :func:`~app.modules.auth.client_ip.client_ip` folded by
  :func:`~app.modules.auth.client_ip.rate_limit_key_ip` (IPv6 /64); no IP gives ``no-trusted-ip``,
  one bucket shared by every such request, as better-auth does.
- Each request is counted once, against the first matching rule (the special rules replace the
  default one, they do not add to it), and a second :meth:`RateLimiter.hit` for the same key in
  the same request is not counted again.
- Fixed windows (``limits.FixedWindowRateLimiter``) that start at the first request, like
  better-auth's secondary-storage limiter; counters are shared through Redis when configured, and
  counted per process while Redis is unavailable (one warning per minute, not one per request).
"""

from __future__ import annotations

import logging
import math
import re
import time
from dataclasses import dataclass

from flask import Flask, g, has_request_context
from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage, Storage
from limits.strategies import FixedWindowRateLimiter

from app.core.errors import ApiError
from app.core.outage import warn_every
from app.modules.auth.client_ip import rate_limit_key_ip
from app.modules.auth.counters import STORAGE_ERRORS, counter_storage

__all__ = ["AUTH_BASE_PATH", "NO_IP_KEY", "RateLimiter", "Rule", "relative_path"]

AUTH_BASE_PATH = "/api/v1/auth"
NO_IP_KEY = "no-trusted-ip"
MESSAGE = "Too many requests. Please try again later."

_STRICT_PREFIXES = ("/sign-in", "/sign-up", "/change-password", "/change-email")
_SLOW_EXACT = frozenset(
    {
        "/request-password-reset",
        "/send-verification-email",
        "/email-otp/send-verification-otp",
        "/email-otp/request-password-reset",
    }
)
_SLOW_PREFIXES = ("/forget-password",)
_TWO_FACTOR_PREFIX = "/two-factor/"
log = logging.getLogger(__name__)

_EXTENSION = "auth.rate_limiter"
#: Seconds between two warnings that the shared counters are down (one line, not one per request).
FALLBACK_WARN_INTERVAL = 60.0


@dataclass(frozen=True)
class Rule:
    """At most ``max`` requests per ``window`` seconds."""

    window: int
    max: int


#: better-auth's built-in special rules (rate-limiter/index.mjs, two-factor plugin).
STRICT_RULE = Rule(window=10, max=3)
SLOW_RULE = Rule(window=60, max=3)
TWO_FACTOR_RULE = Rule(window=10, max=3)


def relative_path(path: str, base_path: str = AUTH_BASE_PATH) -> str:
    """``path`` without query, duplicate or trailing slashes, relative to ``base_path``.

    Duplicate slashes are merged so ``//sign-in/email`` cannot dodge the sign-in rule.
    """
    path = re.sub(r"/{2,}", "/", path.split("?", 1)[0].split("#", 1)[0])
    path = path.rstrip("/") or "/"
    base = base_path.rstrip("/")
    if base and path == base:
        return "/"
    if base and path.startswith(base + "/"):
        return path[len(base) :]
    return path


class RateLimiter:
    """Counts auth requests per client and path; raises 429 when a rule is exceeded."""

    def __init__(
        self,
        storage: Storage,
        *,
        enabled: bool = True,
        window: int = 10,
        max: int = 100,
        base_path: str = AUTH_BASE_PATH,
    ) -> None:
        self.enabled = enabled
        self.default_rule = Rule(window=window, max=max)
        self.base_path = base_path
        #: Rules of plugins (exact relative paths); they win over the built-in ones, as in better-auth.
        self.plugin_rules: dict[str, Rule] = {}
        self._limiter = FixedWindowRateLimiter(storage)
        #: Per-process counting while the shared store (Redis) is unavailable: limits still hold in
        #: each process, instead of none at all.
        self._fallback = FixedWindowRateLimiter(MemoryStorage())

    def add_rule(self, paths: tuple[str, ...] | list[str], rule: Rule) -> None:
        """A plugin's rule for ``paths`` (relative to the base path, e.g. ``/sign-in/magic-link``)."""
        for path in paths:
            self.plugin_rules[path] = rule

    @classmethod
    def for_app(cls, app: Flask) -> RateLimiter:
        """The app's limiter from its settings, built once and kept in ``app.extensions``."""
        limiter = app.extensions.get(_EXTENSION)
        if not isinstance(limiter, RateLimiter):
            settings = app.config["SETTINGS"]
            limiter = cls(
                counter_storage(app),
                enabled=settings.rate_limit_enabled,
                window=settings.auth.rate_limit.window,
                max=settings.auth.rate_limit.max,
            )
            app.extensions[_EXTENSION] = limiter
        return limiter

    def rule_for(self, path: str) -> Rule:
        """The rule that governs ``path`` (absolute or relative to the auth base path)."""
        path = relative_path(path, self.base_path)
        plugin_rule = self.plugin_rules.get(path)
        if plugin_rule is not None:
            return plugin_rule
        if path.startswith(_STRICT_PREFIXES):
            return STRICT_RULE
        if path in _SLOW_EXACT or path.startswith(_SLOW_PREFIXES):
            return SLOW_RULE
        if path.startswith(_TWO_FACTOR_PREFIX):
            return TWO_FACTOR_RULE
        return self.default_rule

    def key(self, path: str, ip: str) -> str:
        """``"<ip>|<path>"``, better-auth's key."""
        return f"{rate_limit_key_ip(ip) if ip else NO_IP_KEY}|{relative_path(path, self.base_path)}"

    def hit(self, path: str, ip: str) -> None:
        """Count one request of ``ip`` on ``path``; raise ``ApiError(429)`` when over the limit."""
        if not self.enabled:
            return
        key = self.key(path, ip)
        if _already_counted(key):
            return
        rule = self.rule_for(path)
        item = RateLimitItemPerSecond(rule.max, rule.window, namespace="rl")
        try:
            if self._limiter.hit(item, key):
                return
            reset_at = self._limiter.get_window_stats(item, key).reset_time
        except STORAGE_ERRORS as error:  # shared counters down: count in this process
            warn_every("rate-limit-fallback", FALLBACK_WARN_INTERVAL,
                       "rate limit storage unavailable, counting per process meanwhile: %s", error)
            if self._fallback.hit(item, key):
                return
            reset_at = self._fallback.get_window_stats(item, key).reset_time
        retry_after = min(rule.window, max(1, math.ceil(reset_at - time.time())))
        raise ApiError(429, "TOO_MANY_REQUESTS", MESSAGE, headers={"X-Retry-After": str(retry_after)})

    def reset(self, path: str, ip: str) -> None:
        """Forget the count of ``ip`` on ``path`` (operator tools, tests)."""
        rule = self.rule_for(path)
        self._limiter.clear(RateLimitItemPerSecond(rule.max, rule.window, namespace="rl"), self.key(path, ip))


def _already_counted(key: str) -> bool:
    """True when this request has already been counted under ``key``; marks it counted otherwise."""
    if not has_request_context():
        return False
    counted: set[str] | None = g.get("_auth_rate_limit_keys")
    if counted is None:
        counted = set()
        g._auth_rate_limit_keys = counted
    if key in counted:
        return True
    counted.add(key)
    return False
