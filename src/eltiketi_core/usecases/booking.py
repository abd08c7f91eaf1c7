"""Holding tickets (seed steps 3–8), reading a hold, and releasing it."""

from __future__ import annotations

import hashlib
import math
import re
from datetime import datetime
from uuid import UUID

import msgspec

from eltiketi_core.domain.booking import Booking, BookingItem, BookingStatus, Contact
from eltiketi_core.domain.catalog import Event, EventStatus, TicketType
from eltiketi_core.domain.events import BookingCreated
from eltiketi_core.domain.identity import Principal
from eltiketi_core.domain.payment import Payment
from eltiketi_core.errors import (
    Conflict,
    ContactRequired,
    HoldCooldown,
    NotFound,
    SoldOut,
    ValidationFailed,
)
from eltiketi_core.ports.clock import Clock, IdGenerator
from eltiketi_core.ports.contact import ContactNormaliser
from eltiketi_core.ports.stores import IdempotencyRecord
from eltiketi_core.ports.uow import UnitOfWork, UnitOfWorkFactory
from eltiketi_core.usecases.access import owned
from eltiketi_core.usecases.contact import booking_contact, requested_contact
from eltiketi_core.usecases.holds import end_hold, reserve_all
from eltiketi_core.usecases.policy import Policy


class ItemRequest(msgspec.Struct, frozen=True, kw_only=True):
    ticket_type_id: UUID
    quantity: int


class ReserveRequest(msgspec.Struct, frozen=True, kw_only=True):
    event_id: UUID
    items: tuple[ItemRequest, ...]
    contact: Contact | None = None
    #: the buyer's language in the shop (BCP 47), for the e-tickets; None: the event's
    locale: str | None = None


class Reservation(msgspec.Struct, frozen=True, kw_only=True):
    """The hold, and whether it is a replay of an earlier answer (same Idempotency-Key)."""

    booking: Booking
    replayed: bool = False


class Allowance(msgspec.Struct, frozen=True, kw_only=True):
    """How many more tickets of one event a buyer may hold: the per-buyer limit minus
    what they hold (unexpired) or bought (not refunded). A later reservation checks
    the limit again under its own lock; this is what a page shows before it."""

    limit: int
    used: int

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)


class HoldProgress(msgspec.Struct, frozen=True, kw_only=True):
    """A hold and how far its purchase went: the order once confirmed, the newest payment."""

    booking: Booking
    order_id: UUID | None
    payment: Payment | None


#: Longest name on a ticket.
MAX_HOLDER_LENGTH = 100
#: A BCP 47 language tag as browsers send them (``nl``, ``en-GB``, ``sr-Latn-RS``).
_LOCALE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8}){0,3}")
MAX_LOCALE_LENGTH = 35


class _KeyTaken(Exception):
    """Another request committed the same Idempotency-Key first: replay its answer."""


_booking_decoder = msgspec.json.Decoder(Booking)


