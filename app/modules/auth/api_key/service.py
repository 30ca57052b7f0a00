"""What the api-key plugin does, callable from routes, the CLI and application code.

``validate_key`` is better-auth's ``validateApiKey`` (lookup, enabled, expiry, permissions, quota,
rate limit: reference §11), ``verify_api_key`` its server-only ``verifyApiKey``, and
``create_api_key``/``update_api_key`` accept the server-only fields (quota, refill, rate limit,
permissions) that the HTTP routes refuse.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select

from app.core.errors import ApiError
from app.extensions import db
from app.modules.auth.access import Role
from app.modules.auth.api_key import usage
from app.modules.auth.api_key.errors import api_key_error
from app.modules.auth.api_key.keys import generate_key, hash_key, key_json, load_json
from app.modules.auth.api_key.models import ApiKey
from app.modules.auth.api_key.settings import ApiKeySettings, api_key_settings
from app.modules.auth.crypto import generate_id
from app.modules.auth.models import utcnow
from app.modules.auth.revocation import note

__all__ = [
    "KeyFields",
    "create_api_key",
    "delete_api_key",
    "delete_expired_api_keys",
    "find_key",
    "permits",
    "update_api_key",
    "validate_key",
    "verify_api_key",
]

_UNSET: Any = object()


def permits(stored: Any, required: Mapping[str, Sequence[str]]) -> bool:
    """better-auth ``role(keyPermissions).authorize(required)``: every action of every resource."""
    if not isinstance(stored, dict) or not required:
        return False
    grants = {str(k): frozenset(str(a) for a in v) for k, v in stored.items() if isinstance(v, list)}
    return Role("api-key", grants).authorize(required)


def _delete_row(row: ApiKey) -> None:
    note("K", [row.id])
    db.session.execute(delete(ApiKey).where(ApiKey.id == row.id))
    db.session.commit()
    usage.forget(row.id)


def validate_key(key: str, *, permissions: Mapping[str, Sequence[str]] | None = None) -> ApiKey:
    """The key's row after counting this use, or the ``ApiError`` better-auth answers."""
    settings = api_key_settings()
    if not key or len(key) < settings.key_length or len(key) > 512:
        raise api_key_error("INVALID_API_KEY")
    row: ApiKey | None = db.session.scalar(select(ApiKey).where(ApiKey.key == hash_key(key)))
    if row is None:
        raise api_key_error("INVALID_API_KEY")
    if not row.enabled:
        raise api_key_error("KEY_DISABLED")
    now = utcnow()
    if row.expires_at is not None and row.expires_at < now:
        _delete_row(row)
        raise api_key_error("KEY_EXPIRED")
    if permissions is not None and not permits(load_json(row.permissions), permissions):
        raise api_key_error("KEY_NOT_FOUND", status=401)
    if row.remaining == 0 and row.refill_amount is None and usage.exhausted(row):
        _delete_row(row)
        raise api_key_error("USAGE_EXCEEDED")
    db.session.expunge(row)  # counted values come back through RETURNING; the row may be gone after
    usage.consume(row, rate_limit_enabled=settings.rate_limit_enabled)
    return row


def verify_api_key(key: str, permissions: Mapping[str, Sequence[str]] | None = None) -> dict[str, Any]:
    """better-auth's server-only ``verifyApiKey``: ``{valid, error, key}``; counts one use."""
    try:
        row = validate_key(key, permissions=permissions)
    except ApiError as error:
        return {"valid": False, "error": {"message": error.message, "code": error.code}, "key": None}
    body = key_json(row)
    return {"valid": True, "error": None, "key": body}


def find_key(key_id: str) -> ApiKey | None:
    return db.session.get(ApiKey, key_id)


def delete_api_key(row: ApiKey) -> None:
    _delete_row(row)


