"""A payment gateway with no money in it: payments wait until a test (or the embedded
pay page) approves or declines them."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from uuid import UUID

import msgspec

from eltiketi_core.domain.booking import Booking
from eltiketi_core.domain.money import Money
from eltiketi_core.domain.payment import Payment
from eltiketi_core.errors import Conflict, NotFound, WebhookRejected
from eltiketi_core.ports.payments import (
    GatewayPaymentStatus,
    PaymentSession,
    VerifiedPayment,
    WebhookKind,
    WebhookNotice,
)

SIGNATURE_HEADER = "x-fake-signature"


class FakePayment(msgspec.Struct, kw_only=True):
    reference: str
    booking_id: UUID
    amount: Money
    status: GatewayPaymentStatus = GatewayPaymentStatus.PENDING
    failure_reason: str | None = None
    refunds: dict[str, int] = msgspec.field(default_factory=dict)


class _Webhook(msgspec.Struct, frozen=True):
    id: str
    type: str
    reference: str


_KINDS = {kind.value: kind for kind in WebhookKind}


class FakePaymentGateway:
    """Implements ``PaymentGateway`` (provider ``fake``).

    ``approve``/``decline`` decide a payment; ``signed_webhook`` produces the
    callback a real provider would send; ``refund`` refunds once per
    idempotency key and never more than was paid. With ``state_file`` the
    state survives a restart (embedded mode).
    """

    provider = "fake"

    def __init__(
        self,
        *,
        public_url: str = "http://127.0.0.1:8000",
        webhook_secret: str = "fake-webhook-secret",
        state_file: Path | None = None,
    ) -> None:
        self._public_url = public_url.rstrip("/")
        self._secret = webhook_secret.encode()
        self._state_file = state_file
        self._lock = threading.Lock()
        self.payments: dict[str, FakePayment] = {}
        self.started: list[str] = []
        self.cancelled: list[str] = []
        if state_file is not None and state_file.exists():
            raw = json.loads(state_file.read_text())
            self.payments = {k: msgspec.convert(v, FakePayment) for k, v in raw.items()}

    # -- the port ------------------------------------------------------------------

    async def start(
        self, payment: Payment, booking: Booking, *, expires_at: datetime
    ) -> PaymentSession:
        reference = f"fake_pay_{secrets.token_hex(8)}"
        with self._lock:
            self.payments[reference] = FakePayment(
                reference=reference, booking_id=booking.id, amount=payment.amount
            )
            self.started.append(reference)
            self._save()
        return PaymentSession(
            provider_reference=reference,
            checkout_url=f"{self._public_url}/dev/pay/{reference}",
            client_secret=f"{reference}_secret",
        )

    async def verify(self, provider_reference: str) -> VerifiedPayment:
        payment = self._get(provider_reference)
        return VerifiedPayment(
            provider_reference=payment.reference,
            status=payment.status,
            booking_id=payment.booking_id,
            amount=payment.amount,
            failure_reason=payment.failure_reason,
        )

    async def cancel(self, provider_reference: str) -> VerifiedPayment:
        with self._lock:
            payment = self._get(provider_reference)
            if payment.status is GatewayPaymentStatus.PENDING:
                payment.status = GatewayPaymentStatus.CANCELLED
                self.cancelled.append(provider_reference)
                self._save()
        return await self.verify(provider_reference)

    async def refund(self, provider_reference: str, amount: Money, *, idempotency_key: str) -> str:
        with self._lock:
            payment = self._get(provider_reference)
            refund_id = f"fake_re_{hashlib.sha256(idempotency_key.encode()).hexdigest()[:16]}"
            if refund_id in payment.refunds:
                return refund_id
            if payment.status is not GatewayPaymentStatus.SUCCEEDED:
                raise Conflict("payment_not_succeeded", "only a paid payment can be refunded")
            if amount.currency != payment.amount.currency:
                raise Conflict("refund_currency_mismatch", "refund in another currency")
            if sum(payment.refunds.values()) + amount.amount > payment.amount.amount:
                raise Conflict("refund_amount_too_large", "refunds would exceed the payment")
            payment.refunds[refund_id] = amount.amount
            self._save()
        return refund_id

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> WebhookNotice:
        lowered = {k.lower(): v for k, v in headers.items()}
        signature = lowered.get(SIGNATURE_HEADER, "")
        if not hmac.compare_digest(signature, self._sign(body)):
            raise WebhookRejected("invalid_signature", "the webhook signature does not verify")
        try:
            hook = msgspec.json.decode(body, type=_Webhook)
        except msgspec.DecodeError as exc:
            raise WebhookRejected("invalid_payload", "the webhook body is not an event") from exc
        return WebhookNotice(
            event_id=hook.id,
            kind=_KINDS.get(hook.type, WebhookKind.IGNORED),
            provider_reference=hook.reference,
        )

    # -- driving it from tests and the pay page ------------------------------------

    def approve(self, reference: str) -> None:
        self._decide(reference, GatewayPaymentStatus.SUCCEEDED, None)

    def decline(self, reference: str, reason: str = "card_declined") -> None:
        self._decide(reference, GatewayPaymentStatus.FAILED, reason)

    def payment(self, reference: str) -> FakePayment:
        return self._get(reference)

    def refunded_amount(self, reference: str) -> int:
        return sum(self._get(reference).refunds.values())

    def signed_webhook(
        self, kind: WebhookKind, reference: str, *, event_id: str | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """The body and headers the gateway would POST for ``kind``."""
        body = msgspec.json.encode(
            _Webhook(
                id=event_id or f"evt_{secrets.token_hex(8)}", type=kind.value, reference=reference
            )
        )
        return body, {SIGNATURE_HEADER: self._sign(body), "content-type": "application/json"}

    def _decide(self, reference: str, status: GatewayPaymentStatus, reason: str | None) -> None:
        with self._lock:
            payment = self._get(reference)
            if payment.status is not GatewayPaymentStatus.PENDING:
                raise Conflict("payment_decided", f"the payment is already {payment.status.value}")
            payment.status = status
            payment.failure_reason = reason
            self._save()

    def _get(self, reference: str) -> FakePayment:
        payment = self.payments.get(reference)
        if payment is None:
            raise NotFound("payment_not_found", f"no fake payment {reference!r}")
        return payment

    def _sign(self, body: bytes) -> str:
        return hmac.new(self._secret, body, hashlib.sha256).hexdigest()

    def _save(self) -> None:
        if self._state_file is None:
            return
        data = msgspec.json.encode(self.payments)
        tmp = self._state_file.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(self._state_file)
