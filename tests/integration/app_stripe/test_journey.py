"""Seed steps 9–16 with Stripe: PaymentIntent, card payment, signed webhook, order, tickets."""

from __future__ import annotations

import pytest
import stripe

from tests.integration.app_stripe.conftest import LiveApp, eventually, problem

pytestmark = pytest.mark.stripe


async def test_a_card_payment_confirmed_by_the_webhook_issues_the_tickets(live: LiveApp) -> None:
    live.deliver_webhooks_here()
    olga, alice = live.auth("olga", "organizer"), live.auth("alice")
    event_id, standing = await live.sale(olga, capacity=10, amount=4500)

    booking = await live.hold(alice, event_id, standing, quantity=2)
    payment = await live.start_payment(alice, booking["id"])
    # step 9-10: a PaymentIntent for the booking; the browser gets its client secret only
    assert payment["provider"] == "stripe"
    intent_id = payment["provider_reference"]
    assert intent_id.startswith("pi_")
    assert payment["client_secret"].startswith(f"{intent_id}_secret_")
    assert "checkout_url" not in payment
    intent = await live.intent(intent_id)
    assert (intent["amount"], intent["currency"]) == (9000, "eur")
    assert intent["metadata"]["booking_id"] == booking["id"]
    assert intent["status"] == "requires_payment_method"
    # asking again answers the same open payment: one PaymentIntent per booking
    assert (await live.start_payment(alice, booking["id"]))["payment_id"] == payment["payment_id"]

    paid = await live.buyer.pay(intent_id)
    assert paid["status"] == "succeeded"

    # step 11-13: localstripe's signed payment_intent.succeeded confirms the order by itself
    orders = await eventually(
        lambda: live.orders(alice), lambda found: len(found) == 1, what="the webhook's order"
    )
    order = orders[0]
    assert order["status"] == "confirmed"
    assert (order["booking_id"], order["payment_id"]) == (booking["id"], payment["payment_id"])
    assert order["total"] == {"amount": 9000, "currency": "EUR"}
    assert len(order["tickets"]) == 2
    assert all(t["status"] == "valid" and t["token"] for t in order["tickets"])
    assert (await live.booking(alice, booking["id"]))["status"] == "confirmed"

    # the buyer's own confirmation arrives second: 200 with the same order
    again = await live.confirm(alice, booking["id"], payment["payment_id"])
    assert again.status_code == 200, again.text
    assert again.json()["id"] == order["id"]

    # step 14-16: stock moved held -> sold, the e-tickets went out once
    levels = await eventually(
        lambda: live.stock(olga, event_id),
        lambda found: found[standing]["sold"] == 2,
        what="held -> sold",
    )
    assert (levels[standing]["held"], levels[standing]["available"]) == (0, 8)
    mails = await eventually(
        lambda: live.mails_to("tickets", "alice@example.com"),
        lambda found: len(found) == 1,
        what="the e-tickets",
    )
    assert "alice@example.com" in str(mails[0]["To"])
    # and nothing was refunded
    assert await live.refunds_of(intent_id) == []


async def test_confirming_before_paying_is_402_and_changes_nothing(live: LiveApp) -> None:
    olga, alice = live.auth("olga", "organizer"), live.auth("alice")
    event_id, standing = await live.sale(olga)
    booking = await live.hold(alice, event_id, standing)
    payment = await live.start_payment(alice, booking["id"])

    early = await live.confirm(alice, booking["id"], payment["payment_id"])

    problem(early, 402, "payment_incomplete")
    assert (await live.booking(alice, booking["id"]))["status"] == "held"
    assert await live.orders(alice) == []
    # the payment is still open: paying now and confirming works
    await live.buyer.pay(payment["provider_reference"])
    late = await live.confirm(alice, booking["id"], payment["payment_id"])
    assert late.status_code == 201, late.text


async def test_a_declined_card_leaves_the_booking_held_and_no_order(live: LiveApp) -> None:
    live.deliver_webhooks_here()
    olga, alice = live.auth("olga", "organizer"), live.auth("alice")
    event_id, standing = await live.sale(olga)
    booking = await live.hold(alice, event_id, standing)
    payment = await live.start_payment(alice, booking["id"])

    with pytest.raises(stripe.CardError) as declined:
        # 4000000000000341: attaches fine, the charge is declined
        await live.buyer.pay(payment["provider_reference"], "pm_card_chargeCustomerFail")
    assert declined.value.code == "card_declined"

    refused = await live.confirm(alice, booking["id"], payment["payment_id"])
    body = problem(refused, 402, "payment_incomplete")
    assert "declined" in body["detail"] or "failed" in body["detail"]
    # the buyer hears of it once (from the confirmation or the payment_failed webhook)
    await eventually(
        lambda: live.mails_to("payment_problem", "alice@example.com"),
        lambda found: len(found) == 1,
        what="the payment-problem notice",
    )
    assert (await live.booking(alice, booking["id"]))["status"] == "held"
    assert await live.orders(alice) == []
    assert (await live.stock(olga, event_id))[standing]["held"] == 1
    assert (await live.intent(payment["provider_reference"]))["status"] == (
        "requires_payment_method"
    )


async def test_a_payment_of_another_booking_is_409_payment_mismatch(live: LiveApp) -> None:
    olga, alice = live.auth("olga", "organizer"), live.auth("alice")
    event_id, standing = await live.sale(olga)
    first = await live.hold(alice, event_id, standing)
    second = await live.hold(alice, event_id, standing, quantity=2)
    first_payment = await live.start_payment(alice, first["id"])
    second_payment = await live.start_payment(alice, second["id"])
    await live.buyer.pay(second_payment["provider_reference"])

    crossed = await live.confirm(alice, first["id"], second_payment["payment_id"])

    problem(crossed, 409, "payment_mismatch")
    assert (await live.booking(alice, first["id"]))["status"] == "held"
    assert await live.orders(alice) == []
    # the paid booking is still confirmable with its own payment
    own = await live.confirm(alice, second["id"], second_payment["payment_id"])
    assert own.status_code == 201, own.text
    assert first_payment["provider_reference"] != second_payment["provider_reference"]


async def test_a_payment_intent_relabelled_for_another_booking_is_409(live: LiveApp) -> None:
    """Server-side verification reads Stripe's own record, not what the client says."""
    olga, alice = live.auth("olga", "organizer"), live.auth("alice")
    event_id, standing = await live.sale(olga)
    mine = await live.hold(alice, event_id, standing)
    other = await live.hold(alice, event_id, standing)
    payment = await live.start_payment(alice, mine["id"])
    intent_id = payment["provider_reference"]
    # someone with access to the Stripe account points the intent at the other booking
    await live.sdk.v1.payment_intents.update_async(
        intent_id, {"metadata": {"booking_id": other["id"]}}
    )
    await live.buyer.pay(intent_id)

    mismatch = await live.confirm(alice, mine["id"], payment["payment_id"])

    problem(mismatch, 409, "payment_mismatch")
    assert await live.orders(alice) == []
    for booking in (mine, other):
        assert (await live.booking(alice, booking["id"]))["status"] == "held"
