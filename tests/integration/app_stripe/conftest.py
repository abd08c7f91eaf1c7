"""The real app, listening on a loopback port, paid through localstripe.

localstripe must call the app back (signed webhooks), so the app runs under uvicorn inside the
test's event loop on a free ``127.0.0.1`` port, configured only through ``ELTIKETI_*`` variables
(``Settings.from_env``): ``ELTIKETI_STRIPE_API_KEY`` selects the Stripe gateway, nothing is
swapped. Identity is the embedded dev issuer (this area is about payments), persistence in
memory unless a test asks for PostgreSQL, notifications the embedded ``.eml`` files, which
the tests read back.

The buyer's browser is played by the real ``stripe`` SDK: it attaches a test card to the
PaymentIntent and confirms it, as Stripe.js would with the ``client_secret`` (localstripe
accepts neither publishable keys nor ``confirm(payment_method=…)``; see TEST_INFRA.md).
Each app has its own webhook secret; its localstripe registration is retired at teardown.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import stripe
import uvicorn
from litestar import Litestar
from litestar.types import Message, Receive, Send
from litestar.types import Scope as AsgiScope

from eltiketi_adapters.devauth import DevTokenIssuer
from eltiketi_app.app import create_app
from eltiketi_app.settings import Settings
from tests.infra.ports import LOOPBACK, free_port
from tests.infra.rest_calls import published_sale
from tests.infra.stripe import StripeServer, register_webhook, stripe_client

Headers = dict[str, str]
T = TypeVar("T")

WEBHOOK_PATH = "/v1/payments/stripe/webhook"
WEBHOOK_EVENTS = (
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
    "refund.created",
    "refund.updated",
    "charge.refunded",
)
"""What docs/stripe.md tells an operator to enable (those localstripe can send)."""
RETIRED_EVENTS = ["eltiketi.test.retired"]
"""localstripe cannot delete a webhook; re-registering it for no real event silences it."""
WAIT_SECONDS = 15.0
"""Upper bound for asynchronous effects (webhooks arrive ~1 s after the event)."""


class ServerErrorSeen(AssertionError):
    """The app answered 5xx: every request in these tests must get a deliberate answer."""


class FiveHundredGuard:
    """ASGI wrapper recording every 5xx response the app sends."""

    def __init__(self, app: Any) -> None:
        self._app = app
        self.seen: list[str] = []

    async def __call__(self, scope: AsgiScope, receive: Receive, send: Send) -> None:
        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] >= 500:
                self.seen.append(
                    f"{scope.get('method')} {scope.get('path')} -> {message['status']}"
                )
            await send(message)

        await self._app(scope, receive, watch)


async def eventually(
    probe: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    *,
    what: str,
    within: float = WAIT_SECONDS,
) -> T:
    """Poll ``probe`` until ``done`` holds (asynchronous effects: webhooks, relay, refunds)."""
    deadline = time.monotonic() + within
    while True:
        value = await probe()
        if done(value):
            return value
        assert time.monotonic() < deadline, f"{what}: not seen within {within}s; last: {value!r}"
        await asyncio.sleep(0.1)


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Assert an RFC 9457 problem with this status and stable ``code``; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == code, body
    return body


def stripe_signature(body: bytes, secret: str, timestamp: int | None = None) -> str:
    """A ``Stripe-Signature`` header value, computed as Stripe does (HMAC-SHA256 of ``t.body``)."""
    stamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={mac}"


@dataclass(frozen=True)
class Delivery:
    """One webhook exactly as localstripe sent it."""

    body: bytes
    headers: dict[str, str]

    @property
    def event(self) -> dict[str, Any]:
        event: dict[str, Any] = json.loads(self.body)
        return event


@dataclass
class Buyer:
    """The buyer's browser: pays a PaymentIntent the way Stripe.js would."""

    sdk: stripe.StripeClient

    async def pay(self, intent_id: str, payment_method: str = "pm_card_visa") -> dict[str, Any]:
        await self.sdk.v1.payment_intents.update_async(
            intent_id, {"payment_method": payment_method}
        )
        confirmed = await self.sdk.v1.payment_intents.confirm_async(intent_id)
        return confirmed.to_dict()


