"""FakePaymentGateway: the payment lifecycle a test drives, refunds, webhooks, persistence."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
from datetime import UTC, datetime
from uuid import uuid4

import msgspec
import pytest

from eltiketi_adapters.memory import SIGNATURE_HEADER, FakePaymentGateway
from eltiketi_core.domain.booking import Booking, BookingItem, BookingStatus, Contact
from eltiketi_core.domain.money import Money
from eltiketi_core.domain.payment import Payment, PaymentStatus
from eltiketi_core.errors import Conflict, GatewayUnavailable, NotFound, WebhookRejected
from eltiketi_core.ports.payments import GatewayPaymentStatus, PaymentGateway, WebhookKind

NOW = datetime(2030, 1, 1, tzinfo=UTC)
TOTAL = Money(9000, "EUR")


def booking() -> Booking:
    return Booking(
        id=uuid4(),
        event_id=uuid4(),
        buyer="alice",
        contact=Contact(email="alice@example.org"),
        items=(BookingItem(ticket_type_id=uuid4(), quantity=2, unit_price=Money(4500, "EUR")),),
        total=TOTAL,
        status=BookingStatus.HELD,
        created_at=NOW,
        expires_at=NOW,
    )


def payment_for(held: Booking) -> Payment:
    return Payment(
        id=uuid4(),
        booking_id=held.id,
        buyer=held.buyer,
        provider="fake",
        amount=held.total,
        status=PaymentStatus.OPEN,
        created_at=NOW,
    )


async def started(gateway: FakePaymentGateway) -> tuple[str, Booking]:
    held = booking()
    session = await gateway.start(payment_for(held), held, expires_at=NOW)
    return session.provider_reference, held


def test_it_is_a_payment_gateway() -> None:
    gateway: PaymentGateway = FakePaymentGateway()
    assert gateway.provider == "fake"


async def test_start_gives_a_reference_and_a_local_checkout_page() -> None:
    gateway = FakePaymentGateway(public_url="http://localhost:9000/")
    held = booking()
    session = await gateway.start(payment_for(held), held, expires_at=NOW)
    assert session.provider_reference.startswith("fake_pay_")
    assert session.checkout_url == f"http://localhost:9000/dev/pay/{session.provider_reference}"
    assert FakePaymentGateway().checkout_url("r") == "http://127.0.0.1:8000/dev/pay/r"


async def test_start_is_idempotent_per_payment() -> None:
    gateway = FakePaymentGateway()
    held = booking()
    payment = payment_for(held)
    first = await gateway.start(payment, held, expires_at=NOW)
    again = await gateway.start(payment, held, expires_at=NOW)
    other = await gateway.start(payment_for(held), held, expires_at=NOW)
    assert again.provider_reference == first.provider_reference
    assert other.provider_reference != first.provider_reference
    assert gateway.references_for(held.id) == [first.provider_reference, other.provider_reference]


async def test_a_payment_stays_pending_until_approved() -> None:
    gateway = FakePaymentGateway()
    reference, held = await started(gateway)
    pending = await gateway.verify(reference)
    assert pending.status is GatewayPaymentStatus.PENDING
    gateway.approve(reference)
    paid = await gateway.verify(reference)
    assert paid.status is GatewayPaymentStatus.SUCCEEDED
    assert paid.booking_id == held.id
    assert paid.amount == TOTAL
    assert paid.provider_reference == reference


async def test_decline_records_the_reason_and_a_decided_payment_stays_decided() -> None:
    gateway = FakePaymentGateway()
    reference, _ = await started(gateway)
    gateway.decline(reference, "insufficient_funds")
    failed = await gateway.verify(reference)
    assert failed.status is GatewayPaymentStatus.FAILED
    assert failed.failure_reason == "insufficient_funds"
    with pytest.raises(Conflict):
        gateway.approve(reference)


async def test_unknown_references_are_not_found() -> None:
    gateway = FakePaymentGateway()
    with pytest.raises(NotFound):
        await gateway.verify("fake_pay_nope")
    with pytest.raises(NotFound):
        gateway.approve("fake_pay_nope")


async def test_cancel_cancels_pending_but_reports_money_that_arrived() -> None:
    gateway = FakePaymentGateway()
    pending, _ = await started(gateway)
    paid, _ = await started(gateway)
    gateway.approve(paid)
    assert (await gateway.cancel(pending)).status is GatewayPaymentStatus.CANCELLED
    assert (await gateway.cancel(paid)).status is GatewayPaymentStatus.SUCCEEDED
    assert gateway.cancelled == [pending]
    with pytest.raises(Conflict):
        gateway.approve(pending)  # too late: the buyer cannot pay a cancelled payment


async def test_refund_once_per_key_and_never_more_than_captured() -> None:
    gateway = FakePaymentGateway()
    reference, _ = await started(gateway)
    gateway.approve(reference)
    first = await gateway.refund(reference, Money(6000, "EUR"), idempotency_key="refund:1")
    again = await gateway.refund(reference, Money(6000, "EUR"), idempotency_key="refund:1")
    assert again == first
    assert first.startswith("fake_re_")
    assert gateway.refunded_amount(reference) == 6000
    with pytest.raises(Conflict):
        await gateway.refund(reference, Money(3001, "EUR"), idempotency_key="refund:2")
    rest = await gateway.refund(reference, Money(3000, "EUR"), idempotency_key="refund:2")
    assert rest != first
    assert gateway.refunded_amount(reference) == 9000


async def test_refunds_need_captured_money_in_its_currency() -> None:
    gateway = FakePaymentGateway()
    reference, _ = await started(gateway)
    with pytest.raises(Conflict):
        await gateway.refund(reference, TOTAL, idempotency_key="refund:early")
    gateway.approve(reference)
    with pytest.raises(Conflict):
        await gateway.refund(reference, Money(100, "USD"), idempotency_key="refund:usd")
    assert gateway.refunded_amount(reference) == 0


async def test_concurrent_refunds_with_one_key_refund_once() -> None:
    gateway = FakePaymentGateway()
    reference, _ = await started(gateway)
    gateway.approve(reference)
    results = await asyncio.gather(
        *(gateway.refund(reference, TOTAL, idempotency_key="refund:same") for _ in range(20))
    )
    assert len(set(results)) == 1
    assert gateway.refunded_amount(reference) == 9000


def test_decisions_from_threads_are_safe() -> None:
    gateway = FakePaymentGateway()
    reference, _ = asyncio.run(started(gateway))
    outcomes: list[str] = []

    def decide() -> None:
        try:
            gateway.approve(reference)
            outcomes.append("approved")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=decide) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("approved") == 1


async def test_signed_webhooks_parse_back() -> None:
    gateway = FakePaymentGateway(webhook_secret="s3cret")
    reference, _ = await started(gateway)
    body, headers = gateway.signed_webhook(WebhookKind.PAYMENT_SUCCEEDED, reference, event_id="e1")
    assert json.loads(body) == {
        "id": "e1",
        "type": "payment_succeeded",
        "reference": reference,
        "reason": None,
    }
    notice = gateway.parse_webhook(body, {k.lower(): v for k, v in headers.items()})
    assert notice.event_id == "e1"
    assert notice.kind is WebhookKind.PAYMENT_SUCCEEDED
    assert notice.provider_reference == reference
    failed_body, failed_headers = gateway.signed_webhook(
        "payment_failed", reference, reason="card_declined"
    )
    failed = gateway.parse_webhook(failed_body, failed_headers)
    assert failed.kind is WebhookKind.PAYMENT_FAILED
    assert failed.failure_reason == "card_declined"
    assert failed.event_id != notice.event_id


async def test_refund_webhooks_name_the_refund_and_its_payment() -> None:
    gateway = FakePaymentGateway()
    reference, _ = await started(gateway)
    gateway.approve(reference)
    refund = await gateway.refund(reference, TOTAL, idempotency_key="refund:x")
    notice = gateway.parse_webhook(*gateway.signed_webhook(WebhookKind.REFUND_SUCCEEDED, refund))
    assert notice.refund_reference == refund
    assert notice.provider_reference == reference


def sign(secret: str, body: bytes) -> str:
    """The documented signature: hex HMAC-SHA256 of the body."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_a_body_signed_as_documented_verifies_and_unknown_types_are_ignored() -> None:
    gateway = FakePaymentGateway(webhook_secret="k")
    body = msgspec.json.encode({"id": "e9", "type": "customer.created", "reference": None})
    notice = gateway.parse_webhook(body, {"x-fake-signature": sign("k", body)})
    assert notice.kind is WebhookKind.IGNORED
    assert notice.event_id == "e9"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda body, headers: (body + b" ", headers),
        lambda body, headers: (body, {}),
        lambda body, headers: (body, {SIGNATURE_HEADER: "0" * 64}),
        lambda body, headers: (body, {SIGNATURE_HEADER: sign("other", body)}),
    ],
    ids=["body changed", "no signature", "wrong signature", "other secret"],
)
def test_webhooks_that_do_not_verify_are_rejected(tamper: object) -> None:
    gateway = FakePaymentGateway()
    body, headers = gateway.signed_webhook(WebhookKind.PAYMENT_SUCCEEDED, "fake_pay_1")
    bad_body, bad_headers = tamper(body, headers)  # type: ignore[operator]
    with pytest.raises(WebhookRejected):
        gateway.parse_webhook(bad_body, bad_headers)


