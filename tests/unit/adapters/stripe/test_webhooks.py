"""Signed webhooks: what verifies, what is rejected, and how each Stripe event maps.

Signatures are built here with ``hmac`` exactly like Stripe (``t=…,v1=HMAC-SHA256("{t}.{body}")``),
independently of the SDK code the adapter uses to verify them.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from eltiketi_adapters.stripe.config import StripeConfig
from eltiketi_adapters.stripe.gateway import StripePaymentGateway
from eltiketi_adapters.stripe.webhooks import notice_from_event
from eltiketi_core.errors import WebhookRejected
from eltiketi_core.ports.payments import WebhookKind, WebhookNotice
from tests.unit.adapters.stripe.builders import an_event, stripe_signature

SECRET = "whsec_unit_test_secret"
INTENT = {
    "id": "pi_1",
    "object": "payment_intent",
    "status": "succeeded",
    "amount": 5000,
    "currency": "eur",
    "metadata": {"booking_id": "5d1f6c5e-8e0f-4d65-9a55-53a2b6bfa8a1"},
}


@pytest.fixture
async def gateway() -> Any:
    gateway = StripePaymentGateway(
        StripeConfig(api_key="sk_test_unit", webhook_secret=SECRET, webhook_tolerance_seconds=300)
    )
    yield gateway
    await gateway.aclose()


def parse(gateway: StripePaymentGateway, body: bytes, signature: str | None) -> WebhookNotice:
    headers = {} if signature is None else {"Stripe-Signature": signature}
    return gateway.parse_webhook(body, headers)


def rejected(gateway: StripePaymentGateway, body: bytes, signature: str | None) -> WebhookRejected:
    with pytest.raises(WebhookRejected) as raised:
        parse(gateway, body, signature)
    return raised.value


def test_a_correctly_signed_event_is_accepted(gateway: StripePaymentGateway) -> None:
    body = an_event("payment_intent.succeeded", INTENT, event_id="evt_ok")

    notice = parse(gateway, body, stripe_signature(body, SECRET))

    assert notice == WebhookNotice(
        event_id="evt_ok", kind=WebhookKind.PAYMENT_SUCCEEDED, provider_reference="pi_1"
    )


def test_the_header_name_is_case_insensitive(gateway: StripePaymentGateway) -> None:
    body = an_event("payment_intent.succeeded", INTENT)

    notice = gateway.parse_webhook(body, {"stripe-signature": stripe_signature(body, SECRET)})

    assert notice.kind is WebhookKind.PAYMENT_SUCCEEDED


def test_one_matching_signature_among_several_is_enough(gateway: StripePaymentGateway) -> None:
    """During a secret roll Stripe signs with the old and the new secret."""
    body = an_event("payment_intent.succeeded", INTENT)
    now = int(time.time())
    old = stripe_signature(body, "whsec_old", now).split(",")[1]
    header = f"t={now},{old},{stripe_signature(body, SECRET, now).split(',')[1]}"

    assert parse(gateway, body, header).kind is WebhookKind.PAYMENT_SUCCEEDED


def test_a_forged_signature_is_rejected(gateway: StripePaymentGateway) -> None:
    body = an_event("payment_intent.succeeded", INTENT)

    error = rejected(gateway, body, stripe_signature(body, "whsec_attacker_guess"))

    assert error.code == "invalid_signature"


def test_an_altered_body_is_rejected(gateway: StripePaymentGateway) -> None:
    body = an_event("payment_intent.succeeded", INTENT)
    signature = stripe_signature(body, SECRET)
    altered = body.replace(b'"amount": 5000', b'"amount": 5')
    assert altered != body

    assert rejected(gateway, altered, signature).code == "invalid_signature"


def test_a_stale_timestamp_is_rejected_even_with_a_valid_signature(
    gateway: StripePaymentGateway,
) -> None:
    body = an_event("payment_intent.succeeded", INTENT)
    stale = int(time.time()) - 301

    assert rejected(gateway, body, stripe_signature(body, SECRET, stale)).code == (
        "invalid_signature"
    )


def test_a_timestamp_inside_the_tolerance_is_accepted(gateway: StripePaymentGateway) -> None:
    body = an_event("payment_intent.succeeded", INTENT)
    recent = int(time.time()) - 240

    assert parse(gateway, body, stripe_signature(body, SECRET, recent)).kind is (
        WebhookKind.PAYMENT_SUCCEEDED
    )


def test_a_replayed_signature_with_a_new_timestamp_is_rejected(
    gateway: StripePaymentGateway,
) -> None:
    """Moving ``t`` forward without re-signing breaks the HMAC."""
    body = an_event("payment_intent.succeeded", INTENT)
    stale = int(time.time()) - 3600
    digest = stripe_signature(body, SECRET, stale).split("v1=")[1]

    assert rejected(gateway, body, f"t={int(time.time())},v1={digest}").code == (
        "invalid_signature"
    )


@pytest.mark.parametrize(
    "header",
    [None, "", "garbage", "t=notanumber,v1=abc", "v1=abc", "t=1700000000", "t=1700000000,v0=abc"],
)
def test_missing_or_malformed_signature_headers_are_rejected(
    gateway: StripePaymentGateway, header: str | None
) -> None:
    body = an_event("payment_intent.succeeded", INTENT)

    assert rejected(gateway, body, header).code == "invalid_signature"


def test_a_body_that_is_not_utf8_is_rejected(gateway: StripePaymentGateway) -> None:
    body = b"\xff\xfe not utf-8"

    assert rejected(gateway, body, stripe_signature(body, SECRET)).code == "invalid_signature"


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"type": "x"}'])
def test_a_signed_body_that_is_no_event_is_rejected(
    gateway: StripePaymentGateway, body: bytes
) -> None:
    assert rejected(gateway, body, stripe_signature(body, SECRET)).code == "invalid_payload"


def test_the_tolerance_is_configurable() -> None:
    gateway = StripePaymentGateway(
        StripeConfig(api_key="sk_test_unit", webhook_secret=SECRET, webhook_tolerance_seconds=30)
    )
    body = an_event("payment_intent.succeeded", INTENT)

    with pytest.raises(WebhookRejected):
        gateway.parse_webhook(
            body, {"Stripe-Signature": stripe_signature(body, SECRET, int(time.time()) - 60)}
        )


def event(event_type: str, obj: dict[str, Any]) -> dict[str, Any]:
    return json.loads(an_event(event_type, obj, event_id="evt_1"))  # type: ignore[no-any-return]


FAILED_INTENT = {
    **INTENT,
    "status": "requires_payment_method",
    "last_payment_error": {"code": "card_declined", "message": "Your card was declined."},
}
PAID_SESSION = {"id": "cs_1", "object": "checkout.session", "payment_status": "paid"}
UNPAID_SESSION = {"id": "cs_1", "object": "checkout.session", "payment_status": "unpaid"}
REFUND = {"id": "re_1", "object": "refund", "payment_intent": "pi_1", "amount": 5000}


@pytest.mark.parametrize(
    ("event_type", "obj", "expected"),
    [
        (
            "payment_intent.succeeded",
            INTENT,
            WebhookNotice(
                event_id="evt_1", kind=WebhookKind.PAYMENT_SUCCEEDED, provider_reference="pi_1"
            ),
        ),
        (
            "payment_intent.payment_failed",
            FAILED_INTENT,
            WebhookNotice(
                event_id="evt_1",
                kind=WebhookKind.PAYMENT_FAILED,
                provider_reference="pi_1",
                failure_reason="card_declined: Your card was declined.",
            ),
        ),
        (
            "payment_intent.canceled",
            {**INTENT, "status": "canceled"},
            WebhookNotice(
                event_id="evt_1", kind=WebhookKind.PAYMENT_EXPIRED, provider_reference="pi_1"
            ),
        ),
        (
            "checkout.session.completed",
            PAID_SESSION,
            WebhookNotice(
                event_id="evt_1", kind=WebhookKind.PAYMENT_SUCCEEDED, provider_reference="cs_1"
            ),
        ),
        (
            "checkout.session.completed",
            UNPAID_SESSION,
            WebhookNotice(event_id="evt_1", kind=WebhookKind.IGNORED, provider_reference="cs_1"),
        ),
        (
            "checkout.session.async_payment_succeeded",
            PAID_SESSION,
            WebhookNotice(
                event_id="evt_1", kind=WebhookKind.PAYMENT_SUCCEEDED, provider_reference="cs_1"
            ),
        ),
        (
            "checkout.session.async_payment_failed",
            UNPAID_SESSION,
            WebhookNotice(
                event_id="evt_1",
                kind=WebhookKind.PAYMENT_FAILED,
                provider_reference="cs_1",
                failure_reason="async_payment_failed",
            ),
        ),
        (
            "checkout.session.expired",
            {**UNPAID_SESSION, "status": "expired"},
            WebhookNotice(
                event_id="evt_1", kind=WebhookKind.PAYMENT_EXPIRED, provider_reference="cs_1"
            ),
        ),
        (
            "refund.created",
            {**REFUND, "status": "succeeded"},
            WebhookNotice(
                event_id="evt_1",
                kind=WebhookKind.REFUND_SUCCEEDED,
                provider_reference="pi_1",
                refund_reference="re_1",
            ),
        ),
        (
            "refund.updated",
            {**REFUND, "status": "pending"},
            WebhookNotice(
                event_id="evt_1",
                kind=WebhookKind.IGNORED,
                provider_reference="pi_1",
                refund_reference="re_1",
            ),
        ),
        (
            "refund.updated",
            {**REFUND, "status": "failed", "failure_reason": "expired_or_canceled_card"},
            WebhookNotice(
                event_id="evt_1",
                kind=WebhookKind.REFUND_FAILED,
                provider_reference="pi_1",
                refund_reference="re_1",
                failure_reason="expired_or_canceled_card",
            ),
        ),
        (
            "refund.failed",
            {**REFUND, "status": "failed"},
            WebhookNotice(
                event_id="evt_1",
                kind=WebhookKind.REFUND_FAILED,
                provider_reference="pi_1",
                refund_reference="re_1",
                failure_reason="failed",
            ),
        ),
        (
            "charge.refunded",
            {
                "id": "ch_1",
                "object": "charge",
                "payment_intent": "pi_1",
                "refunds": {
                    "data": [
                        {"id": "re_old", "status": "succeeded", "created": 1},
                        {"id": "re_new", "status": "succeeded", "created": 2},
                        {"id": "re_pending", "status": "pending", "created": 3},
                    ]
                },
            },
            WebhookNotice(
                event_id="evt_1",
                kind=WebhookKind.REFUND_SUCCEEDED,
                provider_reference="pi_1",
                refund_reference="re_new",
            ),
        ),
        (
            "charge.refunded",
            {"id": "ch_1", "object": "charge", "payment_intent": "pi_1"},
            WebhookNotice(
                event_id="evt_1", kind=WebhookKind.REFUND_SUCCEEDED, provider_reference="pi_1"
            ),
        ),
        (
            "customer.created",
            {"id": "cus_1", "object": "customer"},
            WebhookNotice(event_id="evt_1", kind=WebhookKind.IGNORED),
        ),
        (
            "payment_intent.created",
            INTENT,
            WebhookNotice(event_id="evt_1", kind=WebhookKind.IGNORED),
        ),
    ],
)
def test_event_kinds(event_type: str, obj: dict[str, Any], expected: WebhookNotice) -> None:
    assert notice_from_event(event(event_type, obj)) == expected


def test_an_event_without_data_is_ignored_not_rejected() -> None:
    assert notice_from_event({"id": "evt_2", "type": "payment_intent.succeeded"}) == WebhookNotice(
        event_id="evt_2", kind=WebhookKind.IGNORED
    )


def test_an_event_without_id_is_rejected() -> None:
    with pytest.raises(WebhookRejected) as raised:
        notice_from_event({"type": "payment_intent.succeeded", "data": {"object": INTENT}})

    assert raised.value.code == "invalid_payload"
