"""Extension singletons, created unbound; ``create_app`` binds them with ``init_app``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, MetaData, Table, event
from sqlalchemy.engine import CursorResult, Dialect, Engine, Result
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so that Alembic migrations are the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)

if TYPE_CHECKING:
    from flask_sqlalchemy.model import Model as _FlaskModel

    class Model(_FlaskModel, Base):
        """The static face of ``db.Model``.

        Flask-SQLAlchemy builds ``db.Model`` at run time (its mixins on ``Base``'s body), so a
        type checker cannot see it as a class; this declares, once, what it is. Every model here
        is declarative with a ``__tablename__``, so its ``__table__`` is a :class:`Table`.
        """

        __table__: ClassVar[Table]

else:
    Model = db.Model


def rows_matched(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE matched: ``Session.execute`` is typed to return a ``Result``, and
    for those statements it is a :class:`CursorResult`, which carries the count."""
    if not isinstance(result, CursorResult):
        raise TypeError(f"{type(result).__name__} has no row count: not the result of an UPDATE or DELETE")
    return result.rowcount


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no time zone, so we put it back).

    A naive datetime is refused: which zone it meant is unknowable, and guessing is how audit
    trails and expiries drift.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use datetime.now(UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
migrate = Migrate(render_as_batch=True, compare_type=True)


def _module_migrations(config: Any) -> Any:
    """Each module's migrations live in its folder (:mod:`app.core.migrations`)."""
    from app.core.migrations import configure_alembic

    return configure_alembic(config)


migrate.configure_callbacks.append(_module_migrations)


@event.listens_for(Engine, "connect")
def _sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    """SQLite enforces foreign keys (and their ON DELETE CASCADE) only when asked, per connection."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