class Bookings:
    """Reserve, read and release holds.

    ``contacts`` checks the syntax of contact e-mails and phone numbers; without
    one only the core's hard limits apply (see :mod:`eltiketi_core.usecases.contact`).
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        ids: IdGenerator,
        policy: Policy,
        contacts: ContactNormaliser | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids
        self._policy = policy
        self._contacts = contacts
        self._in_flight: set[tuple[str, str]] = set()

    async def reserve(
        self, principal: Principal, request: ReserveRequest, *, idempotency_key: str | None = None
    ) -> Reservation:
        """Hold every requested ticket or none.

        Each ticket type is taken with one conditional change of its counters,
        in ticket-type-id order so two bookings never wait on each other in a
        cycle. If one type is short, that type's expired holds are released in
        this same transaction and the type is tried once more: stock that has
        expired is never refused to a buyer. Stock is taken last, after the
        booking and its event are written, so the stock row stays locked only
        until the commit that follows (a refusal rolls everything back).
        """
        _check_shape(request)
        contact = booking_contact(request.contact, principal, self._contacts)
        if idempotency_key is None:
            return Reservation(booking=await self._reserve_once(principal, request, contact, None))
        slot = (principal.subject, idempotency_key)
        if slot in self._in_flight:
            raise Conflict(
                "idempotency_in_flight", "a request with this Idempotency-Key is running"
            )
        self._in_flight.add(slot)
        try:
            for _ in range(3):
                try:
                    replay = await self._replay(principal, idempotency_key, _hash(request))
                    if replay is not None:
                        return Reservation(booking=replay, replayed=True)
                    booking = await self._reserve_once(principal, request, contact, idempotency_key)
                    return Reservation(booking=booking)
                except _KeyTaken:
                    continue
            raise Conflict(
                "idempotency_in_flight", "a request with this Idempotency-Key is running"
            )
        finally:
            self._in_flight.discard(slot)

    async def get(self, principal: Principal, booking_id: UUID) -> Booking:
        async with self._uow() as uow:
            booking = await uow.bookings.get(booking_id)
            return owned(booking, booking.buyer if booking else None, principal, "booking")

    async def progress(self, principal: Principal, booking_id: UUID) -> HoldProgress:
        """The hold, its order (if confirmed) and its newest payment: what a buyer returning
        from the payment page needs to know to confirm (seed step 11) or to wait."""
        async with self._uow() as uow:
            found = await uow.bookings.get(booking_id)
            booking = owned(found, found.buyer if found else None, principal, "booking")
            order = await uow.orders.for_booking(booking.id)
            payments = await uow.payments.for_booking(booking.id)
        return HoldProgress(
            booking=booking,
            order_id=order.id if order is not None else None,
            payment=payments[0] if payments else None,
        )

    async def allowance(self, principal: Principal, event_id: UUID) -> Allowance:
        """What the buyer may still reserve for the event under the per-buyer limit."""
        async with self._uow() as uow:
            used = await uow.bookings.active_quantity(
                principal.subject, event_id, self._clock.now()
            )
        return Allowance(limit=self._policy.max_tickets_per_buyer, used=used)

    async def change_contact(
        self, principal: Principal, booking_id: UUID, contact: Contact
    ) -> Booking:
        """Where the e-tickets go, changed while the tickets are held (not after)."""
        return await self.change(principal, booking_id, contact=contact)

    async def change_holders(
        self, principal: Principal, booking_id: UUID, holders: tuple[str, ...]
    ) -> Booking:
        """Name the person each ticket is for, while the tickets are held (not after)."""
        return await self.change(principal, booking_id, holders=holders)

    async def change(
        self,
        principal: Principal,
        booking_id: UUID,
        *,
        contact: Contact | None = None,
        holders: tuple[str, ...] | None = None,
    ) -> Booking:
        """Change where the e-tickets go and whom they are for, together or not at all,
        while the tickets are held.

        ``holders`` has one name per ticket, in item order; a blank name leaves that
        ticket unnamed. The names are copied to the tickets when the order is made.
        """
        if contact is None and holders is None:
            raise ValidationFailed("nothing_to_change", "give a contact, holders or both")
        if contact is not None:
            # checked like a new booking's contact; an empty one is contact_required
            checked = requested_contact(contact, self._contacts)
            if checked is None:
                raise ContactRequired(
                    "contact_required", "give an e-mail address or a phone number for the tickets"
                )
            contact = checked
        names = checked_holders(holders) if holders is not None else None
        async with self._uow() as uow:
            found = await uow.bookings.get(booking_id)
            booking = owned(found, found.buyer if found else None, principal, "booking")
            if names is not None and len(names) != booking.quantity:
                raise ValidationFailed(
                    "holders_mismatch",
                    f"give one name per ticket: {booking.quantity} names, not {len(names)}",
                    expected=booking.quantity,
                )
            if booking.is_expired_at(self._clock.now()):
                raise Conflict("booking_expired", "the hold has expired")
            changed = True
            if contact is not None:
                changed = await uow.bookings.set_contact(booking.id, contact)
                booking = msgspec.structs.replace(booking, contact=contact)
            if names is not None and changed:
                changed = await uow.bookings.set_holders(booking.id, names)
                booking = msgspec.structs.replace(booking, holders=names)
            if not changed:
                raise Conflict("booking_not_held", f"the booking is {booking.status.value}")
            await uow.commit()
        return booking

    async def release(self, principal: Principal, booking_id: UUID) -> Booking:
        """The buyer gives the hold back. Releasing twice is harmless."""
        now = self._clock.now()
        async with self._uow() as uow:
            found = await uow.bookings.get(booking_id)
            booking = owned(found, found.buyer if found else None, principal, "booking")
            if booking.status is BookingStatus.CANCELLED:
                return booking
            if booking.status is BookingStatus.CONFIRMED:
                raise Conflict(
                    "booking_confirmed", "a confirmed booking is cancelled via its order"
                )
            if booking.status is BookingStatus.EXPIRED:
                raise Conflict("booking_expired", "the hold has already expired")
            if not await end_hold(uow, booking, BookingStatus.CANCELLED, self._ids, now):
                raise Conflict("booking_not_held", "the booking changed meanwhile; read it again")
            await uow.commit()
        return booking.with_status(BookingStatus.CANCELLED)

    async def _replay(self, principal: Principal, key: str, request_hash: str) -> Booking | None:
        async with self._uow() as uow:
            record = await uow.idempotency.get(principal.subject, key)
        if record is None:
            return None
        if record.request_hash != request_hash:
            raise ValidationFailed(
                "idempotency_key_reused", "this Idempotency-Key was used with another request body"
            )
        return _booking_decoder.decode(record.response)

    async def _reserve_once(
        self,
        principal: Principal,
        request: ReserveRequest,
        contact: Contact,
        idempotency_key: str | None,
    ) -> Booking:
        booking_id = self._ids.new_id()
        async with self._uow() as uow:
            event, types = await _open_for_sale(uow, request, principal.subject, self._clock)
            now = self._clock.now()  # after the locks: never earlier than the sale rules' check
            await self._check_cooldown(uow, principal.subject, event.id, now)
            wanted = sum(item.quantity for item in request.items)
            held_or_bought = await uow.bookings.active_quantity(principal.subject, event.id, now)
            if held_or_bought + wanted > self._policy.max_tickets_per_buyer:
                raise ValidationFailed(
                    "buyer_limit_exceeded",
                    f"at most {self._policy.max_tickets_per_buyer} tickets per buyer for this event"
                    f" (you already have {held_or_bought})",
                    limit=self._policy.max_tickets_per_buyer,
                )
            items = tuple(
                BookingItem(
                    ticket_type_id=item.ticket_type_id,
                    quantity=item.quantity,
                    unit_price=types[item.ticket_type_id].price,
                )
                for item in request.items
            )
            total = sum((i.subtotal for i in items[1:]), items[0].subtotal)
            booking = Booking(
                id=booking_id,
                event_id=event.id,
                buyer=principal.subject,
                contact=contact,
                items=items,
                total=total,
                status=BookingStatus.HELD,
                created_at=now,
                expires_at=now + self._policy.hold_ttl,
                locale=request.locale,
            )
            await uow.bookings.add(booking)
            if idempotency_key is not None:
                stored = await uow.idempotency.add(
                    IdempotencyRecord(
                        user=principal.subject,
                        key=idempotency_key,
                        request_hash=_hash(request),
                        response=msgspec.json.encode(booking),
                        created_at=now,
                    )
                )
                if not stored:
                    raise _KeyTaken
            uow.record(
                BookingCreated(
                    id=self._ids.new_id(),
                    occurred_at=now,
                    booking_id=booking.id,
                    event_id=event.id,
                    buyer=booking.buyer,
                    items=items,
                    expires_at=booking.expires_at,
                )
            )
            # Stock last: in a flash sale every buyer queues on the same stock row, and
            # the lock taken there lasts until the commit right after it.
            await uow.flush()
            shortage = await self._take_stock(uow, booking_id, request.items)
            if shortage is not None:  # rolled back: no booking, no event
                raise SoldOut("sold_out", f"not enough tickets left of {types[shortage].name!r}")
            await uow.commit()
        return booking

    async def _check_cooldown(
        self, uow: UnitOfWork, buyer: str, event_id: UUID, now: datetime
    ) -> None:
        """The re-hold throttle (see :class:`Policy`), decided from the stored holds.

        Read after ``open_for_sale`` took the buyer's lock for this event, so the
        buyer's own concurrent reservations and releases are seen in order.
        """
        policy = self._policy
        if policy.rehold_limit <= 0:
            return
        ended = await uow.bookings.ended_unpaid(
            buyer, event_id, since=now - policy.rehold_window, limit=policy.rehold_limit
        )
        if len(ended) < policy.rehold_limit:
            return
        until = max(ended) + policy.rehold_cooldown
        if until <= now:
            return
        wait = max(1, math.ceil((until - now).total_seconds()))
        raise HoldCooldown(
            "hold_cooldown",
            f"you released or let expire {len(ended)} holds for this event recently; "
            f"you can hold tickets for it again in {wait} seconds",
            retry_after=wait,
            until=until.isoformat(),
        )

    async def _take_stock(
        self, uow: UnitOfWork, booking_id: UUID, items: tuple[ItemRequest, ...]
    ) -> UUID | None:
        """Reserve all items, releasing a short type's expired holds first; the short type."""
        return await reserve_all(
            uow,
            booking_id,
            items,
            on_shortage=lambda type_id: self._release_expired(uow, type_id),
        )

    async def _release_expired(self, uow: UnitOfWork, ticket_type_id: UUID) -> bool:
        now = self._clock.now()
        stale = await uow.bookings.claim_expired(
            now, limit=self._policy.sweep_batch, ticket_type_id=ticket_type_id
        )
        released = False
        for booking in stale:
            released |= await end_hold(uow, booking, BookingStatus.EXPIRED, self._ids, now)
        return released


