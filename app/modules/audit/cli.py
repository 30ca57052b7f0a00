"""``flask audit``: export, prune and verify the audit log."""

from __future__ import annotations

import csv
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import click
from flask import current_app
from flask.cli import AppGroup

from app.extensions import db
from app.modules.audit.anchor import InvalidAnchor, check_anchor, load_anchor, make_anchor
from app.modules.audit.delivery import post_json, write_atomically
from app.modules.audit.keys import Keyring
from app.modules.audit.query import Filters, oldest_first, to_json
from app.modules.audit.retention import prune
from app.modules.audit.settings import ENV_PREFIX, AuditSettings
from app.modules.audit.verify import verify_chain

audit_cli = AppGroup("audit", help="Export, prune, anchor and verify the audit log.")

CSV_COLUMNS = (
    "id actorId action resourceType resourceId details organizationId ip userAgent requestId createdAt prevHash hash"
).split()


class IsoDateTime(click.ParamType[datetime, Any]):
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
    result = prune(db.engine, days, _keyring())
    click.echo(f"deleted {result.deleted} entries created before {result.cutoff.isoformat()}")


def _keyring() -> Keyring:
    keyring: Keyring = current_app.extensions["audit"].keyring
    return keyring


@audit_cli.command("verify")
@click.option("--anchor", "anchor_file", type=click.File("r", encoding="utf-8"),
              help="An anchor from `flask audit anchor`: also fail when its entry was removed or rewritten")
def verify_command(anchor_file: IO[str] | None) -> None:
    """Walk the hash chain; exit 1 naming the first entry altered, removed or inserted."""
    keyring = _keyring()
    try:
        anchor = load_anchor(anchor_file.read(), keyring) if anchor_file is not None else None
    except InvalidAnchor as error:
        click.echo(f"audit anchor rejected: {error}", err=True)
        sys.exit(1)
    with db.engine.connect() as conn:
        result = verify_chain(conn, keyring, current_app.extensions["audit"].settings.legacy_until)
        problem = check_anchor(conn, anchor) if anchor is not None and result.ok else None
    if not result.ok:
        click.echo(f"audit chain broken after {result.checked} good entries: {result.problem}", err=True)
        sys.exit(1)
    if problem:
        click.echo(f"audit chain does not match the anchor: {problem}", err=True)
        sys.exit(1)
    legacy = f" ({result.legacy} legacy unkeyed entries first)" if result.legacy else ""
    anchored = f"; anchor of {anchor['time']} (entry {anchor['sequence']}) matches" if anchor else ""
    click.echo(f"audit chain intact: {result.checked} entries{legacy}, last hash {result.last_hash}{anchored}")


@audit_cli.command("anchor")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), help="Write the anchor to this file")
@click.option("--url", help="POST the anchor as JSON to this URL (http or https)")
def anchor_command(output: str | None, url: str | None) -> None:
    """Print (or write, or POST) a signed checkpoint of the chain's head, to keep outside the database."""
    keyring = _keyring()
    with db.engine.connect() as conn:
        anchor = make_anchor(conn, keyring)
    text = json.dumps(anchor, sort_keys=True) + "\n"
    if output:
        write_atomically(Path(output), text)
        click.echo(f"anchor of entry {anchor['sequence']} written to {output}", err=True)
    if url:
        post_json(url, text)
        click.echo(f"anchor of entry {anchor['sequence']} posted to {url}", err=True)
    if not output and not url:
        click.echo(text, nl=False)
