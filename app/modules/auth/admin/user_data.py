"""The user fields an admin may set through ``data`` (create-user, update-user), typed and checked.

Only known fields are accepted (OWASP Mass Assignment Cheat Sheet: an allow-list, so ``id``,
``twoFactorEnabled`` or a password can never be written this way); each value is checked for type.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Boolean, ColumnElement
from sqlalchemy.orm import InstrumentedAttribute

from app.core.errors import ApiError
from app.modules.auth.models import User
from app.modules.auth.serializers import parse_iso

#: better-auth field name → (model attribute, kind); kinds: str, str?, bool, date?
FIELDS: dict[str, tuple[str, str]] = {
    "name": ("name", "str"),
    "email": ("email", "str"),
    "emailVerified": ("email_verified", "bool"),
    "image": ("image", "str?"),
    "firstname": ("firstname", "str?"),
    "lastname": ("lastname", "str?"),
    "bio": ("bio", "str?"),
    "role": ("role", "role"),
    "banned": ("banned", "bool"),
    "banReason": ("ban_reason", "str?"),
    "banExpires": ("ban_expires", "date?"),
}
BAN_FIELDS = frozenset({"banned", "banReason", "banExpires"})
EMAIL_FIELDS = frozenset({"email", "emailVerified"})

#: Columns list-users may search, filter and sort on.
COLUMNS: dict[str, InstrumentedAttribute[Any]] = {
    "id": User.id,
    "name": User.name,
    "email": User.email,
    "emailVerified": User.email_verified,
    "image": User.image,
    "role": User.role,
    "banned": User.banned,
    "banReason": User.ban_reason,
    "banExpires": User.ban_expires,
    "twoFactorEnabled": User.two_factor_enabled,
    "createdAt": User.created_at,
    "updatedAt": User.updated_at,
    "firstname": User.firstname,
    "lastname": User.lastname,
    "bio": User.bio,
}


def _invalid(field: str, expected: str) -> ApiError:
    return ApiError(400, "VALIDATION_ERROR", f"[body.data.{field}] Invalid input: expected {expected}")


def coerce(field: str, value: Any) -> Any:
    """The model value of ``data[field]``; 400 for unknown fields or wrong types."""
    if field not in FIELDS:
        raise ApiError(400, "FIELD_NOT_ALLOWED", f"The field {field} can not be set")
    kind = FIELDS[field][1]
    if kind == "role":
        return value
    if kind.endswith("?") and value is None:
        return None
    if kind.startswith("str"):
        if not isinstance(value, str) or len(value) > _max_length(FIELDS[field][0]):
            raise _invalid(field, "string")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise _invalid(field, "boolean")
        return value
    if isinstance(value, str):
        try:
            parsed = parse_iso(value)
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return parsed
    if isinstance(value, int | float) and not isinstance(value, bool):
        from datetime import UTC

        try:
            return datetime.fromtimestamp(value / 1000, UTC)
        except (OverflowError, OSError, ValueError):
            raise _invalid(field, "date") from None
    raise _invalid(field, "date")


def _max_length(attribute: str) -> int:
    """The column's own bound (``varchar(255)``), or the API's for unbounded text."""
    length = getattr(getattr(User, attribute).property.columns[0].type, "length", None)
    return int(length) if length else 5000


def filter_value(column: InstrumentedAttribute[Any], raw: str) -> Any:
    """A query-string value typed for its column (``true``/``false`` for booleans, ISO for dates)."""
    if isinstance(column.type, Boolean):
        if raw.lower() not in ("true", "false"):
            raise ApiError(400, "VALIDATION_ERROR", "[query.filterValue] Invalid input: expected boolean")
        return raw.lower() == "true"
    if column.key in ("created_at", "updated_at", "ban_expires"):
        try:
            parsed = parse_iso(raw)
            # A date without a zone means UTC, as every date this API answers.
            return parsed.replace(tzinfo=UTC) if parsed is not None and parsed.tzinfo is None else parsed
        except (ValueError, OverflowError):
            raise ApiError(400, "VALIDATION_ERROR", "[query.filterValue] Invalid input: expected date") from None
    return raw


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def condition(column: InstrumentedAttribute[Any], operator: str, raw: str) -> ColumnElement[bool]:
    """A WHERE clause as better-auth's adapters build one (text matches are case-insensitive here)."""
    if operator in ("contains", "starts_with", "ends_with"):
        text = _like_escape(raw)
        pattern = {"contains": f"%{text}%", "starts_with": f"{text}%", "ends_with": f"%{text}"}[operator]
        return column.ilike(pattern, escape="\\")
    if operator in ("in", "not_in"):
        values = [filter_value(column, part.strip()) for part in raw.split(",") if part.strip()]
        return column.in_(values) if operator == "in" else column.not_in(values)
    value = filter_value(column, raw)
    clauses: dict[str, ColumnElement[bool]] = {
        "eq": column == value,
        "ne": column != value,
        "lt": column < value,
        "lte": column <= value,
        "gt": column > value,
        "gte": column >= value,
    }
    return clauses[operator]
