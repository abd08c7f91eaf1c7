"""Confirming a paid booking (seed steps 11–13), by the buyer or by the gateway's webhook.

Order of work, always: ask the gateway what happened (outside any transaction), then open
one transaction that decides the payment's fate with compare-and-sets whose results are
obeyed:

1. the payment moves to ``succeeded`` (from open, failed or cancelled). Losing that change
   means its fate was decided already: the answer is that decision (the order it paid, or
   its refund), never a second one;
2. the booking's order, if another payment paid for it, makes this one a duplicate: it is
   refunded in full;
3. otherwise a single conditional status change on the booking decides the winner among
   confirmation, expiry and cancellation. The winner creates the order and its signed
   tickets; a loser takes the documented path: the money arrived after the hold ended, so
   the stock is taken again if it is still there, otherwise the payment is refunded (also
   when the event was cancelled).

So a payment that took money ends as exactly one of: the booking's kept order, or one
refund (``succeeded → refunded`` with the refund row, in the same transaction). A free
booking (total zero) is confirmed without any payment (:meth:`Settlement.confirm_free`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from uuid import UUID

import msgspec

from eltiketi_core.domain.booking import Booking, BookingStatus
from eltiketi_core.domain.catalog import EventStatus
from eltiketi_core.domain.events import OrderCreated, PaymentFailed
from eltiketi_core.domain.identity import Principal
from eltiketi_core.domain.order import (
    Order,
    Ticket,
    TicketClaims,
    TicketStatus,
)
from eltiketi_core.domain.payment import (
    SETTLEABLE_PAYMENT_STATUSES,
    UNFINISHED_PAYMENT_STATUSES,
    Payment,
    PaymentStatus,
    Refund,
    RefundReason,
)
from eltiketi_core.errors import (
    Conflict,
    DuplicatePaymentRefunded,
    HoldLostRefunded,
    NotFound,
    PaymentIncomplete,
    PaymentMismatch,
    PaymentRefunded,
    ValidationFailed,
)
from eltiketi_core.ports.payments import (
    GatewayPaymentStatus,
    PaymentGateway,
    VerifiedPayment,
    WebhookKind,
)
from eltiketi_core.ports.tickets import TicketSigner
from eltiketi_core.ports.uow import UnitOfWork
from eltiketi_core.usecases.access import owned
from eltiketi_core.usecases.core_ports import CorePorts, UseCase
from eltiketi_core.usecases.holds import end_hold, reserve_all
from eltiketi_core.usecases.refunds import request_refund

log = logging.getLogger(__name__)

#: A payment whose fate is written: the order it paid, or its refund.
DECIDED = frozenset({PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED})


class Confirmation(msgspec.Struct, frozen=True, kw_only=True):
    order: Order
    created: bool
    tickets: tuple[Ticket, ...] | None = None
    """The order's tickets when the confirmation had them at hand (it made them, or read
    them in its transaction); ``None``: read them with the order."""


class _Retry(Exception):
    """A concurrent settlement changed the booking under us: start the transaction again."""


class _AlreadyHandled(Exception):
    """A redelivered webhook whose first delivery settled nothing: nothing to do."""


class Settlement(UseCase):
    def __init__(self, ports: CorePorts, gateway: PaymentGateway, signer: TicketSigner) -> None:
        super().__init__(ports)
        self._gateway = gateway
        self._signer = signer

    async def confirm(
        self, principal: Principal, booking_id: UUID, payment_id: UUID | None
    ) -> Confirmation:
        """``POST /v1/orders``: never trusts the client; asks the gateway first.

        Without ``payment_id`` only a free booking confirms (:meth:`confirm_free`). A payment
        whose fate is decided answers that decision without asking the gateway again: its
        order, or :class:`PaymentRefunded` (``hold_lost_refunded``,
        ``duplicate_payment_refunded``) — a refunded payment never buys tickets later.
        """
        if payment_id is None:
            return await self.confirm_free(principal, booking_id)
        async with self._uow() as uow:
            found = await uow.bookings.get(booking_id)
            booking = owned(found, found.buyer if found else None, principal, "booking")
            payment = await uow.payments.get(payment_id)
            kept = await self._kept_order(uow, booking, payment)
        if kept is not None:
            return kept
        if payment is None or payment.buyer != booking.buyer:
            raise NotFound("payment_not_found", "no such payment")
        if payment.booking_id != booking.id:
            raise PaymentMismatch("payment_mismatch", "that payment belongs to another booking")
        if payment.status in DECIDED:
            return await self.settle(payment, booking)  # answers the decision
        if payment.provider_reference is None or payment.provider != self._gateway.provider:
            raise PaymentIncomplete("payment_incomplete", "the payment has not been started")
        verified = await self._gateway.verify(payment.provider_reference)
        self._check_matches(payment, booking, verified)
        if verified.status is GatewayPaymentStatus.FAILED:
            await self._mark_failed(payment, booking, verified.failure_reason or "declined", None)
            raise PaymentIncomplete(
                "payment_incomplete", f"the payment failed: {verified.failure_reason or 'declined'}"
            )
        if verified.status is not GatewayPaymentStatus.SUCCEEDED:
            raise PaymentIncomplete("payment_incomplete", f"the payment is {verified.status.value}")
        return await self.settle(payment, booking)

    @staticmethod
    async def _kept_order(
        uow: UnitOfWork, booking: Booking, payment: Payment | None
    ) -> Confirmation | None:
        """The order a succeeded payment of this booking paid, with its tickets, read in
        the caller's transaction: the usual confirmation after the webhook settled it. A
        settled payment's order is final, so :meth:`settle` would answer the same."""
        if (
            payment is None
            or payment.status is not PaymentStatus.SUCCEEDED
            or payment.booking_id != booking.id
            or payment.buyer != booking.buyer
        ):
            return None
        order = await uow.orders.for_booking(booking.id)
        if order is None or order.payment_id != payment.id:
            return None
        tickets = tuple(await uow.tickets.for_order(order.id))
        return Confirmation(order=order, created=False, tickets=tickets)

    async def confirm_free(self, principal: Principal, booking_id: UUID) -> Confirmation:
        """A booking whose total is zero becomes an order with no payment step and no
        gateway call; asking again answers the same order.

        Raises ``422 payment_required`` for a booking that costs money, ``409
        booking_not_held`` for a hold that ended, ``409 event_cancelled``.
        """
        for _ in range(5):
            try:
                return await self._confirm_free_once(principal, booking_id)
            except _Retry:
                continue
        raise Conflict("settlement_contended", "the booking is changing; retry")

    async def settle(
        self, payment: Payment, booking: Booking, *, inbox: tuple[str, str] | None = None
    ) -> Confirmation:
        """Decide the fate of a payment the gateway confirmed, exactly once.

        Returns the order it paid (``created`` says whether this call made it). Raises
        :class:`HoldLostRefunded` (the hold had ended and its stock is gone, or the event
        was cancelled) or :class:`DuplicatePaymentRefunded` (another payment paid the
        booking's order) after committing the refund — and answers the same again for a
        payment decided earlier.
        """
        for _ in range(5):
            try:
                return await self._settle_once(payment, booking, inbox)
            except _Retry:
                continue
        raise Conflict("settlement_contended", "the booking is changing; retry")

    async def retire(self, payment: Payment, booking: Booking) -> GatewayPaymentStatus:
        """Make an unfinished payment (open, or failed: still payable at Stripe) unpayable.

        Cancels it at the gateway (Stripe: cancel the PaymentIntent, expire the Checkout
        Session), outside any transaction, then records ``cancelled``. Returns the gateway's
        status: ``CANCELLED``; ``SUCCEEDED`` when the money had already arrived — the payment
        is settled now (an order, or a refund raised as :class:`PaymentRefunded`);
        ``PENDING`` while the gateway is still processing it (its webhook will decide);
        ``FAILED`` when the gateway refused to cancel a failed payment.
        """
        if payment.provider_reference is None or payment.provider != self._gateway.provider:
            return GatewayPaymentStatus.CANCELLED  # nothing at the gateway to pay
        outcome = await self._gateway.cancel(payment.provider_reference)
        if outcome.status is GatewayPaymentStatus.SUCCEEDED:
            self._check_matches(payment, booking, outcome)
            await self.settle(payment, booking)
        elif outcome.status is GatewayPaymentStatus.CANCELLED:
            async with self._uow() as uow:
                await uow.payments.transition(
                    payment.id, UNFINISHED_PAYMENT_STATUSES, PaymentStatus.CANCELLED
                )
                await uow.commit()
        else:
            log.warning(
                "the gateway did not cancel a payment",
                extra={"payment_id": str(payment.id), "status": outcome.status.value},
            )
        return outcome.status

    async def handle_webhook(
        self, provider: str, body: bytes, headers: Mapping[str, str]
    ) -> WebhookKind:
        """A signed gateway callback. Stored (inbox) with its effect before we answer 2xx."""
        if provider != self._gateway.provider:
            raise NotFound("unknown_provider", f"no payment provider {provider!r} here")
        notice = self._gateway.parse_webhook(body, headers)
        consumer = f"webhook:{provider}"
        payment = None
        if notice.provider_reference is not None:
            async with self._uow() as uow:
                payment = await uow.payments.by_reference(provider, notice.provider_reference)
                booking = await uow.bookings.get(payment.booking_id) if payment else None
        if notice.kind is WebhookKind.PAYMENT_SUCCEEDED and payment and booking:
            paid = payment.status in DECIDED  # its fate is written: no need to ask again
            if not paid:
                verified = await self._gateway.verify(payment.provider_reference or "")
                try:
                    self._check_matches(payment, booking, verified)
                except PaymentMismatch:
                    await self._store_only(consumer, notice.event_id)
                    return notice.kind
                paid = verified.status is GatewayPaymentStatus.SUCCEEDED
            if paid:
                try:
                    await self.settle(payment, booking, inbox=(consumer, notice.event_id))
                except PaymentRefunded as refunded:
                    log.info(
                        "a payment that cannot buy its booking is refunded",
                        extra={"booking_id": str(booking.id), "code": refunded.code},
                    )
                except _AlreadyHandled:
                    pass
                return notice.kind
        if notice.kind is WebhookKind.PAYMENT_FAILED and payment and booking:
            await self._mark_failed(
                payment, booking, notice.failure_reason or "declined", (consumer, notice.event_id)
            )
            return notice.kind
        if notice.kind is WebhookKind.PAYMENT_EXPIRED and payment:
            async with self._uow() as uow:
                if await uow.inbox.claim(consumer, notice.event_id, self._clock.now()):
                    await uow.payments.transition(
                        payment.id, UNFINISHED_PAYMENT_STATUSES, PaymentStatus.CANCELLED
                    )
                    await uow.commit()
            return notice.kind
        await self._store_only(consumer, notice.event_id)
        return notice.kind

    def _check_matches(self, payment: Payment, booking: Booking, verified: VerifiedPayment) -> None:
        if (
            verified.booking_id != booking.id
            or verified.amount != payment.amount
            or payment.amount != booking.total
        ):
            log.warning(
                "payment does not match its booking",
                extra={
                    "booking_id": str(booking.id),
                    "payment_id": str(payment.id),
                    "gateway_booking_id": str(verified.booking_id),
                    "gateway_amount": msgspec.to_builtins(verified.amount),
                    "expected_amount": msgspec.to_builtins(booking.total),
                },
            )
            raise PaymentMismatch(
                "payment_mismatch", "the gateway's payment is for another booking or amount"
            )

    async def _settle_once(
        self, payment: Payment, booking: Booking, inbox: tuple[str, str] | None
    ) -> Confirmation:
        now = self._clock.now()
        async with self._uow() as uow:
            if inbox is not None and not await uow.inbox.claim(*inbox, now):
                fate = await self._fate(uow, payment.id, booking.id)
                if fate is None:
                    raise _AlreadyHandled
                return fate
            if not await uow.payments.transition(
                payment.id, SETTLEABLE_PAYMENT_STATUSES, PaymentStatus.SUCCEEDED
            ):
                # Decided already (by a concurrent settlement, which we waited for, or
                # earlier): answer that decision, never a second one.
                try:
                    fate = await self._fate(uow, payment.id, booking.id)
                except PaymentRefunded:
                    await uow.commit()  # keeps the inbox claim
                    raise
                if fate is not None:
                    await uow.commit()
                    return fate
                current = await uow.payments.get(payment.id)
                if current is None or current.status is not PaymentStatus.SUCCEEDED:
                    raise _Retry  # changed under us: look again
                # succeeded without an order or a refund (recorded by an older version,
                # which did not decide both at once): decide it now
            return await self._decide(uow, payment, booking, now)

    async def _decide(
        self, uow: UnitOfWork, payment: Payment, booking: Booking, now: datetime
    ) -> Confirmation:
        """The payment is ``succeeded`` in ``uow``: keep it as the booking's order or refund it."""
        existing = await uow.orders.for_booking(booking.id)
        if existing is not None:
            if existing.payment_id == payment.id:
                await uow.commit()
                return Confirmation(order=existing, created=False)
            return await self._refund_and_raise(
                uow, payment, booking, RefundReason.DUPLICATE_PAYMENT, existing
            )
        current = await uow.bookings.get(booking.id)
        # Opened like a sale: a cancellation waits for this settlement (and then
        # refunds its order), or has committed and is seen here.
        found = await uow.catalog.open_for_sale(booking.event_id, [], buyer=None)
        if current is None or found is None:
            raise NotFound("booking_not_found", "no such booking")
        event = found[0]
        if event.status is EventStatus.CANCELLED:
            if current.status is BookingStatus.CONFIRMED or (
                current.status is BookingStatus.HELD
                and not await end_hold(uow, current, BookingStatus.CANCELLED, self._ids, now)
            ):
                raise _Retry  # a concurrent settlement won: its order decides (duplicate)
            return await self._refund_and_raise(
                uow, payment, current, RefundReason.EVENT_CANCELLED, None
            )
        if not await uow.bookings.transition(
            booking.id, BookingStatus.HELD, BookingStatus.CONFIRMED
        ):
            if current.status in {BookingStatus.HELD, BookingStatus.CONFIRMED}:
                raise _Retry  # someone confirmed or ended it just now; look again
            if await reserve_all(uow, current.id, current.items) is not None:
                return await self._refund_and_raise(
                    uow, payment, current, RefundReason.HOLD_LOST, None
                )
            if not await uow.bookings.transition(
                booking.id, current.status, BookingStatus.CONFIRMED
            ):
                raise _Retry
        order, tickets = self._issue(payment.id, current, now)
        if not await uow.orders.add(order):
            raise _Retry
        await uow.tickets.add_many(tickets)
        self._record_order(uow, order, tickets, now)
        await uow.commit()
        return Confirmation(order=order, created=True, tickets=tuple(tickets))

    async def _confirm_free_once(self, principal: Principal, booking_id: UUID) -> Confirmation:
        now = self._clock.now()
        async with self._uow() as uow:
            found = await uow.bookings.get(booking_id)
            booking = owned(found, found.buyer if found else None, principal, "booking")
            if booking.total.amount != 0:
                raise ValidationFailed(
                    "payment_required",
                    "this booking costs money: start its payment, pay, and confirm with the "
                    "payment_id",
                )
            existing = await uow.orders.for_booking(booking.id)
            if existing is not None:
                return Confirmation(order=existing, created=False)
            # Opened like a sale, so an event cancellation waits for this confirmation.
            sale = await uow.catalog.open_for_sale(booking.event_id, [], buyer=None)
            if sale is None:
                raise NotFound("booking_not_found", "no such booking")
            if sale[0].status is EventStatus.CANCELLED:
                raise Conflict("event_cancelled", "the event is cancelled")
            if booking.status is not BookingStatus.HELD or booking.is_expired_at(now):
                state = "expired" if booking.status is BookingStatus.HELD else booking.status
                raise Conflict("booking_not_held", f"the booking is {state}")
            if not await uow.bookings.transition(
                booking.id, BookingStatus.HELD, BookingStatus.CONFIRMED
            ):
                raise _Retry  # confirmed or ended just now: look again
            order, tickets = self._issue(None, booking, now)
            if not await uow.orders.add(order):
                raise _Retry
            await uow.tickets.add_many(tickets)
            self._record_order(uow, order, tickets, now)
            await uow.commit()
        return Confirmation(order=order, created=True, tickets=tuple(tickets))

    async def _fate(
        self, uow: UnitOfWork, payment_id: UUID, booking_id: UUID
    ) -> Confirmation | None:
        """What was decided for the payment: the order it paid (returned), its refund (raised
        as :class:`PaymentRefunded`), or None (undecided)."""
        order = await uow.orders.for_booking(booking_id)
        if order is not None and order.payment_id == payment_id:
            return Confirmation(order=order, created=False)
        refunds = await uow.refunds.for_payment(payment_id)
        if refunds:
            raise _refunded(refunds[0], order)
        return None

    async def _refund_and_raise(
        self,
        uow: UnitOfWork,
        payment: Payment,
        booking: Booking,
        reason: RefundReason,
        order: Order | None,
    ) -> Confirmation:
        refund = await request_refund(
            uow,
            self._ids,
            self._clock.now(),
            payment=payment,
            order_id=None,
            contact=booking.contact,
            reason=reason,
        )
        if refund is None:
            raise _Retry  # its fate was decided meanwhile: read it
        await uow.commit()
        raise _refunded(refund, order)

    def _record_order(
        self, uow: UnitOfWork, order: Order, tickets: list[Ticket], now: datetime
    ) -> None:
        uow.record(
            OrderCreated(
                id=self._ids.new_id(),
                occurred_at=now,
                booking_id=order.booking_id,
                order_id=order.id,
                event_id=order.event_id,
                buyer=order.buyer,
                contact=order.contact,
                items=order.items,
                total=order.total,
                ticket_ids=tuple(t.id for t in tickets),
            )
        )

    def _issue(
        self, payment_id: UUID | None, booking: Booking, now: datetime
    ) -> tuple[Order, list[Ticket]]:
        order = Order.confirming(
            booking, order_id=self._ids.new_id(), payment_id=payment_id, created_at=now
        )
        tickets = []
        names = iter(booking.holders)
        for item in booking.items:
            for _ in range(item.quantity):
                name = next(names, "")
                ticket_id = self._ids.new_id()
                claims = TicketClaims(
                    ticket_id=ticket_id,
                    event_id=booking.event_id,
                    ticket_type_id=item.ticket_type_id,
                )
                tickets.append(
                    Ticket(
                        id=ticket_id,
                        order_id=order.id,
                        event_id=booking.event_id,
                        ticket_type_id=item.ticket_type_id,
                        holder=booking.buyer,
                        holder_name=name or None,
                        status=TicketStatus.VALID,
                        token=self._signer.sign(claims),
                        version=claims.version,
                        created_at=now,
                    )
                )
        return order, tickets

    async def _mark_failed(
        self, payment: Payment, booking: Booking, reason: str, inbox: tuple[str, str] | None
    ) -> None:
        now = self._clock.now()
        async with self._uow() as uow:
            if inbox is not None and not await uow.inbox.claim(*inbox, now):
                return
            if await uow.payments.transition(
                payment.id, frozenset({PaymentStatus.OPEN}), PaymentStatus.FAILED
            ):
                uow.record(
                    PaymentFailed(
                        id=self._ids.new_id(),
                        occurred_at=now,
                        booking_id=booking.id,
                        payment_id=payment.id,
                        buyer=booking.buyer,
                        contact=booking.contact,
                        reason=reason,
                    )
                )
            await uow.commit()

    async def _store_only(self, consumer: str, event_id: str) -> None:
        async with self._uow() as uow:
            await uow.inbox.claim(consumer, event_id, self._clock.now())
            await uow.commit()


def _refunded(refund: Refund, order: Order | None) -> PaymentRefunded:
    """The answer for a payment that was refunded instead of buying the booking."""
    if refund.reason is RefundReason.DUPLICATE_PAYMENT:
        extra = {} if order is None else {"order_id": str(order.id)}
        return DuplicatePaymentRefunded(
            "duplicate_payment_refunded",
            "the booking was already paid by another payment; this one is being refunded",
            **extra,
        )
    if refund.reason is RefundReason.HOLD_LOST:
        return HoldLostRefunded(
            "hold_lost_refunded",
            "the hold expired and the tickets are gone; the payment is being refunded",
        )
    if refund.reason is RefundReason.EVENT_CANCELLED:
        return HoldLostRefunded(
            "hold_lost_refunded", "the event was cancelled; the payment is being refunded"
        )
    return PaymentRefunded("payment_refunded", "this payment was refunded")
