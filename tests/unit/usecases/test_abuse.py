"""Abuse of the core, on the testing kit: hold hoarding, hold-and-release cycles,
contacts that cannot receive tickets, and cancelling orders whose tickets were used."""

from __future__ import annotations

from datetime import timedelta

import pytest

from eltiketi_adapters.memory import InMemoryTicketing
from eltiketi_core.domain.booking import Contact
from eltiketi_core.domain.events import RefundRequested
from eltiketi_core.domain.identity import Principal
from eltiketi_core.domain.order import OrderStatus, TicketStatus
from eltiketi_core.errors import (
    ContactRequired,
    HoldCooldown,
    InvalidContact,
    SoldOut,
    TicketUsed,
    WrongEvent,
)
from eltiketi_core.usecases import ItemRequest, Policy, ReserveRequest
from tests.unit.usecases.conftest import STAFF, Sale, SaleFactory, buyer, make_sale

HOLD_TTL = Policy().hold_ttl


async def _try_hold(sale: Sale, who: Principal, quantity: int) -> str:
    """``held``, or the code of the refusal."""
    try:
        await sale.hold(who, quantity)
    except (HoldCooldown, SoldOut) as refused:
        return refused.code
    return "held"


# --- the re-hold throttle ----------------------------------------------------------------


async def test_six_accounts_can_no_longer_keep_a_60_ticket_event_held(
    eltiketi: InMemoryTicketing,
) -> None:
    """Issue 13: 6 accounts x 10 tickets held a 60-ticket event, hold after hold, and a
    real buyer got sold_out. Now, once their holds have ended twice, they must wait,
    and the stock they gave back goes to the buyer."""
    sale = await make_sale(eltiketi, capacity=60)
    hoarders = [buyer(f"hoarder-{n}") for n in range(6)]
    alice = buyer("alice")

    for _ in range(Policy().rehold_limit):
        assert [await _try_hold(sale, h, 10) for h in hoarders] == ["held"] * 6
        assert await _try_hold(sale, alice, 2) == "sold_out"
        sale.clock.advance(HOLD_TTL)  # the holds run out unpaid
        await sale.kit.core.sweeper.sweep()

    # The hoarders come straight back: refused, with the time to wait.
    for hoarder in hoarders:
        with pytest.raises(HoldCooldown) as refused:
            await sale.hold(hoarder, 10)
        assert refused.value.extra["retry_after"] == Policy().rehold_cooldown.total_seconds()
    assert await _try_hold(sale, alice, 2) == "held"
    assert await sale.levels() == (60, 2, 0)

    # Still refused a minute before the cool-down ends; welcome once it has.
    sale.clock.advance(Policy().rehold_cooldown - timedelta(minutes=1))
    assert await _try_hold(sale, hoarders[0], 10) == "hold_cooldown"
    sale.clock.advance(timedelta(minutes=1))
    assert await _try_hold(sale, hoarders[0], 8) == "held"


async def test_fifty_hold_and_release_cycles_stop_after_the_limit(sale: Sale) -> None:
    """Issue 13: one account did 50 hold-and-release cycles in 0.4 s, all 201."""
    mallory = buyer("mallory")
    outcomes = []
    for _ in range(50):
        try:
            booking = await sale.hold(mallory, 10)
        except HoldCooldown as refused:
            outcomes.append(refused.extra["retry_after"])
            continue
        await sale.kit.core.bookings.release(mallory, booking.id)
        outcomes.append("released")

    limit = Policy().rehold_limit
    assert outcomes[:limit] == ["released"] * limit
    assert outcomes[limit:] == [Policy().rehold_cooldown.total_seconds()] * (50 - limit)
    assert await sale.levels() == (100, 0, 0)


async def test_after_the_cool_down_every_unpaid_end_earns_another(sale: Sale) -> None:
    mallory = buyer("mallory")
    for _ in range(Policy().rehold_limit):
        booking = await sale.hold(mallory)
        await sale.kit.core.bookings.release(mallory, booking.id)
    sale.clock.advance(Policy().rehold_cooldown)

    booking = await sale.hold(mallory)
    await sale.kit.core.bookings.release(mallory, booking.id)
    assert await _try_hold(sale, mallory, 1) == "hold_cooldown"


async def test_the_cool_down_is_per_event_and_per_account(sale_factory: SaleFactory) -> None:
    sale = await sale_factory()
    other = await make_sale(sale.kit)
    mallory, bob = buyer("mallory"), buyer("bob")
    for _ in range(Policy().rehold_limit):
        booking = await sale.hold(mallory)
        await sale.kit.core.bookings.release(mallory, booking.id)

    assert await _try_hold(sale, mallory, 1) == "hold_cooldown"
    assert await _try_hold(sale, bob, 1) == "held"
    assert await _try_hold(other, mallory, 1) == "held"


async def test_holds_that_ended_long_ago_do_not_count(sale: Sale) -> None:
    mallory = buyer("mallory")
    for _ in range(Policy().rehold_limit):
        booking = await sale.hold(mallory)
        await sale.kit.core.bookings.release(mallory, booking.id)
        sale.clock.advance(Policy().rehold_window)

    assert await _try_hold(sale, mallory, 1) == "held"


async def test_paid_holds_do_not_count(sale: Sale) -> None:
    alice = buyer()
    for _ in range(Policy().rehold_limit + 1):
        await sale.buy(alice)
    assert await _try_hold(sale, alice, 1) == "held"


