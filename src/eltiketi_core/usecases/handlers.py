"""Event handlers: what happens after a fact is recorded (seed steps 14–16 and beyond).

Each handler has a ``name`` (its inbox identity and its consumer group on a
bus) and is idempotent, because delivery is at least once.
"""

from __future__ import annotations

import logging

import msgspec

from eltiketi_core.domain.events import (
    BookingCancelled,
    BookingExpired,
    DomainEvent,
    OrderCreated,
    OrderRefunded,
    PaymentFailed,
    RefundCompleted,
    RefundRequested,
)
from eltiketi_core.domain.order import StockState
from eltiketi_core.domain.payment import UNFINISHED_PAYMENT_STATUSES, RefundStatus
from eltiketi_core.errors import PaymentMismatch, PaymentRefunded
from eltiketi_core.ports.clock import Clock
from eltiketi_core.ports.payments import PaymentGateway
from eltiketi_core.ports.uow import UnitOfWorkFactory
from eltiketi_core.usecases.core_ports import CorePorts, UseCase
from eltiketi_core.usecases.notifications import (
    Notifications,
    payment_problem_key,
    refund_key,
    tickets_key,
)
from eltiketi_core.usecases.settlement import Settlement

log = logging.getLogger(__name__)


class InventoryHandler:
    """The only mover of held → sold and of sold stock back (docs/architecture.md, "Who moves inventory").

    The order's ``stock`` state makes it exact: each move is a compare-and-set,
    committed with the counters and the inbox row.
    """

    name = "inventory"
    handles: frozenset[type[DomainEvent]] = frozenset({OrderCreated, OrderRefunded})

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def __call__(self, event: DomainEvent) -> None:
        async with self._uow() as uow:
            if not await uow.inbox.claim(self.name, str(event.id), self._clock.now()):
                return
            if isinstance(event, OrderCreated):
                if await uow.orders.move_stock(event.order_id, StockState.HELD, StockState.SOLD):
                    for item in sorted(event.items, key=lambda i: i.ticket_type_id):
                        await uow.inventory.sell(
                            event.booking_id, item.ticket_type_id, item.quantity
                        )
            elif isinstance(event, OrderRefunded):
                items = sorted(event.items, key=lambda i: i.ticket_type_id)
                if await uow.orders.move_stock(
                    event.order_id, StockState.SOLD, StockState.RELEASED
                ):
                    for item in items:
                        await uow.inventory.unsell(
                            event.booking_id, item.ticket_type_id, item.quantity
                        )
                elif await uow.orders.move_stock(
                    event.order_id, StockState.HELD, StockState.RELEASED
                ):
                    for item in items:
                        await uow.inventory.release(
                            event.booking_id, item.ticket_type_id, item.quantity
                        )
            await uow.commit()


class NotificationHandler:
    """Sends e-tickets, refund notices and payment-problem notices."""

    name = "notifications"
    handles: frozenset[type[DomainEvent]] = frozenset(
        {OrderCreated, RefundCompleted, PaymentFailed}
    )

    def __init__(self, notifications: Notifications) -> None:
        self._notifications = notifications

    async def __call__(self, event: DomainEvent) -> None:
        if isinstance(event, OrderCreated):
            await self._notifications.deliver(tickets_key(event.order_id))
        elif isinstance(event, RefundCompleted):
            await self._notifications.deliver(refund_key(event.refund_id))
        elif isinstance(event, PaymentFailed):
            await self._notifications.deliver(payment_problem_key(event.payment_id))


class RefundExecutor(UseCase):
    """Moves refund money through the gateway with the key ``refund:{refund_id}``."""

    name = "refunds"
    handles: frozenset[type[DomainEvent]] = frozenset({RefundRequested})

    def __init__(self, ports: CorePorts, gateway: PaymentGateway) -> None:
        super().__init__(ports)
        self._gateway = gateway

    async def __call__(self, event: DomainEvent) -> None:
        if not isinstance(event, RefundRequested):
            return
        async with self._uow() as uow:
            refund = await uow.refunds.get(event.refund_id)
            payment = await uow.payments.get(event.payment_id)
        if refund is None or payment is None or refund.status is RefundStatus.SUCCEEDED:
            return
        if payment.provider_reference is None:
            log.error("refund without a provider payment", extra={"refund_id": str(refund.id)})
            return
        reference = await self._gateway.refund(
            payment.provider_reference, refund.amount, idempotency_key=refund.idempotency_key
        )
        now = self._clock.now()
        async with self._uow() as uow:
            current = await uow.refunds.get(refund.id)
            if current is None or current.status is RefundStatus.SUCCEEDED:
                return
            await uow.refunds.update(
                msgspec.structs.replace(
                    current, status=RefundStatus.SUCCEEDED, provider_reference=reference
                )
            )
            uow.record(
                RefundCompleted(
                    id=self._ids.new_id(),
                    occurred_at=now,
                    booking_id=event.booking_id,
                    refund_id=refund.id,
                    order_id=refund.order_id,
                    buyer=refund.buyer,
                    contact=event.contact,
                    amount=refund.amount,
                    reason=refund.reason.value,
                )
            )
            await uow.commit()


class PaymentCanceller:
    """When a hold ends, retire every unfinished payment of it so the buyer cannot pay for
    nothing — the open one, and failed ones too: Stripe lets a declined PaymentIntent be
    paid later, until it is cancelled.

    It never moves stock itself: if the gateway says the money already arrived, the
    payment-after-expiry path of :class:`Settlement` decides (stock again, or a refund).
    """

    name = "payments"
    handles: frozenset[type[DomainEvent]] = frozenset({BookingExpired, BookingCancelled})

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        gateway: PaymentGateway,
        settlement: Settlement,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._gateway = gateway
        self._settlement = settlement

    async def __call__(self, event: DomainEvent) -> None:
        async with self._uow() as uow:
            booking = await uow.bookings.get(event.booking_id)
            payments = await uow.payments.for_booking(event.booking_id)
        if booking is None:
            return
        for payment in payments:
            if payment.status not in UNFINISHED_PAYMENT_STATUSES:
                continue
            try:
                await self._settlement.retire(payment, booking)
            except (PaymentRefunded, PaymentMismatch):
                log.info("paid after the hold ended", extra={"booking_id": str(booking.id)})
