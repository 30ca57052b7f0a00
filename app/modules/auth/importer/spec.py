"""What an importer of one better-auth model is: a converter, its references and unique keys.

A converter turns a source row (``{better-auth field: value}``) into the attributes of our model,
or says why the row is :class:`Skipped` (nothing to carry over: expired, no counterpart here) or
:class:`Refused` (it cannot be carried over as it is: a secret that does not decrypt, an email that
another user has here). Secrets are handed over as :class:`Sealed` plaintext: the runner encrypts
them with our secret when writing, and compares plaintexts when deciding whether a row changed
(each encryption draws a new nonce, so ciphertexts never compare equal).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.modules.auth.importer.secrets import BetterAuthKeys

__all__ = ["Context", "Converted", "Refused", "Sealed", "Skipped", "TableSpec"]


@dataclass(frozen=True, slots=True)
class Refused:
    reason: str


@dataclass(frozen=True, slots=True)
class Skipped:
    reason: str


@dataclass(frozen=True, slots=True)
class Sealed:
    """A secret in clear, stored as ``symmetric_encrypt(plaintext)`` (JSON-quoted when ``as_json``)."""

    plaintext: str
    as_json: bool = False


Converted = dict[str, Any] | Refused | Skipped


@dataclass(frozen=True)
class Context:
    """What converters need besides the row: better-auth's keys, the time of the run, options."""

    keys: BetterAuthKeys
    now: datetime
    plain_oauth_tokens: bool = False


@dataclass(frozen=True)
class TableSpec:
    """How one better-auth model is imported.

    - ``target``: our model class, or None when this project has no such table (rows are skipped
      with ``absent_reason``).
    - ``references``: (attribute, models it may point at) — a row whose reference was neither
      imported nor already here is refused, instead of breaking a foreign key.
    - ``unique``: attribute groups unique in our table; a row whose values belong to another row
      here is refused with the other row's id.
    - ``keep``: (existing, new) → new, for values this project changed on purpose since the first
      import in a table without ``updatedAt`` (consumed backup codes), which a re-run must not undo;
      tables with ``updatedAt`` need none: the newer write wins (``runner._newer_here``).
    """

    model: str
    target: Any
    convert: Callable[[dict[str, Any], Context], Converted] | None = None
    references: tuple[tuple[str, tuple[str, ...]], ...] = ()
    unique: tuple[tuple[str, ...], ...] = ()
    keep: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]] | None = None
    absent_reason: str = ""
    #: Called with the rows about to be updated, before the commit (cache invalidation).
    on_update: Callable[[list[dict[str, Any]]], None] | None = None
