"""The embedded default (no ``ELTIKETI_DATABASE_URL``): a SQLite file in the data folder that
outlives the process. Everything a buyer and an organizer did is there after a restart,
and the same dev tokens, ticket keys and tickets still work.
"""

from __future__ import annotations

from pathlib import Path

from tests.integration.app_tickets.support import (
    expect,
    problem,
    running_app,
    settings_from,
)


async def test_state_survives_an_app_restart(tmp_path: Path) -> None:
    settings = settings_from(tmp_path)
    assert settings.database_url is None  # the embedded default, chosen by nothing set
    async with running_app(settings) as first:
        organizer = await first.auth("olga", "organizer")
        buyer = await first.auth("alice", email="alice@example.test")
        event_id, standing = await first.sale(organizer, capacity=20, name="Survivor Night")
        staff = await first.door(event_id)
        order = await first.buy(buyer, event_id, standing, 2)
        held = expect(await first.hold(buyer, event_id, standing, 3), 201).json()
        expect(await first.check_in(staff, order["tickets"][0]["token"], event_id), 200)
        await first.app.state.runtime.flush()
        before = (await first.client.get(f"/v1/events/{event_id}")).json()
        first_scan = await first.check_in(staff, order["tickets"][0]["token"], event_id)
        first_scan_at = problem(first_scan, 409, "already_checked_in")["first_checked_in_at"]
    assert (tmp_path / "eltiketi.db").is_file()

    # A new process: tokens minted before the restart are still accepted.
    async with running_app(settings_from(tmp_path)) as second:
        listed = expect(await second.client.get("/v1/events"), 200).json()["items"]
        assert [e["name"] for e in listed] == ["Survivor Night"]
        after = expect(await second.client.get(f"/v1/events/{event_id}"), 200).json()
        assert after == before
        assert after["ticket_types"][0]["available"] == 20 - 2 - 3
        level = (await second.stock(organizer, event_id))[standing]
        assert (level["held"], level["sold"]) == (3, 2)

        mine = expect(await second.client.get("/v1/orders", headers=buyer), 200).json()
        assert [o["id"] for o in mine["items"]] == [order["id"]]
        assert [t["token"] for t in mine["items"][0]["tickets"]] == [
            t["token"] for t in order["tickets"]
        ]
        booking = expect(
            await second.client.get(f"/v1/bookings/{held['id']}", headers=buyer), 200
        ).json()
        assert (booking["status"], booking["expires_at"]) == ("held", held["expires_at"])

        # The door remembers the first scan, and the other ticket still gets in once.
        again = problem(
            await second.check_in(staff, order["tickets"][0]["token"], event_id),
            409,
            "already_checked_in",
        )
        assert again["first_checked_in_at"] == first_scan_at
        expect(await second.check_in(staff, order["tickets"][1]["token"], event_id), 200)
