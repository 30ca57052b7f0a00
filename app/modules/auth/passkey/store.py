"""Passkey rows: JSON in better-auth's shape, lookups, and the counter's compare-and-set."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from app.extensions import db
from app.modules.auth.passkey.models import Passkey
from app.modules.auth.serializers import iso


def passkey_json(passkey: Passkey) -> dict[str, Any]:
    return {
        "id": passkey.id,
        "name": passkey.name,
        "publicKey": passkey.public_key,
        "userId": passkey.user_id,
        "credentialID": passkey.credential_id,
        "counter": int(passkey.counter or 0),
        "deviceType": passkey.device_type,
        "backedUp": bool(passkey.backed_up),
        "transports": passkey.transports,
        "createdAt": iso(passkey.created_at),
        "aaguid": passkey.aaguid,
    }


def of_user(user_id: str) -> list[Passkey]:
    return list(db.session.scalars(select(Passkey).where(Passkey.user_id == user_id).order_by(Passkey.created_at)))


def by_credential_id(credential_id: str) -> Passkey | None:
    found: Passkey | None = db.session.scalar(select(Passkey).where(Passkey.credential_id == credential_id))
    return found


def advance(passkey: Passkey, new_counter: int, backed_up: bool) -> bool:
    """Store the counter seen in an assertion, unless another assertion already moved it (one
    statement: ``UPDATE ... WHERE counter = <the value this assertion was checked against>``)."""
    result = db.session.execute(
        update(Passkey)
        .where(Passkey.id == passkey.id, Passkey.counter == passkey.counter)
        .values(counter=new_counter, backed_up=backed_up)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)
