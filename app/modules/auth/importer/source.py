"""Reading a better-auth database: which tables and columns hold what, and rows in batches.

better-auth names its tables after its models (``user``, ``twoFactor``, ``apikey`` ...) and its
columns in camelCase; adapters configured with ``usePlural``, ``modelName`` or ``fieldName`` and
Prisma/Drizzle schemas use other names. A :class:`Mapping` covers them: a table prefix, and a JSON
mapping file ``{"tables": {"user": "users"}, "columns": {"user": {"emailVerified": "email_verified"}}}``.
Columns not named in the file are matched both ways: ``emailVerified`` and ``email_verified``.

Rows come in primary-key order with keyset pagination (``WHERE id > :last``), so a batch costs the
same at the end of a large table as at its start, and an interrupted run can simply start again.
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, column, create_engine, func, inspect, select, table
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

__all__ = ["MODELS", "Mapping", "Source", "SourceError", "SourceTable"]

#: better-auth 1.x models this importer knows, in the order they are imported (references first).
MODELS = (
    "user", "account", "session", "verification", "twoFactor", "organization", "member",
    "invitation", "team", "teamMember", "apikey", "jwks",
)
_DRIVERS = {"postgresql": ("psycopg", "psycopg"), "mysql": ("pymysql", "pymysql"), "sqlite": ("pysqlite", "sqlite3")}


class SourceError(Exception):
    """The source cannot be read as asked (bad URL, missing driver, unreadable mapping file)."""


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


@dataclass(frozen=True)
class Mapping:
    """How better-auth's model and field names are spelled in the source database."""

    prefix: str = ""
    tables: dict[str, str] = field(default_factory=dict)
    columns: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None, prefix: str = "") -> Mapping:
        if path is None:
            return cls(prefix=prefix)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise SourceError(f"mapping file {path}: {error}") from None
        tables, columns = data.get("tables", {}), data.get("columns", {})
        valid = isinstance(tables, dict) and isinstance(columns, dict)
        valid = valid and all(isinstance(v, str) for v in tables.values())
        valid = valid and all(
            isinstance(c, dict) and all(isinstance(v, str) for v in c.values()) for c in columns.values()
        )
        if not valid:
            raise SourceError(
                f'mapping file {path}: expected {{"tables": {{model: table}}, "columns": {{model: {{field: column}}}}}}'
            )
        return cls(prefix=prefix, tables=dict(tables), columns={k: dict(v) for k, v in columns.items()})

    def table_candidates(self, model: str) -> list[str]:
        if model in self.tables:
            return [self.tables[model]]
        names = [model, _snake(model), model.lower(), model + "s", _snake(model) + "s"]
        if model == "apikey":
            names += ["api_key", "apiKey", "api_keys"]
        return list(dict.fromkeys(self.prefix + name for name in names))


@dataclass(frozen=True)
class SourceTable:
    """One better-auth model in the source: its table, and field name → column name."""

    engine: Engine
    model: str
    name: str
    fields: dict[str, str]

    def _table(self) -> Any:
        return table(self.name, *(column(c) for c in self.fields.values()))

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(self._table())).scalar_one())

    def batches(self, size: int) -> Iterator[list[dict[str, Any]]]:
        """Rows as ``{field: value}``, ``size`` at a time, in ``id`` order."""
        source = self._table()
        key = source.c[self.fields["id"]]
        names = list(self.fields.items())
        last: Any = None
        while True:
            query = select(*(source.c[c] for _, c in names)).order_by(key).limit(size)
            if last is not None:
                query = query.where(key > last)
            with self.engine.connect() as conn:
                rows = conn.execute(query).all()
            if not rows:
                return
            yield [{f: row[i] for i, (f, _) in enumerate(names)} for row in rows]
            last = rows[-1][names.index(("id", self.fields["id"]))]
            if len(rows) < size:
                return


def _engine_url(url: str) -> str:
    try:
        parsed = make_url(url.replace("postgres://", "postgresql://", 1) if url.startswith("postgres://") else url)
    except ArgumentError:
        raise SourceError(f"not a database URL: {url!r} (postgresql://, mysql://, sqlite:///path)") from None
    backend = parsed.get_backend_name()
    if backend not in _DRIVERS:
        raise SourceError(f"unsupported source database {backend!r}: PostgreSQL, MySQL or SQLite")
    driver, module = _DRIVERS[backend]
    if parsed.drivername == backend:
        parsed = parsed.set(drivername=f"{backend}+{driver}")
    else:
        module = parsed.get_driver_name()
    if importlib.util.find_spec(module) is None:
        raise SourceError(f"the {backend} driver {module!r} is not installed (pip install {module})")
    if backend == "sqlite":
        # Read-only (SQLite URI mode=ro): a mistyped path must not create an empty database.
        path = parsed.database or ""
        if not path or path == ":memory:" or not Path(path).is_file():
            raise SourceError(f"no SQLite database at {path!r}")
        parsed = parsed.set(database=f"file:{Path(path).resolve()}?mode=ro", query={"uri": "true"})
    return parsed.render_as_string(hide_password=False)


class Source:
    """A better-auth database, opened read-only in spirit: only SELECTs are sent."""

    def __init__(self, url: str, mapping: Mapping) -> None:
        try:
            self.engine = create_engine(_engine_url(url))
            self._names = set(inspect(self.engine).get_table_names())
            found = any(n in self._names for n in mapping.table_candidates("user"))
        except NoSuchModuleError as error:
            raise SourceError(str(error)) from None
        except SourceError:
            raise
        except Exception as error:  # noqa: BLE001 - any connection failure is reported in one line
            raise SourceError(f"cannot read the source database: {error.__class__.__name__}: {error}") from None
        if not found:
            self.engine.dispose()
            raise SourceError("the source has no better-auth user table: is it a better-auth database?")
        self.mapping = mapping

    def table(self, model: str) -> SourceTable | None:
        """The model's table, or None when the source has none (plugin not used)."""
        name = next((n for n in self.mapping.table_candidates(model) if n in self._names), None)
        if name is None:
            return None
        explicit = {v: k for k, v in self.mapping.columns.get(model, {}).items()}
        fields: dict[str, str] = {}
        for col in inspect(self.engine).get_columns(name):
            fields[explicit.get(col["name"], _camel(col["name"]))] = col["name"]
        if "id" not in fields:
            raise SourceError(f"table {name!r} ({model}) has no id column")
        return SourceTable(self.engine, model, name, fields)

    def close(self) -> None:
        self.engine.dispose()
