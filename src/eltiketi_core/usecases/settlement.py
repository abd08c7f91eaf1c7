"""Confirming a paid booking (seed steps 11–13), by the buyer or by the gateway's webhook.

Order of work, always: ask the gateway what happened (outside any
transaction), then open one transaction in which a single conditional status
change on the booking decides the winner among confirmation, expiry and
cancellation. The winner creates the order and its signed tickets in that same
transaction. A loser takes the documented path: the money arrived after the
hold ended, so the stock is taken again if it is still there, otherwise the
payment is refunded.
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
    OrderStatus,
    StockState,
    Ticket,
    TicketClaims,
    TicketStatus,
)
from eltiketi_core.domain.payment import Payment, PaymentStatus, RefundReason
from eltiketi_core.errors import (
    Conflict,
    HoldLostRefunded,
    NotFound,
    PaymentIncomplete,
    PaymentMismatch,
)
from eltiketi_core.ports.clock import Clock, IdGenerator
from eltiketi_core.ports.payments import (
    GatewayPaymentStatus,
    PaymentGateway,
    VerifiedPayment,
    WebhookKind,
)
from eltiketi_core.ports.tickets import TicketSigner
from eltiketi_core.ports.uow import UnitOfWork, UnitOfWorkFactory
from eltiketi_core.usecases.access import owned
from eltiketi_core.usecases.holds import end_hold, reserve_all
from eltiketi_core.usecases.refunds import request_refund

log = logging.getLogger(__name__)

NOT_SUCCEEDED = frozenset({PaymentStatus.OPEN, PaymentStatus.FAILED, PaymentStatus.CANCELLED})


class Confirmation(msgspec.Struct, frozen=True, kw_only=True):
    order: Order
    created: bool


class _Retry(Exception):
    """A concurrent settlement changed the booking under us: start the transaction again."""


class Settlement:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        ids: IdGenerator,
        gateway: PaymentGateway,
        signer: TicketSigner,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids
        self._gateway = gateway
        self._signer = signer

    async def confirm(
        self, principal: Principal, booking_id: UUID, payment_id: UUID
    ) -> Confirmation:
        """``POST /v1/orders``: never trusts the client; asks the gateway first."""
        async with self._uow() as uow:
            found = await uow.bookings.get(booking_id)
            booking = owned(found, found.buyer if found else None, principal, "booking")
            payment = await uow.payments.get(payment_id)
            existing = await uow.orders.for_booking(booking.id)
        if payment is None or payment.buyer != booking.buyer:
            raise NotFound("payment_not_found", "no such payment")
        if payment.booking_id != booking.id:
            raise PaymentMismatch("payment_mismatch", "that payment belongs to another booking")
        if existing is not None:
            return Confirmation(order=existing, created=False)
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

    async def settle(
        self, payment: Payment, booking: Booking, *, inbox: tuple[str, str] | None = None
    ) -> Confirmation:
        """Turn a payment the gateway confirmed into an order, exactly once.

        Raises :class:`HoldLostRefunded` (after committing the refund) when the
        hold had ended and its stock is gone, or the event was cancelled.
        """
        for _ in range(5):
            try:
                return await self._settle_once(payment, booking, inbox)
            except _Retry:
                continue
        raise Conflict("settlement_contended", "the booking is changing; retry")

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
            verified = await self._gateway.verify(payment.provider_reference or "")
            try:
                self._check_matches(payment, booking, verified)
            except PaymentMismatch:
                await self._store_only(consumer, notice.event_id)
                return notice.kind
            if verified.status is GatewayPaymentStatus.SUCCEEDED:
                try:
                    await self.settle(payment, booking, inbox=(consumer, notice.event_id))
                except HoldLostRefunded:
                    log.info("payment after expiry refunded", extra={"booking_id": str(booking.id)})
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
                        payment.id, frozenset({PaymentStatus.OPEN}), PaymentStatus.CANCELLED
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
                existing = await uow.orders.for_booking(booking.id)
                if existing is None:
                    raise HoldLostRefunded("hold_lost_refunded", "this payment was refunded")
                return Confirmation(order=existing, created=False)
            existing = await uow.orders.for_booking(booking.id)
            if existing is not None:
                await uow.commit()
                return Confirmation(order=existing, created=False)
            await uow.payments.transition(payment.id, NOT_SUCCEEDED, PaymentStatus.SUCCEEDED)
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
                    raise _Retry  # a concurrent settlement won: answer its order
                return await self._refund_and_raise(
                    uow, payment, current, RefundReason.EVENT_CANCELLED
                )
            if not await uow.bookings.transition(
                booking.id, BookingStatus.HELD, BookingStatus.CONFIRMED
            ):
                if current.status in {BookingStatus.HELD, BookingStatus.CONFIRMED}:
                    raise _Retry  # someone confirmed or ended it just now; look again
                if await reserve_all(uow, current.id, current.items) is not None:
                    return await self._refund_and_raise(
                        uow, payment, current, RefundReason.HOLD_LOST
                    )
                if not await uow.bookings.transition(
                    booking.id, current.status, BookingStatus.CONFIRMED
                ):
                    raise _Retry
            order, tickets = self._issue(payment, current, now)
            if not await uow.orders.add(order):
                raise _Retry
            await uow.tickets.add_many(tickets)
            uow.record(
                OrderCreated(
                    id=self._ids.new_id(),
                    occurred_at=now,
                    booking_id=booking.id,
                    order_id=order.id,
                    event_id=order.event_id,
                    buyer=order.buyer,
                    contact=order.contact,
                    items=order.items,
                    total=order.total,
                    ticket_ids=tuple(t.id for t in tickets),
                )
            )
            await uow.commit()
        return Confirmation(order=order, created=True)

    async def _refund_and_raise(
        self, uow: UnitOfWork, payment: Payment, booking: Booking, reason: RefundReason
    ) -> Confirmation:
        await request_refund(
            uow,
            self._ids,
            self._clock.now(),
            payment=payment,
            order_id=None,
            contact=booking.contact,
            reason=reason,
        )
        await uow.commit()
        why = (
            "the event was cancelled"
            if reason is RefundReason.EVENT_CANCELLED
            else ("the hold expired and the tickets are gone")
        )
        raise HoldLostRefunded("hold_lost_refunded", f"{why}; the payment is being refunded")

    def _issue(
        self, payment: Payment, booking: Booking, now: datetime
    ) -> tuple[Order, list[Ticket]]:
        order = Order(
            id=self._ids.new_id(),
            booking_id=booking.id,
            payment_id=payment.id,
            event_id=booking.event_id,
            buyer=booking.buyer,
            contact=booking.contact,
            items=booking.items,
            total=booking.total,
            status=OrderStatus.CONFIRMED,
            stock=StockState.HELD,
            created_at=now,
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
