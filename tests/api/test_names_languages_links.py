"""REST for what the pages added: holder names (PATCH /v1/bookings/{id}), the buyer's
language (POST /v1/bookings), the tickets behind a signed link, upcoming events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from eltiketi_adapters.memory import FixedClock
from eltiketi_app.web.links import TicketLinks
from tests.api.conftest import Api, ClockProvider, problem


async def test_names_given_on_the_hold_reach_the_tickets_and_the_door(api: Api) -> None:
    event_id, type_id = await api.sale()
    alice = api.customer("alice")
    booking = (await api.hold(alice, event_id, type_id, 2)).json()
    assert booking["holders"] == []
    url = f"/v1/bookings/{booking['id']}"

    named = await api.client.patch(url, json={"holders": ["Ada Lovelace", " "]}, headers=alice)
    assert named.status_code == 200, named.text
    assert named.json()["holders"] == ["Ada Lovelace", ""]
    payment = await api.start_payment(alice, booking["id"])
    await api.approve(payment)
    order = (await api.confirm(alice, booking["id"], payment["payment_id"])).json()

    names = sorted(str(t["holder_name"]) for t in order["tickets"])
    assert names == ["Ada Lovelace", "None"]
    token = next(t["token"] for t in order["tickets"] if t["holder_name"])
    door = await api.member("sam", await api.organization_of(event_id), "door")
    scanned = await api.client.post(
        "/v1/check-ins", json={"token": token, "event_id": event_id}, headers=door
    )
    assert scanned.status_code == 200, scanned.text
    assert (scanned.json()["holder"], scanned.json()["holder_name"]) == ("alice", "Ada Lovelace")


async def test_names_and_contact_are_refused_together(api: Api) -> None:
    event_id, type_id = await api.sale()
    alice = api.customer("alice")
    booking = (await api.hold(alice, event_id, type_id, 2)).json()
    url = f"/v1/bookings/{booking['id']}"

    mismatch = await api.client.patch(
        url, json={"holders": ["One"], "contact": {"email": "new@example.org"}}, headers=alice
    )
    bad_name = await api.client.patch(url, json={"holders": ["Ok", "Tab\there"]}, headers=alice)
    nothing = await api.client.patch(url, json={}, headers=alice)
    not_a_list = await api.client.patch(url, json={"holders": "Ada"}, headers=alice)

    assert problem(mismatch, 422, "holders_mismatch")["expected"] == 2
    assert problem(bad_name, 422, "invalid_holder")["index"] == 1
    problem(nothing, 422, "nothing_to_change")
    assert not_a_list.status_code == 400
    read = (await api.client.get(url, headers=alice)).json()
    assert (read["holders"], read["contact"]["email"]) == ([], "alice@example.com")


async def test_the_buyers_language_comes_from_the_body_or_accept_language(api: Api) -> None:
    event_id, type_id = await api.sale()
    alice = api.customer("alice")
    body = {"event_id": event_id, "items": [{"ticket_type_id": type_id, "quantity": 1}]}

    explicit = await api.client.post(
        "/v1/bookings", json={**body, "locale": "nl-BE"}, headers=alice
    )
    from_header = await api.client.post(
        "/v1/bookings", json=body, headers={**alice, "Accept-Language": "de-AT,de;q=0.8,en;q=0.5"}
    )
    odd_header = await api.client.post(
        "/v1/bookings", json=body, headers={**alice, "Accept-Language": "*;q=0.5, !!"}
    )
    refused = await api.client.post(
        "/v1/bookings", json={**body, "locale": "Dutch please"}, headers=alice
    )

    assert explicit.json()["locale"] == "nl-BE"
    assert from_header.json()["locale"] == "de-AT"
    assert odd_header.status_code == 201 and odd_header.json()["locale"] is None
    problem(refused, 422, "invalid_locale")


async def test_a_ticket_link_opens_the_tickets_for_apps_too(api: Api) -> None:
    event_id, type_id = await api.sale()
    alice = api.customer("alice")
    order = await api.buy(alice, event_id, type_id, 2)
    event = (await api.client.get(f"/v1/events/{event_id}")).json()
    links = await api.get(TicketLinks)
    url = links.url(UUID(order["id"]), datetime.fromisoformat(event["starts_at"]))
    link = url.rsplit("/t/", 1)[1]

    shown = await api.client.get(f"/v1/ticket-links/{link}")
    tampered = await api.client.get(f"/v1/ticket-links/{link[:-2]}xx")
    await api.client.post(f"/v1/orders/{order['id']}/cancel", headers=alice)
    revoked = await api.client.get(f"/v1/ticket-links/{link}")

    assert shown.status_code == 200, shown.text
    assert shown.headers["cache-control"] == "private, no-store"
    body = shown.json()
    assert body["order_id"] == order["id"]
    assert sorted(t["token"] for t in body["tickets"]) == sorted(
        t["token"] for t in order["tickets"]
    )
    assert "alice" not in shown.text
    problem(tampered, 404, "link_invalid")
    problem(revoked, 410, "link_revoked")


async def test_upcoming_and_the_home_page_leave_out_events_that_have_started(
    start_app: Any,
) -> None:
    clock = FixedClock(datetime.now(UTC))
    async with start_app(overrides=[ClockProvider(clock)]) as api:
        soon, _ = await api.sale(starts_in=timedelta(days=1))
        later, _ = await api.sale(starts_in=timedelta(days=3))
        clock.advance(timedelta(days=2))

        everything = (await api.client.get("/v1/events")).json()["items"]
        upcoming = (await api.client.get("/v1/events?upcoming=true")).json()["items"]
        home = await api.client.get("/", headers={"Accept": "text/html"})

    assert [e["id"] for e in everything] == [soon, later]
    assert [e["id"] for e in upcoming] == [later]
    assert f"/events/{later}" in home.text
    assert f"/events/{soon}" not in home.text
