"""The import loop: each model in turn, in batches, each batch checked, compared and committed.

Idempotent: rows keep their better-auth ids, so a row already here is compared with what the
source says now and updated only when it differs (secrets compared in clear, see ``spec.Sealed``)
and the source changed it last (``updatedAt``): what changed here since, on purpose, stays.
Resumable: each batch is its own transaction; after an interruption the next run finds the
committed batches unchanged and carries on. A dry run does every check and writes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import Any

from sqlalchemy import String, insert, inspect, select, tuple_, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from app.extensions import db
from app.modules.auth.crypto import DecryptionError, symmetric_decrypt, symmetric_encrypt
from app.modules.auth.importer.core_tables import CORE_TABLES
from app.modules.auth.importer.plugin_tables import PLUGIN_TABLES
from app.modules.auth.importer.report import TableCounts
from app.modules.auth.importer.source import Source
from app.modules.auth.importer.spec import Context, Refused, Sealed, Skipped, TableSpec
from app.modules.auth.importer.values import same_instant

__all__ = ["ALL_TABLES", "Progress", "Runner"]

ALL_TABLES: tuple[TableSpec, ...] = (*CORE_TABLES, *PLUGIN_TABLES)
_BY_MODEL = {spec.model: spec for spec in ALL_TABLES}
#: ``progress(label, length)`` → a context manager whose value has ``update(n)``.
Progress = Callable[[str, int], AbstractContextManager[Any]]


class _Nothing:
    def update(self, n: int) -> None:
        return None


def _no_progress(label: str, length: int) -> AbstractContextManager[Any]:
    return nullcontext(_Nothing())


def _lengths(model: Any) -> dict[str, int]:
    out = {}
    for attr in inspect(model).column_attrs:
        col_type = attr.columns[0].type
        if isinstance(col_type, String) and col_type.length:
            out[attr.key] = col_type.length
    return out


def _newer_here(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Changed here after the source last changed it (a sign-in upgraded the hash, a session slid,
    a key was used, tokens were refreshed): the newer write wins, so a re-run does not undo it."""
    mine, theirs = old.get("updated_at"), new.get("updated_at")
    return isinstance(mine, datetime) and isinstance(theirs, datetime) and (mine - theirs).total_seconds() > 0.001


