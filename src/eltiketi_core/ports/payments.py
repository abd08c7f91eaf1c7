"""The payment gateway: starts payments, verifies them server-side, refunds, cancels.

The core never trusts a client's word that it paid: confirmation asks the
gateway (:meth:`PaymentGateway.verify`) before any transaction opens, and
gateway calls never happen inside a database transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Protocol
from uuid import UUID

import msgspec

from eltiketi_core.domain.booking import Booking
from eltiketi_core.domain.money import Money
from eltiketi_core.domain.payment import Payment


class PaymentSession(msgspec.Struct, frozen=True, kw_only=True):
    """What the buyer needs to pay: a page to visit, or a secret for a card form."""

    provider_reference: str
    checkout_url: str | None = None
    client_secret: str | None = None


class GatewayPaymentStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class VerifiedPayment(msgspec.Struct, frozen=True, kw_only=True):
    """The gateway's own account of a payment, as retrieved server-side."""

    provider_reference: str
    status: GatewayPaymentStatus
    booking_id: UUID | None
    amount: Money | None
    failure_reason: str | None = None


class WebhookKind(StrEnum):
    PAYMENT_SUCCEEDED = "payment_succeeded"
    PAYMENT_FAILED = "payment_failed"
    PAYMENT_EXPIRED = "payment_expired"
    REFUND_SUCCEEDED = "refund_succeeded"
    REFUND_FAILED = "refund_failed"
    IGNORED = "ignored"


class WebhookNotice(msgspec.Struct, frozen=True, kw_only=True):
    """A verified gateway callback. ``event_id`` is unique per delivery source event."""

    event_id: str
    kind: WebhookKind
    provider_reference: str | None = None
    refund_reference: str | None = None
    failure_reason: str | None = None


class PaymentGateway(Protocol):
    provider: str

    async def start(
        self, payment: Payment, booking: Booking, *, expires_at: datetime
    ) -> PaymentSession:
        """Create the provider-side payment for ``payment`` (amount, currency, booking id).

        Uses ``payment:{payment.id}`` as idempotency key so a retried call creates one.
        """
        ...

    async def verify(self, provider_reference: str) -> VerifiedPayment:
        """Retrieve the payment from the provider: status, booking id, amount."""
        ...

    async def cancel(self, provider_reference: str) -> VerifiedPayment:
        """Cancel an open payment. If the money already arrived, say so instead."""
        ...

    async def refund(self, provider_reference: str, amount: Money, *, idempotency_key: str) -> str:
        """Give ``amount`` back; returns the provider's refund reference."""
        ...

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> WebhookNotice:
        """Verify the signature and timestamp; raise ``WebhookRejected`` if they fail."""
        ...
