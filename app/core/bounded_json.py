"""Parsing untrusted JSON within bounds: nesting depth, integer size, no NaN/Infinity.

OWASP Input Validation Cheat Sheet ("syntactic validation ... length, range") and RFC 8259 §9
("An implementation may set limits on ... the maximum depth of nesting ... the range and
precision of numbers"). Python's parser raises ``RecursionError`` on deep nesting and
``ValueError`` on integers past 4300 digits (CVE-2020-10735 guard); both were 500s. Here both, and
the non-JSON constants ``NaN``/``Infinity`` Python accepts by default, are :class:`JsonBoundsError`,
which the caller answers 400 ``VALIDATION_ERROR``.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["MAX_DEPTH", "MAX_INT_DIGITS", "JsonBoundsError", "loads"]

#: Deepest nesting of arrays and objects accepted (no request schema here goes past 4).
MAX_DEPTH = 32
#: Longest integer literal accepted, sign included: past every 64-bit integer, inside a JavaScript number's range.
MAX_INT_DIGITS = 20


class JsonBoundsError(ValueError):
    """The document is valid JSON in form but outside what the server parses."""


def _int(text: str) -> int:
    if len(text) > MAX_INT_DIGITS:
        raise JsonBoundsError(f"integers may have at most {MAX_INT_DIGITS} digits")
    return int(text)


def _constant(name: str) -> Any:
    raise JsonBoundsError(f"{name} is not JSON")


def _check_depth(value: Any) -> None:
    """Walk the parsed value without recursion; refuse anything nested deeper than ``MAX_DEPTH``."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > MAX_DEPTH:
            raise JsonBoundsError(f"JSON may be nested at most {MAX_DEPTH} levels deep")
        stack.extend((child, depth + 1) for child in children)


def loads(raw: bytes | str) -> Any:
    """``json.loads`` within the bounds; raises ``json.JSONDecodeError`` or :class:`JsonBoundsError`."""
    try:
        value = json.loads(raw, parse_int=_int, parse_constant=_constant)
    except RecursionError:
        raise JsonBoundsError(f"JSON may be nested at most {MAX_DEPTH} levels deep") from None
    _check_depth(value)
    return value
