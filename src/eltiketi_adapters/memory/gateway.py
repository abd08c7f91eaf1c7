"""A payment gateway with no money in it: payments wait until a test (or the embedded
pay page) approves or declines them.

Its payments live in this object. ``eltiketi_adapters.fakepay`` extends it with a file
that several processes share, for the embedded server.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import secrets
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from uuid import UUID

import msgspec

from eltiketi_core.domain.booking import Booking
from eltiketi_core.domain.money import Money
from eltiketi_core.domain.payment import Payment
from eltiketi_core.errors import Conflict, GatewayUnavailable, NotFound, WebhookRejected
from eltiketi_core.ports.payments import (
    GatewayPaymentStatus,
    PaymentSession,
    VerifiedPayment,
    WebhookKind,
    WebhookNotice,
)

#: The header carrying ``hex(HMAC-SHA256(secret, body))``; matched case-insensitively.
SIGNATURE_HEADER = "X-Fake-Signature"
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"

_REFUND_KINDS = frozenset({WebhookKind.REFUND_SUCCEEDED, WebhookKind.REFUND_FAILED})
_KINDS = {kind.value: kind for kind in WebhookKind}


class FakePayment(msgspec.Struct, kw_only=True):
    """The gateway's own record of one payment."""

    reference: str
    payment_id: UUID | None = None
    booking_id: UUID
    amount: Money
    status: GatewayPaymentStatus = GatewayPaymentStatus.PENDING
    failure_reason: str | None = None
    #: Refund reference → minor units. The reference is derived from the
    #: idempotency key, so a retried refund finds its first attempt here.
    refunds: dict[str, int] = msgspec.field(default_factory=dict)

    @property
    def refunded(self) -> int:
        """Minor units refunded so far."""
        return sum(self.refunds.values())


