"""The buyer's orders: reading them, their tickets, and cancelling before the cut-off."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from eltiketi_core.domain.identity import Principal
from eltiketi_core.domain.money import Money
from eltiketi_core.domain.order import Order, OrderStatus, Ticket
from eltiketi_core.domain.payment import RefundReason
from eltiketi_core.errors import Conflict, NotFound, TicketUsed
from eltiketi_core.usecases.access import owned
from eltiketi_core.usecases.core_ports import CorePorts, UseCase
from eltiketi_core.usecases.policy import Policy
from eltiketi_core.usecases.refunds import refund_order


class OrderView(msgspec.Struct, frozen=True, kw_only=True):
    order: Order
    tickets: tuple[Ticket, ...]


class CancellationTerms(msgspec.Struct, frozen=True, kw_only=True):
    """What cancelling the order would do now, for the buyer to read before confirming.

    ``allowed`` False carries the ``code`` the cancellation would answer with
    (``cancellation_closed`` after ``deadline``, ``order_refunded`` when it is
    already cancelled or refunded).
    """

    allowed: bool
    refund: Money
    deadline: datetime
    code: str | None = None


class Orders(UseCase):
    def __init__(self, ports: CorePorts, policy: Policy) -> None:
        super().__init__(ports)
        self._policy = policy

    async def list(
        self, principal: Principal, *, limit: int = 50, offset: int = 0
    ) -> list[OrderView]:
        async with self._uow() as uow:
            orders = await uow.orders.list_for_buyer(principal.subject, limit=limit, offset=offset)
            return [
                OrderView(order=o, tickets=tuple(await uow.tickets.for_order(o.id))) for o in orders
            ]

    async def get(self, principal: Principal, order_id: UUID) -> OrderView:
        async with self._uow() as uow:
            found = await uow.orders.get(order_id)
            order = owned(found, found.buyer if found else None, principal, "order")
            return OrderView(order=order, tickets=tuple(await uow.tickets.for_order(order.id)))

    async def shared(self, order_id: UUID) -> OrderView:
        """An order opened through a link the app signed for it (e-mail, SMS): no login,
        so the caller must have checked the link first. Unknown ids are ``order_not_found``."""
        async with self._uow() as uow:
            order = await uow.orders.get(order_id)
            if order is None:
                raise NotFound("order_not_found", "no such order")
            return OrderView(order=order, tickets=tuple(await uow.tickets.for_order(order.id)))

    async def ticket(self, principal: Principal, ticket_id: UUID) -> Ticket:
        async with self._uow() as uow:
            found = await uow.tickets.get(ticket_id)
            return owned(found, found.holder if found else None, principal, "ticket")

    async def cancellation_terms(self, principal: Principal, order_id: UUID) -> CancellationTerms:
        """Whether the buyer may cancel now, until when, and the amount refunded (all of it)."""
        async with self._uow() as uow:
            found = await uow.orders.get(order_id)
            order = owned(found, found.buyer if found else None, principal, "order")
            event = await uow.catalog.get_event(order.event_id)
        if event is None:
            raise NotFound("event_not_found", "no such event")
        deadline = event.starts_at - self._policy.cancel_cutoff
        code = None
        if order.status is OrderStatus.REFUNDED:
            code = "order_refunded"
        elif self._clock.now() > deadline:
            code = "cancellation_closed"
        return CancellationTerms(
            allowed=code is None, refund=order.total, deadline=deadline, code=code
        )

    async def cancel(self, principal: Principal, order_id: UUID) -> OrderView:
        """Customer cancellation: allowed until ``cancel_cutoff`` before the event starts.

        The tickets become void at once; the refund is executed through the
        outbox and the stock returns when the inventory handler runs. An order
        with a checked-in ticket is refused (``ticket_used``). That is decided
        after the tickets are voided, in the same transaction: the void waits for
        a check-in that holds a ticket, so a check-in racing the cancellation is
        either counted here (and the cancellation undone) or sees the ticket void.
        """
        now = self._clock.now()
        async with self._uow() as uow:
            found = await uow.orders.get(order_id)
            order = owned(found, found.buyer if found else None, principal, "order")
            if order.status is OrderStatus.REFUNDED:
                return OrderView(order=order, tickets=tuple(await uow.tickets.for_order(order.id)))
            event = await uow.catalog.get_event(order.event_id)
            if event is None:
                raise NotFound("event_not_found", "no such event")
            if event.starts_at - now < self._policy.cancel_cutoff:
                hours = self._policy.cancel_cutoff.total_seconds() / 3600
                raise Conflict(
                    "cancellation_closed",
                    f"orders can be cancelled until {hours:g} hours before the event",
                )
            if not await refund_order(uow, self._ids, now, order, RefundReason.CUSTOMER_CANCELLED):
                raise Conflict("order_changed", "the order changed meanwhile; read it again")
            used = await uow.tickets.checked_in_count(order.id)
            if used:  # leaving without a commit undoes the refund and the void
                raise TicketUsed(
                    "ticket_used",
                    f"{used} ticket(s) of this order were already used at the door; "
                    "a used order cannot be cancelled",
                    checked_in=used,
                )
            await uow.commit()
            refunded = msgspec.structs.replace(order, status=OrderStatus.REFUNDED)
        async with self._uow() as uow:
            return OrderView(order=refunded, tickets=tuple(await uow.tickets.for_order(order.id)))
