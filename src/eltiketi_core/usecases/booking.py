"""Holding tickets (seed steps 3–8), reading a hold, and releasing it."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from uuid import UUID

import msgspec

from eltiketi_core.domain.booking import Booking, BookingStatus, Contact
from eltiketi_core.domain.identity import Principal
from eltiketi_core.domain.payment import Payment
from eltiketi_core.errors import Conflict, ContactRequired, DomainError, ValidationFailed
from eltiketi_core.ports.contact import ContactNormaliser
from eltiketi_core.usecases.access import owned
from eltiketi_core.usecases.contact import booking_contact, requested_contact
from eltiketi_core.usecases.core_ports import CorePorts, UseCase
from eltiketi_core.usecases.holds import end_hold
from eltiketi_core.usecases.policy import Policy
from eltiketi_core.usecases.reservation import (
    Batching,
    CheckFactory,
    HoldBatcher,
    KeyTaken,
    PendingHold,
    ReservationBatch,
    ReserveRequest,
    standard_checks,
)


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


_booking_decoder = msgspec.json.Decoder(Booking)


class Bookings(UseCase):
    """Reserve, read and release holds.

    ``contacts`` checks the syntax of contact e-mails and phone numbers; without
    one only the core's hard limits apply (see :mod:`eltiketi_core.usecases.contact`).
    """

    def __init__(
        self,
        ports: CorePorts,
        policy: Policy,
        contacts: ContactNormaliser | None = None,
        *,
        batching: Batching | None = None,
        checks: CheckFactory = standard_checks,
    ) -> None:
        super().__init__(ports)
        self._policy = policy
        self._contacts = contacts
        self._in_flight: set[tuple[str, str]] = set()
        self._batch = ReservationBatch(ports, policy, checks=checks)
        self._batcher = HoldBatcher(
            lambda holds, careful: self._batch.run(holds, careful=careful),
            batching or Batching(),
        )

    @property
    def batcher(self) -> HoldBatcher:
        """Groups concurrent reservations (``batcher.on_batch`` hears each batch's size)."""
        return self._batcher

    async def reserve(
        self, principal: Principal, request: ReserveRequest, *, idempotency_key: str | None = None
    ) -> Reservation:
        """Hold every requested ticket or none.

        The request joins the reservations in flight for the same event in this
        process (a batch of one when there are none; see
        :mod:`eltiketi_core.usecases.reservation`) and gets the answer it would
        have got alone. Each ticket type is taken in ticket-type-id order; a type
        that is short has its expired holds released in the same transaction
        first, so stock that has expired is never refused to a buyer.
        """
        _check_shape(request)
        contact = booking_contact(request.contact, principal, self._contacts)
        if idempotency_key is None:
            hold = PendingHold(principal, request, contact)
            return Reservation(booking=await self._batcher.submit(hold))
        slot = (principal.subject, idempotency_key)
        if slot in self._in_flight:
            raise Conflict(
                "idempotency_in_flight", "a request with this Idempotency-Key is running"
            )
        self._in_flight.add(slot)
        request_hash = _hash(request)
        try:
            for _ in range(3):
                try:
                    replay = await self._replay(principal, idempotency_key, request_hash)
                    if replay is not None:
                        return Reservation(booking=replay, replayed=True)
                    hold = PendingHold(
                        principal,
                        request,
                        contact,
                        idempotency_key=idempotency_key,
                        request_hash=request_hash,
                    )
                    return Reservation(booking=await self._batcher.submit(hold))
                except KeyTaken:
                    continue
            raise Conflict(
                "idempotency_in_flight", "a request with this Idempotency-Key is running"
            )
        finally:
            self._in_flight.discard(slot)

    async def reserve_together(
        self, holds: Sequence[tuple[Principal, ReserveRequest]]
    ) -> list[Booking | DomainError]:
        """Run these reservations as one batch, in this order (tests and tools: the
        batcher forms batches from concurrent :meth:`reserve` calls by itself).
        Each gets its booking or its refusal, as :meth:`reserve` would alone."""
        pending: list[PendingHold | DomainError] = []
        for principal, request in holds:
            try:
                _check_shape(request)
                contact = booking_contact(request.contact, principal, self._contacts)
            except DomainError as refusal:
                pending.append(refusal)
                continue
            pending.append(PendingHold(principal, request, contact))
        await self._batch.run([p for p in pending if isinstance(p, PendingHold)])
        answers: list[Booking | DomainError] = []
        for item in pending:
            if isinstance(item, DomainError):
                answers.append(item)
                continue
            error = item.future.exception()
            if error is None:
                answers.append(item.future.result())
            elif isinstance(error, DomainError):
                answers.append(error)
            else:
                raise error
        return answers

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


def _hash(request: ReserveRequest) -> str:
    canonical = msgspec.structs.replace(
        request, items=tuple(sorted(request.items, key=lambda i: i.ticket_type_id))
    )
    return hashlib.sha256(msgspec.json.encode(canonical)).hexdigest()
