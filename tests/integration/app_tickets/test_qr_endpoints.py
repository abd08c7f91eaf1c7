"""``GET /v1/tickets/{id}/qr.png`` and ``qr.svg``: the owner's QR decodes to the ticket token.

Both images are decoded by a real QR decoder (the SVG after rasterising its path), so
a QR that looks right but encodes the wrong thing fails.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from tests.integration.app_tickets.support import (
    decode_qr_png,
    decode_qr_svg,
    expect,
    problem,
    running_app,
    settings_from,
)


async def test_the_owner_gets_decodable_qr_codes_and_nobody_else_does(tmp_path: Path) -> None:
    async with running_app(settings_from(tmp_path)) as app:
        event_id, standing = await app.sale(await app.auth("olga", "organizer"))
        owner = await app.auth("alice", email="alice@example.test")
        order = await app.buy(owner, event_id, standing, 2)
        tickets = order["tickets"]

        for ticket in tickets:
            png = expect(
                await app.client.get(f"/v1/tickets/{ticket['id']}/qr.png", headers=owner), 200
            )
            assert png.headers["content-type"].startswith("image/png")
            assert "no-store" in png.headers["cache-control"]
            assert decode_qr_png(png.content) == ticket["token"]

            svg = expect(
                await app.client.get(f"/v1/tickets/{ticket['id']}/qr.svg", headers=owner), 200
            )
            assert svg.headers["content-type"].startswith("image/svg+xml")
            assert decode_qr_svg(svg.content) == ticket["token"]
        assert tickets[0]["token"] != tickets[1]["token"]

        stranger = await app.auth("mallory", email="mallory@example.test")
        staff = await app.door(event_id)  # the door of this very event
        for kind in ("png", "svg"):
            path = f"/v1/tickets/{tickets[0]['id']}/qr.{kind}"
            problem(await app.client.get(path, headers=stranger), 404, "ticket_not_found")
            problem(await app.client.get(path, headers=staff), 404, "ticket_not_found")
            anonymous = await app.client.get(path)
            assert anonymous.status_code == 401, anonymous.text
            unknown = f"/v1/tickets/{uuid.uuid4()}/qr.{kind}"
            problem(await app.client.get(unknown, headers=owner), 404, "ticket_not_found")
