"""Round trips to PostgreSQL per purchase step, counted with SQLAlchemy's engine events.

A round trip is a statement, a ``BEGIN``, a ``COMMIT`` or a ``ROLLBACK``: each waits for the
server. The whole purchase (payment start, the gateway's webhook, the buyer's confirmation)
is what a journey costs beside its hold, so each step has a ceiling here: a change that
adds a read or a transaction to one of them fails this test and must say why.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from tests.integration.app_tickets.support import expect, running_app, settings_from

pytestmark = pytest.mark.postgres

#: The ceilings: what each step sends today (the figure before the last change in brackets).
PAYMENT_START = 10  # (14)
WEBHOOK_SETTLEMENT = 16  # (16)
CONFIRMATION = 6  # (13)


@contextmanager
def round_trips() -> Iterator[Counter[str]]:
    """Count what every engine of this process sends while the block runs, by kind."""
    seen: Counter[str] = Counter()

    def statement(_c: Any, _cur: Any, sql: str, _p: Any, _ctx: Any, _many: bool) -> None:
        seen[sql.split(None, 1)[0].upper()] += 1

    def begin(_connection: Any) -> None:
        seen["BEGIN"] += 1

    def commit(_connection: Any) -> None:
        seen["COMMIT"] += 1

    def rollback(_connection: Any) -> None:
        seen["ROLLBACK"] += 1

    hooks: dict[str, Callable[..., None]] = {
        "before_cursor_execute": statement,
        "begin": begin,
        "commit": commit,
        "rollback": rollback,
    }
    for name, hook in hooks.items():
        event.listen(Engine, name, hook)
    try:
        yield seen
    finally:
        for name, hook in hooks.items():
            event.remove(Engine, name, hook)


async def test_the_purchase_after_the_hold_stays_within_its_round_trips(
    tmp_path: Path, persistence_pg_url: str
) -> None:
    settings = settings_from(tmp_path, database_url=persistence_pg_url)
    async with running_app(settings, background=False) as app:
        organizer = await app.auth("olga", "organizer")
        event_id, standing = await app.sale(organizer, capacity=10)
        buyer = await app.auth("trips-alice", email="alice@example.test")
        held = expect(await app.hold(buyer, event_id, standing, 2), 201).json()

        with round_trips() as started:
            answer = await app.client.post(f"/v1/bookings/{held['id']}/payment", headers=buyer)
        payment = expect(answer, 200).json()
        with round_trips() as paid:
            page = await app.client.post(
                urlsplit(payment["checkout_url"]).path,
                data={"outcome": "pay"},
                follow_redirects=False,
            )
        expect(page, 303)
        with round_trips() as confirmed:
            answer = await app.client.post(
                "/v1/orders",
                json={"booking_id": held["id"], "payment_id": payment["payment_id"]},
                headers=buyer,
            )
        order = expect(answer, 200).json()  # the webhook confirmed it already
        assert order["status"] == "confirmed"
        assert len(order["tickets"]) == 2
        read = expect(await app.client.get(f"/v1/orders/{order['id']}", headers=buyer), 200)
        assert read.json() == order  # the short way answers what the order says

    report = {"payment": started, "webhook": paid, "confirmation": confirmed}
    totals = {step: sum(seen.values()) for step, seen in report.items()}
    print(report)  # the counts by kind, for a reader of -s output
    assert totals["payment"] <= PAYMENT_START, report
    assert totals["webhook"] <= WEBHOOK_SETTLEMENT, report
    assert totals["confirmation"] <= CONFIRMATION, report
