"""A client generated from the served OpenAPI document walks the whole journey.

``openapi-python-client`` (locked in ``tools/openapi-client``) generates the client
from ``/schema/openapi.json`` with zero warnings; the client is told to raise on any
status the document does not list. Then: events → booking → payment → fake pay →
order (200: the webhook confirmed it first) → tickets → check-in, and a 409 and a
404 read as the documented problem.

Seen before: 25 warnings, and ``POST /v1/orders`` answering 200 made the client
return ``None``.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit
from uuid import uuid4

import httpx
import pytest

from tests.api.conftest import Api
from tests.infra.requirement import require

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "openapi-client"
PACKAGE = "eltiketi_client"

pytestmark = pytest.mark.slow


def _uv() -> list[str]:
    found = shutil.which("uv")
    if found is not None:
        return [found]
    probe = subprocess.run(
        [sys.executable, "-m", "uv", "--version"], capture_output=True, check=False
    )
    if probe.returncode == 0:
        return [sys.executable, "-m", "uv"]
    require("uv", "uv runs the locked openapi-python-client (pip install uv)")
    raise AssertionError("unreachable")


def generate(document: dict[str, Any], folder: Path) -> str:
    """Run the generator on ``document``; the generated package lands in ``folder``."""
    spec = folder / "openapi.json"
    spec.write_text(json.dumps(document))
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIRTUAL_ENV")}
    result = subprocess.run(
        [
            *_uv(),
            "run",
            "--locked",
            "--quiet",
            "--project",
            str(TOOL),
            "openapi-python-client",
            "generate",
            "--path",
            str(spec),
            "--output-path",
            str(folder / PACKAGE),
            "--config",
            str(TOOL / "config.yaml"),
            "--meta",
            "none",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    return output


class ThroughTestClient(httpx.AsyncBaseTransport):
    """Sends the generated client's requests through the app's test client (its loop)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        answer = await self._client.send(request, follow_redirects=False)
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)


@pytest.fixture
def generated(tmp_path: Path) -> Iterator[tuple[Path, list[str]]]:
    folder = tmp_path / "generated"
    folder.mkdir()
    sys.path.insert(0, str(folder))
    loaded: list[str] = []
    try:
        yield folder, loaded
    finally:
        sys.path.remove(str(folder))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def module(name: str) -> ModuleType:
    return importlib.import_module(f"{PACKAGE}.{name}")


async def test_a_generated_client_walks_the_journey(
    api: Api, generated: tuple[Path, list[str]]
) -> None:
    folder, _ = generated
    document = (await api.client.get("/schema/openapi.json")).json()

    output = generate(document, folder)

    assert "WARNING" not in output, output
    assert "Error" not in output, output
    await _journey(api)


