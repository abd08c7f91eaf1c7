"""An organizer cancels an event: every order refunded once at Stripe, tickets void at the door."""

from __future__ import annotations

import asyncio
import functools

import pytest

from tests.integration.app_stripe.conftest import LiveApp, eventually, problem

pytestmark = pytest.mark.stripe


async def test_cancelling_an_event_twice_refunds_every_order_once(live: LiveApp) -> None:
    live.deliver_webhooks_here()
    olga, oscar = live.auth("olga", "organizer"), live.auth("oscar", "organizer")
    alice, bob, carol = live.auth("alice"), live.auth("bob"), live.auth("carol")
    event_id, standing = await live.sale(olga, capacity=10, amount=3000)
    staff = await live.door(event_id)
    alice_order, alice_payment = await live.buy(alice, event_id, standing, quantity=2)
    bob_order, bob_payment = await live.buy(bob, event_id, standing, quantity=1)
    # carol is still at the card form when the event is cancelled
    carols = await live.hold(carol, event_id, standing)
    carol_payment = await live.start_payment(carol, carols["id"])

    # another organizer may not cancel olga's event
    problem(
        await live.client.post(f"/v1/events/{event_id}/cancel", headers=oscar),
        404,
        "event_not_found",
    )
    assert (await live.client.get(f"/v1/events/{event_id}")).json()["status"] == "published"
    assert [o["status"] for o in await live.orders(alice)] == ["confirmed"]

    first = await live.cancel_event(olga, event_id)
    second = await live.cancel_event(olga, event_id)

    assert (first["status"], first["orders_refunded"], first["holds_released"]) == ("done", 2, 1)
    assert second == first  # the same job: nothing is decided twice

    paid = {
        "alice": (alice_payment["provider_reference"], 6000),
        "bob": (bob_payment["provider_reference"], 3000),
    }
    for name, (intent_id, amount) in paid.items():
        refunds = await eventually(
            functools.partial(live.refunds_of, intent_id),
            lambda found: len(found) >= 1,
            what=f"{name}'s refund at Stripe",
        )
        assert [(r["amount"], r["status"]) for r in refunds] == [(amount, "succeeded")], name
    for name in paid:
        await eventually(
            functools.partial(live.mails_to, "refund", f"{name}@example.com"),
            lambda found: len(found) >= 1,
            what=f"{name}'s refund notice",
        )
    # carol's open PaymentIntent was cancelled, so she cannot pay for nothing
    await eventually(
        lambda: live.intent(carol_payment["provider_reference"]),
        lambda intent: intent["status"] == "canceled",
        what="carol's intent cancelled",
    )
    assert (await live.booking(carol, carols["id"]))["status"] == "cancelled"

    # a third request, racing a fourth, still refunds nothing more
    more = await asyncio.gather(*(live.cancel_event(olga, event_id) for _ in range(2)))
    assert more == [first, first]
    await asyncio.sleep(1.0)  # time for any stray second refund to reach Stripe
    for name, (intent_id, _amount) in paid.items():
        assert len(await live.refunds_of(intent_id)) == 1, name
        assert len(await live.mails_to("refund", f"{name}@example.com")) == 1, name

    # the orders show refunded and their tickets void; the door says 410
    for who, order in ((alice, alice_order), (bob, bob_order)):
        [shown] = await live.orders(who)
        assert shown["id"] == order["id"]
        assert shown["status"] == "refunded"
        assert {t["status"] for t in shown["tickets"]} == {"void"}
        for ticket in order["tickets"]:
            door = await live.client.post(
                "/v1/check-ins",
                json={"token": ticket["token"], "event_id": event_id},
                headers=staff,
            )
            problem(door, 410, "ticket_void")
    # the stock came back (sold -> 0) and nothing is on sale any more
    level = await eventually(
        lambda: live.stock(olga, event_id),
        lambda found: found[standing]["sold"] == 0,
        what="sold stock given back",
    )
    assert level[standing]["held"] == 0
    assert event_id not in [e["id"] for e in (await live.client.get("/v1/events")).json()["items"]]
