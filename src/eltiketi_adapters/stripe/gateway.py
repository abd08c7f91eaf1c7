"""``StripePaymentGateway``: the payment-gateway port on Stripe's API, with the official SDK.

Every call is async (``StripeClient`` ``*_async`` methods over ``stripe.HTTPXClient``), every
SDK exception becomes a domain error (:mod:`eltiketi_adapters.stripe.errors`), and every
creating call carries a deterministic idempotency key.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

import stripe

from eltiketi_adapters.closing import ClosedOnExit
from eltiketi_adapters.stripe import mapping, webhooks
from eltiketi_adapters.stripe.config import StripeConfig
from eltiketi_adapters.stripe.errors import PAYMENT_NOT_FOUND, stripe_errors, translate
from eltiketi_adapters.system import SystemClock
from eltiketi_core.domain.booking import Booking
from eltiketi_core.domain.money import Money
from eltiketi_core.domain.payment import Payment
from eltiketi_core.errors import Conflict, NotFound, ValidationFailed
from eltiketi_core.ports.clock import Clock
from eltiketi_core.ports.payments import (
    GatewayPaymentStatus,
    PaymentSession,
    VerifiedPayment,
    WebhookNotice,
)

log = logging.getLogger("eltiketi.adapters.stripe")

PAYMENT_INTENT_PREFIX: Final = "pi_"
CHECKOUT_SESSION_PREFIX: Final = "cs_"


class StripePaymentGateway(ClosedOnExit):
    """Payments through Stripe: PaymentIntents (card form) or Checkout Sessions (hosted page).

    Both kinds of reference are understood by :meth:`verify`, :meth:`cancel` and
    :meth:`refund` whatever the configured mode, so switching ``mode`` does not strand
    payments started before the switch.

    Tie it to the app's lifespan: ``await gateway.aclose()`` (or ``async with``) closes the
    HTTP connection pool.

    Args:
        config: Keys, mode, URLs and timeouts.
        http_client: The SDK HTTP client to use; default ``stripe.HTTPXClient`` with
            ``config.timeout``. Tests pass a recording client here.
        clock: "Now" for the Checkout Session's expiry; default the system UTC clock.
    """

    provider: str = "stripe"

    def __init__(
        self,
        config: StripeConfig,
        *,
        http_client: stripe.HTTPClient | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._config = config
        self._clock: Clock = clock or SystemClock()
        self._http_client = http_client or stripe.HTTPXClient(timeout=config.timeout)
        self._client = stripe.StripeClient(
            config.api_key,
            base_addresses={"api": config.api_base} if config.api_base else None,
            http_client=self._http_client,
            max_network_retries=config.max_network_retries,
        )

    @property
    def config(self) -> StripeConfig:
        return self._config

    async def aclose(self) -> None:
        """Close the HTTP connection pool (call once, at shutdown)."""
        await self._http_client.close_async()  # type: ignore[no-untyped-call]  # SDK untyped

    # -- start -------------------------------------------------------------------------

    async def start(
        self, payment: Payment, booking: Booking, *, expires_at: datetime
    ) -> PaymentSession:
        """Create the PaymentIntent or Checkout Session for ``payment``.

        Idempotency key ``payment:{payment.id}``: a retried call returns the object the first
        call created. In ``checkout`` mode the Session's ``expires_at`` is at least Stripe's
        30-minute minimum; when the hold ends earlier, expire it with :meth:`cancel`.
        """
        key = mapping.idempotency_key_for(payment)
        context = {"payment_id": str(payment.id), "booking_id": str(booking.id)}
        if self._config.mode == "checkout":
            session_params = mapping.checkout_session_params(
                payment, booking, expires_at=expires_at, now=self._clock.now(), config=self._config
            )
            async with stripe_errors("create checkout session", **context):
                created = await self._client.v1.checkout.sessions.create_async(
                    session_params, {"idempotency_key": key}
                )
            session = created.to_dict()
            url = session.get("url")
            if not isinstance(url, str):
                raise Conflict("stripe_checkout_without_url", "Stripe returned no checkout URL")
            log.info(
                "stripe checkout session created", extra={**context, "reference": session["id"]}
            )
            return PaymentSession(provider_reference=str(session["id"]), checkout_url=url)

        intent_params = mapping.payment_intent_params(payment, booking, self._config)
        async with stripe_errors("create payment intent", **context):
            created_intent = await self._client.v1.payment_intents.create_async(
                intent_params, {"idempotency_key": key}
            )
        intent = created_intent.to_dict()
        log.info("stripe payment intent created", extra={**context, "reference": intent["id"]})
        return PaymentSession(
            provider_reference=str(intent["id"]),
            client_secret=intent.get("client_secret"),
        )

    # -- verify ------------------------------------------------------------------------

    async def verify(self, provider_reference: str) -> VerifiedPayment:
        """Ask Stripe for the payment's status, booking id (metadata) and amount."""
        if provider_reference.startswith(CHECKOUT_SESSION_PREFIX):
            return mapping.verified_from_checkout_session(
                await self._retrieve_session(provider_reference)
            )
        _require_intent_reference(provider_reference)
        return mapping.verified_from_payment_intent(await self._retrieve_intent(provider_reference))

    async def _retrieve_intent(self, reference: str) -> dict[str, Any]:
        async with stripe_errors("retrieve payment intent", reference=reference):
            intent = await self._client.v1.payment_intents.retrieve_async(reference)
        return intent.to_dict()

    async def _retrieve_session(self, reference: str) -> dict[str, Any]:
        async with stripe_errors("retrieve checkout session", reference=reference):
            session = await self._client.v1.checkout.sessions.retrieve_async(
                reference, {"expand": ["payment_intent"]}
            )
        return session.to_dict()

    # -- cancel ------------------------------------------------------------------------

    async def cancel(self, provider_reference: str) -> VerifiedPayment:
        """Cancel the PaymentIntent (or expire the Checkout Session).

        When Stripe refuses because the payment is no longer open, report its current state
        instead of failing: ``SUCCEEDED`` if the money already arrived (the caller then runs
        the payment-after-expiry path), ``CANCELLED`` if it already was, ``PENDING`` while
        Stripe is still processing it (its outcome arrives by webhook).
        """
        is_session = provider_reference.startswith(CHECKOUT_SESSION_PREFIX)
        if not is_session:
            _require_intent_reference(provider_reference)
        try:
            if is_session:
                expired = await self._client.v1.checkout.sessions.expire_async(provider_reference)
                result = mapping.verified_from_checkout_session(expired.to_dict())
            else:
                cancelled = await self._client.v1.payment_intents.cancel_async(provider_reference)
                result = mapping.verified_from_payment_intent(cancelled.to_dict())
        except stripe.InvalidRequestError as refused:
            if refused.http_status == 404 or refused.code == "resource_missing":
                raise translate(refused, "cancel") from refused
            current = await self.verify(provider_reference)
            log.info(
                "stripe refused to cancel; reporting the payment's state",
                extra={
                    "reference": provider_reference,
                    "status": current.status.value,
                    "stripe_code": refused.code,
                },
            )
            return current
        except stripe.StripeError as error:
            raise translate(error, "cancel") from error
        log.info(
            "stripe payment cancelled",
            extra={"reference": provider_reference, "status": result.status.value},
        )
        return result

    # -- refund ------------------------------------------------------------------------

    async def refund(self, provider_reference: str, amount: Money, *, idempotency_key: str) -> str:
        """Refund ``amount`` of the payment; returns Stripe's refund id (``re_…``).

        The payment is read first: it must have succeeded, in ``amount``'s currency, for at
        least ``amount`` — so a wrong row can never move another currency's money. The
        refund itself carries ``idempotency_key`` (``refund:{refund_id}``), so running it
        twice refunds once.

        Raises:
            GatewayUnavailable: Stripe unreachable or failing; retry later, same key.
            Conflict: the payment has not succeeded, Stripe refused (e.g.
                ``stripe_charge_already_refunded``) or the refund failed at once.
            ValidationFailed: currency or amount does not fit the payment.
            NotFound: Stripe does not know the reference.
        """
        if amount.amount <= 0:
            raise ValidationFailed("refund_amount_not_positive", "refund amount must be > 0")
        paid = await self._paid_intent(provider_reference)
        intent_id = str(paid["id"])
        paid_money = mapping.money_from(
            paid.get("amount_received") or paid.get("amount"), paid.get("currency")
        )
        if paid_money is None or paid_money.currency != amount.currency:
            raise ValidationFailed(
                "refund_currency_mismatch",
                f"payment {provider_reference} is in {paid_money and paid_money.currency}, "
                f"refund asks for {amount.currency}",
            )
        if amount.amount > paid_money.amount:
            raise ValidationFailed(
                "refund_amount_too_large",
                f"refund of {amount.amount} exceeds the {paid_money.amount} paid",
            )
        context = {"reference": provider_reference, "idempotency_key": idempotency_key}
        async with stripe_errors("create refund", **context):
            created = await self._client.v1.refunds.create_async(
                {
                    "payment_intent": intent_id,
                    "amount": amount.amount,
                    "metadata": {"idempotency_key": idempotency_key},
                },
                {"idempotency_key": idempotency_key},
            )
        refund = created.to_dict()
        status = refund.get("status")
        if status in ("failed", "canceled"):
            reason = refund.get("failure_reason") or status
            log.warning("stripe refund failed", extra={**context, "refund_reference": refund["id"]})
            raise Conflict("refund_failed", f"Stripe refund {refund['id']} {status}: {reason}")
        log.info(
            "stripe refund created",
            extra={**context, "refund_reference": refund["id"], "refund_status": status},
        )
        return str(refund["id"])

    async def _paid_intent(self, provider_reference: str) -> Mapping[str, Any]:
        """The succeeded PaymentIntent behind a ``pi_…`` or ``cs_…`` reference."""
        if provider_reference.startswith(CHECKOUT_SESSION_PREFIX):
            session = await self._retrieve_session(provider_reference)
            intent = session.get("payment_intent")
            if isinstance(intent, str):
                intent = await self._retrieve_intent(intent)
            if not isinstance(intent, Mapping):
                raise Conflict("payment_not_succeeded", "the checkout session has no payment")
        else:
            _require_intent_reference(provider_reference)
            intent = await self._retrieve_intent(provider_reference)
        if mapping.verified_from_payment_intent(intent).status is not (
            GatewayPaymentStatus.SUCCEEDED
        ):
            raise Conflict(
                "payment_not_succeeded",
                f"payment {provider_reference} is {intent.get('status')}; nothing to refund",
            )
        return intent

    # -- webhooks ----------------------------------------------------------------------

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> WebhookNotice:
        """Verify ``Stripe-Signature`` (secret + timestamp tolerance), then map the event.

        Raises:
            WebhookRejected: ``invalid_signature`` for a missing, forged or stale signature or
                an altered body; ``invalid_payload`` for a signed body that is not an event.
        """
        return webhooks.parse_webhook(
            body,
            headers,
            secret=self._config.webhook_secret,
            tolerance_seconds=self._config.webhook_tolerance_seconds,
        )


def _require_intent_reference(reference: str) -> None:
    if not reference.startswith(PAYMENT_INTENT_PREFIX):
        raise NotFound(
            PAYMENT_NOT_FOUND,
            f"{reference!r} is neither a PaymentIntent (pi_) nor a Checkout Session (cs_)",
        )
