"""``flask audit``: export, prune and verify the audit log."""

from __future__ import annotations

import csv
import json
import sys
from datetime import UTC, datetime
from typing import IO, Any

import click
from flask import current_app
from flask.cli import AppGroup

from app.extensions import db
from app.modules.audit.query import Filters, oldest_first, to_json
from app.modules.audit.retention import prune
from app.modules.audit.settings import ENV_PREFIX, AuditSettings
from app.modules.audit.verify import verify_chain

audit_cli = AppGroup("audit", help="Export, prune and verify the audit log.")

CSV_COLUMNS = (
    "id actorId action resourceType resourceId details organizationId ip userAgent requestId createdAt prevHash hash"
).split()


class IsoDateTime(click.ParamType):  # type: ignore[type-arg]
    """An ISO 8601 instant; without an offset it is taken as UTC."""

    name = "datetime"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            self.fail(f"{value!r} is not an ISO 8601 date or date-time", param, ctx)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def _write_csv(out: IO[str], entry: dict[str, Any], writer: Any) -> None:
    entry["details"] = json.dumps(entry["details"], ensure_ascii=False) if entry["details"] is not None else ""
    writer.writerow(entry)


@audit_cli.command("export")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
@click.option("--output", "-o", type=click.File("w", encoding="utf-8", lazy=True), default="-", help="- is stdout")
@click.option("--actor", "actor_id")
@click.option("--action")
@click.option("--resource-type")
@click.option("--resource-id")
@click.option("--organization", "organization_id")
@click.option("--after", type=IsoDateTime(), help="Only entries created after this instant")
@click.option("--before", type=IsoDateTime(), help="Only entries created before this instant")
def export_command(fmt: str, output: IO[str], **filters: Any) -> None:
    """Stream matching entries, oldest first, as JSON lines or CSV; progress goes to stderr."""
    chosen = Filters(**filters)
    with db.engine.connect() as conn:
        from sqlalchemy import func, select

        from app.modules.audit.chain import table

        total = conn.execute(select(func.count()).select_from(table).where(*chosen.clauses())).scalar() or 0
        writer = csv.DictWriter(output, fieldnames=CSV_COLUMNS) if fmt == "csv" else None
        if writer is not None:
            writer.writeheader()
        with click.progressbar(length=total, label="exporting", file=sys.stderr, show_pos=True) as bar:
            for row in oldest_first(conn, chosen):
                entry = to_json(row)
                if writer is not None:
                    _write_csv(output, entry, writer)
                else:
                    output.write(json.dumps(entry, ensure_ascii=False) + "\n")
                bar.update(1)
    output.flush()
    click.echo(f"exported {total} entries", err=True)


@audit_cli.command("prune")
@click.option("--older-than", type=click.IntRange(min=1), help=f"Days; default {ENV_PREFIX}RETENTION_DAYS")
def prune_command(older_than: int | None) -> None:
    """Delete entries older than the retention period, keeping the chain verifiable."""
    settings: AuditSettings = current_app.extensions["audit"].settings
    days = older_than or settings.retention_days
    if days is None:
        raise click.UsageError(f"give --older-than DAYS or set {ENV_PREFIX}RETENTION_DAYS")
    result = prune(db.engine, days)
    click.echo(f"deleted {result.deleted} entries created before {result.cutoff.isoformat()}")


@audit_cli.command("verify")
def verify_command() -> None:
    """Walk the hash chain; exit 1 naming the first entry altered, removed or inserted."""
    with db.engine.connect() as conn:
        result = verify_chain(conn)
    if not result.ok:
        click.echo(f"audit chain broken after {result.checked} good entries: {result.problem}", err=True)
        sys.exit(1)
    click.echo(f"audit chain intact: {result.checked} entries, last hash {result.last_hash}")
