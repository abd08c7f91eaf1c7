"""A real core over PostgreSQL for the Kafka tests: shop, fake gateway, recording notifier.

No ``Mock()``: the gateway and the notifier below are small honest implementations
of their ports; everything else is the production core and the SQL adapter.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import text

from eltiketi_adapters.kafka import (
    ConsumerTuning,
    KafkaConfig,
    RetryPolicy,
)
from eltiketi_adapters.sqlalchemy import SqlAlchemyPersistence
from eltiketi_adapters.tickets import JoseTicketSigner, TicketKeySet
from eltiketi_core.domain.booking import Booking, Contact
from eltiketi_core.domain.catalog import TicketType
from eltiketi_core.domain.identity import Principal
from eltiketi_core.domain.money import Money
from eltiketi_core.domain.order import Order, StockState
from eltiketi_core.domain.payment import Payment
from eltiketi_core.errors import WebhookRejected
from eltiketi_core.ports.notifications import (
    PaymentProblemNotice,
    RefundNotice,
    TicketsNotice,
)
from eltiketi_core.ports.payments import (
    GatewayPaymentStatus,
    PaymentSession,
    VerifiedPayment,
    WebhookNotice,
)
from eltiketi_core.usecases import Ticketing
from eltiketi_core.usecases.reservation import ItemRequest, ReserveRequest
from tests.infra.kafka import FAST_GROUP_SETTINGS, unique_name
from tests.integration.sqlalchemy.support import RandomIds, SteppingClock, published_event


class InstantGateway:
    """A gateway where every payment succeeds at once (the buyer always pays)."""

    provider = "instant"

    def __init__(self) -> None:
        self._payments: dict[str, VerifiedPayment] = {}

    async def start(
        self, payment: Payment, booking: Booking, *, expires_at: datetime
    ) -> PaymentSession:
        reference = f"pay_{payment.id.hex}"
        self._payments[reference] = VerifiedPayment(
            provider_reference=reference,
            status=GatewayPaymentStatus.SUCCEEDED,
            booking_id=booking.id,
            amount=payment.amount,
        )
        return PaymentSession(provider_reference=reference)

    async def verify(self, provider_reference: str) -> VerifiedPayment:
        return self._payments[provider_reference]

    async def cancel(self, provider_reference: str) -> VerifiedPayment:
        return self._payments[provider_reference]

    async def refund(self, provider_reference: str, amount: Money, *, idempotency_key: str) -> str:
        return f"re_{idempotency_key}"

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> WebhookNotice:
        raise WebhookRejected("invalid_signature", "this gateway sends no webhooks")


@dataclass
class RecordingNotifier:
    """The e-mail channel, remembering what it sent (order ids of e-tickets)."""

    channel: str = "email"
    tickets: list[UUID] = field(default_factory=list)

    def accepts(self, contact: Contact) -> bool:
        return contact.email is not None

    async def send_tickets(self, notice: TicketsNotice) -> None:
        self.tickets.append(notice.order.id)

    async def send_refund(self, notice: RefundNotice) -> None:
        return None

    async def send_payment_problem(self, notice: PaymentProblemNotice) -> None:
        return None


class Shop:
    """The production core over one PostgreSQL database, with test stand-ins at the edges."""

    def __init__(self, db: SqlAlchemyPersistence) -> None:
        self.db = db
        self.clock = SteppingClock()
        self.notifier = RecordingNotifier()
        self.buyers: dict[UUID, Principal] = {}
        self.ticketing = Ticketing(
            uow=db.uow_factory(),
            clock=self.clock,
            ids=RandomIds(),
            gateway=InstantGateway(),
            signer=JoseTicketSigner(TicketKeySet.generate()),
            notifiers=[self.notifier],
        )

    async def ticket_type(self, capacity: int) -> TicketType:
        _, (ticket_type,) = await published_event(self.db, capacity)
        return ticket_type

    async def buy(self, ticket_type: TicketType, n: int, quantity: int = 1) -> Order:
        """Reserve, pay and confirm: the outbox gets BookingCreated, PaymentStarted, OrderCreated."""
        buyer = Principal(subject=f"buyer-{n}", email=f"buyer-{n}@example.test")
        reservation = await self.ticketing.bookings.reserve(
            buyer,
            ReserveRequest(
                event_id=ticket_type.event_id,
                items=(ItemRequest(ticket_type_id=ticket_type.id, quantity=quantity),),
            ),
        )
        payment = await self.ticketing.payments.start(buyer, reservation.booking.id)
        confirmation = await self.ticketing.settlement.confirm(
            buyer, reservation.booking.id, payment.id
        )
        self.buyers[confirmation.order.id] = buyer
        return confirmation.order

    async def cancel(self, order: Order) -> None:
        """The buyer cancels: OrderRefunded and RefundRequested go to the outbox."""
        await self.ticketing.orders.cancel(self.buyers[order.id], order.id)

    async def buy_many(self, ticket_type: TicketType, count: int, *, start: int = 0) -> list[Order]:
        return [await self.buy(ticket_type, n) for n in range(start, start + count)]

    async def levels(self, ticket_type: TicketType) -> tuple[int, int]:
        """(held, sold) of the ticket type."""
        async with self.db.unit_of_work() as uow:
            level = (await uow.inventory.levels([ticket_type.id]))[ticket_type.id]
        return level.held, level.sold

    async def stock_states(self, orders: list[Order]) -> dict[UUID, StockState]:
        states: dict[UUID, StockState] = {}
        async with self.db.unit_of_work() as uow:
            for order in orders:
                found = await uow.orders.get(order.id)
                assert found is not None
                states[order.id] = found.stock
        return states

    async def ticket_notifications(self) -> Counter[str]:
        """How many e-ticket notification records exist per order key (one is right)."""
        async with self.db.unit_of_work() as uow:
            records = await uow.notifications.for_key_prefix("tickets:")
        return Counter(record.key for record in records)

    async def pending_outbox(self) -> int:
        async with self.db.engine.connect() as connection:
            result = await connection.execute(
                text("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            )
            return int(result.scalar_one())

    async def inbox(self, consumer: str) -> int:
        async with self.db.engine.connect() as connection:
            result = await connection.execute(
                text("SELECT count(*) FROM inbox WHERE consumer = :c"), {"c": consumer}
            )
            return int(result.scalar_one())


def kafka_test_config(bootstrap: str, **overrides: Any) -> KafkaConfig:
    """Topics and groups no other test uses, fast group joins, a short retry budget."""
    prefix = unique_name("t")
    settings: dict[str, Any] = {
        "bootstrap": bootstrap,
        "topic_prefix": f"{prefix}.",
        "group_prefix": f"{prefix}-",
        "partitions": 4,
        "request_timeout_ms": 5_000,
        "retry": RetryPolicy(attempts=3, base_delay=0.05, max_delay=0.2),
        "consumer": ConsumerTuning(
            session_timeout_ms=FAST_GROUP_SETTINGS["session_timeout_ms"],
            heartbeat_interval_ms=FAST_GROUP_SETTINGS["heartbeat_interval_ms"],
            rebalance_timeout_ms=FAST_GROUP_SETTINGS["rebalance_timeout_ms"],
        ),
        "graceful_timeout": 5.0,
    }
    settings.update(overrides)
    return KafkaConfig(**settings)


async def eventually(
    check: Callable[[], Awaitable[bool]], *, within: float = 30.0, every: float = 0.1
) -> None:
    """Poll ``check()`` until it is true; ``TimeoutError`` after ``within`` seconds."""
    async with asyncio.timeout(within):
        while not await check():  # noqa: ASYNC110 - polling another process's effects
            await asyncio.sleep(every)


def new_id() -> UUID:
    return uuid.uuid4()
