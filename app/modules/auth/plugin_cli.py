"""Plugin commands live under the module's group: ``flask auth users``, ``flask auth keys``, ``flask auth jwks``.

The former top-level names (``flask users`` ...) stay as hidden aliases, so scripts written for
them keep working; ``flask --help`` lists only ``auth``.
"""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup


def register_plugin_cli(app: Flask, group: click.Group) -> None:
    """Add a plugin's command group under ``flask auth``, and its old top-level name, hidden."""
    from app.modules.auth.cli import auth_cli

    if group.name is None:
        raise ValueError("a plugin's command group needs a name")
    auth_cli.add_command(group)
    alias = AppGroup(group.name, help=group.help, hidden=True)
    alias.commands = group.commands  # the same commands, one definition
    app.cli.add_command(alias)
