"""REST calls the integration suites make the same way: an organizer's event and sale.

Kept here so the Keycloak and Stripe suites (and any new one) set up a sale through the
v1 contract identically; each suite names its event so its logs stay readable.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

import httpx


class RestClient(Protocol):
    """What the helpers need of a client: Litestar's test client and httpx's both fit."""

    async def post(self, url: str, *, json: Any = ..., headers: Any = ...) -> httpx.Response: ...


async def create_event(
    client: RestClient, organizer: Mapping[str, str], *, name: str, venue: str
) -> httpx.Response:
    """``POST /v1/events`` for an event 30 days from now (EUR, Europe/Berlin)."""
    starts_at = datetime.now().astimezone() + timedelta(days=30)
    return await client.post(
        "/v1/events",
        json={
            "name": name,
            "venue": venue,
            "starts_at": starts_at.isoformat(),
            "timezone": "Europe/Berlin",
            "currency": "EUR",
        },
        headers=organizer,
    )


async def published_sale(
    client: RestClient,
    organizer: Mapping[str, str],
    *,
    name: str,
    venue: str,
    capacity: int,
    amount: int,
) -> tuple[str, str]:
    """A published event with one ticket type "Standing": (event id, ticket type id)."""
    created = await create_event(client, organizer, name=name, venue=venue)
    assert created.status_code == 201, created.text
    event_id = created.json()["id"]
    added = await client.post(
        f"/v1/events/{event_id}/ticket-types",
        json={
            "name": "Standing",
            "price": {"amount": amount, "currency": "EUR"},
            "capacity": capacity,
        },
        headers=organizer,
    )
    assert added.status_code == 201, added.text
    published = await client.post(f"/v1/events/{event_id}/publish", headers=organizer)
    assert published.status_code == 200, published.text
    return event_id, added.json()["id"]
