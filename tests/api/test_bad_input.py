"""Bad requests get the right 4xx with a problem ``code``, and nothing is half-written."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.api.conftest import Api, Headers, problem


async def _nothing_written(api: Api, event_id: str, ticket_type_id: str, who: Headers) -> None:
    level = (await api.stock(event_id))[ticket_type_id]
    assert (level["held"], level["sold"]) == (0, 0), level
    assert (await api.client.get("/v1/orders", headers=who)).json()["items"] == []


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 400, "malformed_request"),
        (b"[]", 400, "malformed_request"),
        (b'{"event_id": 12, "items": []}', 400, "malformed_request"),
        (b'{"event_id": "not-a-uuid", "items": []}', 400, "malformed_request"),
        (b'{"items": []}', 400, "malformed_request"),
        (b'{"event_id": "%(event)s", "items": "two"}', 400, "malformed_request"),
        (
            b'{"event_id": "%(event)s", "items": [{"ticket_type_id": "%(type)s", '
            b'"quantity": "2"}]}',
            400,
            "malformed_request",
        ),
        (
            b'{"event_id": "%(event)s", "items": [{"ticket_type_id": "%(type)s", '
            b'"quantity": 1.5}]}',
            400,
            "malformed_request",
        ),
        (
            b'{"event_id": "%(event)s", "items": [], "surprise": true}',
            400,
            "malformed_request",
        ),
        (b'{"event_id": "%(event)s", "items": []}', 422, "no_items"),
        (
            b'{"event_id": "%(event)s", "items": [{"ticket_type_id": "%(type)s", "quantity": 0}]}',
            422,
            "invalid_quantity",
        ),
        (
            b'{"event_id": "%(event)s", "items": [{"ticket_type_id": "%(type)s", "quantity": -3}]}',
            422,
            "invalid_quantity",
        ),
        (
            b'{"event_id": "%(event)s", "items": [{"ticket_type_id": "%(type)s", "quantity": 5}]}',
            422,
            "quantity_above_limit",
        ),
        (
            b'{"event_id": "%(event)s", "items": [{"ticket_type_id": "%(type)s", "quantity": 1},'
            b' {"ticket_type_id": "%(type)s", "quantity": 1}]}',
            422,
            "duplicate_ticket_type",
        ),
        (
            b'{"event_id": "%(event)s", "items": [{"ticket_type_id": "%(unknown)s", '
            b'"quantity": 1}]}',
            422,
            "unknown_ticket_type",
        ),
        (
            b'{"event_id": "%(unknown)s", "items": [{"ticket_type_id": "%(type)s", '
            b'"quantity": 1}]}',
            404,
            "event_not_found",
        ),
    ],
)
async def test_bad_booking_requests(api: Api, body: bytes, status: int, code: str) -> None:
    event_id, standing = await api.sale(max_per_booking=4)
    alice = api.customer("alice")
    values = {"event": event_id, "type": standing, "unknown": str(uuid.uuid4())}
    filled = body.decode() % values if b"%(" in body else body.decode()

    answer = await api.client.post(
        "/v1/bookings",
        content=filled.encode(),
        headers={**alice, "Content-Type": "application/json"},
    )

    problem(answer, status, code)
    await _nothing_written(api, event_id, standing, alice)


async def test_the_per_buyer_limit_counts_holds_and_purchases(api: Api) -> None:
    event_id, standing = await api.sale(max_per_booking=10)  # policy: 10 per buyer
    alice = api.customer("alice")
    await api.buy(alice, event_id, standing, 6)
    assert (await api.hold(alice, event_id, standing, 3)).status_code == 201

    refused = problem(await api.hold(alice, event_id, standing, 2), 422, "buyer_limit_exceeded")

    assert refused["limit"] == 10
    await api.flush()
    level = (await api.stock(event_id))[standing]
    assert (level["held"], level["sold"]) == (3, 6)
    # someone else is not affected by alice's limit
    assert (await api.hold(api.customer("bob"), event_id, standing, 10)).status_code == 201


async def test_a_sold_out_type_refuses_without_taking_anything(api: Api) -> None:
    olga = api.auth("olga", "organizer")
    event = await api.create_event(olga)
    small = await api.add_type(olga, event["id"], name="Small", capacity=2)
    large = await api.add_type(olga, event["id"], name="Large", capacity=50)
    await api.publish(olga, event["id"])
    alice = api.customer("alice")
    body = {
        "event_id": event["id"],
        "items": [
            {"ticket_type_id": large["id"], "quantity": 4},
            {"ticket_type_id": small["id"], "quantity": 3},
        ],
    }

    problem(await api.client.post("/v1/bookings", json=body, headers=alice), 409, "sold_out")

    levels = await api.stock(event["id"], olga)
    assert levels[large["id"]]["held"] == 0
    assert levels[small["id"]]["held"] == 0


@pytest.mark.parametrize(
    ("price", "status", "code"),
    [
        ({"amount": 1000, "currency": "USD"}, 422, "currency_mismatch"),
        ({"amount": 1000, "currency": "eur"}, 422, "invalid_currency"),
        ({"amount": -1, "currency": "EUR"}, 422, "invalid_price"),
        ({"amount": "ten", "currency": "EUR"}, 400, "malformed_request"),
        ({"amount": 10.5, "currency": "EUR"}, 400, "malformed_request"),
    ],
)
async def test_bad_prices_on_a_ticket_type(
    api: Api, price: dict[str, Any], status: int, code: str
) -> None:
    olga = api.auth("olga", "organizer")
    event = await api.create_event(olga, currency="EUR")

    answer = await api.client.post(
        f"/v1/events/{event['id']}/ticket-types",
        json={"name": "GA", "price": price, "capacity": 10},
        headers=olga,
    )

    problem(answer, status, code)
    seen = (await api.client.get(f"/v1/events/{event['id']}", headers=olga)).json()
    assert seen["ticket_types"] == []


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        ({"timezone": "Mars/Olympus"}, 422, "invalid_timezone"),
        ({"starts_at": "2031-01-01T20:00:00"}, 422, "naive_datetime"),
        ({"starts_at": "next friday"}, 400, "malformed_request"),
        ({"name": "   "}, 422, "invalid_name"),
        ({"currency": "euro"}, 422, "invalid_currency"),
    ],
)
async def test_bad_events(api: Api, changes: dict[str, Any], status: int, code: str) -> None:
    olga = api.auth("olga", "organizer")
    body = {
        "name": "Gig",
        "venue": "Club",
        "starts_at": "2031-01-01T20:00:00+01:00",
        "timezone": "Europe/Berlin",
        **changes,
    }

    problem(await api.client.post("/v1/events", json=body, headers=olga), status, code)
    assert (await api.client.get("/v1/events?mine=true", headers=olga)).json()["items"] == []


async def test_publishing_needs_a_ticket_type(api: Api) -> None:
    olga = api.auth("olga", "organizer")
    event = await api.create_event(olga)

    problem(
        await api.client.post(f"/v1/events/{event['id']}/publish", headers=olga),
        422,
        "no_ticket_types",
    )


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "missing_token"),
        ({"Authorization": "Bearer garbage"}, "malformed_token"),
        ({"Authorization": "Bearer a.b.c"}, "malformed_token"),
        ({"Authorization": "Basic YWxpY2U6cGFzcw=="}, "invalid_token"),
        ({"Authorization": "Bearer "}, "invalid_token"),
    ],
)
async def test_missing_or_garbage_tokens_are_401(
    api: Api, headers: dict[str, str], code: str
) -> None:
    event_id, standing = await api.sale()
    body = {"event_id": event_id, "items": [{"ticket_type_id": standing, "quantity": 1}]}

    answers = [
        await api.client.post("/v1/bookings", json=body, headers=headers),
        # the token is checked before the body is even read
        await api.client.post("/v1/bookings", content=b"{", headers=headers),
        await api.client.get("/v1/orders", headers=headers),
        await api.client.post("/v1/events", json={}, headers=headers),
    ]

    for answer in answers:
        body_seen = problem(answer, 401, code)
        assert answer.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
        assert body_seen["status"] == 401
    level = (await api.stock(event_id))[standing]
    assert level["held"] == 0


async def test_a_token_signed_by_another_key_is_refused(api: Api, tmp_path: Any) -> None:
    from eltiketi_adapters.devauth import DevTokenIssuer

    stranger = DevTokenIssuer(tmp_path / "elsewhere").mint("mallory", ["admin"])

    answer = await api.client.get("/v1/orders", headers={"Authorization": f"Bearer {stranger}"})

    problem(answer, 401, "unknown_key")


async def test_unknown_ids_are_404_for_every_owner_route(api: Api) -> None:
    alice = api.customer("alice")
    unknown = str(uuid.uuid4())
    for method, path, code in (
        ("GET", f"/v1/events/{unknown}", "event_not_found"),
        ("GET", f"/v1/bookings/{unknown}", "booking_not_found"),
        ("DELETE", f"/v1/bookings/{unknown}", "booking_not_found"),
        ("POST", f"/v1/bookings/{unknown}/payment", "booking_not_found"),
        ("GET", f"/v1/orders/{unknown}", "order_not_found"),
        ("GET", f"/v1/tickets/{unknown}/qr.png", "ticket_not_found"),
    ):
        problem(await api.client.request(method, path, headers=alice), 404, code)
    problem(await api.confirm(alice, unknown, str(uuid.uuid4())), 404, "booking_not_found")
    problem(await api.client.get("/v1/bookings/not-a-uuid", headers=alice), 404, "not_found")
