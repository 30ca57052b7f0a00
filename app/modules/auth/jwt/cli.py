"""``flask auth jwks``: rotate the signing key, list the key set."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup
from sqlalchemy import select

from app.extensions import db
from app.modules import audit_logger
from app.modules.auth.jwt.keys import KeyUnreadableError, current_kid, private_jwk, rotate
from app.modules.auth.jwt.models import Jwks
from app.modules.auth.jwt.tokens import forget_keys
from app.modules.auth.serializers import iso

jwks_cli = AppGroup("jwks", help="The JWT signing keys: rotate, list.")


@jwks_cli.command("rotate")
def rotate_command() -> None:
    """New tokens are signed with a new key; the old one stays in /jwks for the grace period.

    Also the recovery after AUTH__SECRET changed: the new key is encrypted with the current secret.
    """
    before = current_kid()
    row = rotate(before)
    forget_keys()
    if row is None:
        click.echo(f"another process rotated first; the signing key is now {current_kid()}")
        return
    audit_logger.log_async(actor_id=None, action="jwks.rotate", resource_type="jwks", resource_id=row.id,
                           details={"retired": before, "alg": row.alg, "via": "cli"})
    click.echo(f"rotated: new signing key {row.id} ({row.alg})" + (f", retired {before}" if before else ""))


@jwks_cli.command("list")
def list_command() -> None:
    """One line per key: kid, alg, created, expires, and whether the current secret opens it."""
    for row in db.session.scalars(select(Jwks).order_by(Jwks.created_at)):
        try:
            private_jwk(row)
            readable = "readable"
        except KeyUnreadableError:
            readable = "UNREADABLE"
        click.echo("\t".join([row.id, row.alg or "EdDSA", iso(row.created_at) or "-",
                              iso(row.expires_at) or "never", readable, json.loads(row.public_key).get("kty", "?")]))
