"""The stores behind the organizer's back office: edits, sale windows, capacity changes,
order search and totals, orders per hour, check-ins, attendee pages."""

from __future__ import annotations

import asyncio
from datetime import UTC, timedelta
from uuid import UUID, uuid4

import msgspec
import pytest

from eltiketi_core.domain.catalog import Event, EventStatus, TicketType
from eltiketi_core.domain.money import Money
from eltiketi_core.domain.order import Order, OrderStatus, TicketStatus
from eltiketi_core.ports.stores import OrderQuery, OrderTotals
from eltiketi_core.ports.uow import UnitOfWorkFactory
from tests.contract.builders import T0, World, new_check_in, new_ticket_type, new_tickets
from tests.contract.test_inventory import counters, reserve

SHARDS = [1, 4]

# -- edits ---------------------------------------------------------------------------------


async def test_an_event_edit_keeps_owner_status_and_creation(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    event = await world.event(status=EventStatus.PUBLISHED)
    edited = msgspec.structs.replace(
        event,
        name="Renamed",
        venue="Other Hall",
        starts_at=event.starts_at + timedelta(days=1),
        timezone="America/New_York",
        locale="en-US",
        currency="USD",
        description="Doors 19:00.\nNo re-entry.",
    )
    async with uow_factory() as uow:
        # what the port must never write, even if asked
        await uow.catalog.update_event(
            msgspec.structs.replace(
                edited, owner="mallory", status=EventStatus.CANCELLED, created_at=T0 + timedelta(1)
            )
        )
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.catalog.get_event(event.id) == edited
        await uow.catalog.update_event(
            msgspec.structs.replace(edited, id=uuid4())
        )  # unknown: no-op


async def test_a_ticket_type_edit_keeps_event_capacity_and_shards(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    ticket_type = await world.ticket_type(capacity=10, shards=4)
    window = msgspec.structs.replace(
        ticket_type,
        name="Early bird",
        price=Money(1999, "EUR"),
        max_per_booking=4,
        sales_start=T0 + timedelta(hours=1),
        sales_end=T0 + timedelta(days=2, microseconds=0),
    )
    async with uow_factory() as uow:
        await uow.catalog.update_ticket_type(
            msgspec.structs.replace(window, event_id=uuid4(), capacity=99, shards=1)
        )
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.catalog.get_ticket_type(ticket_type.id) == window
        assert await uow.catalog.ticket_types(ticket_type.event_id) == [window]
        opened = await uow.catalog.open_for_sale(
            ticket_type.event_id, [ticket_type.id], buyer="alice"
        )
        assert opened is not None and opened[1] == {ticket_type.id: window}
    assert await counters(uow_factory, ticket_type) == (10, 0, 0)


async def test_a_sale_window_and_a_description_round_trip_from_creation(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    event = await world.event(description="Bring ear plugs.")
    ticket_type = msgspec.structs.replace(
        new_ticket_type(event), sales_start=T0, sales_end=T0 + timedelta(hours=5)
    )
    async with uow_factory() as uow:
        await uow.catalog.add_ticket_type(ticket_type)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.catalog.get_ticket_type(ticket_type.id) == ticket_type
        stored = await uow.catalog.get_event(event.id)
    assert stored is not None and stored.description == "Bring ear plugs."
    assert ticket_type.sales_start is not None and ticket_type.sales_start.tzinfo is not None


# -- capacity ------------------------------------------------------------------------------


@pytest.mark.parametrize("shards", SHARDS)
async def test_capacity_goes_up_at_any_time_and_down_to_held_plus_sold(
    uow_factory: UnitOfWorkFactory, world: World, shards: int
) -> None:
    ticket_type = await world.ticket_type(capacity=10, shards=shards)
    sold = await reserve(uow_factory, ticket_type, 3)
    assert sold is not None
    async with uow_factory() as uow:
        await uow.inventory.sell(sold, ticket_type.id, 3)
        await uow.commit()
    assert await reserve(uow_factory, ticket_type, 4)
    assert await counters(uow_factory, ticket_type) == (10, 4, 3)

    assert await _set_capacity(uow_factory, ticket_type, 15)
    assert await counters(uow_factory, ticket_type) == (15, 4, 3)
    assert not await _set_capacity(uow_factory, ticket_type, 6)  # below held + sold = 7
    assert await counters(uow_factory, ticket_type) == (15, 4, 3)
    assert await _set_capacity(uow_factory, ticket_type, 7)  # exactly held + sold: sold out
    assert await counters(uow_factory, ticket_type) == (7, 4, 3)
    assert await reserve(uow_factory, ticket_type, 1) is None
    async with uow_factory() as uow:
        stored = await uow.catalog.get_ticket_type(ticket_type.id)
    assert stored is not None and stored.capacity == 7

    # raised again, the new stock is all there, to the last ticket, however it is sharded
    assert await _set_capacity(uow_factory, ticket_type, 12)
    taken = [await reserve(uow_factory, ticket_type, 1) for _ in range(6)]
    assert sum(t is not None for t in taken) == 5
    assert await counters(uow_factory, ticket_type) == (12, 9, 3)


async def test_capacity_of_nothing_is_refused(uow_factory: UnitOfWorkFactory, world: World) -> None:
    ticket_type = await world.ticket_type(capacity=3)
    async with uow_factory() as uow:
        assert not await uow.inventory.set_capacity(uuid4(), 5)
        assert not await uow.inventory.set_capacity(ticket_type.id, -1)
        assert await uow.inventory.set_capacity(ticket_type.id, 0)
        await uow.commit()
    assert await counters(uow_factory, ticket_type) == (0, 0, 0)


@pytest.mark.parametrize("shards", SHARDS)
async def test_a_capacity_cut_racing_buyers_never_breaks_the_invariant(
    wide_uow_factory: UnitOfWorkFactory, world: World, shards: int
) -> None:
    """Twenty buyers and a cut from 20 to 12 at once: whatever the order, the counters end
    within the capacity, and the cut holds or was refused for a reason (held > 12)."""
    ticket_type = await world.ticket_type(capacity=20, shards=shards)

    async def cut() -> bool:
        await asyncio.sleep(0.005)
        return await _set_capacity(wide_uow_factory, ticket_type, 12)

    outcomes = await asyncio.gather(
        *(reserve(wide_uow_factory, ticket_type, 1) for _ in range(20)), cut()
    )
    cut_held = outcomes[-1]
    won = sum(o is not None for o in outcomes[:-1])
    capacity, held, sold = await counters(wide_uow_factory, ticket_type)
    assert held == won and sold == 0
    assert held <= capacity
    if cut_held:
        assert (capacity, won <= 12) == (12, True)
    else:
        assert capacity == 20 and won > 12


async def _set_capacity(
    uow_factory: UnitOfWorkFactory, ticket_type: TicketType, capacity: int
) -> bool:
    async with uow_factory() as uow:
        changed = await uow.inventory.set_capacity(ticket_type.id, capacity)
        await uow.commit()
    return changed


# -- bookings ------------------------------------------------------------------------------


async def test_any_booking_of_an_event_counts_in_any_status(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    ticket_type = await world.ticket_type()
    other = await world.ticket_type()
    async with uow_factory() as uow:
        assert not await uow.bookings.any_for_event(ticket_type.event_id)
    await world.booking(other)
    booking = await world.booking(ticket_type)
    async with uow_factory() as uow:
        assert await uow.bookings.transition(booking.id, booking.status, booking.status.EXPIRED)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.bookings.any_for_event(ticket_type.event_id)
        assert not await uow.bookings.any_for_event(uuid4())


# -- orders --------------------------------------------------------------------------------


async def _orders_of(world: World, event: Event, *buyers: str, minutes: int = 0) -> list[Order]:
    ticket_type = await world.ticket_type(event)
    return [
        await world.order(
            await world.booking(ticket_type, buyer=name),
            created_at=T0 + timedelta(minutes=minutes + n),
        )
        for n, name in enumerate(buyers)
    ]


async def _search(
    uow_factory: UnitOfWorkFactory, query: OrderQuery, *, limit: int = 50, offset: int = 0
) -> list[UUID]:
    async with uow_factory() as uow:
        found = await uow.orders.search(query, limit=limit, offset=offset)
    return [o.id for o in found]


async def test_search_finds_orders_by_contact_buyer_and_id_newest_first(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    event = await world.event()
    ada, bob, adam = await _orders_of(world, event, "Ada", "bob", "adam_r")
    other = await world.event()
    (foreign_ada,) = await _orders_of(world, other, "ada")
    mine = (event.id,)

    assert await _search(uow_factory, OrderQuery(event_ids=mine)) == [adam.id, bob.id, ada.id]
    # part of the e-mail (ada@example.org), case-insensitive; ada and adam_r both match "ada"
    assert await _search(uow_factory, OrderQuery(event_ids=mine, text="ADA")) == [adam.id, ada.id]
    assert await _search(uow_factory, OrderQuery(event_ids=mine, text="bob@ex")) == [bob.id]
    assert await _search(uow_factory, OrderQuery(event_ids=mine, text="5112345")) == [
        adam.id,
        bob.id,
        ada.id,
    ]  # the phone
    # LIKE wildcards are literal: "_" matches only an underscore
    assert await _search(uow_factory, OrderQuery(event_ids=mine, text="m_r")) == [adam.id]
    assert await _search(uow_factory, OrderQuery(event_ids=mine, text="%")) == []
    prefix = bob.id.hex[:10]
    assert await _search(uow_factory, OrderQuery(event_ids=mine, id_prefix=prefix)) == [bob.id]
    assert await _search(uow_factory, OrderQuery(event_ids=mine, id_prefix=bob.id.hex)) == [bob.id]
    # over two events; ada and foreign_ada were made at the same instant: the higher id first
    tied = sorted([ada.id, foreign_ada.id], reverse=True)
    both = OrderQuery(event_ids=(event.id, other.id), text="ada")
    assert await _search(uow_factory, both) == [adam.id, *tied]
    assert await _search(uow_factory, OrderQuery(event_ids=())) == []
    assert await _search(uow_factory, OrderQuery(event_ids=mine), limit=2, offset=1) == [
        bob.id,
        ada.id,
    ]


async def test_search_finds_an_order_by_reference_and_any_criterion_matches(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    event = await world.event()
    ada, bob, _ = await _orders_of(world, event, "ada", "bob", "cy")
    mine = (event.id,)
    assert await _search(uow_factory, OrderQuery(event_ids=mine, reference=bob.reference)) == [
        bob.id
    ]
    assert await _search(uow_factory, OrderQuery(event_ids=mine, reference="00000000")) == []
    # criteria are alternatives: bob by reference, ada by e-mail
    either = OrderQuery(event_ids=mine, reference=bob.reference, text="ada@")
    assert await _search(uow_factory, either) == [bob.id, ada.id]
    either = OrderQuery(event_ids=mine, id_prefix=ada.id.hex, text="nobody")
    assert await _search(uow_factory, either) == [ada.id]
    other = await world.event()
    assert (
        await _search(uow_factory, OrderQuery(event_ids=(other.id,), reference=bob.reference)) == []
    )


async def test_search_finds_an_order_by_a_name_on_its_tickets(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    event = await world.event()
    ticket_type = await world.ticket_type(event)
    order = await world.order(await world.booking(ticket_type, 2, buyer="sub-1"))
    other = await world.order(await world.booking(ticket_type, 1, buyer="sub-2"))
    first, second = new_tickets(order)
    named = [msgspec.structs.replace(first, holder_name="Ada Lovelace"), second]
    async with uow_factory() as uow:
        await uow.tickets.add_many([*named, *new_tickets(other)])
        await uow.commit()
    mine = (event.id,)
    assert await _search(uow_factory, OrderQuery(event_ids=mine, text="lovelace")) == [order.id]
    assert await _search(uow_factory, OrderQuery(event_ids=mine, text="ada l")) == [order.id]
    async with uow_factory() as uow:
        listed = await uow.tickets.attendees(event.id, after=None, limit=10)
    names = {a.ticket_id: a.holder_name for a in listed}
    assert names[first.id] == "Ada Lovelace" and names[second.id] is None


async def test_search_filters_by_status(uow_factory: UnitOfWorkFactory, world: World) -> None:
    event = await world.event()
    kept, refunded = await _orders_of(world, event, "kim", "kai")
    async with uow_factory() as uow:
        assert await uow.orders.transition(refunded.id, OrderStatus.CONFIRMED, OrderStatus.REFUNDED)
        await uow.commit()
    query = OrderQuery(event_ids=(event.id,), text="k", status=OrderStatus.REFUNDED)
    assert await _search(uow_factory, query) == [refunded.id]
    query = msgspec.structs.replace(query, status=OrderStatus.CONFIRMED)
    assert await _search(uow_factory, query) == [kept.id]


async def test_totals_count_and_sum_orders_by_status(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    event, quiet, other = await world.event(), await world.event(), await world.event()
    orders = await _orders_of(world, event, "a", "b", "c")
    await _orders_of(world, other, "d")
    async with uow_factory() as uow:
        assert await uow.orders.transition(
            orders[0].id, OrderStatus.CONFIRMED, OrderStatus.REFUNDED
        )
        await uow.commit()
    async with uow_factory() as uow:
        totals = await uow.orders.totals([event.id, quiet.id])
        assert await uow.orders.totals([]) == {}
    price = orders[0].total.amount
    assert totals == {
        event.id: OrderTotals(
            event_id=event.id,
            confirmed=2,
            refunded=1,
            confirmed_amount=2 * price,
            refunded_amount=price,
        )
    }
    assert totals[event.id].gross_amount == 3 * price and totals[event.id].orders == 3


async def test_orders_are_counted_per_utc_hour_since_a_moment(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    event = await world.event()
    ticket_type = await world.ticket_type(event)
    for minutes in (-61, -5, 0, 10, 59, 60, 185):
        await world.order(
            await world.booking(ticket_type, buyer=f"b{minutes}"),
            created_at=T0 + timedelta(minutes=minutes),
        )
    await _orders_of(world, await world.event(), "elsewhere")
    async with uow_factory() as uow:
        counts = await uow.orders.hourly_counts(event.id, since=T0 - timedelta(minutes=30))
        assert await uow.orders.hourly_counts(uuid4(), since=T0) == {}
    hour = T0.astimezone(UTC)
    assert counts == {
        hour - timedelta(hours=1): 1,  # -5 min; -61 is before `since`
        hour: 3,
        hour + timedelta(hours=1): 1,
        hour + timedelta(hours=3): 1,
    }
    assert all(h.tzinfo is not None and h.utcoffset() == timedelta(0) for h in counts)


# -- tickets -------------------------------------------------------------------------------


async def test_check_ins_per_order_and_per_event(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    first, second = await world.tickets(), await world.tickets()
    order_ticket = first[0]
    async with uow_factory() as uow:
        assert await uow.tickets.check_in_count(order_ticket.event_id) == 0
        scan = await uow.tickets.check_in(new_check_in(order_ticket, at_=T0 + timedelta(hours=2)))
        await uow.tickets.check_in(new_check_in(second[0]))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.tickets.check_ins_for_order(order_ticket.order_id) == [scan]
        assert await uow.tickets.check_ins_for_order(uuid4()) == []
        assert await uow.tickets.check_in_count(order_ticket.event_id) == 1
        assert await uow.tickets.check_in_count(uuid4()) == 0


async def test_attendees_come_in_keyset_pages_with_contact_and_check_in(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    event = await world.event()
    ticket_type = await world.ticket_type(event, capacity=50)
    tickets = []
    for n in range(7):
        tickets += await world.tickets(
            await world.order(await world.booking(ticket_type, 2, buyer=f"guest{n}"))
        )
    await world.tickets(await world.order(await world.booking(await world.ticket_type())))
    voided = tickets[0].order_id
    async with uow_factory() as uow:
        await uow.tickets.void_for_order(voided)
        scan = await uow.tickets.check_in(new_check_in(tickets[5]))
        await uow.commit()

    valid = sorted((t for t in tickets if t.order_id != voided), key=lambda t: t.id)
    seen, after = [], None
    async with uow_factory() as uow:
        while page := await uow.tickets.attendees(event.id, after=after, limit=5):
            assert len(page) <= 5
            seen += page
            after = page[-1].ticket_id
        everything = await uow.tickets.attendees(event.id, after=None, limit=100, include_void=True)
        assert await uow.tickets.attendees(uuid4(), after=None, limit=10) == []
    assert [a.ticket_id for a in seen] == [t.id for t in valid]
    assert {a.status for a in seen} == {TicketStatus.VALID}
    assert [a.ticket_id for a in everything] == sorted(t.id for t in tickets)
    by_id = {a.ticket_id: a for a in everything}
    assert by_id[tickets[0].id].status is TicketStatus.VOID
    checked = by_id[tickets[5].id]
    assert checked.checked_in_at == scan.checked_in_at
    assert (checked.order_id, checked.ticket_type_id, checked.holder) == (
        tickets[5].order_id,
        ticket_type.id,
        tickets[5].holder,
    )
    assert (checked.email, checked.phone) == (f"{tickets[5].holder}@example.org", "+4915112345678")
    assert sum(a.checked_in_at is not None for a in everything) == 1
