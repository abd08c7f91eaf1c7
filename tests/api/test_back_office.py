"""The organizer's REST routes behind the back office: catalogue edits, sale windows,
capacity, unpublishing, the event list, dashboard, orders, attendees and the CSV export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from eltiketi_adapters.memory import FixedClock
from tests.api.conftest import Api, ClockProvider, problem

OLGA = ("olga", "organizer")


def _routes(event_id: str, type_id: str, order_id: str) -> list[tuple[str, str, Any]]:
    """Every organizer route of the back office, with a body that would succeed."""
    base = f"/v1/events/{event_id}"
    return [
        ("GET", "/v1/events/managed", None),
        ("PATCH", base, {"description": "Doors at seven."}),
        ("GET", f"{base}/ticket-types", None),
        ("PATCH", f"{base}/ticket-types/{type_id}", {"capacity": 120}),
        ("GET", f"{base}/dashboard", None),
        ("GET", f"{base}/orders?q=example", None),
        ("GET", f"{base}/orders/{order_id}", None),
        ("POST", f"{base}/orders/{order_id}/resend", None),  # refused: just sent
        ("GET", f"{base}/attendees", None),
        ("GET", f"{base}/attendees.csv", None),
        ("POST", f"{base}/orders/{order_id}/refund", None),
        ("POST", f"{base}/unpublish", None),  # refused: the event has bookings
    ]


async def test_every_route_is_the_owning_organizations_alone(api: Api) -> None:
    """Owners and managers of the event's organization; a door member 403; anyone else
    (another organizer, a customer) 404, and an empty list of managed events."""
    olga, otto = api.auth(*OLGA), api.auth("otto", "organizer")
    event_id, type_id = await api.sale(olga)
    door = await api.member("dora", await api.organization_of(event_id), "door")
    order = await api.buy(api.customer("alice"), event_id, type_id)
    await api.flush()
    for method, path, body in _routes(event_id, type_id, order["id"]):
        problem(await api.client.request(method, path, json=body), 401, "missing_token")
        if path == "/v1/events/managed":  # a list: theirs is simply empty
            for stranger in (otto, api.customer("alice"), door):
                listed = await api.client.request(method, path, headers=stranger)
                assert listed.status_code == 200 and listed.json()["items"] == []
            continue
        for stranger in (otto, api.customer("alice")):
            problem(
                await api.client.request(method, path, json=body, headers=stranger),
                404,
                "event_not_found",
            )
        refused = problem(
            await api.client.request(method, path, json=body, headers=door), 403, "missing_role"
        )
        assert refused["required_role"] == "manager"
    answers = {}
    for method, path, body in _routes(event_id, type_id, order["id"]):
        answers[(method, path)] = await api.client.request(method, path, json=body, headers=olga)
    codes = [r.status_code for r in answers.values()]
    assert codes == [200] * 7 + [429] + [200] * 3 + [409], [(k, r.text) for k, r in answers.items()]
    # and otto's own list does not show olga's event
    mine = await api.client.get("/v1/events/managed", headers=otto)
    assert mine.json()["items"] == []


async def test_an_event_is_edited_and_buyers_see_it(api: Api) -> None:
    olga = api.auth(*OLGA)
    event_id, _ = await api.sale(olga)
    moved = (datetime.now(UTC) + timedelta(days=40)).replace(microsecond=0)
    response = await api.client.patch(
        f"/v1/events/{event_id}",
        json={"name": "Open Air II", "starts_at": moved.isoformat(), "description": "Bring rain"},
        headers=olga,
    )
    assert response.status_code == 200, response.text
    public = (await api.client.get(f"/v1/events/{event_id}")).json()
    assert (public["name"], public["description"], public["venue"]) == (
        "Open Air II",
        "Bring rain",
        "Park",
    )
    assert datetime.fromisoformat(public["starts_at"]) == moved

    problem(
        await api.client.patch(f"/v1/events/{event_id}", json={"currency": "USD"}, headers=olga),
        409,
        "currency_locked",
    )
    problem(
        await api.client.patch(
            f"/v1/events/{event_id}", json={"timezone": "Nowhere"}, headers=olga
        ),
        422,
        "invalid_timezone",
    )
    problem(
        await api.client.patch(f"/v1/events/{event_id}", json={"owner": "otto"}, headers=olga),
        400,
        "malformed_request",
    )
    problem(
        await api.client.patch(f"/v1/events/{event_id}", json={"name": 7}, headers=olga),
        400,
        "malformed_request",
    )
    await api.cancel_and_wait(olga, event_id)
    problem(
        await api.client.patch(f"/v1/events/{event_id}", json={"name": "x"}, headers=olga),
        409,
        "event_cancelled",
    )


async def test_a_new_event_carries_a_description(api: Api) -> None:
    olga = api.auth(*OLGA)
    response = await api.client.post(
        "/v1/events",
        json={
            "name": "Talk",
            "venue": "Room 1",
            "starts_at": (datetime.now(UTC) + timedelta(days=3)).isoformat(),
            "timezone": "UTC",
            "description": "An hour on ticketing.",
        },
        headers=olga,
    )
    assert response.status_code == 201 and response.json()["description"] == "An hour on ticketing."


async def test_an_unbooked_event_is_unpublished_and_a_booked_one_is_not(api: Api) -> None:
    olga = api.auth(*OLGA)
    quiet, _ = await api.sale(olga)
    response = await api.client.post(f"/v1/events/{quiet}/unpublish", headers=olga)
    assert response.status_code == 200 and response.json()["status"] == "draft"
    problem(await api.client.get(f"/v1/events/{quiet}"), 404, "event_not_found")

    busy, busy_type = await api.sale(olga)
    assert (await api.hold(api.customer("bo"), busy, busy_type)).status_code == 201
    problem(
        await api.client.post(f"/v1/events/{busy}/unpublish", headers=olga),
        409,
        "event_has_bookings",
    )
    assert (await api.client.get(f"/v1/events/{busy}")).json()["status"] == "published"


async def test_a_sale_window_opens_and_closes_holds(api: Api) -> None:
    olga, alice = api.auth(*OLGA), api.customer("alice")
    event_id, type_id = await api.sale(olga)
    later = datetime.now(UTC) + timedelta(hours=1)
    edit = await api.client.patch(
        f"/v1/events/{event_id}/ticket-types/{type_id}",
        json={"sales_start": later.isoformat()},
        headers=olga,
    )
    assert edit.status_code == 200, edit.text
    assert datetime.fromisoformat(edit.json()["sales_start"]) == later
    shown = (await api.client.get(f"/v1/events/{event_id}")).json()["ticket_types"][0]
    assert datetime.fromisoformat(shown["sales_start"]) == later
    refused = problem(await api.hold(alice, event_id, type_id), 409, "sales_not_open")
    assert datetime.fromisoformat(refused["sales_start"]) == later

    past = datetime.now(UTC) - timedelta(seconds=1)
    closed = await api.client.patch(
        f"/v1/events/{event_id}/ticket-types/{type_id}",
        json={"sales_start": None, "sales_end": past.isoformat()},
        headers=olga,
    )
    assert closed.status_code == 200, closed.text
    problem(await api.hold(alice, event_id, type_id), 409, "sales_closed")
    problem(
        await api.client.patch(
            f"/v1/events/{event_id}/ticket-types/{type_id}",
            json={"sales_start": past.isoformat(), "sales_end": past.isoformat()},
            headers=olga,
        ),
        422,
        "invalid_sale_window",
    )
    reopened = await api.client.patch(
        f"/v1/events/{event_id}/ticket-types/{type_id}", json={"sales_end": None}, headers=olga
    )
    assert reopened.json()["sales_end"] is None
    assert (await api.hold(alice, event_id, type_id)).status_code == 201


async def test_a_window_can_be_set_when_the_type_is_created(api: Api) -> None:
    olga = api.auth(*OLGA)
    event = await api.create_event(olga)
    opens = datetime.now(UTC) + timedelta(days=1)
    response = await api.client.post(
        f"/v1/events/{event['id']}/ticket-types",
        json={
            "name": "Presale",
            "price": {"amount": 1000, "currency": "EUR"},
            "capacity": 5,
            "sales_start": opens.isoformat(),
        },
        headers=olga,
    )
    assert response.status_code == 201, response.text
    assert datetime.fromisoformat(response.json()["sales_start"]) == opens
    assert response.json()["sales_end"] is None


async def test_capacity_goes_down_only_to_what_is_held_and_sold(api: Api) -> None:
    olga = api.auth(*OLGA)
    event_id, type_id = await api.sale(olga, capacity=10)
    await api.buy(api.customer("a"), event_id, type_id, 3)
    assert (await api.hold(api.customer("b"), event_id, type_id, 2)).status_code == 201
    path = f"/v1/events/{event_id}/ticket-types/{type_id}"
    refused = problem(
        await api.client.patch(path, json={"capacity": 4}, headers=olga), 409, "capacity_below_sold"
    )
    assert refused["minimum"] == 5
    cut = await api.client.patch(path, json={"capacity": 5, "max_per_booking": 2}, headers=olga)
    assert cut.status_code == 200, cut.text
    body = cut.json()
    assert (body["capacity"], body["available"], body["max_per_booking"], body["shards"]) == (
        5,
        0,
        2,
        1,
    )
    problem(await api.hold(api.customer("c"), event_id, type_id), 409, "sold_out")
    problem(
        await api.client.patch(path, json={"capacity": -1}, headers=olga), 422, "invalid_capacity"
    )
    problem(
        await api.client.patch(path, json={"shards": 4}, headers=olga), 400, "malformed_request"
    )
    other, other_type = await api.sale(olga)
    problem(
        await api.client.patch(
            f"/v1/events/{other}/ticket-types/{type_id}", json={"capacity": 9}, headers=olga
        ),
        404,
        "ticket_type_not_found",
    )
    listed = (await api.client.get(f"/v1/events/{event_id}/ticket-types", headers=olga)).json()
    assert [(t["id"], t["capacity"]) for t in listed["items"]] == [(type_id, 5)]
    assert other_type != type_id


async def test_the_event_list_shows_status_and_sales(api: Api) -> None:
    olga = api.auth(*OLGA)
    on_sale, type_id = await api.sale(olga)
    await api.buy(api.customer("a"), on_sale, type_id, 2)
    sold_out, tiny = await api.sale(olga, capacity=1)
    await api.buy(api.customer("b"), sold_out, tiny)
    await api.flush()
    draft = await api.create_event(olga)
    listed = await api.client.get("/v1/events/managed", headers=olga)
    assert listed.status_code == 200
    by_id = {e["id"]: e for e in listed.json()["items"]}
    assert {k: e["phase"] for k, e in by_id.items()} == {
        on_sale: "on_sale",
        sold_out: "sold_out",
        draft["id"]: "draft",
    }
    assert (by_id[on_sale]["tickets_sold"], by_id[on_sale]["orders"]) == (2, 1)
    assert by_id[on_sale]["gross"] == {"amount": 9000, "currency": "EUR"}


async def test_the_dashboard_follows_a_sale(api: Api) -> None:
    olga = api.auth(*OLGA)
    event_id, type_id = await api.sale(olga, capacity=50)
    order = await api.buy(api.customer("a"), event_id, type_id, 2)
    assert (await api.hold(api.customer("b"), event_id, type_id, 3)).status_code == 201
    await api.flush()
    staff = await api.member("sam", await api.organization_of(event_id), "door")
    token = order["tickets"][0]["token"]
    scan = await api.client.post(
        "/v1/check-ins", json={"token": token, "event_id": event_id}, headers=staff
    )
    assert scan.status_code == 200, scan.text

    board = (await api.client.get(f"/v1/events/{event_id}/dashboard?hours=2", headers=olga)).json()
    assert (board["capacity"], board["held"], board["sold"], board["available"]) == (50, 3, 2, 45)
    assert (board["orders"], board["checked_in"], board["phase"]) == (1, 1, "on_sale")
    assert board["gross"] == board["net"] == {"amount": 9000, "currency": "EUR"}
    assert [h["orders"] for h in board["orders_per_hour"]] == [0, 1]
    assert board["ticket_types"][0]["sold"] == 2
    problem(
        await api.client.get(f"/v1/events/{event_id}/dashboard?hours=0", headers=olga),
        400,
        "malformed_request",
    )


async def test_an_organizer_finds_refunds_and_resends_an_order(start_app: Any) -> None:
    clock = FixedClock(datetime.now(UTC))
    async with start_app(overrides=[ClockProvider(clock)]) as api:
        await _find_refund_and_resend(api, clock)


async def _find_refund_and_resend(api: Api, clock: FixedClock) -> None:
    olga, alice = api.auth(*OLGA), api.customer("alice")
    event_id, type_id = await api.sale(olga)
    order = await api.buy(alice, event_id, type_id, 2)
    await api.buy(api.customer("bob"), event_id, type_id)
    await api.flush()
    base = f"/v1/events/{event_id}/orders"

    found = (await api.client.get(f"{base}?q=ALICE@", headers=olga)).json()["items"]
    assert [o["id"] for o in found] == [order["id"]]
    assert found[0]["contact"] == {"email": "alice@example.com", "phone": None}
    by_id = (await api.client.get(f"{base}?q={order['id']}", headers=olga)).json()["items"]
    assert [o["id"] for o in by_id] == [order["id"]]
    by_reference = await api.client.get(f"{base}?q={order['reference'].lower()}", headers=olga)
    assert [(o["id"], o["reference"]) for o in by_reference.json()["items"]] == [
        (order["id"], order["reference"])
    ]
    problem(await api.client.get(f"{base}?status=lost", headers=olga), 400, "malformed_request")

    detail = (await api.client.get(f"{base}/{order['id']}", headers=olga)).json()
    assert [t["status"] for t in detail["tickets"]] == ["valid", "valid"]
    assert [p["status"] for p in detail["payments"]] == ["succeeded"]
    assert detail["refunds"] == []

    problem(  # the tickets went out a moment ago
        await api.client.post(f"{base}/{order['id']}/resend", headers=olga),
        429,
        "resend_rate_limited",
    )
    clock.advance(minutes=2)
    resent = await api.client.post(f"{base}/{order['id']}/resend", headers=olga)
    assert resent.status_code == 200 and resent.json()["channels_sent"] == 1
    problem(
        await api.client.post(f"{base}/{order['id']}/resend", headers=olga),
        429,
        "resend_rate_limited",
    )

    refunded = await api.client.post(f"{base}/{order['id']}/refund", headers=olga)
    assert refunded.status_code == 200, refunded.text
    body = refunded.json()
    assert body["status"] == "refunded"
    assert [(r["reason"], r["amount"]["amount"]) for r in body["refunds"]] == [
        ("organizer_cancelled", 9000)
    ]
    again = await api.client.post(f"{base}/{order['id']}/refund", headers=olga)
    assert again.status_code == 200  # once: the same refund (by now perhaps executed)
    assert [r["id"] for r in again.json()["refunds"]] == [r["id"] for r in body["refunds"]]
    mine = (await api.client.get(f"/v1/orders/{order['id']}", headers=alice)).json()
    assert mine["status"] == "refunded"
    await api.flush()
    assert (await api.stock(event_id))[type_id]["sold"] == 1

    other, _ = await api.sale(olga)
    problem(
        await api.client.get(f"/v1/events/{other}/orders/{order['id']}", headers=olga),
        404,
        "order_not_found",
    )
    problem(
        await api.client.post(f"{base}/{order['id']}/resend", headers=olga),
        409,
        "order_not_confirmed",
    )


async def test_attendees_page_and_export_as_csv(api: Api) -> None:
    olga = api.auth(*OLGA)
    event_id, type_id = await api.sale(olga)
    await api.buy(api.auth("=cmd|' /C calc'!A0", email="x@example.com"), event_id, type_id)
    await api.buy(api.customer("zoë"), event_id, type_id, 2)

    first = (await api.client.get(f"/v1/events/{event_id}/attendees?limit=2", headers=olga)).json()
    assert len(first["items"]) == 2 and first["next_after"] == first["items"][-1]["ticket_id"]
    rest = await api.client.get(
        f"/v1/events/{event_id}/attendees",
        params={"after": first["next_after"], "limit": 2},
        headers=olga,
    )
    assert len(rest.json()["items"]) == 1 and rest.json()["next_after"] is None
    assert {a["ticket_type"] for a in first["items"]} == {"Standing"}

    response = await api.client.get(f"/v1/events/{event_id}/attendees.csv", headers=olga)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="attendees-{event_id}.csv"'
    )
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == [
        "ticket_id",
        "order_id",
        "ticket_type",
        "name",
        "holder",
        "email",
        "phone",
        "status",
        "checked_in_at",
    ]
    holders = sorted(r[4] for r in rows[1:])
    assert holders == ["'=cmd|' /C calc'!A0", "zoë", "zoë"]


async def test_a_used_order_is_not_refunded(api: Api) -> None:
    olga = api.auth(*OLGA)
    event_id, type_id = await api.sale(olga)
    order = await api.buy(api.customer("alice"), event_id, type_id)
    token = order["tickets"][0]["token"]
    scan = await api.client.post(
        "/v1/check-ins",
        json={"token": token, "event_id": event_id},
        headers=await api.member("sam", await api.organization_of(event_id), "door"),
    )
    assert scan.status_code == 200, scan.text
    refused = problem(
        await api.client.post(f"/v1/events/{event_id}/orders/{order['id']}/refund", headers=olga),
        409,
        "ticket_used",
    )
    assert refused["checked_in"] == 1


@pytest.mark.parametrize("route", ["attendees?limit=0", "attendees?limit=501", "attendees?after=x"])
async def test_attendee_pages_refuse_bad_parameters(api: Api, route: str) -> None:
    olga = api.auth(*OLGA)
    event_id, _ = await api.sale(olga)
    problem(
        await api.client.get(f"/v1/events/{event_id}/{route}", headers=olga),
        400,
        "malformed_request",
    )


async def test_the_names_buyers_give_their_tickets_are_listed_and_searched(api: Api) -> None:
    olga, alice = api.auth(*OLGA), api.customer("alice")
    event_id, type_id = await api.sale(olga)
    held = await api.hold(alice, event_id, type_id, 2)
    assert held.status_code == 201, held.text
    named = await api.client.patch(
        f"/v1/bookings/{held.json()['id']}", json={"holders": ["Ada Lovelace", ""]}, headers=alice
    )
    assert named.status_code == 200, named.text
    payment = await api.start_payment(alice, held.json()["id"])
    await api.approve(payment)
    order = await api.confirm(alice, held.json()["id"], payment["payment_id"])
    assert order.status_code == 201, order.text

    found = await api.client.get(f"/v1/events/{event_id}/orders?q=lovelace", headers=olga)
    assert [o["id"] for o in found.json()["items"]] == [order.json()["id"]]
    listed = await api.client.get(f"/v1/events/{event_id}/attendees", headers=olga)
    assert sorted(str(a["holder_name"]) for a in listed.json()["items"]) == ["Ada Lovelace", "None"]
    detail = await api.client.get(
        f"/v1/events/{event_id}/orders/{order.json()['id']}", headers=olga
    )
    assert {t["holder_name"] for t in detail.json()["tickets"]} == {"Ada Lovelace", None}
