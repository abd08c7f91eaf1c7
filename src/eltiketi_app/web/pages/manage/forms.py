"""Reading the back office's forms: text fields into the values the use cases take.

Only the conversion of what a person typed lives here — a price as ``12.50`` or
``12,50``, a date and time at the venue, a whole number. The bounds are the REST
API's own (the request structs of :mod:`eltiketi_app.http.schemas`, checked with
``msgspec.convert``), and every rule (a sale window that ends before it starts, a
capacity below what is sold, a currency that can no longer change) is the core's:
its error ``code`` comes back here only to be shown at the field it is about.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import msgspec
from babel.numbers import get_currency_precision, get_decimal_symbol

from eltiketi_app.web.i18n import N_, Lang
from eltiketi_core.domain.money import Money
from eltiketi_core.errors import DomainError

S = TypeVar("S")

#: A price as people type it: digits, then at most one decimal separator (``.`` or ``,``).
_PRICE = re.compile(r"^\d{1,13}(?:[.,]\d{1,3})?$")
_WHOLE = re.compile(r"^\d{1,12}$")
_LOCAL_MOMENT = "%Y-%m-%dT%H:%M"
_FIELD_PATH = re.compile(r"at `\$\.(\w+)")

#: What to say at each field when it is refused (the REST bounds, or the core's rule).
FIELD_MESSAGES: dict[str, str] = {
    "name": N_("Enter a name of at most 300 characters, on one line"),
    "venue": N_("Enter a venue of at most 300 characters, on one line"),
    "starts_at": N_("Enter the date and time the event starts"),
    "timezone": N_("Choose the time zone of the venue"),
    "locale": N_("Enter a language tag such as en or nl-NL"),
    "currency": N_("Enter a currency code such as EUR"),
    "description": N_("Enter a description of at most 5,000 characters"),
    "price": N_("Enter a price such as 12.50, without the currency sign"),
    "capacity": N_("Enter the number of tickets, 0 or more"),
    "max_per_booking": N_("Enter a whole number from 1 to 10,000"),
    "shards": N_("Enter a whole number from 1 to 256"),
    "sales_start": N_("Enter a date and time, or leave it empty"),
    "sales_end": N_("Enter a date and time, or leave it empty"),
    "email": N_("Enter an e-mail address like name@example.com"),
    "role": N_("Choose a role"),
    "q": N_("Enter at most 320 characters"),
}

#: What to say at a field left empty that needs a value.
EMPTY_MESSAGES: dict[str, str] = {
    "name": N_("Enter a name"),
    "price": N_("Enter a price, 0 for free tickets"),
    "capacity": N_("Enter how many tickets there are"),
    "email": N_("Enter an e-mail address"),
}

#: Sentences for the core's codes where the field's own sentence would not explain it.
CODE_MESSAGES: dict[str, str] = {
    "currency_locked": N_("The currency cannot change once the event has ticket types"),
    "capacity_below_sold": N_(
        "The capacity cannot go below the %(minimum)s tickets already held or sold"
    ),
    "invalid_sale_window": N_("Sales must end after they start"),
    "invalid_price": N_("A price cannot be negative"),
    "currency_mismatch": N_("Enter the price in the event's currency"),
    "invalid_email": N_("Enter one e-mail address like name@example.com"),
}

#: Which field of the event form a core code is about.
EVENT_FIELDS = {
    "invalid_name": "name",
    "invalid_venue": "venue",
    "invalid_timezone": "timezone",
    "naive_datetime": "starts_at",
    "invalid_currency": "currency",
    "currency_locked": "currency",
    "description_too_long": "description",
}

#: Which field of the ticket-type form a core code is about.
TICKET_TYPE_FIELDS = {
    "invalid_name": "name",
    "invalid_price": "price",
    "currency_mismatch": "price",
    "invalid_currency": "price",
    "invalid_capacity": "capacity",
    "capacity_below_sold": "capacity",
    "invalid_limit": "max_per_booking",
    "invalid_shards": "shards",
    "invalid_sale_window": "sales_end",
    "naive_datetime": "sales_start",
}


class FieldError(msgspec.Struct, frozen=True):
    """One refused field: its ``id`` in the form and the sentence shown there and in the
    error summary at the top of the page."""

    field: str
    text: str


@cache
def timezones() -> tuple[str, ...]:
    """The IANA zones a venue can be in, for the form's list (no ``posix/`` or ``Etc/``)."""
    names = {
        zone
        for zone in available_timezones()
        if "/" in zone and not zone.startswith(("posix/", "right/", "Etc/", "SystemV/"))
    }
    return ("UTC", *sorted(names))