async def test_a_limit_of_zero_turns_the_throttle_off() -> None:
    kit = InMemoryTicketing(policy=Policy(rehold_limit=0))
    sale = await make_sale(kit)
    mallory = buyer("mallory")
    for _ in range(10):
        booking = await sale.hold(mallory, 10)
        await kit.core.bookings.release(mallory, booking.id)


# --- contacts ------------------------------------------------------------------------------


async def _reserve(sale: Sale, who: Principal, contact: Contact | None = None) -> Contact:
    request = ReserveRequest(
        event_id=sale.event.id,
        items=(ItemRequest(ticket_type_id=sale.standing.id, quantity=1),),
        contact=contact,
    )
    return (await sale.kit.core.bookings.reserve(who, request)).booking.contact


async def test_a_booking_with_nowhere_to_send_the_tickets_is_refused(sale: Sale) -> None:
    with pytest.raises(ContactRequired) as refused:
        await _reserve(sale, Principal(subject="ghost"))
    assert refused.value.code == "contact_required"
    assert await sale.levels() == (100, 0, 0)


async def test_the_requests_contact_wins_over_the_tokens_and_is_normalised(sale: Sale) -> None:
    contact = await _reserve(
        sale,
        Principal(subject="ghost"),
        Contact(email="  Ghost@Example.ORG ", phone="+49 (30) 123-4567"),
    )
    assert contact == Contact(email="Ghost@example.org", phone="+49301234567")
    assert await _reserve(sale, buyer("alice"), Contact(phone="+4930 1234567")) == Contact(
        phone="+49301234567"
    )


@pytest.mark.parametrize(
    ("contact", "field"),
    [
        (Contact(email="alice\x00@example.org"), "email"),
        (Contact(email="alice@example.org\r\nBcc: everyone@example.org"), "email"),
        (Contact(email="not-an-address"), "email"),
        (Contact(email="a" * 250 + "@example.org"), "email"),
        (Contact(email="alice@example.org", phone="not-a-phone"), "phone"),
        (Contact(phone="+49 30 1234567\r\nX-Header: 1"), "phone"),
        (Contact(phone="+49" + "1" * 40), "phone"),
    ],
)
async def test_a_bad_contact_in_the_request_is_refused_naming_the_field(
    sale: Sale, contact: Contact, field: str
) -> None:
    with pytest.raises(InvalidContact) as refused:
        await _reserve(sale, buyer("alice"), contact)
    assert refused.value.code == "invalid_contact"
    assert refused.value.extra["field"] == field
    assert field in refused.value.detail
    assert await sale.levels() == (100, 0, 0)


async def test_a_bad_claim_in_the_token_falls_back_to_the_other_channel(sale: Sale) -> None:
    both_bad = Principal(subject="odd", email="odd@@example", phone="call me")
    bad_email = Principal(subject="odd", email="odd\r\nBcc: x@example.org", phone="+49301234567")

    assert await _reserve(sale, bad_email) == Contact(phone="+49301234567")
    with pytest.raises(ContactRequired):
        await _reserve(sale, both_bad)


async def test_an_empty_contact_in_the_request_means_the_tokens(sale: Sale) -> None:
    assert await _reserve(sale, buyer("alice"), Contact(email=" ", phone="")) == Contact(
        email="alice@example.org"
    )


# --- used tickets --------------------------------------------------------------------------


async def test_an_order_with_a_checked_in_ticket_cannot_be_cancelled(sale: Sale) -> None:
    alice = buyer()
    order_id = await sale.buy(alice, 2)
    await sale.kit.drain()
    view = await sale.kit.core.orders.get(alice, order_id)
    await sale.kit.core.checkins.check_in(STAFF, view.tickets[0].token, sale.event.id)
    refunds_before = sale.kit.storage.recorded_events(RefundRequested)

    with pytest.raises(TicketUsed) as refused:
        await sale.kit.core.orders.cancel(alice, order_id)
    assert refused.value.code == "ticket_used"
    assert refused.value.extra["checked_in"] == 1

    after = await sale.kit.core.orders.get(alice, order_id)
    assert after.order.status is OrderStatus.CONFIRMED
    assert [t.status for t in after.tickets] == [TicketStatus.VALID] * 2
    assert sale.kit.storage.recorded_events(RefundRequested) == refunds_before
    await sale.kit.drain()
    assert await sale.levels() == (100, 0, 2)
    # The unused ticket still gets in.
    await sale.kit.core.checkins.check_in(STAFF, view.tickets[1].token, sale.event.id)


async def test_an_order_whose_tickets_were_refused_at_the_door_is_still_cancelled(
    sale: Sale,
) -> None:
    alice = buyer()
    order_id = await sale.buy(alice, 2)
    view = await sale.kit.core.orders.get(alice, order_id)
    other = await make_sale(sale.kit)  # another event of the same organization
    with pytest.raises(WrongEvent):  # a scan that did not admit anyone is no use
        await sale.kit.core.checkins.check_in(STAFF, view.tickets[0].token, other.event.id)

    cancelled = await sale.kit.core.orders.cancel(alice, order_id)
    assert cancelled.order.status is OrderStatus.REFUNDED
    assert [e.order_id for e in sale.kit.storage.recorded_events(RefundRequested)] == [order_id]
