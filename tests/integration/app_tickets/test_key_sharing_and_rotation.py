"""Ticket keys across processes: replicas sharing ``ELTIKETI_TICKET_KEYS``, and rotation.

Each app instance has its own data folder (so nothing but the variable can make them
agree on keys) and they share one database, as API replicas behind a load balancer do.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from eltiketi_adapters.tickets import rotate_key_set
from tests.integration.app_tickets.support import (
    App,
    expect,
    instant,
    problem,
    running_app,
    settings_from,
)


def _kid(token: str) -> str:
    header = token.split(".", maxsplit=1)[0]
    return str(json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"])


async def _ticket(app: App, event_id: str, ticket_type_id: str) -> str:
    buyer = await app.auth("alice", email="alice@example.test")
    order = await app.buy(buyer, event_id, ticket_type_id)
    return str(order["tickets"][0]["token"])


@pytest.mark.postgres
async def test_replicas_sharing_the_key_set_verify_each_others_tickets(
    tmp_path: Path, tickets_pg_url: str, ticket_keys: str
) -> None:
    shared = {"database_url": tickets_pg_url, "ticket_keys": ticket_keys}
    async with (
        running_app(settings_from(tmp_path / "a", **shared)) as a,
        running_app(settings_from(tmp_path / "b", **shared)) as b,
        running_app(settings_from(tmp_path / "c", database_url=tickets_pg_url)) as own_keys,
    ):
        event_id, standing = await a.sale(await a.auth("olga", "organizer"))
        sold_by_a = await _ticket(a, event_id, standing)
        sold_by_b = await _ticket(b, event_id, standing)
        assert _kid(sold_by_a) == _kid(sold_by_b)
        staff_a, staff_b = await a.door(event_id), await b.door(event_id)

        first = expect(await b.check_in(staff_b, sold_by_a, event_id), 200).json()
        second = problem(await a.check_in(staff_a, sold_by_a, event_id), 409, "already_checked_in")
        assert instant(second["first_checked_in_at"]) == instant(first["checked_in_at"])
        expect(await a.check_in(staff_a, sold_by_b, event_id), 200)

        # Control: a replica that generated its own keys shares the database, not the trust.
        staff_c = await own_keys.door(event_id)
        fresh = await _ticket(a, event_id, standing)
        problem(await own_keys.check_in(staff_c, fresh, event_id), 400, "invalid_ticket")
        assert (await a.client.get("/v1/tickets/keys")).json() == (
            await b.client.get("/v1/tickets/keys")
        ).json()


async def test_a_rotated_out_key_still_verifies_and_is_published(
    tmp_path: Path, ticket_keys: str
) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    rotated = rotate_key_set(ticket_keys)
    old_kid = json.loads(ticket_keys)["keys"][0]["kid"]
    async with running_app(
        settings_from(tmp_path / "before", database_url=database, ticket_keys=ticket_keys)
    ) as before:
        event_id, standing = await before.sale(await before.auth("olga", "organizer"))
        old_ticket = await _ticket(before, event_id, standing)
        spare_old_ticket = await _ticket(before, event_id, standing)
        assert _kid(old_ticket) == old_kid
        published = expect(await before.client.get("/v1/tickets/keys"), 200).json()["keys"]
        assert [k["kid"] for k in published] == [old_kid]

    async with (
        running_app(
            settings_from(tmp_path / "after", database_url=database, ticket_keys=rotated)
        ) as after,
        running_app(
            settings_from(tmp_path / "not-yet", database_url=database, ticket_keys=ticket_keys)
        ) as not_rotated,
    ):
        keys = expect(await after.client.get("/v1/tickets/keys"), 200)
        assert keys.headers["content-type"].startswith("application/jwk-set+json")
        jwks = keys.json()["keys"]
        new_kid = json.loads(rotated)["keys"][0]["kid"]
        assert [k["kid"] for k in jwks] == [new_kid, old_kid]
        assert all("d" not in k for k in jwks), "private key material published"
        assert {k["kid"]: k["x"] for k in jwks}[old_kid] == published[0]["x"]

        staff = await after.door(event_id)
        expect(await after.check_in(staff, old_ticket, event_id), 200)
        new_ticket = await _ticket(after, event_id, standing)
        assert _kid(new_ticket) == new_kid
        expect(await after.check_in(staff, new_ticket, event_id), 200)

        # A replica still on the old set knows the old key only: it refuses the new ticket
        # (unknown key) and still admits old ones.
        old_staff = await not_rotated.door(event_id)
        fresh_new = await _ticket(after, event_id, standing)
        problem(await not_rotated.check_in(old_staff, fresh_new, event_id), 400, "invalid_ticket")
        expect(await not_rotated.check_in(old_staff, spare_old_ticket, event_id), 200)