async def _journey(api: Api) -> None:
    client_module = module("client")
    models = module("models")
    transport = ThroughTestClient(api.client)
    base = str(api.client.base_url)

    def anonymous() -> Any:
        return client_module.Client(
            base_url=base, raise_on_unexpected_status=True, httpx_args={"transport": transport}
        )

    def signed_in(token: str) -> Any:
        return client_module.AuthenticatedClient(
            base_url=base,
            token=token,
            raise_on_unexpected_status=True,
            httpx_args={"transport": transport},
        )

    dev_token = module("api.dev_embedded_only.dev_token")

    async def token(sub: str, *roles: str) -> str:
        body = models.DevTokenIn(sub=sub, roles=list(roles), email=f"{sub}@example.com")
        minted = await dev_token.asyncio(client=anonymous(), body=body)
        assert isinstance(minted, models.DevTokenOut), minted
        return str(minted.access_token)

    olga = signed_in(await token("olga", "organizer"))
    alice = signed_in(await token("alice"))

    # the organizer puts an event on sale
    event = await module("api.events.create_event").asyncio(
        client=olga,
        body=models.NewEventIn(
            name="Open Air",
            venue="Park",
            starts_at=datetime(2031, 7, 1, 18, tzinfo=UTC),
            timezone="Europe/Berlin",
        ),
    )
    assert isinstance(event, models.EventOut), event
    standing = await module("api.events.add_ticket_type").asyncio(
        event.id,
        client=olga,
        body=models.NewTicketTypeIn(
            name="Standing", price=models.MoneyIn(amount=4500, currency="EUR"), capacity=3
        ),
    )
    assert isinstance(standing, models.TicketTypeOut), standing
    published = await module("api.events.publish_event").asyncio(event.id, client=olga)
    assert isinstance(published, models.EventOut) and published.status == "published"
    # the door: a member of the event's organization (membership is data, made by the dev route)
    door = models.DevTokenIn.from_dict(
        {"sub": "sam", "members": [{"organization_id": str(event.organization_id), "role": "door"}]}
    )
    minted = await dev_token.asyncio(client=anonymous(), body=door)
    assert isinstance(minted, models.DevTokenOut), minted
    sam = signed_in(str(minted.access_token))

    # a buyer finds it, holds two tickets, pays on the fake page, confirms
    listed = await module("api.events.list_events").asyncio(client=anonymous())
    assert isinstance(listed, models.EventListOut)
    assert [e.id for e in listed.items] == [event.id]
    item = models.BookingItemIn(ticket_type_id=standing.id, quantity=2)
    booking = await module("api.bookings.create_booking").asyncio(
        client=alice, body=models.NewBookingIn(event_id=event.id, items=[item])
    )
    assert isinstance(booking, models.BookingOut), booking
    payment = await module("api.bookings.start_payment").asyncio(booking.id, client=alice)
    assert isinstance(payment, models.PaymentOut), payment
    reference = urlsplit(str(payment.checkout_url)).path.rsplit("/", 1)[-1]
    paid = await module("api.dev_embedded_only.pay").asyncio_detailed(
        reference,
        client=anonymous(),
        body=models.PayForm(outcome=models.PayFormOutcome.PAY),
    )
    assert paid.status_code == 303
    confirm = module("api.orders.confirm_order")
    confirmed = await confirm.asyncio_detailed(
        client=alice,
        body=models.ConfirmOrderIn(booking_id=booking.id, payment_id=payment.payment_id),
    )
    assert confirmed.status_code == 200  # the fake page's webhook confirmed it first
    order = confirmed.parsed
    assert isinstance(order, models.OrderOut), order
    assert order.status == "confirmed" and len(order.tickets) == 2

    # the order, its tickets and their QR codes, the keys that verify them
    read = await module("api.orders.get_order").asyncio(order.id, client=alice)
    assert isinstance(read, models.OrderOut) and read.id == order.id
    mine = await module("api.orders.list_orders").asyncio(client=alice)
    assert isinstance(mine, models.OrderListOut) and [o.id for o in mine.items] == [order.id]
    ticket = order.tickets[0]
    png = await module("api.tickets.ticket_qr_png").asyncio(ticket.id, client=alice)
    assert png.startswith(b"\x89PNG"), png[:20]
    svg = await module("api.tickets.ticket_qr_svg").asyncio(ticket.id, client=alice)
    assert b"<svg" in svg
    keys = await module("api.tickets.ticket_keys").asyncio(client=anonymous())
    assert isinstance(keys, models.JwkSetOut) and keys.keys[0].kty == "OKP"

    # at the door: admitted once, then a documented 409
    check_in = module("api.check_in.check_in")
    scan = models.CheckInIn(token=ticket.token, event_id=event.id)
    admitted = await check_in.asyncio(client=sam, body=scan)
    assert isinstance(admitted, models.AdmissionOut) and admitted.ticket_id == ticket.id
    again = await check_in.asyncio_detailed(client=sam, body=scan)
    assert again.status_code == 409
    assert isinstance(again.parsed, models.Problem)
    assert again.parsed.code == "already_checked_in"

    # one ticket left: a booking for two is a documented 409, an unknown order a 404
    sold_out = await module("api.bookings.create_booking").asyncio_detailed(
        client=alice, body=models.NewBookingIn(event_id=event.id, items=[item])
    )
    assert sold_out.status_code == 409
    assert isinstance(sold_out.parsed, models.Problem) and sold_out.parsed.code == "sold_out"
    missing = await module("api.orders.get_order").asyncio_detailed(uuid4(), client=alice)
    assert missing.status_code == 404
    assert isinstance(missing.parsed, models.Problem)
    assert missing.parsed.code == "order_not_found"
