"""``flask auth import better-auth SOURCE_URL``: the command, its options and its report."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from app.modules import audit_logger
from app.modules.auth.importer.report import render, summary
from app.modules.auth.importer.runner import Runner
from app.modules.auth.importer.secrets import BetterAuthKeys, parse_versioned
from app.modules.auth.importer.source import MODELS, Mapping, Source, SourceError
from app.modules.auth.importer.spec import Context
from app.modules.auth.models import utcnow

import_cli = AppGroup("import", help="Import users and their data from another auth system.")


@contextmanager
def _bar(label: str, length: int) -> Iterator[Any]:
    with click.progressbar(length=length, label=f"{label:<13}", file=sys.stderr, show_pos=True) as bar:
        yield bar


def _redacted(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):  # unparsable (or a port not a number): refused later, with its own message
        return "<unparsable URL>"


@import_cli.command("better-auth")
@click.argument("source_url", envvar="BETTER_AUTH_DATABASE_URL")
@click.option("--better-auth-secret", envvar="BETTER_AUTH_SECRET", default=None,
              help="better-auth's secret (default: $BETTER_AUTH_SECRET): opens its encrypted 2FA secrets, "
                   "backup codes, JWKS private keys and OAuth tokens.")
@click.option("--better-auth-secrets", envvar="BETTER_AUTH_SECRETS", default=None,
              help='Versioned secrets, "2:new,1:old" (default: $BETTER_AUTH_SECRETS).')
@click.option("--table-prefix", default="", help="Prefix of the better-auth table names in the source.")
@click.option("--mapping", "mapping_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help='JSON file: {"tables": {model: table}, "columns": {model: {field: column}}}.')
@click.option("--batch-size", default=1000, show_default=True, type=click.IntRange(1, 10_000),
              help="Rows per transaction (SQLite binds at most 32766 values per statement).")
@click.option("--only", multiple=True, type=click.Choice(MODELS), help="Import only these models (repeatable).")
@click.option("--plain-oauth-tokens", is_flag=True,
              help="better-auth stored OAuth tokens in clear (no encryptOAuthTokens): never try to decrypt them.")
@click.option("--dry-run", is_flag=True, help="Check and count everything, write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON instead of a table.")
def import_better_auth(source_url: str, better_auth_secret: str | None, better_auth_secrets: str | None,
                       table_prefix: str, mapping_file: Path | None, batch_size: int, only: tuple[str, ...],
                       plain_oauth_tokens: bool, dry_run: bool, as_json: bool) -> None:
    """Import a better-auth 1.x database from SOURCE_URL (postgresql://, mysql://, sqlite:///path).

    Users keep their passwords, sessions, second factors, organizations, API keys and JWT keys.
    Safe to re-run: rows already here are updated, never duplicated. Exit status 1 when rows
    were refused (the report says which and why), 2 when the source cannot be read.
    """
    try:
        versioned = parse_versioned(better_auth_secrets or "")
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--better-auth-secrets") from None
    keys = BetterAuthKeys(secret=better_auth_secret or None, versioned=versioned)
    if not keys.usable:
        click.echo("warning: no better-auth secret given: encrypted secrets will be refused", err=True)
    our_secret: str = current_app.config["SETTINGS"].auth.secret or ""
    try:
        source = Source(source_url, Mapping.load(mapping_file, table_prefix))
    except SourceError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(2)
    ctx = Context(keys=keys, now=utcnow(), plain_oauth_tokens=plain_oauth_tokens)
    runner = Runner(source, ctx, our_secret, batch_size=batch_size, dry_run=dry_run, progress=_bar)
    try:
        report = runner.run(only or None)
    finally:
        source.close()
    counts = summary(report)
    if dry_run:
        click.echo("dry run: nothing was written", err=True)
    else:
        audit_logger.log(actor_id=None, action="auth.import", resource_type="database",
                         resource_id=None, details={"source": _redacted(source_url), "tables": counts})
    click.echo(json.dumps(counts, indent=2) if as_json else render(report, dry_run=dry_run))
    if any(c.refused for c in report.values()):
        sys.exit(1)