class Runner:
    """One import run from ``source`` into the app's database (call inside an app context)."""

    def __init__(self, source: Source, ctx: Context, our_secret: str, *, batch_size: int = 1000,
                 dry_run: bool = False, progress: Progress = _no_progress) -> None:
        self.source, self.ctx, self.secret = source, ctx, our_secret
        self.batch_size, self.dry_run, self.progress = batch_size, dry_run, progress
        self.known: dict[str, set[str]] = {spec.model: set() for spec in ALL_TABLES}
        self.claimed: dict[tuple[str, tuple[str, ...]], dict[Any, str]] = {}

    def run(self, models: Iterable[str] | None = None) -> dict[str, TableCounts]:
        wanted = set(models) if models is not None else None
        report: dict[str, TableCounts] = {}
        for spec in ALL_TABLES:
            if wanted is not None and spec.model not in wanted:
                continue
            table = self.source.table(spec.model)
            if table is None:
                continue
            counts = report[spec.model] = TableCounts()
            with self.progress(spec.model, table.count()) as bar:
                for rows in table.batches(self.batch_size):
                    self._batch(spec, rows, counts)
                    bar.update(len(rows))
        return report

    # -- one batch ---------------------------------------------------------------------------

    def _batch(self, spec: TableSpec, rows: list[dict[str, Any]], counts: TableCounts) -> None:
        if spec.target is None or spec.convert is None:
            for _row in rows:
                counts.skip(spec.absent_reason)
            return
        converted: list[dict[str, Any]] = []
        for row in rows:
            result = spec.convert(row, self.ctx)
            if isinstance(result, Skipped):
                counts.skip(result.reason)
            elif isinstance(result, Refused):
                counts.refuse(str(row.get("id")), result.reason)
            else:
                converted.append(result)
        lengths = _lengths(spec.target)
        accepted = [r for r in converted if self._fits(r, lengths, counts)]
        accepted = self._check_references(spec, accepted, counts)
        accepted = self._check_unique(spec, accepted, counts)
        inserts, updates = self._classify(spec, accepted, counts)
        if self.dry_run or not (inserts or updates):
            db.session.rollback()  # ends the read transaction; a dry run never writes
            counts.imported += len(inserts)
            counts.updated += len(updates)
            self._accept(spec, inserts + updates)
        else:
            self._write(spec, inserts, updates, counts)

    def _fits(self, row: dict[str, Any], lengths: dict[str, int], counts: TableCounts) -> bool:
        for attr, limit in lengths.items():
            value = row.get(attr)
            if isinstance(value, str) and len(value) > limit:
                counts.refuse(row["id"], f"{attr} is longer than {limit} characters")
                return False
        return True

    def _check_references(self, spec: TableSpec, rows: list[dict[str, Any]],
                          counts: TableCounts) -> list[dict[str, Any]]:
        for attr, models in spec.references:
            wanted = {r[attr] for r in rows if r.get(attr) is not None}
            missing = {v for v in wanted if not any(v in self.known[m] for m in models)}
            for model in models:
                if not missing:
                    break
                target = _BY_MODEL[model].target
                found = set(db.session.scalars(select(target.id).where(target.id.in_(missing))))
                self.known[model] |= found
                missing -= found
            kept = []
            for row in rows:
                if row.get(attr) is None:
                    counts.refuse(row["id"], f"no {attr}")
                elif row[attr] in missing:
                    counts.refuse(row["id"], f"{attr} refers to a {' or '.join(models)} that is not here")
                else:
                    kept.append(row)
            rows = kept
        return rows

    def _check_unique(self, spec: TableSpec, rows: list[dict[str, Any]], counts: TableCounts) -> list[dict[str, Any]]:
        for attrs in spec.unique:
            claimed = self.claimed.setdefault((spec.model, attrs), {})
            cols = [getattr(spec.target, a) for a in attrs]
            values = {tuple(r[a] for a in attrs) for r in rows}
            key = tuple_(*cols) if len(cols) > 1 else cols[0]
            lookup = list(values) if len(cols) > 1 else [v[0] for v in values]
            here = {tuple(row[1:]): row[0] for row in db.session.execute(
                select(spec.target.id, *cols).where(key.in_(lookup)))} if lookup else {}
            kept = []
            for row in rows:
                value = tuple(row[a] for a in attrs)
                owner = claimed.get(value) or here.get(value)
                if owner is not None and owner != row["id"]:
                    counts.refuse(row["id"], f"{'+'.join(attrs)} already belongs to another {spec.model} here")
                    continue
                claimed[value] = row["id"]
                kept.append(row)
            rows = kept
        return rows

    def _classify(self, spec: TableSpec, rows: list[dict[str, Any]],
                  counts: TableCounts) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        attrs = [a.key for a in inspect(spec.target).column_attrs]
        existing = {}
        if rows:
            query = select(*(getattr(spec.target, a) for a in attrs)).where(spec.target.id.in_([r["id"] for r in rows]))
            existing = {row[0]: dict(zip(attrs, row, strict=True)) for row in db.session.execute(query)}
        inserts, updates = [], []
        for row in rows:
            old = existing.get(row["id"])
            if old is None:
                inserts.append(row)
                continue
            if spec.keep is not None:
                row = spec.keep(old, row)
            if _newer_here(old, row) or self._same(old, row):
                counts.unchanged += 1
                self.known[spec.model].add(row["id"])
            else:
                updates.append(row)
        return inserts, updates

    def _same(self, old: dict[str, Any], new: dict[str, Any]) -> bool:
        for attr, value in new.items():
            current = old.get(attr)
            if isinstance(value, Sealed):
                if current is None or self._open(current, value.as_json) != value.plaintext:
                    return False
            elif isinstance(value, datetime) or isinstance(current, datetime):
                if not same_instant(value, current):
                    return False
            elif value != current:
                return False
        return True

    def _open(self, stored: str, as_json: bool) -> str | None:
        try:
            return symmetric_decrypt(json.loads(stored) if as_json else stored, self.secret)
        except (DecryptionError, ValueError, TypeError):
            return None

    def _sealed(self, row: dict[str, Any]) -> dict[str, Any]:
        out = dict(row)
        for attr, value in row.items():
            if isinstance(value, Sealed):
                sealed = symmetric_encrypt(value.plaintext, self.secret)
                out[attr] = json.dumps(sealed) if value.as_json else sealed
        return out

    def _accept(self, spec: TableSpec, rows: list[dict[str, Any]]) -> None:
        self.known[spec.model].update(r["id"] for r in rows)

    def _write(self, spec: TableSpec, inserts: list[dict[str, Any]], updates: list[dict[str, Any]],
               counts: TableCounts) -> None:
        try:
            self._execute(spec, inserts, updates)
            db.session.commit()
        except (IntegrityError, DBAPIError):
            db.session.rollback()
            self._write_one_by_one(spec, inserts, updates, counts)
            return
        counts.imported += len(inserts)
        counts.updated += len(updates)
        self._accept(spec, inserts + updates)

    def _execute(self, spec: TableSpec, inserts: list[dict[str, Any]], updates: list[dict[str, Any]]) -> None:
        if inserts:
            db.session.execute(insert(spec.target), [self._sealed(r) for r in inserts])
        if updates:
            db.session.execute(update(spec.target), [self._sealed(r) for r in updates])
            if spec.on_update is not None:
                spec.on_update(updates)

    def _write_one_by_one(self, spec: TableSpec, inserts: list[dict[str, Any]], updates: list[dict[str, Any]],
                          counts: TableCounts) -> None:
        """A batch the database refused as a whole: row by row, so one bad row refuses only itself."""
        for rows, is_insert in ((inserts, True), (updates, False)):
            for row in rows:
                try:
                    self._execute(spec, [row] if is_insert else [], [] if is_insert else [row])
                    db.session.commit()
                except (IntegrityError, DBAPIError) as error:
                    db.session.rollback()
                    counts.refuse(row["id"], f"the database refused it: {str(error.orig).splitlines()[0][:200]}")
                    continue
                if is_insert:
                    counts.imported += 1
                else:
                    counts.updated += 1
                self._accept(spec, [row])

