"""An organizer's view of the orders of their events: search, detail, refund, resend.

The refund follows the customer cancellation (:meth:`Orders.cancel
<eltiketi_core.usecases.orders.Orders.cancel>`) step for step — one
compare-and-set from ``confirmed`` to ``refunded`` decides every race (a second
refund, the buyer's cancellation, the event's cancellation job), the tickets
become void in the same transaction, the money goes back through the outbox —
without the buyer's cut-off: the organizer may refund until and after the event.
"""

from __future__ import annotations

import string
from uuid import UUID

import msgspec

from eltiketi_core.domain.identity import Principal
from eltiketi_core.domain.order import CheckIn, Order, OrderStatus, Ticket, normalise_reference
from eltiketi_core.domain.payment import Payment, Refund, RefundReason
from eltiketi_core.errors import Conflict, TicketUsed, ValidationFailed
from eltiketi_core.ports.stores import OrderQuery
from eltiketi_core.ports.uow import UnitOfWork
from eltiketi_core.usecases.access import event_order, managed_event
from eltiketi_core.usecases.catalog import managed_events
from eltiketi_core.usecases.core_ports import CorePorts, UseCase
from eltiketi_core.usecases.notifications import Notifications
from eltiketi_core.usecases.refunds import refund_order

#: Longest search text accepted (an e-mail address is at most 320 characters).
MAX_QUERY_LENGTH = 320
#: Hex digits an id prefix needs to be taken as one (fewer match too many orders).
MIN_ID_PREFIX = 8
#: Events an organizer-wide search covers at most (the first ones by start).
MAX_SEARCHED_EVENTS = 500

_HEX = frozenset(string.hexdigits)


class OrderDetail(msgspec.Struct, frozen=True, kw_only=True):
    """An order with everything the back office shows about it: its tickets (and which
    were scanned in), the payments of its booking (newest first) and their refunds."""

    order: Order
    tickets: tuple[Ticket, ...]
    check_ins: tuple[CheckIn, ...]
    payments: tuple[Payment, ...]
    refunds: tuple[Refund, ...]


def order_query(
    event_ids: tuple[UUID, ...], text: str | None, status: OrderStatus | None
) -> OrderQuery:
    """What a person typed in the search box, read as an order query: orders whose
    short ``reference`` it is (as typed: ``7k3m-9qxa`` works), whose id starts with it
    (:data:`MIN_ID_PREFIX` hex digits or more, dashes allowed), or whose e-mail, phone
    or buyer contains it — any of these.
    """
    cleaned = (text or "").strip()
    if len(cleaned) > MAX_QUERY_LENGTH:
        raise ValidationFailed("invalid_query", f"search for at most {MAX_QUERY_LENGTH} characters")
    if not cleaned:
        return OrderQuery(event_ids=event_ids, status=status)
    digits = cleaned.replace("-", "").lower()
    hexlike = MIN_ID_PREFIX <= len(digits) <= 32 and set(digits) <= _HEX
    return OrderQuery(
        event_ids=event_ids,
        text=cleaned,
        id_prefix=digits if hexlike else None,
        reference=normalise_reference(cleaned),
        status=status,
    )


class OrganizerOrders(UseCase):
    def __init__(self, ports: CorePorts, notifications: Notifications) -> None:
        super().__init__(ports)
        self._notifications = notifications

    async def search(
        self,
        principal: Principal,
        event_id: UUID,
        text: str | None = None,
        *,
        status: OrderStatus | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[Order]:
        """The event's orders matching ``text`` (see :func:`order_query`), newest first."""
        async with self._uow() as uow:
            event = await managed_event(uow, principal, event_id)
            query = order_query((event.id,), text, status)
            return await uow.orders.search(query, limit=limit, offset=offset)

    async def search_everywhere(
        self,
        principal: Principal,
        text: str | None = None,
        *,
        status: OrderStatus | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[Order]:
        """The same over every event the caller manages (today: their own events; with
        organizations, the organization's)."""
        async with self._uow() as uow:
            events = await managed_events(uow, principal, limit=MAX_SEARCHED_EVENTS, offset=0)
            query = order_query(tuple(e.id for e in events), text, status)
            return await uow.orders.search(query, limit=limit, offset=offset)

    async def detail(self, principal: Principal, event_id: UUID, order_id: UUID) -> OrderDetail:
        async with self._uow() as uow:
            order = await _managed_order(uow, principal, event_id, order_id)
            return await _detail(uow, order)

    async def refund(self, principal: Principal, event_id: UUID, order_id: UUID) -> OrderDetail:
        """Cancel the order and refund its payment in full; the tickets become void at once
        and the stock returns when the inventory handler sees ``OrderRefunded``. An order
        with a checked-in ticket is refused (``ticket_used``), as the buyer's cancellation.

        Refunding a refunded order answers it as it is (nothing happens twice).
        """
        now = self._clock.now()
        async with self._uow() as uow:
            order = await _managed_order(uow, principal, event_id, order_id)
            if order.status is OrderStatus.CONFIRMED:
                if not await refund_order(
                    uow, self._ids, now, order, RefundReason.ORGANIZER_CANCELLED
                ):
                    raise Conflict("order_changed", "the order changed meanwhile; read it again")
                # As for the buyer: a used order is not refunded. Counted after the void,
                # which waits for a check-in holding a ticket (see Orders.cancel).
                used = await uow.tickets.checked_in_count(order.id)
                if used:  # leaving without a commit undoes the refund and the void
                    raise TicketUsed(
                        "ticket_used",
                        f"{used} ticket(s) of this order were already used at the door; "
                        "a used order cannot be refunded",
                        checked_in=used,
                    )
                await uow.commit()
        async with self._uow() as uow:
            refreshed = await uow.orders.get(order.id)
            return await _detail(uow, refreshed or order)

    async def resend(self, principal: Principal, event_id: UUID, order_id: UUID) -> int:
        """Send the order's e-tickets again to its contact, with the buyer's own rate limit.

        Returns how many channels sent (e-mail, SMS).
        """
        return await self._notifications.resend_tickets(principal, order_id, event_id=event_id)


async def _managed_order(
    uow: UnitOfWork, principal: Principal, event_id: UUID, order_id: UUID
) -> Order:
    event = await managed_event(uow, principal, event_id)
    return event_order(await uow.orders.get(order_id), event)


async def _detail(uow: UnitOfWork, order: Order) -> OrderDetail:
    payments = await uow.payments.for_booking(order.booking_id)
    refunds: list[Refund] = []
    for payment in payments:
        refunds += await uow.refunds.for_payment(payment.id)
    return OrderDetail(
        order=order,
        tickets=tuple(await uow.tickets.for_order(order.id)),
        check_ins=tuple(await uow.tickets.check_ins_for_order(order.id)),
        payments=tuple(payments),
        refunds=tuple(sorted(refunds, key=lambda r: (r.created_at, r.id))),
    )
