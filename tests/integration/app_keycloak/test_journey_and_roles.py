"""Seed steps 2–13 with real OIDC logins: the API trusts only the configured issuer's tokens.

Every token here comes from the real authorization-code + PKCE flow at oidc-provider (the test
drives its login and consent forms); roles come from the token's ``realm_access.roles``.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.infra.oidc import decode_unverified
from tests.integration.app_keycloak.conftest import Headers, OidcApi, problem

pytestmark = pytest.mark.oidc

Logins = Callable[[str], Headers]


async def test_a_pkce_login_books_tickets_end_to_end(api: OidcApi, logins: Logins) -> None:
    olga, alice = logins("olga"), logins("alice")
    _header, claims = decode_unverified(alice["Authorization"].removeprefix("Bearer "))
    assert claims["realm_access"]["roles"] == ["customer"]  # a real Keycloak-shaped token

    event_id, standing = await api.sale(olga, capacity=10, amount=2500)
    event = (await api.client.get(f"/v1/events/{event_id}")).json()
    assert event["owner"] == decode_unverified(olga["Authorization"][7:])[1]["sub"]

    held = await api.hold(alice, event_id, standing, quantity=2)
    assert held.status_code == 201, held.text
    booking = held.json()
    assert booking["status"] == "held"
    assert booking["contact"]["email"] == "alice@eltiketi.test"  # from the token's claims
    assert booking["total"] == {"amount": 5000, "currency": "EUR"}

    started = await api.client.post(f"/v1/bookings/{booking['id']}/payment", headers=alice)
    assert started.status_code == 200, started.text
    payment = started.json()
    await api.pay_on_fake_page(payment["checkout_url"])

    confirmed = await api.client.post(
        "/v1/orders",
        json={"booking_id": booking["id"], "payment_id": payment["payment_id"]},
        headers=alice,
    )
    assert confirmed.status_code in (200, 201), confirmed.text  # 200 if the webhook won
    order = confirmed.json()
    assert order["status"] == "confirmed"
    assert len(order["tickets"]) == 2

    mine = await api.orders(alice)
    assert [o["id"] for o in mine] == [order["id"]]
    # the organizer is another subject: alice's order is not theirs
    assert await api.orders(olga) == []
    assert (
        await api.client.get(f"/v1/bookings/{booking['id']}", headers=logins("bob"))
    ).status_code == 404


async def test_a_customer_cannot_create_events_an_organizer_can(
    api: OidcApi, logins: Logins
) -> None:
    refused = await api.create_event(logins("alice"))
    body = problem(refused, 403)
    assert "organizer" in body["detail"]

    created = await api.create_event(logins("olga"))
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "draft"
    # nothing was created by the refused call: the organizer sees exactly one event
    mine = await api.client.get("/v1/events", params={"mine": "true"}, headers=logins("olga"))
    assert [e["id"] for e in mine.json()["items"]] == [created.json()["id"]]


async def test_staff_and_customers_cannot_manage_an_organizers_event(
    api: OidcApi, logins: Logins
) -> None:
    event_id, _standing = await api.sale(logins("olga"))

    # staff (the realm role) and customers are not members of olga's organization: to them
    # her event is not there to manage (404), though it is published
    for username in ("alice", "sam"):
        who = logins(username)
        problem(await api.client.post(f"/v1/events/{event_id}/cancel", headers=who), 404)
        problem(
            await api.client.post(
                f"/v1/events/{event_id}/ticket-types",
                json={"name": "VIP", "price": {"amount": 1, "currency": "EUR"}, "capacity": 1},
                headers=who,
            ),
            404,
        )
    event = (await api.client.get(f"/v1/events/{event_id}")).json()
    assert event["status"] == "published"
    assert [t["name"] for t in event["ticket_types"]] == ["Standing"]
