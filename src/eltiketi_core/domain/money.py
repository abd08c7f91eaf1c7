"""Money as integer minor units plus an ISO 4217 currency: no floats ever touch a price."""

from __future__ import annotations

import re
from typing import Self

import msgspec

from eltiketi_core.errors import ValidationFailed

_CURRENCY = re.compile(r"^[A-Z]{3}$")


class Money(msgspec.Struct, frozen=True):
    """An amount in minor units (cents for EUR) of one currency."""

    amount: int
    currency: str

    def __post_init__(self) -> None:
        if not _CURRENCY.match(self.currency):
            raise ValidationFailed(
                "invalid_currency", f"currency must be an ISO 4217 code, got {self.currency!r}"
            )

    @classmethod
    def zero(cls, currency: str) -> Self:
        return cls(0, currency)

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __mul__(self, factor: int) -> Money:
        return Money(self.amount * factor, self.currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValidationFailed(
                "currency_mismatch", f"cannot combine {self.currency} with {other.currency}"
            )
