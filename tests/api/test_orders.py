"""After the hold: payments that fail or come late, cancellations, resending e-tickets."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from eltiketi_adapters.memory import FakePaymentGateway, FixedClock
from eltiketi_core.usecases import Ticketing
from tests.api.conftest import Api, ClockProvider, problem


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime.now(UTC))


@pytest.fixture
async def timed(start_app: Any, clock: FixedClock) -> AsyncIterator[Api]:
    """An app whose core runs on a clock the test moves."""
    async with start_app(overrides=[ClockProvider(clock)]) as api:
        yield api


async def test_idempotency_key_replays_the_first_answer(api: Api) -> None:
    event_id, standing = await api.sale()
    alice = {**api.customer("alice"), "Idempotency-Key": "basket-7"}
    body = {"event_id": event_id, "items": [{"ticket_type_id": standing, "quantity": 2}]}

    first = await api.client.post("/v1/bookings", json=body, headers=alice)
    again = await api.client.post("/v1/bookings", json=body, headers=alice)
    other = await api.client.post(
        "/v1/bookings",
        json={**body, "items": [{"ticket_type_id": standing, "quantity": 3}]},
        headers=alice,
    )

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    problem(other, 422, "idempotency_key_reused")
    assert (await api.stock(event_id))[standing]["held"] == 2
    # the key is the user's: bob may use the same one
    bob = {**api.customer("bob"), "Idempotency-Key": "basket-7"}
    theirs = await api.client.post("/v1/bookings", json=body, headers=bob)
    assert theirs.status_code == 201
    assert theirs.json()["id"] != first.json()["id"]
    too_long = {**api.customer("carol"), "Idempotency-Key": "k" * 256}
    problem(
        await api.client.post("/v1/bookings", json=body, headers=too_long),
        422,
        "invalid_idempotency_key",
    )


async def test_a_declined_payment_is_402_and_the_hold_stays(api: Api) -> None:
    event_id, standing = await api.sale()
    alice = api.customer("alice")
    booking = (await api.hold(alice, event_id, standing, 2)).json()
    payment = await api.start_payment(alice, booking["id"])

    declined = await api.pay_on_page(payment["checkout_url"], "decline")

    assert declined.status_code == 303
    problem(
        await api.confirm(alice, booking["id"], payment["payment_id"]), 402, "payment_incomplete"
    )
    assert (await api.client.get(f"/v1/bookings/{booking['id']}", headers=alice)).json()[
        "status"
    ] == "held"
    await api.flush()
    assert len(api.email.payment_problems) == 1
    # the page cannot be paid after it was declined
    problem(await api.pay_on_page(payment["checkout_url"], "pay"), 409, "payment_decided")


async def test_confirming_before_paying_is_402(api: Api) -> None:
    event_id, standing = await api.sale()
    alice = api.customer("alice")
    booking = (await api.hold(alice, event_id, standing)).json()
    payment = await api.start_payment(alice, booking["id"])

    problem(
        await api.confirm(alice, booking["id"], payment["payment_id"]), 402, "payment_incomplete"
    )
    again = await api.start_payment(alice, booking["id"])
    assert again["payment_id"] == payment["payment_id"]  # one open payment per booking


async def test_released_holds_give_the_tickets_back(api: Api) -> None:
    event_id, standing = await api.sale(capacity=3)
    alice = api.customer("alice")
    booking = (await api.hold(alice, event_id, standing, 3)).json()
    problem(await api.hold(api.customer("bob"), event_id, standing), 409, "sold_out")

    released = await api.client.delete(f"/v1/bookings/{booking['id']}", headers=alice)

    assert released.status_code == 200
    assert released.json()["status"] == "cancelled"
    assert (await api.hold(api.customer("bob"), event_id, standing)).status_code == 201
    again = await api.client.delete(f"/v1/bookings/{booking['id']}", headers=alice)
    assert again.json()["status"] == "cancelled"
    problem(
        await api.client.post(f"/v1/bookings/{booking['id']}/payment", headers=alice),
        409,
        "booking_not_held",
    )


async def test_an_expired_hold_is_swept_and_cannot_be_paid(timed: Api, clock: FixedClock) -> None:
    event_id, standing = await timed.sale(capacity=5)
    alice = timed.customer("alice")
    booking = (await timed.hold(alice, event_id, standing, 5)).json()

    clock.advance(timedelta(minutes=16))
    ticketing = await timed.get(Ticketing)
    released = await timed.in_app(ticketing.sweeper.sweep)

    assert released == 1
    seen = (await timed.client.get(f"/v1/bookings/{booking['id']}", headers=alice)).json()
    assert seen["status"] == "expired"
    assert (await timed.stock(event_id))[standing]["held"] == 0
    problem(
        await timed.client.post(f"/v1/bookings/{booking['id']}/payment", headers=alice),
        409,
        "booking_not_held",
    )


async def test_money_after_the_hold_is_gone_is_refunded(start_app: Any, clock: FixedClock) -> None:
    # no background relay: the test decides when the events are delivered
    async with start_app(overrides=[ClockProvider(clock)], background=False) as timed:
        await _late_money(timed, clock)


async def _late_money(timed: Api, clock: FixedClock) -> None:
    event_id, standing = await timed.sale(capacity=1)
    alice, bob = timed.customer("alice"), timed.customer("bob")
    booking = (await timed.hold(alice, event_id, standing)).json()
    payment = await timed.start_payment(alice, booking["id"])
    gateway = await timed.get(FakePaymentGateway)
    gateway.approve(payment["provider_reference"])  # the money arrives…
    clock.advance(timedelta(minutes=16))  # …but alice confirms too late
    ticketing = await timed.get(Ticketing)
    await timed.in_app(ticketing.sweeper.sweep)
    assert (await timed.hold(bob, event_id, standing)).status_code == 201

    late = await timed.confirm(alice, booking["id"], payment["payment_id"])

    problem(late, 409, "hold_lost_refunded")
    await timed.flush()
    assert gateway.refunded_amount(payment["provider_reference"]) == 4500
    assert (await timed.client.get("/v1/orders", headers=alice)).json()["items"] == []
    level = (await timed.stock(event_id))[standing]
    assert (level["held"], level["sold"]) == (1, 0)


async def test_cancelling_an_order_refunds_it_and_voids_its_tickets(api: Api) -> None:
    event_id, standing = await api.sale()
    alice = api.customer("alice")
    order = await api.buy(alice, event_id, standing, 2)
    await api.flush()

    cancelled = await api.client.post(f"/v1/orders/{order['id']}/cancel", headers=alice)

    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "refunded"
    assert {t["status"] for t in cancelled.json()["tickets"]} == {"void"}
    await api.flush()
    level = (await api.stock(event_id))[standing]
    assert (level["held"], level["sold"]) == (0, 0)
    gateway = await api.get(FakePaymentGateway)
    payment = gateway.payment(next(iter(gateway.payments)))
    assert sum(payment.refunds.values()) == 9000
    problem(
        await api.client.post(f"/v1/orders/{order['id']}/resend", headers=alice),
        409,
        "order_not_confirmed",
    )


async def test_orders_cannot_be_cancelled_close_to_the_event(api: Api) -> None:
    event_id, standing = await api.sale(starts_in=timedelta(hours=3))
    alice = api.customer("alice")
    order = await api.buy(alice, event_id, standing)

    problem(
        await api.client.post(f"/v1/orders/{order['id']}/cancel", headers=alice),
        409,
        "cancellation_closed",
    )


async def test_resending_tickets_is_rate_limited(timed: Api, clock: FixedClock) -> None:
    event_id, standing = await timed.sale()
    alice = timed.customer("alice")
    order = await timed.buy(alice, event_id, standing)
    await timed.flush()
    assert len(timed.email.tickets) == 1

    limited = await timed.client.post(f"/v1/orders/{order['id']}/resend", headers=alice)

    problem(limited, 429, "resend_rate_limited")
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    clock.advance(timedelta(seconds=61))
    resent = await timed.client.post(f"/v1/orders/{order['id']}/resend", headers=alice)
    assert resent.status_code == 200, resent.text
    assert resent.json() == {"order_id": order["id"], "channels_sent": 1}
    assert len(timed.email.tickets) == 2


async def test_sms_goes_to_the_phone_given_with_the_booking(api: Api) -> None:
    event_id, standing = await api.sale()
    alice = api.customer("alice")
    body = {
        "event_id": event_id,
        "items": [{"ticket_type_id": standing, "quantity": 1}],
        "contact": {"email": "alice@work.example", "phone": "+491701234567"},
    }
    booking = (await api.client.post("/v1/bookings", json=body, headers=alice)).json()
    payment = await api.start_payment(alice, booking["id"])
    await api.approve(payment)
    assert (await api.confirm(alice, booking["id"], payment["payment_id"])).status_code == 201

    await api.flush()

    assert [n.contact.email for n in api.email.tickets] == ["alice@work.example"]
    assert [n.contact.phone for n in api.sms.tickets] == ["+491701234567"]


async def test_an_order_carries_its_short_unique_reference(api: Api) -> None:
    event_id, standing = await api.sale()
    alice = api.customer("alice")
    first = await api.buy(alice, event_id, standing)
    second = await api.buy(alice, event_id, standing)

    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{8}", first["reference"])
    assert first["reference"] != second["reference"]
    read = await api.client.get(f"/v1/orders/{first['id']}", headers=alice)
    assert read.json()["reference"] == first["reference"]
    listed = await api.client.get("/v1/orders", headers=alice)
    assert {o["reference"] for o in listed.json()["items"]} == {
        first["reference"],
        second["reference"],
    }
    await api.flush()
    assert {n.order.reference for n in api.email.tickets} == {
        first["reference"],
        second["reference"],
    }
