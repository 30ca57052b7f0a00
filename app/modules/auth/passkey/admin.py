"""Admins over other users' passkeys: list and remove them, by API and by CLI.

A lost or stolen authenticator is an incident an operator must be able to close without the user
(OWASP Authentication Cheat Sheet, account recovery): removing a passkey also ends the user's
sessions, since one of them may have been opened with it.

- ``GET /api/v1/auth/admin/list-user-passkeys?userId=`` (permission ``user:get``)
- ``POST /api/v1/auth/admin/remove-user-passkey {userId, passkeyId?}`` (``user:update``; no
  ``passkeyId``: all of them)
- ``flask auth passkeys list EMAIL`` / ``flask auth passkeys remove EMAIL [--id ID | --all]``
"""

from __future__ import annotations

import click
from flask.cli import AppGroup
from flask.typing import ResponseReturnValue
from sqlalchemy import delete, select

from app.core.api import endpoint
from app.core.errors import ApiError
from app.extensions import db
from app.modules import audit_logger
from app.modules.auth.admin.routes_users import authorize, forbidden
from app.modules.auth.cli import auth_cli
from app.modules.auth.models import User
from app.modules.auth.passkey import schemas as s
from app.modules.auth.passkey import store
from app.modules.auth.passkey.models import Passkey
from app.modules.auth.passkey.settings import PasskeySettings
from app.modules.auth.passwordless import require_enabled
from app.modules.auth.routes.common import bp, json_response, require_session, session_guard
from app.modules.auth.sessions import revoke_user_sessions

TAGS = ["Admin"]
LIST = forbidden("YOU_ARE_NOT_ALLOWED_TO_GET_USER", "You are not allowed to get user")
REMOVE = forbidden("YOU_ARE_NOT_ALLOWED_TO_UPDATE_USERS", "You are not allowed to update users")


def remove_passkeys(user_id: str, passkey_id: str | None, *, actor_id: str | None, via: str) -> int:
    """Delete one passkey (or all) of ``user_id`` and end the user's sessions; the count removed."""
    query = delete(Passkey).where(Passkey.user_id == user_id)
    if passkey_id is not None:
        query = query.where(Passkey.id == passkey_id)
    removed = int(getattr(db.session.execute(query), "rowcount", 0) or 0)
    if removed:
        revoke_user_sessions(user_id)
    db.session.commit()
    if removed:
        audit_logger.log_async(
            actor_id=actor_id,
            action="admin.passkey.removed",
            resource_type="user",
            resource_id=user_id,
            details={"passkeyId": passkey_id, "count": removed, "via": via},
        )
    return removed


@bp.get("/admin/list-user-passkeys", endpoint="admin_list_user_passkeys")
@endpoint(
    summary="A user's passkeys (admin)",
    tags=TAGS,
    query=s.AdminUserPasskeysQuery,
    response=list[s.PasskeyOut],
    responses={403: "Not allowed"},
)
@session_guard(check=lambda **_: (require_enabled(PasskeySettings), require_session()))
def admin_list_user_passkeys(query: s.AdminUserPasskeysQuery) -> ResponseReturnValue:
    require_enabled(PasskeySettings)
    authorize({"user": ["get"]}, LIST)
    return json_response([store.passkey_json(p) for p in store.of_user(query.user_id)])


@bp.post("/admin/remove-user-passkey", endpoint="admin_remove_user_passkey")
@endpoint(
    summary="Remove a user's passkey (all without passkeyId); the user's sessions end (admin)",
    tags=TAGS,
    body=s.AdminRemovePasskeyBody,
    response=s.RemovedOut,
    responses={403: "Not allowed", 404: "Passkey not found"},
)
@session_guard(check=lambda **_: (require_enabled(PasskeySettings), require_session()))
def admin_remove_user_passkey(body: s.AdminRemovePasskeyBody) -> ResponseReturnValue:
    require_enabled(PasskeySettings)
    _, actor = authorize({"user": ["update"]}, REMOVE)
    removed = remove_passkeys(body.user_id, body.passkey_id, actor_id=actor.id, via="api")
    if body.passkey_id is not None and not removed:
        raise ApiError(404, "PASSKEY_NOT_FOUND", "Passkey not found")
    return json_response({"success": True, "removed": removed})


passkeys_cli = AppGroup("passkeys", help="List and remove users' passkeys.")
auth_cli.add_command(passkeys_cli)


def _user(email: str) -> User:
    user: User | None = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"no user with email {email}")
    return user


@passkeys_cli.command("list")
@click.argument("email")
def list_command(email: str) -> None:
    """Print the passkeys of the user EMAIL, one per line."""
    for passkey in store.of_user(_user(email).id):
        created = passkey.created_at.isoformat() if passkey.created_at else "-"
        click.echo(f"{passkey.id}\t{passkey.name or '-'}\t{passkey.device_type}\t{passkey.aaguid or '-'}\t{created}")


@passkeys_cli.command("remove")
@click.argument("email")
@click.option("--id", "passkey_id", help="The passkey to remove.")
@click.option("--all", "remove_all", is_flag=True, help="Remove every passkey of the user.")
def remove_command(email: str, passkey_id: str | None, remove_all: bool) -> None:
    """Remove a passkey (--id) or all of them (--all) of the user EMAIL; their sessions end."""
    if bool(passkey_id) == remove_all:
        raise click.UsageError("give either --id or --all")
    removed = remove_passkeys(_user(email).id, passkey_id, actor_id=None, via="cli")
    if passkey_id and not removed:
        raise click.ClickException(f"no passkey {passkey_id} for {email}")
    click.echo(f"removed {removed} passkey(s)")
