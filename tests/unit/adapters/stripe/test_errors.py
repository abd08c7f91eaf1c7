"""Every Stripe SDK exception becomes a domain error of the right family and a stable code."""

from __future__ import annotations

import pytest
import stripe

from eltiketi_adapters.stripe.errors import stripe_errors, translate
from eltiketi_core.errors import (
    Conflict,
    DomainError,
    GatewayUnavailable,
    NotFound,
    PaymentIncomplete,
)


@pytest.mark.parametrize(
    ("error", "family", "code"),
    [
        (stripe.APIConnectionError("connection reset"), GatewayUnavailable, "stripe_unavailable"),
        (stripe.APIError("boom", http_status=500), GatewayUnavailable, "stripe_unavailable"),
        (
            stripe.RateLimitError("slow down", http_status=429),
            GatewayUnavailable,
            "stripe_unavailable",
        ),
        (
            stripe.AuthenticationError("bad key", http_status=401),
            GatewayUnavailable,
            "stripe_misconfigured",
        ),
        (
            stripe.PermissionError("restricted key", http_status=403),
            GatewayUnavailable,
            "stripe_misconfigured",
        ),
        (
            stripe.CardError("Your card was declined.", "card", "card_declined", http_status=402),
            PaymentIncomplete,
            "card_declined",
        ),
        (
            stripe.InvalidRequestError(
                "No such payment_intent", "id", "resource_missing", http_status=404
            ),
            NotFound,
            "payment_not_found",
        ),
        (
            stripe.InvalidRequestError(
                "already refunded", None, "charge_already_refunded", http_status=400
            ),
            Conflict,
            "stripe_charge_already_refunded",
        ),
        (
            stripe.InvalidRequestError("Bad request", None, None, http_status=400),
            Conflict,
            "stripe_refused",
        ),
        (
            stripe.IdempotencyError(
                "Keys can only be used with the same parameters", http_status=400
            ),
            Conflict,
            "idempotency_key_reused",
        ),
        (stripe.StripeError("odd", http_status=503), GatewayUnavailable, "stripe_unavailable"),
    ],
)
def test_translation(error: stripe.StripeError, family: type[DomainError], code: str) -> None:
    translated = translate(error, "test")

    assert type(translated) is family
    assert translated.code == code


async def test_the_context_manager_raises_the_domain_error_chained() -> None:
    original = stripe.APIConnectionError("down")

    with pytest.raises(GatewayUnavailable) as raised:
        async with stripe_errors("retrieve", reference="pi_1"):
            raise original

    assert raised.value.__cause__ is original


async def test_other_exceptions_pass_through_untouched() -> None:
    with pytest.raises(KeyError):
        async with stripe_errors("retrieve"):
            raise KeyError("ours")
