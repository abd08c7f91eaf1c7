"""Domain structs to table rows and back, for tables whose columns are the struct's fields.

Enums are stored by value; a :class:`~eltiketi_core.domain.money.Money` field is stored in
two columns, its own name (minor units) and ``currency``. Reading back goes through
``msgspec.convert``, so a row is checked against the struct's types as the struct is
built (about a microsecond a row). Tables that store a struct differently (orders and
bookings with their contact and items, the catalogue) keep their own mapping.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from functools import cache
from typing import Any, TypeVar

import msgspec

from eltiketi_core.domain.money import Money

S = TypeVar("S", bound=msgspec.Struct)

#: The column that holds the currency of a struct's one Money field.
CURRENCY = "currency"


def row_values(struct: msgspec.Struct) -> dict[str, Any]:
    """The struct as column values (the keys are the column names)."""
    values: dict[str, Any] = {}
    for name in struct.__struct_fields__:
        value = getattr(struct, name)
        if isinstance(value, Money):
            values[name], values[CURRENCY] = value.amount, value.currency
        else:
            values[name] = value.value if isinstance(value, Enum) else value
    return values


def bind_values(struct: msgspec.Struct) -> dict[str, Any]:
    """:func:`row_values` as the parameters of a statement that binds ``p_<column>``."""
    return {f"p_{name}": value for name, value in row_values(struct).items()}


def from_row(kind: type[S], row: Mapping[Any, Any]) -> S:
    """The struct back from a row written by :func:`row_values` (other columns ignored)."""
    values = dict(row)
    money = _money_field(kind)
    if money is not None:
        values[money] = Money(values[money], values.pop(CURRENCY))
    return msgspec.convert(values, kind)


@cache
def _money_field(kind: type[msgspec.Struct]) -> str | None:
    names = [f.name for f in msgspec.structs.fields(kind) if f.type is Money]
    if len(names) > 1:
        raise TypeError(f"{kind.__name__} has two Money fields and one currency column")
    return names[0] if names else None
