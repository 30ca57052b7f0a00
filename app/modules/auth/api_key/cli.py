"""``flask auth keys``: list, revoke and purge API keys from the command line."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from app.extensions import db
from app.modules import audit_logger
from app.modules.auth.api_key.models import ApiKey
from app.modules.auth.api_key.service import delete_api_key, delete_expired_api_keys, find_key
from app.modules.auth.serializers import iso

keys_cli = AppGroup("keys", help="API keys: list, revoke, purge-expired.")


@keys_cli.command("list")
@click.option("--owner", "owner", default=None, help="Only the keys of this user or organization id.")
def list_command(owner: str | None) -> None:
    """One line per key: id, owner, start, name, enabled, expiry (never the key)."""
    query = select(ApiKey).order_by(ApiKey.created_at)
    if owner:
        query = query.where(ApiKey.reference_id == owner)
    rows = list(db.session.scalars(query))
    for row in rows:
        click.echo("\t".join([
            row.id, row.reference_id, row.start or "-", row.name or "-",
            "enabled" if row.enabled else "disabled", iso(row.expires_at) or "never",
        ]))
    click.echo(f"{len(rows)} key(s)", err=True)


@keys_cli.command("revoke")
@click.argument("key_id")
def revoke_command(key_id: str) -> None:
    """Delete the key KEY_ID: requests carrying it are refused from now on."""
    row = find_key(key_id)
    if row is None:
        raise click.ClickException(f"no API key with id {key_id!r}")
    owner = row.reference_id
    delete_api_key(row)
    audit_logger.log_async(actor_id=None, action="api_key.revoke", resource_type="api_key", resource_id=key_id,
                           details={"owner": owner, "via": "cli"})
    click.echo(f"revoked {key_id}")


@keys_cli.command("purge-expired")
def purge_expired_command() -> None:
    """Delete every expired key."""
    count = delete_expired_api_keys()
    click.echo(f"purged {count} expired key(s)")