@dataclass
class LiveApp:
    """One app listening on ``base_url``, the REST calls of the contract, and localstripe."""

    base_url: str
    client: httpx.AsyncClient
    settings: Settings
    stripe_server: StripeServer
    sdk: stripe.StripeClient
    webhook_secret: str
    guard: FiveHundredGuard
    issuer: DevTokenIssuer
    webhook_ids: list[str] = field(default_factory=list)

    @property
    def webhook_url(self) -> str:
        return self.base_url + WEBHOOK_PATH

    @property
    def buyer(self) -> Buyer:
        return Buyer(self.sdk)

    # -- identity ------------------------------------------------------------------------

    def auth(self, sub: str, *roles: str) -> Headers:
        """Bearer headers for ``sub`` (dev issuer of this app), with an e-mail contact."""
        token = self.issuer.mint(sub, roles, email=f"{sub}@example.com")
        return {"Authorization": f"Bearer {token}"}

    async def door(self, event_id: str, sub: str = "sam") -> Headers:
        """Bearer headers for a ``door`` member of the event's organization (``POST /dev/token``
        with ``members``: membership is data in the app's database, not a claim)."""
        event = await self.client.get(f"/v1/events/{event_id}")
        assert event.status_code == 200, event.text
        member = {"organization_id": event.json()["organization_id"], "role": "door"}
        answer = await self.client.post("/dev/token", json={"sub": sub, "members": [member]})
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}

    # -- localstripe -----------------------------------------------------------------------

    def deliver_webhooks_here(self) -> None:
        """Register this app's webhook URL and secret with localstripe (docs/stripe.md events)."""
        self.webhook_ids.append(
            register_webhook(
                self.stripe_server, self.webhook_url, self.webhook_secret, WEBHOOK_EVENTS
            )
        )

    async def intent(self, intent_id: str) -> dict[str, Any]:
        return (await self.sdk.v1.payment_intents.retrieve_async(intent_id)).to_dict()

    async def refunds_of(self, intent_id: str) -> list[dict[str, Any]]:
        listed = await self.sdk.v1.refunds.list_async({"payment_intent": intent_id, "limit": 100})
        return [refund.to_dict() for refund in listed.data]

    # -- the REST contract -----------------------------------------------------------------

    async def sale(
        self, organizer: Headers, *, capacity: int = 10, amount: int = 4500
    ) -> tuple[str, str]:
        """A published event (EUR) with one ticket type: (event id, ticket type id)."""
        return await published_sale(
            self.client,
            organizer,
            name="Stripe Live",
            venue="Arena",
            capacity=capacity,
            amount=amount,
        )

    async def hold(
        self, who: Headers, event_id: str, ticket_type_id: str, quantity: int = 1
    ) -> dict[str, Any]:
        held = await self.client.post(
            "/v1/bookings",
            json={
                "event_id": event_id,
                "items": [{"ticket_type_id": ticket_type_id, "quantity": quantity}],
            },
            headers=who,
        )
        assert held.status_code == 201, held.text
        booking: dict[str, Any] = held.json()
        return booking

    async def booking(self, who: Headers, booking_id: str) -> dict[str, Any]:
        found = await self.client.get(f"/v1/bookings/{booking_id}", headers=who)
        assert found.status_code == 200, found.text
        booking: dict[str, Any] = found.json()
        return booking

    async def start_payment(self, who: Headers, booking_id: str) -> dict[str, Any]:
        started = await self.client.post(f"/v1/bookings/{booking_id}/payment", headers=who)
        assert started.status_code == 200, started.text
        payment: dict[str, Any] = started.json()
        return payment

    async def confirm(self, who: Headers, booking_id: str, payment_id: str) -> httpx.Response:
        return await self.client.post(
            "/v1/orders", json={"booking_id": booking_id, "payment_id": payment_id}, headers=who
        )

    async def orders(self, who: Headers) -> list[dict[str, Any]]:
        listed = await self.client.get("/v1/orders", headers=who)
        assert listed.status_code == 200, listed.text
        items: list[dict[str, Any]] = listed.json()["items"]
        return items

    async def stock(self, organizer: Headers, event_id: str) -> dict[str, dict[str, Any]]:
        levels = await self.client.get(f"/v1/events/{event_id}/stock", headers=organizer)
        assert levels.status_code == 200, levels.text
        return {t["ticket_type_id"]: t for t in levels.json()["ticket_types"]}

    async def cancel_event(self, organizer: Headers, event_id: str) -> dict[str, Any]:
        """Cancel: 202 with the job; then wait for the job to finish. The finished job."""
        accepted = await self.client.post(f"/v1/events/{event_id}/cancel", headers=organizer)
        assert accepted.status_code == 202, accepted.text
        location = accepted.headers["location"]

        async def read() -> dict[str, Any]:
            found = await self.client.get(location, headers=organizer)
            assert found.status_code == 200, found.text
            job: dict[str, Any] = found.json()
            return job

        return await eventually(
            read, lambda job: job["status"] in {"done", "failed"}, what="the cancellation job"
        )

    async def post_webhook(self, body: bytes, signature: str | None) -> httpx.Response:
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if signature is not None:
            headers["Stripe-Signature"] = signature
        return await self.client.post(WEBHOOK_PATH, content=body, headers=headers)

    async def buy(
        self, who: Headers, event_id: str, ticket_type_id: str, quantity: int = 1
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Hold, pay at Stripe with a good card, confirm: (order, payment) as the API shows."""
        booking = await self.hold(who, event_id, ticket_type_id, quantity)
        payment = await self.start_payment(who, booking["id"])
        paid = await self.buyer.pay(payment["provider_reference"])
        assert paid["status"] == "succeeded", paid
        confirmed = await self.confirm(who, booking["id"], payment["payment_id"])
        assert confirmed.status_code in (200, 201), confirmed.text  # 200: the webhook was first
        order: dict[str, Any] = confirmed.json()
        return order, payment

    # -- what the customer received ------------------------------------------------------------

    async def mails(self, kind: str) -> list[EmailMessage]:
        """The embedded e-mails of ``kind`` (``tickets``, ``refund``, ``payment_problem``)."""
        folder = self.settings.outbox_dir
        if not folder.is_dir():
            return []
        return [
            email.message_from_bytes(path.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
            for path in sorted(folder.glob(f"*-{kind}-*.eml"))
        ]

    async def mails_to(self, kind: str, address: str) -> list[EmailMessage]:
        return [m for m in await self.mails(kind) if m["To"] and address in str(m["To"])]


def stripe_env(
    stripe_server: StripeServer, data_dir: Path, public_url: str, secret: str, **extra: str
) -> dict[str, str]:
    """The operator's environment: Stripe on localstripe, the rest embedded."""
    env = {
        "ELTIKETI_DATA_DIR": str(data_dir),
        "ELTIKETI_DATABASE_URL": "memory://",
        "ELTIKETI_PUBLIC_URL": public_url,
        "ELTIKETI_STRIPE_API_KEY": stripe_server.api_key,
        "ELTIKETI_STRIPE_WEBHOOK_SECRET": secret,
        "ELTIKETI_STRIPE_API_BASE": stripe_server.api_base,
        "ELTIKETI_LOG_LEVEL": "WARNING",
    }
    env.update({f"ELTIKETI_{name.upper()}": value for name, value in extra.items()})
    return env


@contextlib.asynccontextmanager
async def listening(app: Litestar, port: int) -> AsyncIterator[None]:
    """Serve ``app`` with uvicorn on ``127.0.0.1:port`` in this event loop, lifespan included."""
    config = uvicorn.Config(
        app, host=LOOPBACK, port=port, lifespan="on", log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(), name=f"uvicorn-{port}")
    deadline = time.monotonic() + 20
    while not server.started:
        if task.done():
            task.result()  # raises what stopped it
            raise RuntimeError("uvicorn stopped before it started")
        assert time.monotonic() < deadline, "uvicorn did not start within 20 s"
        await asyncio.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=20)