def test_a_signed_body_that_is_not_an_event_is_rejected() -> None:
    gateway = FakePaymentGateway(webhook_secret="k")
    body = b"not json"
    with pytest.raises(WebhookRejected):
        gateway.parse_webhook(body, {SIGNATURE_HEADER: sign("k", body)})


async def test_fail_next_simulates_an_outage() -> None:
    gateway = FakePaymentGateway()
    reference, _ = await started(gateway)
    gateway.fail_next(2)
    with pytest.raises(GatewayUnavailable):
        await gateway.verify(reference)
    with pytest.raises(GatewayUnavailable):
        await gateway.cancel(reference)
    assert (await gateway.verify(reference)).status is GatewayPaymentStatus.PENDING
    gateway.fail_next(error=TimeoutError("slow provider"))
    with pytest.raises(TimeoutError):
        await gateway.verify(reference)


async def test_records_handed_out_are_copies() -> None:
    gateway = FakePaymentGateway()
    reference, _ = await started(gateway)
    gateway.payment(reference).status = GatewayPaymentStatus.SUCCEEDED
    gateway.payments[reference].status = GatewayPaymentStatus.SUCCEEDED
    assert (await gateway.verify(reference)).status is GatewayPaymentStatus.PENDING


async def test_a_declined_payment_can_be_paid_later_until_it_is_cancelled() -> None:
    # Stripe: a PaymentIntent whose attempt was declined stays requires_payment_method,
    # and the buyer may confirm it again with another card.
    gateway = FakePaymentGateway()
    retried, _ = await started(gateway)
    retired, _ = await started(gateway)
    for reference in (retried, retired):
        gateway.decline(reference)
    gateway.approve(retried, after_decline=True)
    assert (await gateway.verify(retried)).status is GatewayPaymentStatus.SUCCEEDED
    assert (await gateway.verify(retried)).failure_reason is None

    assert (await gateway.cancel(retired)).status is GatewayPaymentStatus.CANCELLED
    assert gateway.cancelled == [retired]
    with pytest.raises(Conflict):
        gateway.approve(retired, after_decline=True)
