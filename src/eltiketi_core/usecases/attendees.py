"""The attendee list of an event, page by page, and its CSV export.

Both walk the event's tickets in keyset pages
(:meth:`~eltiketi_core.ports.TicketStore.attendees`), each page its own short
read, so the export of 100,000 tickets holds one page in memory at a time and
never a long transaction. A ticket voided or scanned during the walk shows as
it was when its page was read.

The CSV is UTF-8 with a byte order mark (spreadsheets then read names with
accents right), comma-separated, every cell quoted, lines ending CRLF (RFC
4180). A cell that a spreadsheet would run as a formula — starting with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return (OWASP, "CSV injection") — gets a
leading ``'``, which makes it plain text; phone numbers in ``+49…`` form are
shown as ``'+49…`` for that reason.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from uuid import UUID
from zoneinfo import ZoneInfo

import msgspec

from eltiketi_core.domain.catalog import Event
from eltiketi_core.domain.identity import Principal
from eltiketi_core.domain.order import TicketStatus
from eltiketi_core.errors import ValidationFailed
from eltiketi_core.ports.stores import Attendee
from eltiketi_core.ports.uow import UnitOfWorkFactory
from eltiketi_core.usecases.access import managed_event

MAX_PAGE = 500
EXPORT_PAGE = 1_000

#: What a spreadsheet takes as the start of a formula (OWASP CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BYTE_ORDER_MARK = "\ufeff"
CSV_COLUMNS = (
    "ticket_id",
    "order_id",
    "ticket_type",
    "name",
    "holder",
    "email",
    "phone",
    "status",
    "checked_in_at",
)


class AttendeeView(msgspec.Struct, frozen=True, kw_only=True):
    """One ticket on the door list, with its type's name. ``holder_name`` is the name the
    buyer gave the ticket (None: unnamed); ``holder`` the buyer's subject."""

    ticket_id: UUID
    order_id: UUID
    ticket_type_id: UUID
    ticket_type_name: str
    holder_name: str | None
    holder: str
    email: str | None
    phone: str | None
    status: TicketStatus
    checked_in_at: datetime | None


class AttendeePage(msgspec.Struct, frozen=True, kw_only=True):
    """A page of attendees; ``next_after`` is the cursor of the next page (None: the end)."""

    items: tuple[AttendeeView, ...]
    next_after: UUID | None


class AttendeeExport:
    """A CSV export whose access was checked when it was made; :meth:`chunks` streams it."""

    def __init__(
        self, uow: UnitOfWorkFactory, event: Event, names: dict[UUID, str], include_void: bool
    ) -> None:
        self._uow = uow
        self.event = event
        self._names = names
        self._include_void = include_void

    @property
    def filename(self) -> str:
        return f"attendees-{self.event.id}.csv"

    async def chunks(self) -> AsyncIterator[bytes]:
        """The header (with the byte order mark), then one chunk per page of tickets."""
        zone = ZoneInfo(self.event.timezone)
        yield (BYTE_ORDER_MARK + csv_lines([CSV_COLUMNS])).encode()
        after: UUID | None = None
        while True:
            async with self._uow() as uow:
                page = await uow.tickets.attendees(
                    self.event.id, after=after, limit=EXPORT_PAGE, include_void=self._include_void
                )
            if not page:
                return
            yield csv_lines(_csv_row(a, self._names, zone) for a in page).encode()
            if len(page) < EXPORT_PAGE:
                return
            after = page[-1].ticket_id


class Attendees:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def page(
        self,
        principal: Principal,
        event_id: UUID,
        *,
        after: UUID | None = None,
        limit: int = 100,
        include_void: bool = False,
    ) -> AttendeePage:
        """Up to ``limit`` tickets after the cursor ``after``, by ticket id."""
        if not 1 <= limit <= MAX_PAGE:
            raise ValidationFailed("invalid_limit", f"a page holds 1 to {MAX_PAGE} attendees")
        async with self._uow() as uow:
            event = await managed_event(uow, principal, event_id)
            names = {t.id: t.name for t in await uow.catalog.ticket_types(event.id)}
            found = await uow.tickets.attendees(
                event.id, after=after, limit=limit, include_void=include_void
            )
        return AttendeePage(
            items=tuple(_view(a, names) for a in found),
            next_after=found[-1].ticket_id if len(found) == limit else None,
        )

    async def export(
        self, principal: Principal, event_id: UUID, *, include_void: bool = False
    ) -> AttendeeExport:
        """Check access now (a refusal is an error, not a broken download), stream later."""
        async with self._uow() as uow:
            event = await managed_event(uow, principal, event_id)
            names = {t.id: t.name for t in await uow.catalog.ticket_types(event.id)}
        return AttendeeExport(self._uow, event, names, include_void)


def safe_cell(value: str) -> str:
    """``value`` with a leading ``'`` if a spreadsheet would read it as a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def csv_lines(rows: Iterable[Iterable[str]]) -> str:
    """Rows as RFC 4180 CSV (every cell quoted, CRLF), each cell made :func:`safe_cell`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerows([safe_cell(cell) for cell in row] for row in rows)
    return buffer.getvalue()


def _csv_row(attendee: Attendee, names: dict[UUID, str], zone: ZoneInfo) -> tuple[str, ...]:
    checked_in = attendee.checked_in_at
    return (
        str(attendee.ticket_id),
        str(attendee.order_id),
        names.get(attendee.ticket_type_id, ""),
        attendee.holder_name or "",
        attendee.holder,
        attendee.email or "",
        attendee.phone or "",
        attendee.status.value,
        checked_in.astimezone(zone).isoformat() if checked_in else "",
    )


def _view(attendee: Attendee, names: dict[UUID, str]) -> AttendeeView:
    return AttendeeView(
        ticket_id=attendee.ticket_id,
        order_id=attendee.order_id,
        ticket_type_id=attendee.ticket_type_id,
        ticket_type_name=names.get(attendee.ticket_type_id, ""),
        holder_name=attendee.holder_name,
        holder=attendee.holder,
        email=attendee.email,
        phone=attendee.phone,
        status=attendee.status,
        checked_in_at=attendee.checked_in_at,
    )