@contextlib.asynccontextmanager
async def live_app(
    stripe_server: StripeServer, data_dir: Path, **extra: str
) -> AsyncIterator[LiveApp]:
    port = free_port()
    base_url = f"http://{LOOPBACK}:{port}"
    secret = f"whsec_{secrets.token_hex(16)}"
    settings = Settings.from_env(stripe_env(stripe_server, data_dir, base_url, secret, **extra))
    app = create_app(settings)
    guard = FiveHundredGuard(app.asgi_handler)
    app.asgi_handler = guard
    running: LiveApp | None = None
    async with listening(app, port), httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        running = LiveApp(
            base_url=base_url,
            client=client,
            settings=settings,
            stripe_server=stripe_server,
            sdk=stripe_client(stripe_server),
            webhook_secret=secret,
            guard=guard,
            issuer=DevTokenIssuer(data_dir),
        )
        try:
            yield running
        finally:
            for webhook_id in running.webhook_ids:
                register_webhook(
                    stripe_server, running.webhook_url, secret, RETIRED_EVENTS, webhook_id
                )
    if guard.seen:
        raise ServerErrorSeen("the app answered 5xx: " + "; ".join(guard.seen))


LiveAppFactory = Callable[..., contextlib.AbstractAsyncContextManager[LiveApp]]