def checked_holders(holders: tuple[str, ...]) -> tuple[str, ...]:
    """The names trimmed (inner runs of spaces folded); ``invalid_holder`` (with the ticket's
    ``index``) for one that is too long or has control characters."""
    names = []
    for index, raw in enumerate(holders):
        if any(ord(c) < 32 or ord(c) == 127 for c in raw):
            raise ValidationFailed(
                "invalid_holder", f"name {index + 1} has control characters", index=index
            )
        name = " ".join(raw.split())
        if len(name) > MAX_HOLDER_LENGTH:
            raise ValidationFailed(
                "invalid_holder",
                f"name {index + 1} is longer than {MAX_HOLDER_LENGTH} characters",
                index=index,
            )
        names.append(name)
    return tuple(names)


def checked_locale(locale: str | None) -> str | None:
    """A BCP 47 language tag (``nl``, ``en-GB``) or None; ``invalid_locale`` otherwise."""
    if locale is None:
        return None
    if len(locale) > MAX_LOCALE_LENGTH or not _LOCALE.fullmatch(locale):
        raise ValidationFailed("invalid_locale", f"{locale[:40]!r} is not a language tag")
    return locale


def _check_shape(request: ReserveRequest) -> None:
    checked_locale(request.locale)
    if not request.items:
        raise ValidationFailed("no_items", "a booking needs at least one item")
    seen: set[UUID] = set()
    for item in request.items:
        if item.quantity < 1:
            raise ValidationFailed("invalid_quantity", "quantity must be at least 1")
        if item.ticket_type_id in seen:
            raise ValidationFailed("duplicate_ticket_type", "list each ticket type once")
        seen.add(item.ticket_type_id)


