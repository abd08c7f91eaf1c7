"""Driving the real app (``create_app`` or ``eltiketi serve``) over HTTP, as clients would.

Everything here speaks the public REST contract: dev tokens come from ``POST /dev/token``
(embedded mode), payments go through the fake gateway's checkout form, and the app is
configured only through ``ELTIKETI_*`` variables (:func:`settings_from`). Shared by
``tests/integration/app_tickets`` and ``tests/integration/app_persistence``.
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import httpx
import zxingcpp
from dishka import Provider
from litestar import Litestar
from PIL import Image

from eltiketi_app.app import create_app
from eltiketi_app.settings import Settings

Headers = dict[str, str]


def settings_from(data_dir: Path, **variables: str | float | None) -> Settings:
    """Settings exactly as a process would read them: ``ELTIKETI_<NAME>`` for each keyword.

    ``settings_from(tmp, smtp_url="smtp://…")`` is ``ELTIKETI_DATA_DIR=tmp ELTIKETI_SMTP_URL=…``.
    ``None`` values are left out (unset).
    """
    env = {"ELTIKETI_DATA_DIR": str(data_dir)}
    env.update({f"ELTIKETI_{k.upper()}": str(v) for k, v in variables.items() if v is not None})
    return Settings.from_env(env)


@contextlib.asynccontextmanager
async def running_app(
    settings: Settings, *, overrides: Sequence[Provider] = (), background: bool = True
) -> AsyncIterator[App]:
    """The app with its lifespan (loops, pools) running, and a client bound to it.

    Both run on the test's own event loop: requests sent concurrently really overlap, and
    the test may use parts of the app's container (its persistence, bus, runtime) directly.
    (Litestar's ``AsyncTestClient`` runs the app on a second loop in a thread and serves
    one request at a time, which would hide races and break loop-bound pools.)
    """
    app = create_app(settings, overrides=overrides, background=background)
    transport = httpx.ASGITransport(app=cast(Any, app))
    async with (
        app.lifespan(),
        httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=60) as client,
    ):
        yield App(app=app, client=client, settings=settings)


@dataclass
class Shop:
    """The REST contract as small steps (token, sale, hold, pay, buy…) over any httpx client."""

    client: httpx.AsyncClient
    _tokens: dict[tuple[str, tuple[str, ...], str | None], Headers] = field(default_factory=dict)

    async def auth(self, sub: str, *roles: str, email: str | None = None) -> Headers:
        """Bearer headers for ``sub`` minted by the app's own ``POST /dev/token``."""
        key = (sub, roles, email)
        if key not in self._tokens:
            body: dict[str, Any] = {"sub": sub, "roles": list(roles)}
            if email is not None:
                body["email"] = email
            answer = await self.client.post("/dev/token", json=body)
            expect(answer, 200)
            self._tokens[key] = {"Authorization": f"Bearer {answer.json()['access_token']}"}
        return self._tokens[key]

    async def door(self, event_id: str, sub: str = "sam", role: str = "door") -> Headers:
        """Bearer headers for ``sub``, a ``role`` member of the event's organization (made one
        through ``POST /dev/token`` with ``members``: the realm role ``staff`` admits no one)."""
        event = expect(await self.client.get(f"/v1/events/{event_id}"), 200).json()
        body = {
            "sub": sub,
            "members": [{"organization_id": event["organization_id"], "role": role}],
        }
        answer = expect(await self.client.post("/dev/token", json=body), 200)
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}

    async def sale(
        self,
        organizer: Headers,
        *,
        capacity: int = 100,
        name: str = "Open Air",
        shards: int = 1,
        max_per_booking: int = 10,
        starts_in: timedelta = timedelta(days=30),
    ) -> tuple[str, str]:
        """A published event with one ticket type: ``(event_id, ticket_type_id)``."""
        starts_at = (datetime.now().astimezone() + starts_in).isoformat()
        event = await self.client.post(
            "/v1/events",
            json={
                "name": name,
                "venue": "Stadtpark",
                "starts_at": starts_at,
                "timezone": "Europe/Vienna",
                "locale": "de-AT",
                "currency": "EUR",
            },
            headers=organizer,
        )
        expect(event, 201)
        event_id = event.json()["id"]
        ticket_type = await self.client.post(
            f"/v1/events/{event_id}/ticket-types",
            json={
                "name": "Standing",
                "price": {"amount": 4500, "currency": "EUR"},
                "capacity": capacity,
                "max_per_booking": max_per_booking,
                "shards": shards,
            },
            headers=organizer,
        )
        expect(ticket_type, 201)
        expect(await self.client.post(f"/v1/events/{event_id}/publish", headers=organizer), 200)
        return event_id, ticket_type.json()["id"]

    async def hold(
        self,
        buyer: Headers,
        event_id: str,
        ticket_type_id: str,
        quantity: int = 1,
        *,
        email: str | None = None,
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        body: dict[str, Any] = {
            "event_id": event_id,
            "items": [{"ticket_type_id": ticket_type_id, "quantity": quantity}],
        }
        if email is not None:
            body["contact"] = {"email": email}
        headers = dict(buyer)
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        return await self.client.post("/v1/bookings", json=body, headers=headers)

    async def pay(self, buyer: Headers, booking_id: str) -> dict[str, Any]:
        """Open the booking's payment and pay on the fake checkout page, as a person would."""
        started = await self.client.post(f"/v1/bookings/{booking_id}/payment", headers=buyer)
        expect(started, 200)
        payment = dict(started.json())
        paid = await self.client.post(
            urlsplit(payment["checkout_url"]).path,
            data={"outcome": "pay"},
            follow_redirects=False,
        )
        expect(paid, 303)
        return payment

    async def buy(
        self,
        buyer: Headers,
        event_id: str,
        ticket_type_id: str,
        quantity: int = 1,
        *,
        email: str | None = None,
    ) -> dict[str, Any]:
        """Hold, pay and confirm: the order as ``POST /v1/orders`` answers it."""
        held = await self.hold(buyer, event_id, ticket_type_id, quantity, email=email)
        expect(held, 201)
        booking_id = held.json()["id"]
        payment = await self.pay(buyer, booking_id)
        confirmed = await self.client.post(
            "/v1/orders",
            json={"booking_id": booking_id, "payment_id": payment["payment_id"]},
            headers=buyer,
        )
        assert confirmed.status_code in {200, 201}, confirmed.text
        order = dict(confirmed.json())
        assert order["status"] == "confirmed"
        assert len(order["tickets"]) == quantity
        return order

    async def stock(self, organizer: Headers, event_id: str) -> dict[str, dict[str, Any]]:
        answer = await self.client.get(f"/v1/events/{event_id}/stock", headers=organizer)
        expect(answer, 200)
        return {t["ticket_type_id"]: t for t in answer.json()["ticket_types"]}

    async def check_in(self, staff: Headers, token: str, event_id: str) -> httpx.Response:
        body: dict[str, Any] = {"token": token, "event_id": event_id}
        return await self.client.post("/v1/check-ins", json=body, headers=staff)


@dataclass
class App(Shop):
    """One in-process app (``create_app``) with its lifespan running."""

    app: Litestar = field(kw_only=True)
    settings: Settings = field(kw_only=True)

    async def get(self, kind: Any) -> Any:
        """A part of the app's container (the same instance the routes use)."""
        return await self.app.state.container.get(kind)


def expect(response: httpx.Response, status: int) -> httpx.Response:
    assert response.status_code == status, f"{response.status_code} {response.text}"
    return response


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Assert an RFC 9457 problem with ``status`` and ``code``; return its body."""
    assert response.status_code == status, f"{response.status_code} {response.text}"
    assert response.headers["content-type"].startswith("application/problem+json")
    body = dict(response.json())
    assert (body["status"], body["code"]) == (status, code), body
    return body


def instant(text: str) -> datetime:
    """An ISO 8601 timestamp from the API (``Z`` or an offset)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- e-mail -------------------------------------------------------------------------------


@dataclass(frozen=True)
class InlineImage:
    content_id: str
    png: bytes


def inline_ticket_images(message: EmailMessage) -> list[InlineImage]:
    """Every inline PNG of a ticket e-mail that its HTML part actually shows (``cid:``)."""
    html = message.get_body(preferencelist=("html",))
    assert html is not None, "the ticket e-mail has no HTML part"
    html_text = html.get_content()
    images = []
    for part in message.walk():
        if part.get_content_type() != "image/png":
            continue
        assert part.get_content_disposition() == "inline", part.get_content_disposition()
        content_id = str(part["Content-ID"]).strip("<>")
        assert f"cid:{content_id}" in html_text, f"{content_id} is not shown by the HTML part"
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        images.append(InlineImage(content_id=content_id, png=payload))
    return images


def mail_text(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


# --- QR codes -------------------------------------------------------------------------------


def decode_qr_png(png: bytes) -> str:
    """The text of the one QR code in a PNG, read by zxing-cpp (a real decoder)."""
    with Image.open(io.BytesIO(png)) as image:
        results = zxingcpp.read_barcodes(image.convert("L"))
    qr = [r for r in results if r.format == zxingcpp.BarcodeFormat.QRCode and r.valid]
    assert len(qr) == 1, f"expected one QR code, found {[(r.format, r.text) for r in results]}"
    return str(qr[0].text)


_SVG_COMMAND = re.compile(r"([MmHhVvZz])([^MmHhVvZz]*)")
_VIEWBOX = re.compile(rb'viewBox="0 0 (\d+) (\d+)"')
_DARK_PATH = re.compile(rb'<path[^>]*stroke="#000"[^>]*\bd="([^"]+)"')


def decode_qr_svg(svg: bytes, *, pixels_per_module: int = 8) -> str:
    """Rasterise a segno QR SVG (horizontal 1-unit strokes) and decode it like a PNG.

    Only the path commands segno writes are understood (``M m h H v V z``); anything
    else fails the test instead of decoding something that is not there.
    """
    box = _VIEWBOX.search(svg)
    path = _DARK_PATH.search(svg)
    assert box is not None and path is not None, svg[:300]
    width, height = int(box.group(1)), int(box.group(2))
    image = Image.new("L", (width * pixels_per_module, height * pixels_per_module), 255)
    x = y = 0.0
    for command, raw in _SVG_COMMAND.findall(path.group(1).decode()):
        numbers = [float(n) for n in raw.replace(",", " ").split()]
        if command in "Mm":
            dx, dy = numbers
            x, y = (dx, dy) if command == "M" else (x + dx, y + dy)
        elif command in "Hh":
            (n,) = numbers
            end = n if command == "H" else x + n
            row = int(y - 0.5)
            left, right = sorted((x, end))
            for column in range(round(left), round(right)):
                image.paste(
                    0,
                    (
                        column * pixels_per_module,
                        row * pixels_per_module,
                        (column + 1) * pixels_per_module,
                        (row + 1) * pixels_per_module,
                    ),
                )
            x = end
        elif command in "Vv":
            raise AssertionError("vertical strokes are not expected in a segno QR path")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return decode_qr_png(out.getvalue())


def environment(base: Mapping[str, str], **variables: str | float | None) -> dict[str, str]:
    """``base`` plus ``ELTIKETI_<NAME>`` variables (for ``eltiketi serve`` subprocesses)."""
    env = dict(base)
    env.update({f"ELTIKETI_{k.upper()}": str(v) for k, v in variables.items() if v is not None})
    return env
