"""Money over REST (issue 13): free bookings confirm without a payment; a second payment is
refunded with its own problem code; a refunded payment never confirms later."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eltiketi_adapters.memory import FakePaymentGateway, TimeOrderedIds
from eltiketi_adapters.system import SystemClock
from eltiketi_app.ioc.types import Persistence
from eltiketi_core.ports.payments import WebhookKind
from tests.api.conftest import Api, problem
from tests.unit.usecases.legacy_payments import open_second_payment


async def test_a_free_booking_is_confirmed_without_a_payment(api: Api) -> None:
    event_id, free = await api.sale(amount=0)
    alice = api.customer("alice")
    held = await api.hold(alice, event_id, free, 2)
    assert held.status_code == 201, held.text
    booking = held.json()
    assert booking["total"] == {"amount": 0, "currency": "EUR"}

    problem(
        await api.client.post(f"/v1/bookings/{booking['id']}/payment", headers=alice),
        409,
        "payment_not_required",
    )
    created = await api.client.post("/v1/orders", json={"booking_id": booking["id"]}, headers=alice)
    again = await api.client.post(
        "/v1/orders", json={"booking_id": booking["id"], "payment_id": None}, headers=alice
    )

    assert created.status_code == 201, created.text
    order = created.json()
    assert order["payment_id"] is None
    assert order["status"] == "confirmed"
    assert [t["status"] for t in order["tickets"]] == ["valid", "valid"]
    assert created.headers["location"] == f"/v1/orders/{order['id']}"
    assert again.status_code == 200, again.text
    assert again.json()["id"] == order["id"]
    gateway: FakePaymentGateway = await api.get(FakePaymentGateway)
    assert gateway.payments == {}  # no gateway was called
    await api.flush()
    assert (await api.stock(event_id))[free]["sold"] == 2
    assert len(api.email.tickets) == 1


async def test_a_booking_that_costs_money_needs_its_payment_id(api: Api) -> None:
    event_id, standing = await api.sale()
    alice = api.customer("alice")
    booking = (await api.hold(alice, event_id, standing)).json()

    refused = await api.client.post("/v1/orders", json={"booking_id": booking["id"]}, headers=alice)

    problem(refused, 422, "payment_required")
    listed = await api.client.get("/v1/orders", headers=alice)
    assert listed.json()["items"] == []


async def test_a_second_success_for_a_paid_booking_is_409_and_refunded(api: Api) -> None:
    event_id, standing = await api.sale()
    alice = api.customer("alice")
    booking = (await api.hold(alice, event_id, standing)).json()
    first = await api.start_payment(alice, booking["id"])
    await api.pay_on_page(first["checkout_url"], "decline")
    second = await api.in_app(lambda: _second_payment_as_before(api, booking["id"]))
    await api.pay_on_page(second["checkout_url"], "pay")  # confirmed by its webhook
    gateway: FakePaymentGateway = await api.get(FakePaymentGateway)
    gateway.approve(first["provider_reference"], after_decline=True)

    late = await api.confirm(alice, booking["id"], first["payment_id"])

    body = problem(late, 409, "duplicate_payment_refunded")
    kept = await api.confirm(alice, booking["id"], second["payment_id"])
    assert kept.status_code == 200, kept.text
    assert body["order_id"] == kept.json()["id"]
    body, headers = gateway.signed_webhook(
        WebhookKind.PAYMENT_SUCCEEDED, first["provider_reference"]
    )
    delivered = await api.client.post("/v1/payments/fake/webhook", content=body, headers=headers)
    assert delivered.status_code == 200, delivered.text
    await api.flush()
    assert gateway.refunded_amount(first["provider_reference"]) == 4500
    assert gateway.refunded_amount(second["provider_reference"]) == 0
    assert [n.reason for n in api.email.refunds] == ["duplicate_payment"]


async def _second_payment_as_before(api: Api, booking_id: str) -> dict[str, Any]:
    """On the app's loop: a second payment next to the declined one, as before issue 13."""
    persistence: Persistence = await api.get(Persistence)
    gateway: FakePaymentGateway = await api.get(FakePaymentGateway)
    async with persistence.uow() as uow:
        booking = await uow.bookings.get(UUID(booking_id))
    assert booking is not None
    payment = await open_second_payment(
        persistence.uow, gateway, TimeOrderedIds(), SystemClock(), booking
    )
    return {
        "payment_id": str(payment.id),
        "provider_reference": payment.provider_reference,
        "checkout_url": payment.checkout_url,
    }
