"""A flash sale through the API: 500 buyers at once for 100 tickets."""

from __future__ import annotations

import asyncio
from collections import Counter

from tests.api.conftest import Api, problem


async def test_500_concurrent_buyers_for_100_tickets_get_exactly_100_holds(api: Api) -> None:
    event_id, standing = await api.sale(capacity=100)
    buyers = [api.customer(f"buyer-{n:03d}") for n in range(500)]

    answers = await asyncio.gather(*(api.hold(b, event_id, standing) for b in buyers))

    statuses = Counter(a.status_code for a in answers)
    assert statuses == {201: 100, 409: 400}
    for answer in answers:
        if answer.status_code == 409:
            problem(answer, 409, "sold_out")
    assert len({a.json()["id"] for a in answers if a.status_code == 201}) == 100
    level = (await api.stock(event_id))[standing]
    assert (level["capacity"], level["held"], level["sold"], level["available"]) == (100, 100, 0, 0)
    public = (await api.client.get(f"/v1/events/{event_id}")).json()
    assert public["ticket_types"][0]["available"] == 0


async def test_a_retry_storm_with_one_idempotency_key_makes_one_booking(api: Api) -> None:
    event_id, standing = await api.sale(capacity=100)
    alice = {**api.customer("alice"), "Idempotency-Key": "checkout-42"}
    body = {"event_id": event_id, "items": [{"ticket_type_id": standing, "quantity": 2}]}

    answers = await asyncio.gather(
        *(api.client.post("/v1/bookings", json=body, headers=alice) for _ in range(20))
    )

    created = [a for a in answers if a.status_code == 201]
    assert created, [a.text for a in answers]
    assert len({a.json()["id"] for a in created}) == 1
    for answer in answers:
        if answer.status_code != 201:
            problem(answer, 409, "idempotency_in_flight")
    level = (await api.stock(event_id))[standing]
    assert level["held"] == 2
