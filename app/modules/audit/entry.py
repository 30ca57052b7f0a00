"""Building an audit entry: checking the caller's fields and stamping the request's context.

Checks run at the call site, for ``log`` and ``log_async`` alike, so a programming error surfaces
where it was made and never in the writer thread.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, cast

from flask import g, has_request_context, request

#: Largest ``details`` accepted, as JSON bytes.
MAX_DETAILS_BYTES = 64 * 1024
MAX_USER_AGENT = 512

#: Field name -> (longest length, may be None).
_STRING_FIELDS: dict[str, tuple[int, bool]] = {
    "actor_id": (255, True),
    "action": (128, False),
    "resource_type": (128, False),
    "resource_id": (255, True),
    "organization_id": (255, True),
}


class InvalidAuditEntry(TypeError, ValueError):
    """An audit entry is missing a field or has one of the wrong type or size."""


def _check_string(name: str, value: Any) -> str | None:
    longest, nullable = _STRING_FIELDS[name]
    if value is None:
        if nullable:
            return None
        raise InvalidAuditEntry(f"audit entry field {name!r} is required; expected a non-empty string")
    if not isinstance(value, str):
        expected = "a string or None" if nullable else "a non-empty string"
        raise InvalidAuditEntry(f"audit entry field {name!r} is a {type(value).__name__}; expected {expected}")
    if not value or len(value) > longest or "\x00" in value:
        raise InvalidAuditEntry(
            f"audit entry field {name!r} must be 1 to {longest} characters without NUL, got {len(value)}"
        )
    return value


def _details_json(details: Any) -> str:
    """``details`` as JSON text ("null" for None), checked for type and size."""
    if details is None:
        return "null"
    if not isinstance(details, Mapping):
        raise InvalidAuditEntry(f"audit entry field 'details' is a {type(details).__name__}; expected a mapping")
    try:
        text = json.dumps(dict(details), allow_nan=False, default=_refuse, separators=(",", ":"))
    except (TypeError, ValueError) as error:
        raise InvalidAuditEntry(f"audit entry field 'details' is not JSON: {error}") from None
    if len(text) > MAX_DETAILS_BYTES:  # ASCII-escaped: characters are bytes
        raise InvalidAuditEntry(f"audit entry field 'details' is larger than {MAX_DETAILS_BYTES} bytes as JSON")
    return text


def _check_details(details: Any) -> dict[str, Any] | None:
    # The round trip gives the exact value the database returns, so the hash verifies later.
    normalized: dict[str, Any] | None = json.loads(_details_json(details))
    return normalized


def _refuse(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _request_context() -> dict[str, str | None]:
    # One context lookup instead of one per proxy attribute: log_async is on the request's path.
    if not has_request_context():
        return {"ip": None, "user_agent": None, "request_id": None}
    req, found = cast(Any, request)._get_current_object(), cast(Any, g)._get_current_object()
    ip = found.get("client_ip") or req.remote_addr
    agent = req.headers.get("User-Agent") or None
    return {
        "ip": str(ip)[:64] if ip else None,
        "user_agent": agent.replace("\x00", "")[:MAX_USER_AGENT] if agent else None,
        "request_id": found.get("request_id"),
    }


def build_entry(
    *,
    actor_id: Any,
    action: Any,
    resource_type: Any,
    resource_id: Any = None,
    details: Any = None,
    organization_id: Any = None,
) -> dict[str, Any]:
    """A checked entry with its context, ready for the chain; raises :class:`InvalidAuditEntry`."""
    entry: dict[str, Any] = {
        "actor_id": _check_string("actor_id", actor_id),
        "action": _check_string("action", action),
        "resource_type": _check_string("resource_type", resource_type),
        "resource_id": _check_string("resource_id", resource_id),
        "details": _check_details(details),
        "organization_id": _check_string("organization_id", organization_id),
    }
    entry.update(_request_context())
    entry["created_at"] = datetime.now(UTC)
    entry["entry_id"] = new_entry_id()
    return entry


def new_entry_id() -> str:
    """128 random bits: writing is idempotent by this id, so a replayed spool inserts each entry once."""
    return os.urandom(16).hex()


def spool_line(
    *,
    actor_id: Any,
    action: Any,
    resource_type: Any,
    resource_id: Any = None,
    details: Any = None,
    organization_id: Any = None,
) -> bytes:
    """The checked entry as one spool line (see ``spool.decode``), built for ``log_async``'s speed:
    ``details`` is serialized once, the time is integer microseconds, the JSON is ASCII."""
    head: dict[str, Any] = {
        "actor_id": _check_string("actor_id", actor_id),
        "action": _check_string("action", action),
        "resource_type": _check_string("resource_type", resource_type),
        "resource_id": _check_string("resource_id", resource_id),
        "organization_id": _check_string("organization_id", organization_id),
    }
    details_text = _details_json(details)
    head.update(_request_context())
    head["created_us"] = time.time_ns() // 1000
    head["entry_id"] = new_entry_id()
    text = json.dumps(head, separators=(",", ":"))
    return f'{text[:-1]},"details":{details_text}}}\n'.encode()
