"""Whom each ticket is for (holder names) and the language the buyer shopped in."""

from __future__ import annotations

from datetime import timedelta

import pytest

from eltiketi_core.domain.booking import Contact
from eltiketi_core.errors import Conflict, NotFound, ValidationFailed
from eltiketi_core.usecases import ItemRequest, ReserveRequest
from tests.unit.usecases.conftest import STAFF, Sale, buyer


async def test_the_names_given_on_the_hold_are_on_the_tickets_and_at_the_door(
    sale: Sale,
) -> None:
    alice = buyer("alice")
    core = sale.kit.core
    booking = await sale.hold(alice, 2)
    named = await core.bookings.change_holders(alice, booking.id, ("  Ada   Lovelace ", ""))
    assert named.holders == ("Ada Lovelace", "")

    payment = await sale.pay(alice, booking)
    order = (await core.settlement.confirm(alice, booking.id, payment.id)).order
    tickets = (await core.orders.get(alice, order.id)).tickets
    assert sorted(t.holder_name or "" for t in tickets) == ["", "Ada Lovelace"]
    assert {t.holder for t in tickets} == {"alice"}  # ownership stays the buyer's

    await sale.kit.drain()
    [notice] = sale.kit.notifier.tickets
    named_ticket = next(t for t in notice.tickets if t.holder_name)
    admission = await core.checkins.check_in(STAFF, named_ticket.token, sale.event.id)
    assert (admission.holder, admission.holder_name) == ("alice", "Ada Lovelace")
    # the buyer still reads the named ticket's QR code: it is theirs
    assert (await core.orders.ticket(alice, named_ticket.id)).id == named_ticket.id


async def test_one_name_per_ticket_or_none_are_changed(sale: Sale) -> None:
    alice = buyer()
    booking = await sale.hold(alice, 2)
    with pytest.raises(ValidationFailed) as too_few:
        await sale.kit.core.bookings.change_holders(alice, booking.id, ("Only One",))
    with pytest.raises(ValidationFailed) as bad:
        await sale.kit.core.bookings.change_holders(alice, booking.id, ("Fine", "Bad\nName"))
    with pytest.raises(ValidationFailed) as long:
        await sale.kit.core.bookings.change_holders(alice, booking.id, ("x" * 101, "Fine"))

    assert (too_few.value.code, too_few.value.extra) == ("holders_mismatch", {"expected": 2})
    assert (bad.value.code, bad.value.extra) == ("invalid_holder", {"index": 1})
    assert (long.value.code, long.value.extra) == ("invalid_holder", {"index": 0})
    assert (await sale.kit.core.bookings.get(alice, booking.id)).holders == ()


async def test_names_and_contact_change_together_or_not_at_all(sale: Sale) -> None:
    alice = buyer()
    core = sale.kit.core
    booking = await sale.hold(alice)
    with pytest.raises(ValidationFailed) as refused:
        await core.bookings.change(
            alice, booking.id, contact=Contact(email="a@example.org"), holders=("A", "B")
        )
    assert refused.value.code == "holders_mismatch"
    assert (await core.bookings.get(alice, booking.id)).contact == booking.contact

    changed = await core.bookings.change(
        alice, booking.id, contact=Contact(email="new@example.org"), holders=("Ada",)
    )
    stored = await core.bookings.get(alice, booking.id)
    assert stored == changed
    assert (stored.contact.email, stored.holders) == ("new@example.org", ("Ada",))
    with pytest.raises(ValidationFailed, match="nothing_to_change"):
        await core.bookings.change(alice, booking.id)


async def test_names_are_only_changed_while_held_and_only_by_the_buyer(sale: Sale) -> None:
    alice, mallory = buyer("alice"), buyer("mallory")
    core = sale.kit.core
    booking = await sale.hold(alice)
    with pytest.raises(NotFound):
        await core.bookings.change_holders(mallory, booking.id, ("Mallory",))

    sale.clock.advance(timedelta(minutes=16))
    with pytest.raises(Conflict) as expired:
        await core.bookings.change_holders(alice, booking.id, ("Too Late",))
    assert expired.value.code == "booking_expired"

    released = await sale.hold(alice)
    await core.bookings.release(alice, released.id)
    with pytest.raises(Conflict) as ended:
        await core.bookings.change_holders(alice, released.id, ("Too Late",))
    assert ended.value.code == "booking_not_held"


async def test_the_buyers_language_is_kept_for_the_e_tickets(sale: Sale) -> None:
    alice = buyer()
    core = sale.kit.core
    request = ReserveRequest(
        event_id=sale.event.id,
        items=(ItemRequest(ticket_type_id=sale.standing.id, quantity=1),),
        locale="nl-BE",
    )
    booking = (await core.bookings.reserve(alice, request)).booking
    assert booking.locale == "nl-BE"
    payment = await sale.pay(alice, booking)
    await core.settlement.confirm(alice, booking.id, payment.id)
    await sale.kit.drain()

    [notice] = sale.kit.notifier.tickets
    assert notice.locale == "nl-BE"


@pytest.mark.parametrize("locale", ["", "dutch!", "n", "nl_" + "x" * 40, "nl\nBE"])
async def test_a_language_that_is_not_a_tag_is_refused(sale: Sale, locale: str) -> None:
    request = ReserveRequest(
        event_id=sale.event.id,
        items=(ItemRequest(ticket_type_id=sale.standing.id, quantity=1),),
        locale=locale,
    )
    with pytest.raises(ValidationFailed) as refused:
        await sale.kit.core.bookings.reserve(buyer(), request)
    assert refused.value.code == "invalid_locale"
    assert await sale.levels() == (100, 0, 0)


async def test_the_shop_lists_only_events_that_have_not_started(sale: Sale) -> None:
    catalog = sale.kit.core.catalog
    assert [v.event.id for v in await catalog.list_published(upcoming=True)] == [sale.event.id]

    sale.clock.advance(sale.event.starts_at - sale.clock.now())
    assert await catalog.list_published(upcoming=True) == []
    assert [v.event.id for v in await catalog.list_published()] == [sale.event.id]