class Form:
    """The submitted fields of one form, and what was wrong with them."""

    def __init__(self, values: Mapping[str, Any], lang: Lang) -> None:
        self.values = {key: str(value).strip() for key, value in values.items()}
        self.errors: list[FieldError] = []
        self._lang = lang

    def __getitem__(self, field: str) -> str:
        return self.values.get(field, "")

    def refuse(self, field: str, message: str | None = None, **values: object) -> None:
        """Mark ``field`` wrong (once), with ``message`` or the field's own sentence."""
        if any(error.field == field for error in self.errors):
            return
        text = self._lang.gettext(message or FIELD_MESSAGES.get(field, FIELD_MESSAGES["name"]))
        self.errors.append(FieldError(field, text % values if values else text))

    def refuse_problem(self, problem: DomainError, fields: Mapping[str, str]) -> bool:
        """Show the core's refusal at its field; False if the code is about no field here."""
        field = fields.get(problem.code)
        if field is None:
            return False
        self.refuse(field, CODE_MESSAGES.get(problem.code), **problem.extra)
        return True

    def required(self, field: str) -> bool:
        """Whether ``field`` has a value; if not, it is refused with its "enter…" sentence."""
        if self[field]:
            return True
        self.refuse(field, EMPTY_MESSAGES.get(field))
        return False

    def whole(self, field: str, *, default: int | None = None) -> int | None:
        raw = self[field]
        if not raw and default is not None:
            return default
        if not self.required(field):
            return None
        if not _WHOLE.match(raw):
            self.refuse(field)
            return None
        return int(raw)

    def money(self, field: str, currency: str) -> Money | None:
        """``12.50`` or ``12,50`` in ``currency``'s minor units (no grouping separators)."""
        raw = self[field].replace(" ", "")
        if not self.required(field):
            return None
        if not _PRICE.match(raw):
            self.refuse(field)
            return None
        try:
            digits = get_currency_precision(currency)
        except (KeyError, ValueError):
            digits = 2
        amount = Decimal(raw.replace(",", ".")).scaleb(digits)
        if amount != amount.to_integral_value():
            self.refuse(field)
            return None
        return Money(int(amount), currency)

    def moment(self, field: str, zone: ZoneInfo | None, *, required: bool) -> datetime | None:
        """A ``datetime-local`` field read at the venue (its ``zone``); None when empty."""
        raw = self[field]
        if not raw:
            if required:
                self.refuse(field)
            return None
        try:
            local = datetime.strptime(raw[:16], _LOCAL_MOMENT)
        except ValueError:
            self.refuse(field)
            return None
        return local.replace(tzinfo=zone) if zone is not None else None

    def zone(self, field: str) -> ZoneInfo | None:
        try:
            return ZoneInfo(self[field]) if self[field] else None
        except (ZoneInfoNotFoundError, ValueError):
            return None

    async def submit(
        self,
        data: dict[str, Any],
        kind: type[S],
        act: Callable[[S], Awaitable[str]],
        refusable: Mapping[str, str],
        *,
        refusals: type[DomainError] = DomainError,
    ) -> str | None:
        """``data`` checked as ``kind`` and handed to ``act``, which answers where to go next;
        None when the form must be shown again: a field is off, or the core refused with a
        code that ``refusable`` places at a field. Any other refusal goes on up."""
        checked = self.checked(data, kind) if not self.errors else None
        if checked is None:
            return None
        try:
            return await act(checked)
        except refusals as problem:
            if not self.refuse_problem(problem, refusable):
                raise
            return None

    def checked(self, data: dict[str, Any], kind: type[S]) -> S | None:
        """``data`` as the REST request ``kind`` (the API's bounds), else a field error."""
        try:
            return msgspec.convert(data, kind)
        except msgspec.ValidationError as exc:
            found = _FIELD_PATH.search(str(exc))
            self.refuse(found.group(1) if found else "name")
            return None


def local_input(moment: datetime | None, timezone: str) -> str:
    """A stored instant as a ``datetime-local`` value at the venue (empty for None)."""
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(timezone)).strftime(_LOCAL_MOMENT)


def price_input(money: Money, lang: Lang) -> str:
    """A price as the form shows it: ``12.50`` (``12,50`` in Dutch), no currency sign."""
    digits = get_currency_precision(money.currency)
    text = f"{Decimal(money.amount).scaleb(-digits):.{digits}f}"
    return text.replace(".", get_decimal_symbol(lang.locale))