class _Webhook(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    type: str
    reference: str | None = None
    reason: str | None = None


class FakePaymentGateway:
    """A :class:`~eltiketi_core.ports.PaymentGateway` (provider ``"fake"``) that tests drive.

    * :meth:`start` answers a reference ``fake_pay_<hex>`` and a checkout URL
      ``{public_url}/dev/pay/{reference}`` (the embedded app serves that page);
      the payment stays ``pending`` until :meth:`approve` or :meth:`decline`.
    * :meth:`verify` reports the recorded status, booking id and amount, as a
      real gateway's server-side retrieval would.
    * :meth:`cancel` cancels a pending or declined payment; one that already succeeded
      stays succeeded, and the answer says so.
    * ``approve(reference, after_decline=True)`` pays a declined payment, as Stripe
      lets a buyer retry a PaymentIntent whose attempt failed.
    * :meth:`refund` moves money back once per idempotency key (the same key
      answers the same refund reference) and never more than was captured.
    * :meth:`parse_webhook` checks the ``X-Fake-Signature`` header (hex
      HMAC-SHA256 of the body with ``webhook_secret``) and reads a JSON body
      ``{"id", "type", "reference"}``; :meth:`signed_webhook` makes one.
    * :meth:`fail_next` makes the next calls fail as an unreachable provider.

    State lives in memory, guarded by a lock (safe from threads and tasks).
    :class:`~eltiketi_adapters.fakepay.SharedFakePaymentGateway` keeps it in a file
    instead, so it survives a restart and several processes share it.

    Args:
        public_url: base of the checkout URLs (no trailing slash needed).
        webhook_secret: the HMAC key of webhook signatures.
    """

    provider = "fake"

    def __init__(
        self,
        *,
        public_url: str = DEFAULT_PUBLIC_URL,
        webhook_secret: str | bytes = "fake-webhook-secret",
    ) -> None:
        self._public_url = public_url.rstrip("/")
        self._secret = (
            webhook_secret.encode() if isinstance(webhook_secret, str) else webhook_secret
        )
        self._lock = threading.RLock()
        self._payments: dict[str, FakePayment] = {}
        self._fail = 0
        self._fail_error: Exception | None = None
        #: References in the order :meth:`start` created them.
        self.started: list[str] = []
        #: References :meth:`cancel` moved to cancelled.
        self.cancelled: list[str] = []
        self._by_payment: dict[UUID, str] = {}

    def close(self) -> None:
        """Release what the gateway holds: nothing here; a shared gateway its file."""

    def __enter__(self) -> FakePaymentGateway:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the port ----------------------------------------------------------------------------

    async def start(
        self, payment: Payment, booking: Booking, *, expires_at: datetime
    ) -> PaymentSession:
        """Idempotent per ``payment.id``: a retried start answers the same reference."""
        with self._synced():
            self._maybe_fail()
            found = self._payments.get(self._by_payment.get(payment.id, ""))
            if found is None:
                found = FakePayment(
                    reference=f"fake_pay_{secrets.token_hex(12)}",
                    payment_id=payment.id,
                    booking_id=booking.id,
                    amount=payment.amount,
                )
                self._payments[found.reference] = found
                self._by_payment[payment.id] = found.reference
                self.started.append(found.reference)
                self._save(found)
            reference = found.reference
        return PaymentSession(
            provider_reference=reference,
            checkout_url=self.checkout_url(reference),
            client_secret=f"{reference}_secret",
        )

    async def verify(self, provider_reference: str) -> VerifiedPayment:
        with self._synced():
            self._maybe_fail()
            return self._verified(self._get(provider_reference))

    async def cancel(self, provider_reference: str) -> VerifiedPayment:
        with self._synced():
            self._maybe_fail()
            payment = self._get(provider_reference)
            # A declined payment can still be paid (see approve): cancel it too, as Stripe
            # cancels a PaymentIntent in requires_payment_method.
            if payment.status in (GatewayPaymentStatus.PENDING, GatewayPaymentStatus.FAILED):
                payment.status = GatewayPaymentStatus.CANCELLED
                self.cancelled.append(provider_reference)
                self._save(payment)
            return self._verified(payment)

    async def refund(self, provider_reference: str, amount: Money, *, idempotency_key: str) -> str:
        with self._synced():
            self._maybe_fail()
            payment = self._get(provider_reference)
            reference = f"fake_re_{hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]}"
            if reference in payment.refunds:
                return reference
            if payment.status is not GatewayPaymentStatus.SUCCEEDED:
                raise Conflict(
                    "payment_not_captured",
                    f"only a succeeded payment can be refunded (this one is {payment.status})",
                )
            if amount.currency != payment.amount.currency or amount.amount <= 0:
                raise Conflict("invalid_refund_amount", f"cannot refund {amount}")
            if payment.refunded + amount.amount > payment.amount.amount:
                raise Conflict(
                    "refund_exceeds_payment",
                    f"{payment.refunded} of {payment.amount.amount} already refunded",
                )
            payment.refunds[reference] = amount.amount
            self._save(payment)
            return reference

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> WebhookNotice:
        wanted = SIGNATURE_HEADER.lower()
        signature = next((v for k, v in headers.items() if k.lower() == wanted), "")
        if not signature or not hmac.compare_digest(signature, self._sign(body)):
            raise WebhookRejected("invalid_signature", "the webhook signature does not verify")
        try:
            hook = msgspec.json.decode(body, type=_Webhook)
        except msgspec.DecodeError as exc:
            raise WebhookRejected("invalid_payload", "the webhook body is not an event") from exc
        kind = _KINDS.get(hook.type, WebhookKind.IGNORED)
        if kind in _REFUND_KINDS:
            with self._synced():
                owner = next(
                    (p.reference for p in self._payments.values() if hook.reference in p.refunds),
                    None,
                )
            return WebhookNotice(
                event_id=hook.id,
                kind=kind,
                provider_reference=owner,
                refund_reference=hook.reference,
                failure_reason=hook.reason,
            )
        return WebhookNotice(
            event_id=hook.id,
            kind=kind,
            provider_reference=hook.reference,
            failure_reason=hook.reason,
        )

    # -- driving it from tests and the pay page ----------------------------------------------

    def approve(self, reference: str, *, after_decline: bool = False) -> None:
        """The buyer paid: the payment succeeds (it must still be pending).

        ``after_decline=True`` also pays a payment that was declined, as Stripe lets a
        buyer try another card on a PaymentIntent whose attempt failed (it stays
        ``requires_payment_method``, payable until it is cancelled). The core must
        therefore cancel a failed payment it no longer wants, not just forget it.
        """
        allowed = {GatewayPaymentStatus.PENDING}
        if after_decline:
            allowed.add(GatewayPaymentStatus.FAILED)
        self._decide(reference, GatewayPaymentStatus.SUCCEEDED, None, allowed=allowed)

    def decline(self, reference: str, reason: str = "card_declined") -> None:
        """The card was refused: the payment fails (it must still be pending)."""
        self._decide(reference, GatewayPaymentStatus.FAILED, reason)

    def fail_next(self, count: int = 1, *, error: Exception | None = None) -> None:
        """Make the next ``count`` calls of the port (start, verify, cancel, refund)
        raise ``error`` — by default :class:`GatewayUnavailable`, as an outage would."""
        if count < 0:
            raise ValueError("count cannot be negative")
        with self._lock:
            self._fail = count
            self._fail_error = error

    def signed_webhook(
        self,
        kind: WebhookKind | str,
        reference: str,
        *,
        event_id: str | None = None,
        reason: str | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        """The body and headers this gateway would POST to the webhook endpoint.

        ``reference`` is the payment reference, or the refund reference for the
        ``refund_*`` kinds. A fresh ``event_id`` is made unless given (give the
        same one twice to test a redelivery).
        """
        body = msgspec.json.encode(
            _Webhook(
                id=event_id or f"evt_{secrets.token_hex(12)}",
                type=WebhookKind(kind).value,
                reference=reference,
                reason=reason,
            )
        )
        return body, {SIGNATURE_HEADER: self._sign(body), "Content-Type": "application/json"}

    def checkout_url(self, reference: str) -> str:
        return f"{self._public_url}/dev/pay/{reference}"

    def payment(self, reference: str) -> FakePayment:
        """A copy of the gateway's record; unknown references raise ``NotFound``."""
        with self._synced():
            return copy.deepcopy(self._get(reference))

    @property
    def payments(self) -> dict[str, FakePayment]:
        """Copies of every record by reference, in the order they were started."""
        with self._synced():
            return copy.deepcopy(self._payments)

    def references_for(self, booking_id: UUID) -> list[str]:
        """Every reference started for ``booking_id``, oldest first."""
        with self._synced():
            return [p.reference for p in self._payments.values() if p.booking_id == booking_id]

    def refunded_amount(self, reference: str) -> int:
        """Minor units refunded from the payment so far."""
        with self._synced():
            return self._get(reference).refunded

    # -- internals ----------------------------------------------------------------------------

    def _decide(
        self,
        reference: str,
        status: GatewayPaymentStatus,
        reason: str | None,
        *,
        allowed: frozenset[GatewayPaymentStatus] | set[GatewayPaymentStatus] = frozenset(
            {GatewayPaymentStatus.PENDING}
        ),
    ) -> None:
        with self._synced():
            payment = self._get(reference)
            if payment.status not in allowed:
                raise Conflict("payment_decided", f"the payment is already {payment.status.value}")
            payment.status = status
            payment.failure_reason = reason
            self._save(payment)

    def _maybe_fail(self) -> None:
        if self._fail > 0:
            self._fail -= 1
            raise self._fail_error or GatewayUnavailable(
                "payment_provider_unavailable", "the fake gateway is down (test)"
            )

    def _get(self, reference: str) -> FakePayment:
        payment = self._payments.get(reference)
        if payment is None:
            raise NotFound("payment_not_found", f"no fake payment {reference!r}")
        return payment

    @staticmethod
    def _verified(payment: FakePayment) -> VerifiedPayment:
        return VerifiedPayment(
            provider_reference=payment.reference,
            status=payment.status,
            booking_id=payment.booking_id,
            amount=payment.amount,
            failure_reason=payment.failure_reason,
        )

    def _sign(self, body: bytes) -> str:
        return hmac.new(self._secret, body, hashlib.sha256).hexdigest()

    @contextmanager
    def _synced(self) -> Iterator[None]:
        """Hold the gateway's lock around a read or a change of the payments."""
        with self._lock:
            yield

    def _save(self, payment: FakePayment) -> None:
        """Hook: a change of ``payment`` was made (kept in memory: nothing more to do)."""
