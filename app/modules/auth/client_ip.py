"""The client's IP address behind a known number of reverse proxies, and its rate-limit key.

Implements the OWASP guidance on ``X-Forwarded-For`` (the leftmost values are written by the
client and can be anything) with Werkzeug ``ProxyFix`` semantics: the operator says how many
proxies sit in front of the app (``AUTH__TRUSTED_PROXIES``) and each appends exactly one entry
on the right, so only the rightmost ``N`` entries are trusted.

Rules, for ``N`` trusted proxies and an ``X-Forwarded-For`` list ``xff``:

- ``N == 0``: ``X-Forwarded-For`` is ignored; the socket peer (``REMOTE_ADDR``) is the client.
- ``len(xff) >= N``: the client is ``xff[-N]``, the address the outermost trusted proxy saw.
  Should that entry be unusable (``unknown``, an obfuscated RFC 7239 identifier, garbage), the
  next usable entry to its *right* is taken: still written by a trusted proxy, never by the client.
- ``len(xff) < N``: the request did not pass through every trusted proxy (it reached an inner one
  directly, or ``N`` is set too high), so the left part of the list may be the client's own
  header. We take the rightmost usable entry, the peer of our nearest proxy, which that trusted
  proxy wrote. The leftmost entry is deliberately never used: falling back to it would let a
  client that reaches an inner proxy pick its own address (and so its own rate-limit bucket).
- Nothing usable: ``REMOTE_ADDR`` (the nearest proxy itself); ``""`` when even that is unknown.

Entries may carry a port (``1.2.3.4:80``, ``[2001:db8::1]:443``) and are returned canonical
(IPv4-mapped IPv6 addresses as IPv4). :func:`rate_limit_key_ip` then folds an IPv6 address to its
/64 network, as better-auth does, because one host usually owns a whole /64 (RFC 6177).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from flask import Request

__all__ = ["client_ip", "parse_ip", "rate_limit_key_ip"]

IPV6_SUBNET_PREFIX = 64


@lru_cache(maxsize=4096)
def parse_ip(value: str) -> str | None:
    """The canonical form of one address (port and brackets removed), or None when it is not one."""
    text = value.strip().strip('"')
    if not text:
        return None
    if text.startswith("["):  # [v6] or [v6]:port
        end = text.find("]")
        if end == -1:
            return None
        text = text[1:end]
    elif text.count(":") == 1:  # v4:port (a bare IPv6 address has at least two colons)
        text = text.split(":", 1)[0]
    if "%" in text:  # zone ids (fe80::1%eth0) are local to a host, not a client address
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


def _environ(source: Request | Mapping[str, Any]) -> Mapping[str, Any]:
    return source.environ if isinstance(source, Request) else source


def client_ip(source: Request | Mapping[str, Any], trusted_proxies: int) -> str:
    """The client's address for ``source`` (a request or a WSGI environ); ``""`` when unknown.

    See the module docstring for why the leftmost ``X-Forwarded-For`` entry never wins.
    """
    environ = _environ(source)
    peer = parse_ip(str(environ.get("REMOTE_ADDR") or "")) or ""
    if trusted_proxies <= 0:
        return peer
    header = str(environ.get("HTTP_X_FORWARDED_FOR") or "")
    entries = [part for part in header.split(",") if part.strip()]
    if not entries:
        return peer
    trusted_part = entries[-trusted_proxies:] if len(entries) >= trusted_proxies else entries[-1:]
    for entry in trusted_part:  # left to right: the outermost trusted hop first
        address = parse_ip(entry)
        if address:
            return address
    return peer


@lru_cache(maxsize=4096)
def rate_limit_key_ip(ip: str) -> str:
    """The address as a rate-limit key: IPv4 unchanged, IPv6 as its /64 network (better-auth §2.3).

    The IPv6 form is the exploded network address, e.g. ``2001:0db8:0000:0000:0000:0000:0000:0000``,
    the same string better-auth uses. Anything that is not an address is returned as is.
    """
    canonical = parse_ip(ip)
    if canonical is None:
        return ip
    address = ipaddress.ip_address(canonical)
    if isinstance(address, ipaddress.IPv4Address):
        return canonical
    network = ipaddress.IPv6Network((address, IPV6_SUBNET_PREFIX), strict=False)
    return network.network_address.exploded
