"""``flask auth users ...``: user administration for operators, without HTTP.

The same rules as the admin API (:mod:`.service`): roles must exist, a ban ends every session at
once, a new password ends the user's sessions. Each command is recorded in the audit log with no
actor and ``via: cli``. Errors print the API's message and exit with status 1.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click
from flask.cli import AppGroup
from sqlalchemy import select

from app.core.errors import ApiError
from app.extensions import db
from app.modules import audit_logger
from app.modules.auth.admin import service
from app.modules.auth.models import User

users_cli = AppGroup("users", help="Manage users (create, list, roles, bans, passwords).")
F = TypeVar("F", bound=Callable[..., Any])


def _api_errors(command: F) -> F:
    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ApiError as error:
            db.session.rollback()
            raise click.ClickException(f"{error.code}: {error.message}") from None

    return wrapper  # type: ignore[return-value]


def _audit(action: str, user: User, **details: Any) -> None:
    audit_logger.log_async(actor_id=None, action=action, resource_type="user", resource_id=user.id,
                           details={"via": "cli", **details})


@users_cli.command("create")
@click.argument("email")
@click.option("--name", help="Display name (default: the part of the email before @).")
@click.option("--role", default=None, help="Role(s), comma-separated; each must exist.")
@click.password_option(help="The password (prompted when not given).")
@_api_errors
def create(email: str, name: str | None, role: str | None, password: str) -> None:
    """Create a user with a password."""
    roles = service.role_value(role.split(",")) if role else None
    user = service.create_user(email=email, name=name or email.split("@")[0], password=password, role=roles)
    db.session.commit()
    _audit("admin.user.create", user, role=user.role)
    click.echo(f"created {user.email} ({user.id}) role={user.role}")


@users_cli.command("list")
@click.option("--search", default=None, help="Only emails containing this text.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10000))
def list_users(search: str | None, limit: int) -> None:
    """List users: id, email, role, banned."""
    statement = select(User).order_by(User.created_at, User.id).limit(limit)
    if search:
        statement = statement.where(User.email.contains(search.strip().lower(), autoescape=True))
    for user in db.session.scalars(statement):
        banned = "banned" if user.is_banned() else "-"
        click.echo(f"{user.id}\t{user.email}\t{user.role or ''}\t{banned}")


@users_cli.command("set-role")
@click.argument("email")
@click.argument("role")
@_api_errors
def set_role(email: str, role: str) -> None:
    """Set a user's role(s) (comma-separated); sessions follow the change at once."""
    user = service.find_user_by_email(email)
    value = service.role_value(role.split(","))
    old = user.role
    service.apply_role(user, value)
    db.session.commit()
    _audit("admin.user.set_role", user, old=old, new=value)
    click.echo(f"{user.email}: role={user.role}")


@users_cli.command("ban")
@click.argument("email")
@click.option("--reason", default=None)
@click.option("--expires-in", type=click.IntRange(min=1), default=None, help="Seconds until the ban ends.")
@_api_errors
def ban(email: str, reason: str | None, expires_in: int | None) -> None:
    """Ban a user: every session of theirs ends now."""
    user = service.find_user_by_email(email)
    service.ban(user, reason=reason, expires_in=expires_in)
    db.session.commit()
    _audit("admin.user.ban", user, expires_in=expires_in)
    click.echo(f"{user.email}: banned ({user.ban_reason})")


@users_cli.command("unban")
@click.argument("email")
@_api_errors
def unban(email: str) -> None:
    """Lift a user's ban."""
    user = service.find_user_by_email(email)
    service.unban(user)
    db.session.commit()
    _audit("admin.user.unban", user)
    click.echo(f"{user.email}: unbanned")


@users_cli.command("reset-password")
@click.argument("email")
@click.password_option(help="The new password (prompted when not given).")
@_api_errors
def reset_password(email: str, password: str) -> None:
    """Set a user's password; their sessions end."""
    user = service.find_user_by_email(email)
    service.set_password(user, password)
    db.session.commit()
    _audit("admin.user.set_password", user)
    click.echo(f"{user.email}: password set, sessions ended")