def delete_expired_api_keys(now: datetime | None = None) -> int:
    """better-auth's ``deleteAllExpiredApiKeys``; returns how many went."""
    now = now or utcnow()
    expired = list(db.session.scalars(select(ApiKey.id).where(ApiKey.expires_at.is_not(None), ApiKey.expires_at < now)))
    if expired:
        note("K", expired)
        db.session.execute(delete(ApiKey).where(ApiKey.id.in_(expired)))
        db.session.commit()
        for key_id in expired:
            usage.forget(key_id)
    return len(expired)


@dataclass
class KeyFields:
    """Fields of create/update; ``_UNSET`` means "not given" (None is a value: clear it)."""

    name: Any = _UNSET
    prefix: Any = _UNSET
    expires_in: Any = _UNSET
    metadata: Any = _UNSET
    enabled: Any = _UNSET
    remaining: Any = _UNSET
    refill_amount: Any = _UNSET
    refill_interval: Any = _UNSET
    rate_limit_enabled: Any = _UNSET
    rate_limit_time_window: Any = _UNSET
    rate_limit_max: Any = _UNSET
    permissions: Any = _UNSET

    def given(self, name: str) -> bool:
        return getattr(self, name) is not _UNSET


def _check_name(settings: ApiKeySettings, name: str) -> None:
    if not settings.min_name_length <= len(name) <= settings.max_name_length:
        raise api_key_error("INVALID_NAME_LENGTH")


def _expires_at(settings: ApiKeySettings, expires_in: int | None) -> datetime | None:
    if expires_in is None:
        return None
    if settings.disable_custom_expires_time:
        raise api_key_error("KEY_DISABLED_EXPIRATION")
    days = expires_in / 86400
    if days < settings.min_expires_in_days:
        raise api_key_error("EXPIRES_IN_IS_TOO_SMALL")
    if days > settings.max_expires_in_days:
        raise api_key_error("EXPIRES_IN_IS_TOO_LARGE")
    return utcnow() + timedelta(seconds=expires_in)


def _check_refill(fields: KeyFields) -> None:
    amount = fields.refill_amount if fields.given("refill_amount") else None
    interval = fields.refill_interval if fields.given("refill_interval") else None
    if amount and not interval:
        raise api_key_error("REFILL_AMOUNT_AND_INTERVAL_REQUIRED")
    if interval and not amount:
        raise api_key_error("REFILL_INTERVAL_AND_AMOUNT_REQUIRED")


def create_api_key(reference_id: str, fields: KeyFields, *, config_id: str = "default") -> tuple[ApiKey, str]:
    """A new key (committed) and its plaintext, shown once."""
    settings = api_key_settings()
    metadata = fields.metadata if fields.given("metadata") else None
    if metadata:
        if not settings.enable_metadata:
            raise api_key_error("METADATA_DISABLED")
        if not isinstance(metadata, dict):
            raise api_key_error("INVALID_METADATA_TYPE")
    _check_refill(fields)
    expires_in = fields.expires_in if fields.given("expires_in") else None
    expires_at = _expires_at(settings, expires_in) if expires_in else None
    if expires_at is None and settings.default_expires_in:
        expires_at = utcnow() + timedelta(seconds=settings.default_expires_in)
    prefix = fields.prefix if fields.given("prefix") and fields.prefix else None
    if prefix is not None and not settings.min_prefix_length <= len(prefix) <= settings.max_prefix_length:
        raise api_key_error("INVALID_PREFIX_LENGTH")
    name = fields.name if fields.given("name") else None
    if name:
        _check_name(settings, name)
    elif settings.require_name:
        raise api_key_error("NAME_REQUIRED")
    prefix = prefix or settings.default_prefix
    plaintext = generate_key(settings.key_length, prefix)
    refill_amount = fields.refill_amount if fields.given("refill_amount") else None
    remaining = fields.remaining if fields.given("remaining") else None
    permissions = fields.permissions if fields.given("permissions") else None
    now = utcnow()
    row = ApiKey(
        id=generate_id(32),
        config_id=config_id,
        name=name,
        start=plaintext[: settings.start_length] if settings.start_length else None,
        reference_id=reference_id,
        prefix=prefix,
        key=hash_key(plaintext),
        refill_interval=fields.refill_interval if fields.given("refill_interval") else None,
        refill_amount=refill_amount,
        enabled=True,
        rate_limit_enabled=(
            fields.rate_limit_enabled if fields.given("rate_limit_enabled") else settings.rate_limit_enabled
        ),
        rate_limit_time_window=(
            fields.rate_limit_time_window if fields.given("rate_limit_time_window") else settings.rate_limit_time_window
        ),
        rate_limit_max=fields.rate_limit_max if fields.given("rate_limit_max") else settings.rate_limit_max,
        request_count=0,
        remaining=remaining if remaining is not None else refill_amount,
        expires_at=expires_at,
        created_at=now,
        updated_at=now,
        permissions=json.dumps(permissions) if permissions else None,
        meta=json.dumps(metadata) if metadata else None,
    )
    db.session.add(row)
    db.session.commit()
    return row, plaintext


