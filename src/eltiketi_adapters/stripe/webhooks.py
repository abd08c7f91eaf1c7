"""Signed Stripe webhooks: verify first (the SDK's ``WebhookSignature``), then map the event.

Stripe signs ``"{t}.{raw body}"`` with HMAC-SHA256 and the endpoint secret and sends
``Stripe-Signature: t=<unix time>,v1=<hex>[,v1=<hex>…]`` (several ``v1`` during a secret
roll). A wrong secret, a forged or missing signature, an altered body and a timestamp older
than the tolerance are all rejected, before the body is even parsed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any, Final

import stripe

from eltiketi_adapters.stripe.mapping import failure_reason_from
from eltiketi_core.errors import WebhookRejected
from eltiketi_core.ports.payments import WebhookKind, WebhookNotice

log = logging.getLogger("eltiketi.adapters.stripe")

SIGNATURE_HEADER: Final = "Stripe-Signature"
INVALID_SIGNATURE: Final = "invalid_signature"
INVALID_PAYLOAD: Final = "invalid_payload"

HANDLED_EVENT_TYPES: Final = (
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
    "refund.created",
    "refund.updated",
    "refund.failed",
    "charge.refunded",
)
"""The events to enable on the Stripe webhook endpoint; any other type maps to IGNORED."""

_REFUND_OBJECT_EVENTS: Final = frozenset(
    {"refund.created", "refund.updated", "refund.failed", "charge.refund.updated"}
)


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name, case-insensitively, whatever kind of mapping the web framework gave."""
    value = headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()
    for key, candidate in headers.items():
        if key.lower() == wanted:
            return candidate
    return None


def verify_signature(
    body: bytes, headers: Mapping[str, str], *, secret: str, tolerance_seconds: int
) -> None:
    """Raise :class:`WebhookRejected` (``invalid_signature``) unless Stripe signed ``body``."""
    signature = header_value(headers, SIGNATURE_HEADER)
    try:
        stripe.WebhookSignature.verify_header(body, signature, secret, tolerance_seconds)
    except (stripe.SignatureVerificationError, UnicodeDecodeError) as error:
        reason = error.user_message if isinstance(error, stripe.StripeError) else "body not UTF-8"
        log.warning(
            "stripe webhook rejected",
            extra={"reason": reason, "has_signature": signature is not None},
        )
        raise WebhookRejected(INVALID_SIGNATURE, f"Stripe webhook rejected: {reason}") from error


def parse_webhook(
    body: bytes, headers: Mapping[str, str], *, secret: str, tolerance_seconds: int
) -> WebhookNotice:
    """Verify ``body`` and turn the Stripe event in it into a :class:`WebhookNotice`."""
    verify_signature(body, headers, secret=secret, tolerance_seconds=tolerance_seconds)
    try:
        event = json.loads(body)
    except ValueError as error:
        raise WebhookRejected(INVALID_PAYLOAD, "signed webhook body is not JSON") from error
    if not isinstance(event, dict):
        raise WebhookRejected(INVALID_PAYLOAD, "signed webhook body is not a JSON object")
    notice = notice_from_event(event)
    log.info(
        "stripe webhook verified",
        extra={
            "event_id": notice.event_id,
            "event_type": event.get("type"),
            "kind": notice.kind.value,
            "provider_reference": notice.provider_reference,
        },
    )
    return notice


def notice_from_event(event: Mapping[str, Any]) -> WebhookNotice:
    """Map a (verified) Stripe event; unknown or incomplete events become ``IGNORED``.

    Raises:
        WebhookRejected: ``invalid_payload`` when the event has no id (nothing to
            deduplicate on).
    """
    event_id = event.get("id")
    if not isinstance(event_id, str) or not event_id:
        raise WebhookRejected(INVALID_PAYLOAD, "Stripe event without an id")
    event_type = event.get("type")
    data = event.get("data")
    obj = data.get("object") if isinstance(data, Mapping) else None
    if not isinstance(event_type, str) or not isinstance(obj, Mapping):
        return WebhookNotice(event_id=event_id, kind=WebhookKind.IGNORED)
    object_id = obj.get("id") if isinstance(obj.get("id"), str) else None

    if event_type == "payment_intent.succeeded":
        return _notice(event_id, WebhookKind.PAYMENT_SUCCEEDED, object_id)
    if event_type == "payment_intent.payment_failed":
        reason = failure_reason_from(obj.get("last_payment_error")) or "payment_failed"
        return _notice(event_id, WebhookKind.PAYMENT_FAILED, object_id, failure_reason=reason)
    if event_type == "payment_intent.canceled":
        return _notice(event_id, WebhookKind.PAYMENT_EXPIRED, object_id)
    if event_type in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
        if obj.get("payment_status") == "paid":
            return _notice(event_id, WebhookKind.PAYMENT_SUCCEEDED, object_id)
        # Completed but unpaid: a delayed payment method; async_payment_* follows.
        return _notice(event_id, WebhookKind.IGNORED, object_id)
    if event_type == "checkout.session.async_payment_failed":
        return _notice(
            event_id, WebhookKind.PAYMENT_FAILED, object_id, failure_reason="async_payment_failed"
        )
    if event_type == "checkout.session.expired":
        return _notice(event_id, WebhookKind.PAYMENT_EXPIRED, object_id)
    if event_type in _REFUND_OBJECT_EVENTS:
        return _refund_notice(event_id, obj)
    if event_type == "charge.refunded":
        return _charge_refunded_notice(event_id, obj)
    return WebhookNotice(event_id=event_id, kind=WebhookKind.IGNORED)


def _notice(
    event_id: str,
    kind: WebhookKind,
    provider_reference: str | None,
    *,
    refund_reference: str | None = None,
    failure_reason: str | None = None,
) -> WebhookNotice:
    return WebhookNotice(
        event_id=event_id,
        kind=kind,
        provider_reference=provider_reference,
        refund_reference=refund_reference,
        failure_reason=failure_reason,
    )


def _string(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _refund_notice(event_id: str, refund: Mapping[str, Any]) -> WebhookNotice:
    """A Refund object: ``succeeded`` / ``failed``/``canceled`` are final, others IGNORED."""
    status = refund.get("status")
    if status == "succeeded":
        kind = WebhookKind.REFUND_SUCCEEDED
    elif status in ("failed", "canceled"):
        kind = WebhookKind.REFUND_FAILED
    else:
        kind = WebhookKind.IGNORED
    failure = None
    if kind is WebhookKind.REFUND_FAILED:
        failure = _string(refund.get("failure_reason")) or str(status)
    return _notice(
        event_id,
        kind,
        _string(refund.get("payment_intent")),
        refund_reference=_string(refund.get("id")),
        failure_reason=failure,
    )


def _charge_refunded_notice(event_id: str, charge: Mapping[str, Any]) -> WebhookNotice:
    """``charge.refunded``: the newest succeeded refund in the charge's list, when the API
    version still embeds it (newer versions do not: then ``refund.*`` events carry it)."""
    refunds = charge.get("refunds")
    listed = refunds.get("data") if isinstance(refunds, Mapping) else None
    refund_id = None
    if isinstance(listed, list):
        succeeded = [
            item
            for item in listed
            if isinstance(item, Mapping) and item.get("status") == "succeeded"
        ]
        if succeeded:
            newest = max(succeeded, key=lambda item: item.get("created") or 0)
            refund_id = _string(newest.get("id"))
    return _notice(
        event_id,
        WebhookKind.REFUND_SUCCEEDED,
        _string(charge.get("payment_intent")),
        refund_reference=refund_id,
    )