@pytest.fixture
def start_live_app(stripe_server: StripeServer, tmp_path: Path) -> LiveAppFactory:
    """``async with start_live_app(**ELTIKETI_ overrides) as live`` — each with its own data dir."""
    made = 0

    def start(**extra: str) -> contextlib.AbstractAsyncContextManager[LiveApp]:
        nonlocal made
        made += 1
        return live_app(stripe_server, tmp_path / f"app{made}", **extra)

    return start


@pytest.fixture
async def live(start_live_app: LiveAppFactory) -> AsyncIterator[LiveApp]:
    """An app on localstripe with the default policy (15-minute holds)."""
    async with start_live_app() as running:
        yield running


@dataclass
class Capture:
    """A webhook endpoint of the test's own, registered with localstripe like the app's."""

    url: str
    deliveries: asyncio.Queue[Delivery]

    async def event_for(self, event_type: str, object_id: str) -> Delivery:
        """The first delivery of ``event_type`` about ``object_id`` (others are skipped)."""
        async with asyncio.timeout(WAIT_SECONDS):
            while True:
                delivery = await self.deliveries.get()
                event = delivery.event
                if event["type"] == event_type and event["data"]["object"]["id"] == object_id:
                    return delivery


@contextlib.asynccontextmanager
async def capturing_webhooks(stripe_server: StripeServer, secret: str) -> AsyncIterator[Capture]:
    """Receive localstripe's deliveries (signed with ``secret``) on a loopback endpoint."""
    from aiohttp import web  # localstripe's own dependency, used here as a plain HTTP server

    deliveries: asyncio.Queue[Delivery] = asyncio.Queue()

    async def receive(request: web.Request) -> web.Response:
        await deliveries.put(Delivery(await request.read(), dict(request.headers)))
        return web.Response(status=204)

    server = web.Application()
    server.router.add_post("/capture", receive)
    runner = web.AppRunner(server)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, LOOPBACK, port).start()
    url = f"http://{LOOPBACK}:{port}/capture"
    webhook_id = register_webhook(stripe_server, url, secret, WEBHOOK_EVENTS)
    try:
        yield Capture(url, deliveries)
    finally:
        register_webhook(stripe_server, url, secret, RETIRED_EVENTS, webhook_id)
        await runner.cleanup()
