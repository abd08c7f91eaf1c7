"""Gateway callbacks: signed webhooks, answered 2xx only once their effect is stored."""

from __future__ import annotations

from typing import Any

from dishka.integrations.litestar import FromDishka, inject
from litestar import Request, Router, post
from litestar.params import FromPath

from eltiketi_app.http.openapi import can_answer
from eltiketi_app.http.problem_catalog import PAYMENT_PROVIDER, WRITES
from eltiketi_app.http.schemas import WebhookOut
from eltiketi_core.usecases.settlement import Settlement

MAX_WEBHOOK_BYTES = 1_000_000


@can_answer(
    "invalid_signature",
    "invalid_payload",
    "unknown_provider",
    "request_too_large",
    "payment_mismatch",
    "settlement_contended",
    *PAYMENT_PROVIDER,
    *WRITES,
)
@post(
    "/{provider:str}/webhook",
    status_code=200,
    summary="Payment provider webhook",
    description="Verifies the provider's signature (400 `invalid_signature` otherwise), then "
    "settles the payment it reports. Safe to deliver more than once.",
    request_max_body_size=MAX_WEBHOOK_BYTES,
)
@inject
async def payment_webhook(
    provider: FromPath[str], request: Request[Any, Any, Any], settlement: FromDishka[Settlement]
) -> WebhookOut:
    body = await request.body()
    headers = {k.lower(): v for k, v in request.headers.items()}
    kind = await settlement.handle_webhook(provider, body, headers)
    return WebhookOut(received=True, kind=kind.value)


router = Router(path="/v1/payments", tags=["payments"], route_handlers=[payment_webhook])
