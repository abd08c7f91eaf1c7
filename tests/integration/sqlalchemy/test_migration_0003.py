"""Migration 0003 on data an earlier version wrote (issue 13): refunded payments say so, a
payment keeps one refund, free orders block the downgrade. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC

from eltiketi_adapters.sqlalchemy import downgrade, upgrade
from eltiketi_adapters.sqlalchemy.engine import create_engine
from eltiketi_adapters.sqlalchemy.migrate import revisions
from tests.integration.sqlalchemy.database import fresh_postgres_database

T0 = datetime(2030, 1, 1, tzinfo=UTC)
#: The revision 0003 follows (the lead chains work packages in merge order).
BEFORE = revisions()[revisions().index("0003") - 1]


def _table(name: str, *columns: str, ids: tuple[str, ...] = ("id",)) -> sa.TableClause:
    typed = [
        sa.column(c, GUID())
        if c in ids
        else sa.column(c, DateTimeUTC())
        if c.endswith("_at")
        else sa.column(c)
        for c in columns
    ]
    return sa.table(name, *typed)


EVENTS = _table(
    "events",
    "id",
    "owner",
    "name",
    "venue",
    "starts_at",
    "timezone",
    "locale",
    "currency",
    "status",
    "created_at",
)
BOOKINGS = _table(
    "bookings",
    "id",
    "event_id",
    "buyer",
    "total_amount",
    "total_currency",
    "status",
    "created_at",
    "expires_at",
    ids=("id", "event_id"),
)
PAYMENTS = _table(
    "payments",
    "id",
    "booking_id",
    "buyer",
    "provider",
    "provider_reference",
    "amount",
    "currency",
    "status",
    "created_at",
    ids=("id", "booking_id"),
)
REFUNDS = _table(
    "refunds",
    "id",
    "payment_id",
    "booking_id",
    "buyer",
    "amount",
    "currency",
    "reason",
    "status",
    "created_at",
    ids=("id", "payment_id", "booking_id"),
)
ORDERS = _table(
    "orders",
    "id",
    "reference",
    "booking_id",
    "payment_id",
    "event_id",
    "buyer",
    "items",
    "total_amount",
    "total_currency",
    "status",
    "stock",
    "created_at",
    ids=("id", "booking_id", "payment_id", "event_id"),
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}"
        return
    async with fresh_postgres_database("migration_0003", migrate=False) as pg:
        yield pg


async def _run(url: str, *statements: tuple[Any, list[dict[str, Any]]]) -> None:
    engine = create_engine(url, single_connection=True)
    try:
        async with engine.begin() as connection:
            for statement, rows in statements:
                await connection.execute(statement, rows)
    finally:
        await engine.dispose()


async def _rows(url: str, query: str) -> list[tuple[Any, ...]]:
    engine = create_engine(url, single_connection=True)
    try:
        async with engine.connect() as connection:
            return [tuple(row) for row in (await connection.execute(sa.text(query))).all()]
    finally:
        await engine.dispose()


def _payment(booking_id: UUID, status: str, n: int) -> dict[str, Any]:
    return {
        "id": uuid4(),
        "booking_id": booking_id,
        "buyer": "alice",
        "provider": "fake",
        "provider_reference": f"fake_pay_{n}",
        "amount": 4500,
        "currency": "EUR",
        "status": status,
        "created_at": T0,
    }


def _refund(payment: dict[str, Any], reason: str, status: str, seconds: int) -> dict[str, Any]:
    return {
        "id": uuid4(),
        "payment_id": payment["id"],
        "booking_id": payment["booking_id"],
        "buyer": "alice",
        "amount": 4500,
        "currency": "EUR",
        "reason": reason,
        "status": status,
        "created_at": T0 + timedelta(seconds=seconds),
    }


async def test_refunds_written_twice_keep_the_executed_one_and_payments_say_refunded(
    url: str,
) -> None:
    await upgrade(url, BEFORE)
    event_id, booking_id = uuid4(), uuid4()
    twice = _payment(booking_id, "succeeded", 1)  # hold_lost, then event_cancelled (refused)
    pending_twice = _payment(booking_id, "succeeded", 2)  # neither executed yet
    kept = _payment(booking_id, "succeeded", 3)  # paid its order, never refunded
    executed = _refund(twice, "event_cancelled", "succeeded", 5)
    refused = _refund(twice, "hold_lost", "pending", 1)
    oldest = _refund(pending_twice, "hold_lost", "pending", 1)
    newer = _refund(pending_twice, "event_cancelled", "pending", 2)
    await _run(
        url,
        (
            sa.insert(EVENTS),
            [
                {
                    "id": event_id,
                    "owner": "olga",
                    "name": "Old",
                    "venue": "Hall",
                    "starts_at": T0,
                    "timezone": "UTC",
                    "locale": "en",
                    "currency": "EUR",
                    "status": "published",
                    "created_at": T0,
                }
            ],
        ),
        (
            sa.insert(BOOKINGS),
            [
                {
                    "id": booking_id,
                    "event_id": event_id,
                    "buyer": "alice",
                    "total_amount": 4500,
                    "total_currency": "EUR",
                    "status": "confirmed",
                    "created_at": T0,
                    "expires_at": T0,
                }
            ],
        ),
        (sa.insert(PAYMENTS), [twice, pending_twice, kept]),
        (sa.insert(REFUNDS), [executed, refused, oldest, newer]),
    )

    await upgrade(url)

    payments = dict(await _rows(url, "SELECT provider_reference, status FROM payments"))
    assert payments == {
        "fake_pay_1": "refunded",
        "fake_pay_2": "refunded",
        "fake_pay_3": "succeeded",
    }
    refunds = await _rows(
        url,
        "SELECT p.provider_reference, r.reason, r.status FROM refunds r"
        " JOIN payments p ON p.id = r.payment_id ORDER BY p.provider_reference",
    )
    assert refunds == [
        ("fake_pay_1", "event_cancelled", "succeeded"),  # the one that moved the money
        ("fake_pay_2", "hold_lost", "pending"),  # the oldest decision
    ]

    await downgrade(url, BEFORE)
    assert dict(await _rows(url, "SELECT provider_reference, status FROM payments")) == {
        "fake_pay_1": "succeeded",
        "fake_pay_2": "succeeded",
        "fake_pay_3": "succeeded",
    }


async def test_free_orders_refuse_the_downgrade(url: str) -> None:
    await upgrade(url, "0003")  # the rows below are of 0003's schema (events without organizations)
    event_id, booking_id = uuid4(), uuid4()
    await _run(
        url,
        (
            sa.insert(EVENTS),
            [
                {
                    "id": event_id,
                    "owner": "olga",
                    "name": "Free",
                    "venue": "Hall",
                    "starts_at": T0,
                    "timezone": "UTC",
                    "locale": "en",
                    "currency": "EUR",
                    "status": "published",
                    "created_at": T0,
                }
            ],
        ),
        (
            sa.insert(BOOKINGS),
            [
                {
                    "id": booking_id,
                    "event_id": event_id,
                    "buyer": "alice",
                    "total_amount": 0,
                    "total_currency": "EUR",
                    "status": "confirmed",
                    "created_at": T0,
                    "expires_at": T0,
                }
            ],
        ),
        (
            sa.insert(ORDERS),
            [
                {
                    "id": uuid4(),
                    "reference": "FREE0001",
                    "booking_id": booking_id,
                    "payment_id": None,
                    "event_id": event_id,
                    "buyer": "alice",
                    "items": "[]",
                    "total_amount": 0,
                    "total_currency": "EUR",
                    "status": "confirmed",
                    "stock": "sold",
                    "created_at": T0,
                }
            ],
        ),
    )
    with pytest.raises(RuntimeError, match="free orders"):
        await downgrade(url, BEFORE)