async def _open_for_sale(
    uow: UnitOfWork, request: ReserveRequest, buyer: str, clock: Clock
) -> tuple[Event, dict[UUID, TicketType]]:
    """The event, checked to be on sale, and the requested ticket types, checked to be
    its own and within their sale windows. The event cannot be cancelled, nor a
    type's window changed, under this reservation, and the buyer's other
    reservations for it wait (see the port). The clock is read once the sale is
    open, after any wait for those locks: a hold is never taken on a reading made
    before the window opened."""
    found = await uow.catalog.open_for_sale(
        request.event_id, [item.ticket_type_id for item in request.items], buyer=buyer
    )
    now = clock.now()
    if found is None or found[0].status is EventStatus.DRAFT:
        raise NotFound("event_not_found", "no such event")
    event, types = found
    if event.status is EventStatus.CANCELLED:
        raise Conflict("event_cancelled", "the event is cancelled")
    if event.starts_at <= now:
        raise Conflict("sales_closed", "the event has started")
    for item in request.items:
        ticket_type = types.get(item.ticket_type_id)
        if ticket_type is None or ticket_type.event_id != event.id:
            raise ValidationFailed(
                "unknown_ticket_type",
                f"ticket type {item.ticket_type_id} is not part of this event",
            )
        if item.quantity > ticket_type.max_per_booking:
            raise ValidationFailed(
                "quantity_above_limit",
                f"at most {ticket_type.max_per_booking} of {ticket_type.name!r} per booking",
                limit=ticket_type.max_per_booking,
            )
        ticket_type.check_on_sale(now)
    return event, types


def _hash(request: ReserveRequest) -> str:
    canonical = msgspec.structs.replace(
        request, items=tuple(sorted(request.items, key=lambda i: i.ticket_type_id))
    )
    return hashlib.sha256(msgspec.json.encode(canonical)).hexdigest()
