"""Catalogue management: event and ticket-type edits, sale windows, capacity, unpublishing,
the organizer's event list."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from eltiketi_core.domain.catalog import EventPhase, EventStatus
from eltiketi_core.domain.identity import Principal
from eltiketi_core.domain.money import Money
from eltiketi_core.errors import Conflict, Forbidden, NotFound, SoldOut, ValidationFailed
from eltiketi_core.usecases import ItemRequest, NewEvent, NewTicketType, ReserveRequest
from eltiketi_core.usecases.event_admin import EventChanges, TicketTypeChanges
from tests.unit.usecases.conftest import ORGANIZER, STAFF, Sale, buyer

OTTO = Principal(subject="otto", roles=frozenset({"organizer"}))
ADMIN = Principal(subject="root", roles=frozenset({"admin"}))


def code(error: pytest.ExceptionInfo[Exception]) -> str:
    return str(getattr(error.value, "code", ""))


# -- events ------------------------------------------------------------------------------------


async def test_an_organizer_edits_their_event_and_nobody_else_can(sale: Sale) -> None:
    admin = sale.kit.core.event_admin
    moved = sale.event.starts_at + timedelta(days=7)
    edited = await admin.edit_event(
        ORGANIZER,
        sale.event.id,
        EventChanges(
            name="  Flash Sale Live II ",
            starts_at=moved,
            timezone="Europe/Lisbon",
            description=" Doors open at 19:00. ",
        ),
    )
    assert (edited.name, edited.starts_at, edited.timezone, edited.description) == (
        "Flash Sale Live II",
        moved,
        "Europe/Lisbon",
        "Doors open at 19:00.",
    )
    assert (edited.venue, edited.status, edited.owner) == ("Arena", EventStatus.PUBLISHED, "olga")
    assert (await sale.kit.core.catalog.get(sale.event.id)).event == edited

    with pytest.raises(NotFound) as err:
        await admin.edit_event(OTTO, sale.event.id, EventChanges(name="Mine now"))
    assert code(err) == "event_not_found"
    with pytest.raises(NotFound):  # a customer is no member either
        await admin.edit_event(buyer(), sale.event.id, EventChanges(name="Mine now"))
    with pytest.raises(Forbidden) as refused:  # a door member of the organization
        await admin.edit_event(STAFF, sale.event.id, EventChanges(name="Mine now"))
    assert code(refused) == "missing_role"
    assert (
        await admin.edit_event(ADMIN, sale.event.id, EventChanges(venue="Hall"))
    ).venue == "Hall"


async def test_an_edit_is_checked_like_a_new_event(sale: Sale) -> None:
    admin = sale.kit.core.event_admin
    before = (await sale.kit.core.catalog.get(sale.event.id)).event
    for changes, expected in (
        (EventChanges(name=" "), "invalid_name"),
        (EventChanges(timezone="Mars/Olympus"), "invalid_timezone"),
        (EventChanges(description="x" * 5001), "description_too_long"),
        (EventChanges(currency="euro"), "invalid_currency"),
    ):
        with pytest.raises(ValidationFailed) as err:
            await admin.edit_event(ORGANIZER, sale.event.id, changes)
        assert code(err) == expected
    assert (await sale.kit.core.catalog.get(sale.event.id)).event == before


async def test_the_currency_changes_only_while_there_is_no_ticket_type(sale: Sale) -> None:
    admin = sale.kit.core.event_admin
    with pytest.raises(Conflict) as err:
        await admin.edit_event(ORGANIZER, sale.event.id, EventChanges(currency="USD"))
    assert code(err) == "currency_locked"
    # the same currency again is no change
    same = await admin.edit_event(ORGANIZER, sale.event.id, EventChanges(currency="EUR"))
    assert same == (await sale.kit.core.catalog.get(sale.event.id)).event
    assert same.currency == "EUR"

    fresh = await sale.kit.core.catalog.create_event(
        ORGANIZER,
        NewEvent(name="Later", venue="Hall", starts_at=sale.event.starts_at, timezone="UTC"),
    )
    changed = await admin.edit_event(ORGANIZER, fresh.id, EventChanges(currency="USD"))
    assert changed.currency == "USD"


async def test_a_cancelled_event_is_not_edited(sale: Sale) -> None:
    await sale.kit.core.cancellation.cancel(ORGANIZER, sale.event.id)
    admin = sale.kit.core.event_admin
    with pytest.raises(Conflict) as err:
        await admin.edit_event(ORGANIZER, sale.event.id, EventChanges(name="Back"))
    assert code(err) == "event_cancelled"
    with pytest.raises(Conflict) as err:
        await admin.edit_ticket_type(
            ORGANIZER, sale.event.id, sale.standing.id, TicketTypeChanges(capacity=5)
        )
    assert code(err) == "event_cancelled"


async def test_an_unbooked_event_goes_back_to_draft_and_is_hidden(sale: Sale) -> None:
    admin = sale.kit.core.event_admin
    draft = await admin.unpublish(ORGANIZER, sale.event.id)
    assert draft.status is EventStatus.DRAFT
    assert await admin.unpublish(ORGANIZER, sale.event.id) == draft  # again: nothing to do
    with pytest.raises(NotFound):
        await sale.kit.core.catalog.get(sale.event.id)  # buyers no longer see it
    with pytest.raises(NotFound):
        await sale.hold(buyer())
    published = await sale.kit.core.catalog.publish(ORGANIZER, sale.event.id)
    assert published.status is EventStatus.PUBLISHED


async def test_an_event_that_was_ever_booked_stays_published(sale: Sale) -> None:
    booking = await sale.hold(buyer())
    await sale.kit.core.bookings.release(buyer(), booking.id)  # even given back
    with pytest.raises(Conflict) as err:
        await sale.kit.core.event_admin.unpublish(ORGANIZER, sale.event.id)
    assert code(err) == "event_has_bookings"
    assert (await sale.kit.core.catalog.get(sale.event.id)).event.status is EventStatus.PUBLISHED
    await sale.kit.core.cancellation.cancel(ORGANIZER, sale.event.id)
    with pytest.raises(Conflict) as err:
        await sale.kit.core.event_admin.unpublish(ORGANIZER, sale.event.id)
    assert code(err) == "event_cancelled"


async def test_another_organizer_cannot_unpublish(sale: Sale) -> None:
    with pytest.raises(NotFound):
        await sale.kit.core.event_admin.unpublish(OTTO, sale.event.id)
    assert (await sale.kit.core.catalog.get(sale.event.id)).event.status is EventStatus.PUBLISHED


# -- ticket types ------------------------------------------------------------------------------


async def test_a_sale_window_refuses_holds_before_it_opens_and_after_it_closes(sale: Sale) -> None:
    now = sale.clock.now()
    opens, closes = now + timedelta(hours=1), now + timedelta(hours=3)
    changed = await sale.kit.core.event_admin.edit_ticket_type(
        ORGANIZER,
        sale.event.id,
        sale.standing.id,
        TicketTypeChanges(sales_start=opens, sales_end=closes),
    )
    assert (changed.ticket_type.sales_start, changed.ticket_type.sales_end) == (opens, closes)

    with pytest.raises(Conflict) as err:
        await sale.hold(buyer("early"))
    assert code(err) == "sales_not_open"
    assert err.value.extra["sales_start"] == opens.isoformat()  # type: ignore[attr-defined]
    await sale.hold(buyer("seated"), ticket_type=sale.seated)  # another type: no window
    sale.clock.set(opens - timedelta(microseconds=1))
    with pytest.raises(Conflict):
        await sale.hold(buyer("early"))
    sale.clock.set(opens)
    assert (await sale.hold(buyer("on-time"))).items[0].ticket_type_id == sale.standing.id
    sale.clock.set(closes - timedelta(microseconds=1))
    await sale.hold(buyer("last"))
    sale.clock.set(closes)
    with pytest.raises(Conflict) as err:
        await sale.hold(buyer("late"))
    assert code(err) == "sales_closed"
    assert await sale.levels() == (100, 2, 0)

    reopened = await sale.kit.core.event_admin.edit_ticket_type(
        ORGANIZER, sale.event.id, sale.standing.id, TicketTypeChanges(sales_end=None)
    )
    assert reopened.ticket_type.sales_end is None
    await sale.hold(buyer("late"))


async def test_a_window_given_at_creation_is_kept_and_shown(sale: Sale) -> None:
    opens = sale.clock.now() + timedelta(days=1)
    vip = await sale.kit.core.catalog.add_ticket_type(
        ORGANIZER,
        sale.event.id,
        NewTicketType(name="VIP", price=Money(15000, "EUR"), capacity=5, sales_start=opens),
    )
    shown = {t.id: t for t in (await sale.kit.core.catalog.get(sale.event.id)).ticket_types}
    assert (shown[vip.id].sales_start, shown[vip.id].sales_end) == (opens, None)
    with pytest.raises(Conflict) as err:
        await sale.hold(buyer(), ticket_type=vip)
    assert code(err) == "sales_not_open"


async def test_a_window_must_end_after_it_starts(sale: Sale) -> None:
    now = sale.clock.now()
    with pytest.raises(ValidationFailed) as err:
        await sale.kit.core.event_admin.edit_ticket_type(
            ORGANIZER,
            sale.event.id,
            sale.standing.id,
            TicketTypeChanges(sales_start=now, sales_end=now),
        )
    assert code(err) == "invalid_sale_window"
    with pytest.raises(ValidationFailed) as err:
        await sale.kit.core.catalog.add_ticket_type(
            ORGANIZER,
            sale.event.id,
            NewTicketType(
                name="Odd",
                price=Money(100, "EUR"),
                capacity=1,
                sales_start=now.replace(tzinfo=None),
            ),
        )
    assert code(err) == "naive_datetime"


async def test_capacity_goes_down_to_held_plus_sold_and_no_further(sale: Sale) -> None:
    admin = sale.kit.core.event_admin
    await sale.buy(buyer("a"), 3)
    await sale.kit.drain()  # held -> sold
    await sale.hold(buyer("b"), 2)
    assert await sale.levels() == (100, 2, 3)

    with pytest.raises(Conflict) as err:
        await admin.edit_ticket_type(
            ORGANIZER, sale.event.id, sale.standing.id, TicketTypeChanges(capacity=4, name="New")
        )
    assert code(err) == "capacity_below_sold"
    assert err.value.extra["minimum"] == 5  # type: ignore[attr-defined]
    # all or nothing: the name did not change either
    assert (await sale.kit.catalog.get(sale.event.id)).ticket_types[0].name == "Standing"
    assert await sale.levels() == (100, 2, 3)

    cut = await admin.edit_ticket_type(
        ORGANIZER, sale.event.id, sale.standing.id, TicketTypeChanges(capacity=5)
    )
    assert (cut.capacity, cut.held, cut.sold, cut.available) == (5, 2, 3, 0)
    with pytest.raises(SoldOut):
        await sale.hold(buyer("c"))
    raised = await admin.edit_ticket_type(
        ORGANIZER, sale.event.id, sale.standing.id, TicketTypeChanges(capacity=6)
    )
    assert raised.available == 1
    await sale.hold(buyer("c"))

    with pytest.raises(ValidationFailed) as invalid:
        await admin.edit_ticket_type(
            ORGANIZER, sale.event.id, sale.standing.id, TicketTypeChanges(capacity=-1)
        )
    assert code(invalid) == "invalid_capacity"


async def test_a_new_price_applies_to_new_holds_only(sale: Sale) -> None:
    before = await sale.hold(buyer("a"))
    await sale.kit.core.event_admin.edit_ticket_type(
        ORGANIZER,
        sale.event.id,
        sale.standing.id,
        TicketTypeChanges(price=Money(5000, "EUR"), max_per_booking=2),
    )
    after = await sale.hold(buyer("b"))
    assert (before.total, after.total) == (Money(4500, "EUR"), Money(5000, "EUR"))
    with pytest.raises(ValidationFailed) as err:
        await sale.hold(buyer("c"), 3)
    assert code(err) == "quantity_above_limit"
    with pytest.raises(ValidationFailed) as err:
        await sale.kit.core.event_admin.edit_ticket_type(
            ORGANIZER,
            sale.event.id,
            sale.standing.id,
            TicketTypeChanges(price=Money(5000, "USD")),
        )
    assert code(err) == "currency_mismatch"


async def test_a_ticket_type_is_edited_only_through_its_own_event(sale: Sale) -> None:
    other = await sale.kit.event_on_sale(organizer=ORGANIZER)
    with pytest.raises(NotFound) as err:
        await sale.kit.core.event_admin.edit_ticket_type(
            ORGANIZER, other.event.id, sale.standing.id, TicketTypeChanges(capacity=1)
        )
    assert code(err) == "ticket_type_not_found"
    with pytest.raises(NotFound) as err:
        await sale.kit.core.event_admin.edit_ticket_type(
            OTTO, sale.event.id, sale.standing.id, TicketTypeChanges(capacity=1)
        )
    assert code(err) == "event_not_found"


# -- the list ----------------------------------------------------------------------------------


async def test_the_event_list_shows_each_phase_and_the_sales(sale: Sale) -> None:
    kit, core = sale.kit, sale.kit.core
    order_id = await sale.buy(buyer("a"), 2)
    await sale.buy(buyer("b"), 1)
    await core.orders.cancel(buyer("b"), await _order_of(sale, "b"))
    await kit.drain()

    draft = await core.catalog.create_event(
        ORGANIZER,
        NewEvent(name="Draft", venue="Hall", starts_at=sale.event.starts_at, timezone="UTC"),
    )
    tiny = await kit.event_on_sale(organizer=ORGANIZER, capacity=1, starts_in=timedelta(days=2))
    await kit.bookings.reserve(
        buyer("c"),
        _request(tiny.event.id, tiny.ticket_types[0].id),
    )
    soon = await kit.event_on_sale(organizer=ORGANIZER, starts_in=timedelta(hours=2))
    gone = await kit.event_on_sale(organizer=ORGANIZER, starts_in=timedelta(days=60))
    await core.cancellation.cancel(ORGANIZER, gone.event.id)
    await kit.event_on_sale(organizer=OTTO)  # not ours
    kit.clock.advance(hours=3)  # `soon` has started

    summaries = {s.event.id: s for s in await core.event_admin.summaries(ORGANIZER)}
    assert {k: s.phase for k, s in summaries.items()} == {
        sale.event.id: EventPhase.ON_SALE,
        draft.id: EventPhase.DRAFT,
        tiny.event.id: EventPhase.SOLD_OUT,
        soon.event.id: EventPhase.PAST,
        gone.event.id: EventPhase.CANCELLED,
    }
    mine = summaries[sale.event.id]
    assert (mine.ticket_types, mine.capacity, mine.tickets_sold, mine.orders) == (2, 200, 2, 1)
    assert (mine.gross, mine.refunded) == (Money(3 * 4500, "EUR"), Money(4500, "EUR"))
    assert summaries[draft.id].gross == Money(0, "EUR")
    assert isinstance(order_id, UUID)
    assert len(await core.event_admin.summaries(ADMIN)) == 6
    assert await core.event_admin.summaries(buyer()) == []  # no organization, no events
    assert await core.event_admin.summaries(STAFF) == []  # door members manage none


async def _order_of(sale: Sale, name: str) -> UUID:
    views = await sale.kit.core.orders.list(buyer(name))
    return views[0].order.id


def _request(event_id: UUID, ticket_type_id: UUID) -> ReserveRequest:
    return ReserveRequest(
        event_id=event_id, items=(ItemRequest(ticket_type_id=ticket_type_id, quantity=1),)
    )
