"""``detail`` is written for people: never a driver's, database's or payment SDK's message.

Such failures are logged with the request id and answered with a plain sentence
(the ``code`` stays). A client that goes away mid-body is a client abort in the log
and the metrics, not an "unhandled error" 500.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import Any

from dishka import Provider, Scope, provide
from litestar import get
from litestar.testing import create_test_client
from sqlalchemy import exc as sa_exc
from structlog.testing import capture_logs

from eltiketi_adapters.sqlalchemy.errors import translate
from eltiketi_adapters.stripe import StripeConfig, StripePaymentGateway
from eltiketi_app.http.problems import exception_handlers
from eltiketi_core.ports.payments import PaymentGateway
from tests.api.conftest import Api, problem

LIBRARY_WORDS = ("Stripe", "communicating", "ConnectError", "Connection", "Errno", "stripe")


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class UnreachableStripe(Provider):
    """The real Stripe adapter, pointed at a port where nothing listens."""

    scope = Scope.APP

    @provide
    async def gateway(self) -> AsyncIterator[PaymentGateway]:
        config = StripeConfig(
            api_key="sk_test_unreachable",
            webhook_secret="whsec_unreachable",
            api_base=f"http://127.0.0.1:{closed_port()}",
            max_network_retries=0,
            timeout=5,
        )
        gateway = StripePaymentGateway(config)
        try:
            yield gateway
        finally:
            await gateway.aclose()


async def test_a_payment_provider_failure_is_a_plain_sentence(start_app: Any) -> None:
    async with start_app(overrides=[UnreachableStripe()]) as api:
        event_id, standing = await api.sale()
        alice = api.customer("alice")
        booking = (await api.hold(alice, event_id, standing)).json()

        with capture_logs() as logs:
            answer = await api.client.post(f"/v1/bookings/{booking['id']}/payment", headers=alice)

    body = problem(answer, 503, "stripe_unavailable")
    for word in LIBRARY_WORDS:
        assert word not in body["detail"], body
    assert set(body) == {"type", "title", "status", "detail", "code"}, body
    request_id = answer.headers["x-request-id"]
    logged = [entry for entry in logs if entry.get("request_id") == request_id]
    failure = next(entry for entry in logged if entry.get("code") == "stripe_unavailable")
    assert "communicating with Stripe" in failure["detail"], failure
    assert failure["log_level"] == "warning"


def test_a_constraint_name_never_reaches_the_client() -> None:
    """The SQL adapter's translation of a unique violation, answered by the app's handlers."""
    driver_error = Exception(
        'duplicate key value violates unique constraint "uq_orders_booking_id"\n'
        "DETAIL:  Key (booking_id)=(0192…) already exists."
    )
    integrity = sa_exc.IntegrityError("INSERT INTO orders …", {}, driver_error)

    @get("/boom")
    async def boom() -> None:
        raise translate(integrity) from integrity

    with (
        capture_logs() as logs,
        create_test_client([boom], exception_handlers=exception_handlers()) as client,
    ):
        answer = client.get("/boom")

    assert answer.status_code == 409
    body = answer.json()
    assert body["code"] == "constraint_violation"
    assert "uq_orders_booking_id" not in answer.text
    assert "duplicate key" not in answer.text
    assert any("uq_orders_booking_id" in str(entry.get("detail")) for entry in logs), logs


async def test_our_own_words_stay(api: Api) -> None:
    """A rule broken with a standard-library cause (an unknown zone) keeps its detail."""
    olga = api.auth("olga", "organizer")
    body = {
        "name": "Gig",
        "venue": "Club",
        "starts_at": "2031-01-01T20:00:00+01:00",
        "timezone": "Mars/Olympus",
    }

    refused = problem(
        await api.client.post("/v1/events", json=body, headers=olga), 422, "invalid_timezone"
    )

    assert "Mars/Olympus" in refused["detail"]


async def test_a_client_that_leaves_mid_body_is_a_client_abort(api: Api) -> None:
    sent: list[dict[str, Any]] = []
    incoming = [
        {"type": "http.request", "body": b'{"sub": "hal', "more_body": True},
        {"type": "http.disconnect"},
    ]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/dev/token",
        "raw_path": b"/dev/token",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/json"),
            (b"content-length", b"200"),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }

    async def receive() -> dict[str, Any]:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def call() -> None:
        await api.app(scope, receive, send)  # type: ignore[arg-type]

    with capture_logs() as logs:
        await api.in_app(call)

    statuses = [m["status"] for m in sent if m["type"] == "http.response.start"]
    assert statuses and all(status < 500 for status in statuses), statuses
    events = [entry["event"] for entry in logs]
    assert "client aborted the request" in events, events
    assert "unhandled error" not in events, events
    metrics = (await api.client.get("/metrics")).text
    assert 'route="/dev/token",status="499"' in metrics
    assert 'route="/dev/token",status="500"' not in metrics