def update_api_key(row: ApiKey, fields: KeyFields) -> ApiKey:
    """Apply the given fields (committed); 400 ``NO_VALUES_TO_UPDATE`` when none applies."""
    settings = api_key_settings()
    changed = False
    if fields.given("name") and fields.name is not None:
        _check_name(settings, fields.name)
        row.name = fields.name
        changed = True
    if fields.given("enabled") and fields.enabled is not None:
        row.enabled = bool(fields.enabled)
        changed = True
    if fields.given("expires_in"):
        if settings.disable_custom_expires_time:
            raise api_key_error("KEY_DISABLED_EXPIRATION")
        row.expires_at = _expires_at(settings, fields.expires_in)
        changed = True
    if fields.given("metadata") and settings.enable_metadata:
        if not isinstance(fields.metadata, dict):
            raise api_key_error("INVALID_METADATA_TYPE")
        row.meta = json.dumps(fields.metadata)
        changed = True
    if fields.given("remaining"):
        row.remaining = fields.remaining
        row.quota_lease = ApiKey.quota_lease + 1  # the lease in Redis held units of the old quota
        changed = True
    if fields.given("refill_amount") or fields.given("refill_interval"):
        if not fields.given("refill_interval"):
            raise api_key_error("REFILL_AMOUNT_AND_INTERVAL_REQUIRED")
        if not fields.given("refill_amount"):
            raise api_key_error("REFILL_INTERVAL_AND_AMOUNT_REQUIRED")
        row.refill_amount, row.refill_interval = fields.refill_amount, fields.refill_interval
        changed = True
    for name in ("rate_limit_enabled", "rate_limit_time_window", "rate_limit_max"):
        if fields.given(name):
            setattr(row, name, getattr(fields, name))
            changed = True
    if fields.given("permissions"):
        row.permissions = json.dumps(fields.permissions) if fields.permissions is not None else None
        changed = True
    if not changed:
        raise api_key_error("NO_VALUES_TO_UPDATE")
    row.updated_at = utcnow()
    note("K", [row.id])  # copies of the key in every process's memory stop answering
    db.session.commit()
    return row


def list_keys(
    reference_id: str,
    *,
    organization_keys: bool,
    config_id: str | None,
    sort_column: Any,
    descending: bool,
    limit: int | None,
    offset: int | None,
) -> tuple[list[ApiKey], int]:
    """The reference's keys (user-owned or organization-owned), paginated, and their total."""
    org_config = api_key_settings().organization_config_id
    query = select(ApiKey).where(ApiKey.reference_id == reference_id)
    if organization_keys:
        query = query.where(ApiKey.config_id == org_config)
    else:
        query = query.where(ApiKey.config_id != org_config)
    if config_id:
        query = query.where(ApiKey.config_id == config_id)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    order = sort_column.desc() if descending else sort_column.asc()
    query = query.order_by(order, ApiKey.id)
    if offset:
        query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list(db.session.scalars(query)), int(total)
