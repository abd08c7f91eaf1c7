"""The HTTP edge: problem details for framework errors, request ids, probes, metrics, schema,
webhooks, and the dev token route."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from dishka import Provider, Scope, provide

from eltiketi_adapters.memory import FakePaymentGateway
from eltiketi_app.http.problems import STATUS_BY_KIND
from eltiketi_app.ioc.types import QrRenderer
from eltiketi_core import errors
from eltiketi_core.ports.payments import WebhookKind
from tests.api.conftest import Api, ServerErrorSeen, problem


async def test_unknown_routes_and_methods_are_problems(api: Api) -> None:
    problem(await api.client.get("/v2/events"), 404, "not_found")
    problem(await api.client.get("/v1/events/nope/nothing"), 404, "not_found")
    wrong = problem(await api.client.put("/v1/events"), 405, "method_not_allowed")
    assert "PUT" in wrong["detail"]


async def test_every_answer_carries_a_request_id(api: Api) -> None:
    mine = await api.client.get("/v1/events", headers={"X-Request-ID": "trace-123"})
    theirs = await api.client.get("/nope")
    unsafe = await api.client.get("/v1/events", headers={"X-Request-ID": "bad id\n"})

    assert mine.headers["x-request-id"] == "trace-123"
    assert len(theirs.headers["x-request-id"]) == 32
    assert unsafe.headers["x-request-id"] != "bad id\n"


async def test_probes_metrics_and_schema(api: Api) -> None:
    assert (await api.client.get("/health/live")).json() == {"status": "ok"}
    ready = await api.client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"storage": "ok", "background": "ok"}
    await api.client.get("/v1/events")

    metrics = await api.client.get("/metrics")

    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    assert 'eltiketi_http_requests_total{method="GET",route="/v1/events",status="200"}' in (
        metrics.text
    )
    assert "eltiketi_event_loop_lag_seconds_count" in metrics.text
    schema = (await api.client.get("/schema/openapi.json")).json()
    for path in (
        "/v1/events",
        "/v1/events/{event_id}",
        "/v1/bookings",
        "/v1/bookings/{booking_id}/payment",
        "/v1/orders",
        "/v1/orders/{order_id}/resend",
        "/v1/tickets/{ticket_id}/qr.png",
        "/v1/tickets/keys",
        "/v1/check-ins",
        "/v1/payments/{provider}/webhook",
        "/dev/token",
    ):
        assert path in schema["paths"], path
    assert "bearer" in schema["components"]["securitySchemes"]
    assert schema["paths"]["/v1/bookings"]["post"]["security"] == [{"bearer": []}]
    assert "security" not in schema["paths"]["/v1/events"]["get"]
    assert "security" not in schema["paths"]["/v1/tickets/keys"]["get"]


async def test_metrics_report_the_size_of_each_batch_of_holds(api: Api) -> None:
    event_id, type_id = await api.sale()
    buyers = [api.customer(f"batch-{n}") for n in range(6)]
    answers = await asyncio.gather(*(api.hold(who, event_id, type_id) for who in buyers))
    assert [answer.status_code for answer in answers] == [201] * 6

    text = (await api.client.get("/metrics")).text

    count = re.search(r"^eltiketi_hold_batch_size_count ([0-9.e+]+)$", text, re.MULTILINE)
    total = re.search(r"^eltiketi_hold_batch_size_sum ([0-9.e+]+)$", text, re.MULTILINE)
    assert count is not None and total is not None
    assert float(total[1]) == 6  # every hold went through a batch, counted once
    assert 1 <= float(count[1]) <= 6


async def test_readiness_reports_stopped_background_work(start_app: Any) -> None:
    async with start_app(background=False) as paused:
        answer = problem(await paused.client.get("/health/ready"), 503, "not_ready")

    assert answer["checks"]["background"] == "not started"


async def test_webhooks_are_verified_and_settle_payments(api: Api) -> None:
    event_id, standing = await api.sale()
    alice = api.customer("alice")
    booking = (await api.hold(alice, event_id, standing)).json()
    payment = await api.start_payment(alice, booking["id"])
    gateway = await api.get(FakePaymentGateway)
    gateway.approve(payment["provider_reference"])
    body, headers = gateway.signed_webhook(
        WebhookKind.PAYMENT_SUCCEEDED, payment["provider_reference"], event_id="evt_1"
    )

    forged = await api.client.post(
        "/v1/payments/fake/webhook", content=body, headers={**headers, "x-fake-signature": "0"}
    )
    problem(forged, 400, "invalid_signature")
    problem(
        await api.client.post("/v1/payments/stripe/webhook", content=body, headers=headers),
        404,
        "unknown_provider",
    )
    assert (await api.client.get("/v1/orders", headers=alice)).json()["items"] == []

    for _ in range(2):  # delivered twice: one order
        delivered = await api.client.post(
            "/v1/payments/fake/webhook", content=body, headers=headers
        )
        assert delivered.status_code == 200, delivered.text
        assert delivered.json() == {"received": True, "kind": "payment_succeeded"}
    orders = (await api.client.get("/v1/orders", headers=alice)).json()["items"]
    assert [o["booking_id"] for o in orders] == [booking["id"]]
    confirmed = await api.confirm(alice, booking["id"], payment["payment_id"])
    assert confirmed.status_code == 200


async def test_the_dev_token_route(api: Api) -> None:
    minted = await api.client.post(
        "/dev/token",
        json={"sub": "dora", "roles": ["organizer"], "email": "dora@example.com"},
    )

    assert minted.status_code == 200
    assert minted.json()["token_type"] == "Bearer"
    headers = {"Authorization": f"Bearer {minted.json()['access_token']}"}
    created = await api.create_event(headers)
    assert created["owner"] == "dora"
    problem(
        await api.client.post("/dev/token", json={"sub": "x", "roles": ["organiser"]}),
        422,
        "invalid_token_request",
    )
    problem(await api.client.post("/dev/token", json={"sub": " "}), 422, "invalid_subject")
    problem(await api.client.post("/dev/token", json={"roles": []}), 400, "malformed_request")


async def test_the_pay_page_is_a_page(api: Api) -> None:
    event_id, standing = await api.sale(amount=1250)
    alice = api.customer("alice")
    booking = (await api.hold(alice, event_id, standing, 2)).json()
    payment = await api.start_payment(alice, booking["id"])
    path = "/dev/pay/" + payment["provider_reference"]

    page = await api.client.get(path)

    assert page.headers["content-type"].startswith("text/html")
    assert "Pay 25.00 EUR" in page.text
    assert 'name="outcome" value="decline"' in page.text
    problem(await api.client.post(path, data={"outcome": "maybe"}), 400, "malformed_request")
    problem(await api.client.get("/dev/pay/fake_pay_unknown"), 404, "payment_not_found")


@pytest.mark.parametrize(
    "family",
    [
        cls
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.DomainError)
    ],
)
def test_every_domain_error_family_has_a_status(family: type[errors.DomainError]) -> None:
    assert family.kind in STATUS_BY_KIND
    assert 400 <= STATUS_BY_KIND[family.kind] < 500 or family.kind == "unavailable"


class BrokenQr(Provider):
    """A QR renderer with a bug in it."""

    scope = Scope.APP

    @provide
    def qr(self) -> QrRenderer:
        def broken(token: str) -> bytes:
            raise RuntimeError("segfault in a dream")

        return QrRenderer(png=broken, svg=broken)


async def test_a_bug_is_a_logged_problem_and_the_suite_notices(start_app: Any) -> None:
    seen: dict[str, Any] = {}

    async def crash_once() -> None:
        async with start_app(overrides=[BrokenQr()]) as api:
            event_id, standing = await api.sale()
            alice = api.customer("alice")
            order = await api.buy(alice, event_id, standing)
            seen["answer"] = await api.client.get(
                f"/v1/tickets/{order['tickets'][0]['id']}/qr.png", headers=alice
            )

    with pytest.raises(ServerErrorSeen, match=r"qr\.png -> 500"):
        await crash_once()

    crashed = seen["answer"]
    body = problem(crashed, 500, "internal_error")
    assert body["request_id"] == crashed.headers["x-request-id"]
    assert "segfault" not in crashed.text


async def test_options_lists_every_method_of_the_path(api: Api) -> None:
    """Litestar 2 listed only the path's first method (litestar#4169)."""
    answer = await api.client.options("/v1/events")

    assert answer.status_code == 204
    assert set(answer.headers["allow"].split(", ")) == {"GET", "POST", "OPTIONS"}
