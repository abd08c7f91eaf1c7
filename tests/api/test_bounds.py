"""No input answers 500: every number and text a request carries is bounded at the edge.

Run on the stores where the limits bite: SQLite (the embedded default: a 64-bit
integer, so ``2**63`` overflowed the driver) and PostgreSQL (``capacity`` is ``int4``,
a NUL byte cannot be stored, ``varchar(300)`` names). Beyond a bound is a ``400
malformed_request`` naming the field; nothing is written.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from eltiketi_app.http.schemas import MAX_AMOUNT, MAX_INT4, MAX_OFFSET, MAX_QUANTITY
from eltiketi_app.settings import Settings
from tests.api.conftest import Api, problem
from tests.integration.sqlalchemy.database import fresh_postgres_database

HUGE = 100_000_000_000_000_000_000  # the offset seen answering 500
INT8_OVERFLOW = 2**63


class OnePostgresDatabase:
    """A PostgreSQL database made on first use and shared by the module's tests."""

    def __init__(self) -> None:
        self._stack = AsyncExitStack()
        self._url: str | None = None

    async def url(self) -> str:
        if self._url is None:
            self._url = await self._stack.enter_async_context(fresh_postgres_database("bounds"))
        return self._url

    async def close(self) -> None:
        await self._stack.aclose()


@pytest.fixture(scope="module")
async def postgres_database() -> AsyncIterator[OnePostgresDatabase]:
    database = OnePostgresDatabase()
    yield database
    await database.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def sql_api(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    start_app: Callable[..., Any],
    postgres_database: OnePostgresDatabase,
) -> AsyncIterator[Api]:
    """The embedded app on a SQL store: the SQLite file of the defaults, or PostgreSQL."""
    url = await postgres_database.url() if request.param == "postgres" else None
    settings = Settings(data_dir=tmp_path, database_url=url, database_pool_size=4)
    async with start_app(settings, background=False) as api:
        yield api


def _names_field(body: dict[str, Any], field: str) -> None:
    messages = " ".join(error.get("message", "") for error in body.get("errors", []))
    keys = " ".join(str(error.get("key", "")) for error in body.get("errors", []))
    assert field in messages or field in keys, body


@pytest.mark.parametrize("offset", [HUGE, INT8_OVERFLOW, MAX_OFFSET + 1])
async def test_a_huge_offset_is_a_bad_request(sql_api: Api, offset: int) -> None:
    alice = sql_api.customer("alice")

    for path, headers in (
        (f"/v1/events?offset={offset}", {}),
        (f"/v1/events?offset={offset}&mine=true", sql_api.auth("olga", "organizer")),
        (f"/v1/orders?offset={offset}", alice),
    ):
        body = problem(await sql_api.client.get(path, headers=headers), 400, "malformed_request")
        _names_field(body, "offset")


async def test_the_deepest_offset_still_answers(sql_api: Api) -> None:
    answer = await sql_api.client.get(f"/v1/events?offset={MAX_OFFSET}")

    assert answer.status_code == 200, answer.text
    assert answer.json() == {"items": [], "limit": 50, "offset": MAX_OFFSET}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"capacity": INT8_OVERFLOW}, "capacity"),
        ({"capacity": MAX_INT4 + 1}, "capacity"),
        ({"price": {"amount": INT8_OVERFLOW, "currency": "EUR"}}, "amount"),
        ({"price": {"amount": MAX_AMOUNT + 1, "currency": "EUR"}}, "amount"),
        ({"max_per_booking": INT8_OVERFLOW}, "max_per_booking"),
        ({"shards": INT8_OVERFLOW}, "shards"),
        ({"name": "x" * 301}, "name"),
        ({"name": "nul\x00byte"}, "name"),
        ({"name": "two\r\nlines"}, "name"),
    ],
)
async def test_ticket_type_numbers_and_texts_are_bounded(
    sql_api: Api, changes: dict[str, Any], field: str
) -> None:
    olga = sql_api.auth("olga", "organizer")
    event = await sql_api.create_event(olga)
    body = {"name": "GA", "price": {"amount": 1000, "currency": "EUR"}, "capacity": 10, **changes}

    answer = await sql_api.client.post(
        f"/v1/events/{event['id']}/ticket-types", json=body, headers=olga
    )

    _names_field(problem(answer, 400, "malformed_request"), field)
    seen = (await sql_api.client.get(f"/v1/events/{event['id']}", headers=olga)).json()
    assert seen["ticket_types"] == []


async def test_the_largest_accepted_values_are_stored(sql_api: Api) -> None:
    olga = sql_api.auth("olga", "organizer")
    event = await sql_api.create_event(olga)

    answer = await sql_api.client.post(
        f"/v1/events/{event['id']}/ticket-types",
        json={
            "name": "x" * 300,
            "price": {"amount": MAX_AMOUNT, "currency": "EUR"},
            "capacity": MAX_INT4,
            "max_per_booking": MAX_QUANTITY,
        },
        headers=olga,
    )

    assert answer.status_code == 201, answer.text
    assert answer.json()["capacity"] == MAX_INT4
    assert answer.json()["price"]["amount"] == MAX_AMOUNT


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "nul\x00byte"}, "name"),
        ({"venue": "v" * 301}, "venue"),
        ({"timezone": "Europe/\x00Berlin"}, "timezone"),
        ({"locale": "l" * 36}, "locale"),
    ],
)
async def test_event_texts_are_bounded(sql_api: Api, changes: dict[str, Any], field: str) -> None:
    olga = sql_api.auth("olga", "organizer")
    body = {
        "name": "Gig",
        "venue": "Club",
        "starts_at": "2031-01-01T20:00:00+01:00",
        "timezone": "Europe/Berlin",
        **changes,
    }

    answer = await sql_api.client.post("/v1/events", json=body, headers=olga)

    _names_field(problem(answer, 400, "malformed_request"), field)


@pytest.mark.parametrize("quantity", [INT8_OVERFLOW, MAX_QUANTITY + 1])
async def test_a_huge_quantity_is_a_bad_request(sql_api: Api, quantity: int) -> None:
    event_id, standing = await sql_api.sale()
    alice = sql_api.customer("alice")

    answer = await sql_api.hold(alice, event_id, standing, quantity)

    _names_field(problem(answer, 400, "malformed_request"), "quantity")
    assert (await sql_api.stock(event_id))[standing]["held"] == 0


async def test_too_many_items_is_a_bad_request(sql_api: Api) -> None:
    event_id, standing = await sql_api.sale()
    items = [{"ticket_type_id": standing, "quantity": 1}] * 101

    answer = await sql_api.client.post(
        "/v1/bookings",
        json={"event_id": event_id, "items": items},
        headers=sql_api.customer("alice"),
    )

    _names_field(problem(answer, 400, "malformed_request"), "items")
