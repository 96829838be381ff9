"""What every table shares: the declarative base, aware UTC datetimes, closed sets of strings."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    DateTime,
    Enum,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase


class UtcDateTime(TypeDecorator[datetime]):
    """Store UTC; give back aware datetimes (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:  # noqa: ARG002
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; pass an aware one")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:  # noqa: ARG002
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime()}


def closed_set(members: type[enum.StrEnum], length: int) -> Enum:
    """The column type of a closed set of strings: its values in a VARCHAR(length)."""
    # Non-native, so both databases keep the VARCHAR the column always had: no PostgreSQL
    # ENUM type to create, alter or drop, and rows written before read back as members.
    # No CHECK constraint, so a new member needs no table rebuild on SQLite; instead an
    # unknown value is refused on write (validate_strings) and on read (LookupError).
    # The values are stored, not the member names, so a row still reads "open", "P2".
    return Enum(
        members,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )
