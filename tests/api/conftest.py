"""API tests: the real app (``create_app``) over in-memory persistence and the fake gateway.

Every app built here is wrapped so that a 5xx answer fails the test that caused
it: the suite proves that no request answers 500. It is also wrapped so that a
problem whose status and ``code`` the route's OpenAPI entry does not list fails
the test: the suite proves the document tells the truth about errors.
Collaborators are swapped by giving dishka providers (``overrides``), never by
patching.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit
from uuid import UUID

import httpx
import msgspec
import pytest
from dishka import Provider, Scope, provide
from litestar import Litestar
from litestar.testing import AsyncTestClient
from litestar.types import Message, Receive, Send
from litestar.types import Scope as AsgiScope

from eltiketi_adapters.devauth import DevTokenIssuer
from eltiketi_adapters.memory import FakePaymentGateway, RecordingNotifier
from eltiketi_adapters.system import SystemClock
from eltiketi_app.app import create_app
from eltiketi_app.background.runner import Runner
from eltiketi_app.ioc.types import Notifiers
from eltiketi_app.settings import Settings
from eltiketi_core.ports.clock import Clock

T = TypeVar("T")

Headers = dict[str, str]


class ServerErrorSeen(AssertionError):
    """A response was a server error: no request in the suite may answer 500."""


class FiveHundredGuard:
    """ASGI wrapper that records every 5xx response start except a deliberate 503
    (``not_ready``, an external system down)."""

    def __init__(self, app: Any) -> None:
        self._app = app
        self.seen: list[str] = []

    async def __call__(self, scope: AsgiScope, receive: Receive, send: Send) -> None:
        async def watch(message: Message) -> None:
            if (
                message["type"] == "http.response.start"
                and message["status"] >= 500
                and message["status"] != 503
            ):
                self.seen.append(
                    f"{scope.get('method')} {scope.get('path')} -> {message['status']}"
                )
            await send(message)

        await self._app(scope, receive, watch)


class UndocumentedAnswer(AssertionError):
    """A route answered a problem its OpenAPI entry does not list (status and code)."""


class DocumentedAnswers:
    """ASGI wrapper that checks every problem answer against the app's own OpenAPI document.

    A route's documented problems are the example keys of its ``application/problem+json``
    response for that status (see ``eltiketi_app.http.openapi``). Requests that match no
    documented route (an unknown path, a wrong method) are not checked here.
    """

    def __init__(self, app: Any, litestar: Litestar) -> None:
        self._app = app
        self._litestar = litestar
        self._documented: dict[tuple[str, str, int], frozenset[str]] | None = None
        self.seen: list[str] = []

    def documented(self, method: str, template: str, status: int) -> frozenset[str]:
        if self._documented is None:
            table: dict[tuple[str, str, int], frozenset[str]] = {}
            document = self._litestar.openapi_schema.to_schema()
            for path, item in document["paths"].items():
                for verb, operation in item.items():
                    for code, response in operation.get("responses", {}).items():
                        media = response.get("content", {}).get("application/problem+json", {})
                        table[(verb.upper(), path, int(code))] = frozenset(
                            media.get("examples", {})
                        )
            self._documented = table
        return self._documented.get((method, template, status), frozenset())

    async def __call__(self, scope: AsgiScope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        answer: dict[str, Any] = {"body": b""}

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                answer["type"] = dict(message.get("headers", [])).get(b"content-type", b"")
            elif message["type"] == "http.response.body":
                if answer.get("status", 0) >= 400:  # only problems are read; a stream is not kept
                    answer["body"] += message.get("body", b"")
                if not message.get("more_body", False):
                    self._check(scope, answer)
            await send(message)

        await self._app(scope, receive, watch)

    def _check(self, scope: AsgiScope, answer: dict[str, Any]) -> None:
        status = answer.get("status", 0)
        handler = scope.get("route_handler")
        if status < 400 or status in (499, 500) or handler is None:
            return
        if not handler.resolve_include_in_schema():
            return
        method, template = str(scope.get("method")), str(scope.get("path_template"))
        where = f"{method} {template} -> {status}"
        if not answer["type"].startswith(b"application/problem+json"):
            self.seen.append(f"{where}: not a problem ({answer['type']!r})")
            return
        code = msgspec.json.decode(answer["body"]).get("code")
        listed = self.documented(method, template, status)
        family = "stripe_<code>" if str(code).startswith("stripe_") else code
        if code not in listed and family not in listed:
            self.seen.append(f"{where} {code!r}, documented: {sorted(listed)}")


class Recorders(Provider):
    """Notification channels that remember what they sent (e-mail and SMS)."""

    scope = Scope.APP

    def __init__(self, email: RecordingNotifier, sms: RecordingNotifier) -> None:
        super().__init__()
        self._channels = (email, sms)

    @provide
    def notifiers(self) -> Notifiers:
        return Notifiers(channels=self._channels)


class ClockProvider(Provider):
    scope = Scope.APP

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self._clock = clock

    @provide
    def clock(self) -> Clock:
        return self._clock


def embedded_settings(data_dir: Path, **changes: Any) -> Settings:
    return Settings(data_dir=data_dir, database_url="memory://", **changes)


@dataclass
class Api:
    """One running app and its test client, with helpers that speak the REST contract."""

    app: Litestar
    client: AsyncTestClient[Litestar]
    settings: Settings
    email: RecordingNotifier
    sms: RecordingNotifier
    guard: FiveHundredGuard
    issuer: DevTokenIssuer
    _tokens: dict[tuple[str, tuple[str, ...], str | None, str | None], Headers] = field(
        default_factory=dict
    )

    async def get(self, kind: type[Any]) -> Any:
        return await self.app.state.container.get(kind)

    @property
    def runtime(self) -> Runner:
        runtime = self.app.state.runtime
        assert isinstance(runtime, Runner)
        return runtime

    async def flush(self) -> None:
        """Deliver every recorded event now (the relay also does it on its own).

        The app runs on the test client's own loop in another thread; its locks and
        pools belong to that loop, so the flush runs there, through the client's portal.
        """
        await self.in_app(self.runtime.flush)

    async def in_app(self, work: Callable[[], Awaitable[T]]) -> T:
        """Await ``work()`` on the app's loop (its stores' locks and pools live there)."""
        portal = self.client.blocking_portal
        return await asyncio.to_thread(portal.call, work)

    def auth(
        self, sub: str, *roles: str, email: str | None = None, phone: str | None = None
    ) -> Headers:
        """Bearer headers with a dev token minted by the app's own issuer key."""
        key = (sub, roles, email, phone)
        if key not in self._tokens:
            token = self.issuer.mint(sub, roles, email=email, phone=phone)
            self._tokens[key] = {"Authorization": f"Bearer {token}"}
        return self._tokens[key]

    def customer(self, name: str) -> Headers:
        return self.auth(name, email=f"{name}@example.com")

    async def member(
        self, sub: str, organization_id: str, role: str = "door", *roles: str
    ) -> Headers:
        """Bearer headers for ``sub``, made a ``role`` member of the organization first
        (through ``POST /dev/token`` with ``members``: membership is data, not a claim)."""
        response = await self.client.post(
            "/dev/token",
            json={
                "sub": sub,
                "roles": list(roles),
                "email": f"{sub}@example.com",
                "members": [{"organization_id": organization_id, "role": role}],
            },
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    async def organization_of(self, event_id: str) -> str:
        """The id of the organization that owns the event (drafts: as an admin)."""
        response = await self.client.get(
            f"/v1/events/{event_id}", headers=self.auth("root", "admin")
        )
        assert response.status_code == 200, response.text
        return str(response.json()["organization_id"])

    # -- the journey, step by step ----------------------------------------------------

    async def create_event(
        self, organizer: Headers, *, currency: str = "EUR", starts_in: timedelta | None = None
    ) -> dict[str, Any]:
        starts_at = datetime.now().astimezone() + (starts_in or timedelta(days=30))
        response = await self.client.post(
            "/v1/events",
            json={
                "name": "Open Air",
                "venue": "Park",
                "starts_at": starts_at.isoformat(),
                "timezone": "Europe/Berlin",
                "locale": "de",
                "currency": currency,
            },
            headers=organizer,
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def add_type(
        self,
        organizer: Headers,
        event_id: str,
        *,
        name: str = "Standing",
        amount: int = 4500,
        currency: str = "EUR",
        capacity: int = 100,
        max_per_booking: int = 10,
    ) -> dict[str, Any]:
        response = await self.client.post(
            f"/v1/events/{event_id}/ticket-types",
            json={
                "name": name,
                "price": {"amount": amount, "currency": currency},
                "capacity": capacity,
                "max_per_booking": max_per_booking,
            },
            headers=organizer,
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def publish(self, organizer: Headers, event_id: str) -> None:
        response = await self.client.post(f"/v1/events/{event_id}/publish", headers=organizer)
        assert response.status_code == 200, response.text

    async def sale(self, organizer: Headers | None = None, **type_options: Any) -> tuple[str, str]:
        """A published event with one ticket type: (event id, ticket type id)."""
        organizer = organizer or self.auth("olga", "organizer")
        event = await self.create_event(organizer, starts_in=type_options.pop("starts_in", None))
        ticket_type = await self.add_type(organizer, event["id"], **type_options)
        await self.publish(organizer, event["id"])
        return event["id"], ticket_type["id"]

    async def hold(
        self, who: Headers, event_id: str, ticket_type_id: str, quantity: int = 1
    ) -> httpx.Response:
        return await self.client.post(
            "/v1/bookings",
            json={
                "event_id": event_id,
                "items": [{"ticket_type_id": ticket_type_id, "quantity": quantity}],
            },
            headers=who,
        )

    async def start_payment(self, who: Headers, booking_id: str) -> dict[str, Any]:
        response = await self.client.post(f"/v1/bookings/{booking_id}/payment", headers=who)
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def pay_on_page(self, checkout_url: str, outcome: str = "pay") -> httpx.Response:
        path = urlsplit(checkout_url).path
        return await self.client.post(path, data={"outcome": outcome}, follow_redirects=False)

    async def approve(self, payment: dict[str, Any]) -> None:
        gateway = await self.get(FakePaymentGateway)
        gateway.approve(payment["provider_reference"])

    async def confirm(self, who: Headers, booking_id: str, payment_id: str) -> httpx.Response:
        return await self.client.post(
            "/v1/orders", json={"booking_id": booking_id, "payment_id": payment_id}, headers=who
        )

    async def buy(
        self, who: Headers, event_id: str, ticket_type_id: str, quantity: int = 1
    ) -> dict[str, Any]:
        """Hold, pay (fake gateway), confirm: the order as the API answers it."""
        held = await self.hold(who, event_id, ticket_type_id, quantity)
        assert held.status_code == 201, held.text
        payment = await self.start_payment(who, held.json()["id"])
        await self.approve(payment)
        confirmed = await self.confirm(who, held.json()["id"], payment["payment_id"])
        assert confirmed.status_code == 201, confirmed.text
        return dict(confirmed.json())

    async def cancel_event(self, organizer: Headers, event_id: str) -> httpx.Response:
        """``POST /v1/events/{id}/cancel``: 202 with the job and its ``Location``."""
        response = await self.client.post(f"/v1/events/{event_id}/cancel", headers=organizer)
        assert response.status_code == 202, response.text
        assert response.headers["location"] == f"/v1/jobs/{response.json()['id']}"
        return response

    async def finished_job(
        self, organizer: Headers, location: str, *, within: float = 10.0
    ) -> dict[str, Any]:
        """Poll the job at ``location`` until it is ``done`` (or ``failed``); its last body."""
        deadline = time.monotonic() + within
        while True:
            response = await self.client.get(location, headers=organizer)
            assert response.status_code == 200, response.text
            job = dict(response.json())
            if job["status"] in {"done", "failed"}:
                return job
            assert time.monotonic() < deadline, f"job not finished within {within}s: {job}"
            await asyncio.sleep(0.02)

    async def cancel_and_wait(self, organizer: Headers, event_id: str) -> dict[str, Any]:
        """Cancel the event and wait for its job to finish (the relay may still be busy)."""
        response = await self.cancel_event(organizer, event_id)
        return await self.finished_job(organizer, response.headers["location"])

    async def stock(self, event_id: str, organizer: Headers | None = None) -> dict[str, Any]:
        """Counters per ticket type id, as the owning organizer sees them."""
        organizer = organizer or self.auth("olga", "organizer")
        response = await self.client.get(f"/v1/events/{event_id}/stock", headers=organizer)
        assert response.status_code == 200, response.text
        return {t["ticket_type_id"]: t for t in response.json()["ticket_types"]}


@contextlib.asynccontextmanager
async def running_app(
    settings: Settings, overrides: Sequence[Provider], *, background: bool = True
) -> AsyncIterator[Api]:
    email, sms = RecordingNotifier("email"), RecordingNotifier("sms")
    app = create_app(settings, overrides=[Recorders(email, sms), *overrides], background=background)
    documented = DocumentedAnswers(app.asgi_handler, app)
    guard = FiveHundredGuard(documented)
    app.asgi_handler = guard
    async with AsyncTestClient(app=app, timeout=30) as client:
        api = Api(
            app=app,
            client=client,
            settings=settings,
            email=email,
            sms=sms,
            guard=guard,
            issuer=DevTokenIssuer(settings.data_dir),
        )
        yield api
    if guard.seen:
        raise ServerErrorSeen("the API answered a server error: " + "; ".join(guard.seen))
    if documented.seen:
        raise UndocumentedAnswer(
            "answers the OpenAPI document does not list: " + "; ".join(documented.seen)
        )


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    """An embedded app on the in-memory stores, the real clock and the fake gateway."""
    async with running_app(embedded_settings(tmp_path), [ClockProvider(SystemClock())]) as running:
        yield running


@pytest.fixture
def start_app(tmp_path: Path) -> Callable[..., Any]:
    """Build an app with other settings or providers: ``async with start_app(...) as api``."""

    @contextlib.asynccontextmanager
    async def start(
        settings: Settings | None = None,
        overrides: Iterable[Provider] = (),
        *,
        background: bool = True,
        **changes: Any,
    ) -> AsyncIterator[Api]:
        chosen = settings or embedded_settings(tmp_path, **changes)
        async with running_app(chosen, list(overrides), background=background) as running:
            yield running

    return start


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Assert ``response`` is an RFC 9457 problem with this status and code; return it."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code, body
    assert body["type"].endswith(code)
    assert body["title"] and isinstance(body["detail"], str)
    return dict(body)


async def gather_limited(coroutines: Iterable[Any], limit: int = 500) -> list[Any]:
    semaphore = asyncio.Semaphore(limit)

    async def run(coroutine: Any) -> Any:
        async with semaphore:
            return await coroutine

    return await asyncio.gather(*(run(c) for c in coroutines))


def as_uuid(value: str) -> UUID:
    return msgspec.convert(value, UUID)
