"""Stripe's exceptions translated into domain errors, so no SDK exception leaves the adapter.

Callers (the refund executor, the payment and settlement use cases) decide by family:

* :class:`~eltiketi_core.errors.GatewayUnavailable` — Stripe could not be asked or failed on
  its side (network, timeout, 5xx, rate limit, bad API key). Safe to retry later with the same
  idempotency key.
* :class:`~eltiketi_core.errors.NotFound` (``payment_not_found``) — Stripe does not know the
  reference.
* :class:`~eltiketi_core.errors.PaymentIncomplete` — a card error (declined, expired …); the
  ``code`` is Stripe's (e.g. ``card_declined``).
* :class:`~eltiketi_core.errors.Conflict` — Stripe refused the request in the object's current
  state (already refunded, cannot cancel …) or the idempotency key was reused with other
  parameters. Retrying the same call will not help.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

import stripe

from eltiketi_core.errors import (
    Conflict,
    DomainError,
    GatewayUnavailable,
    NotFound,
    PaymentIncomplete,
)

log = logging.getLogger("eltiketi.adapters.stripe")

STRIPE_UNAVAILABLE = "stripe_unavailable"
STRIPE_MISCONFIGURED = "stripe_misconfigured"
PAYMENT_NOT_FOUND = "payment_not_found"
IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
STRIPE_REFUSED = "stripe_refused"


def translate(error: stripe.StripeError, operation: str) -> DomainError:
    """The domain error for ``error`` raised while doing ``operation`` (for logs and detail)."""
    status = error.http_status
    stripe_code = getattr(error, "code", None)
    message = error.user_message or str(error) or type(error).__name__
    detail = f"stripe {operation}: {message}"
    if isinstance(error, stripe.CardError):
        return PaymentIncomplete(stripe_code or "card_error", detail, stripe_code=stripe_code)
    if isinstance(error, stripe.IdempotencyError):
        return Conflict(IDEMPOTENCY_KEY_REUSED, detail)
    if isinstance(error, stripe.AuthenticationError | stripe.PermissionError):
        # Our key is wrong or lacks a permission: nothing the buyer did, an operator must act.
        return GatewayUnavailable(STRIPE_MISCONFIGURED, detail, http_status=status)
    if isinstance(error, stripe.APIConnectionError | stripe.RateLimitError | stripe.APIError):
        return GatewayUnavailable(STRIPE_UNAVAILABLE, detail, http_status=status)
    if status is not None and (status >= 500 or status in (408, 429)):
        return GatewayUnavailable(STRIPE_UNAVAILABLE, detail, http_status=status)
    if isinstance(error, stripe.InvalidRequestError):
        if status == 404 or stripe_code == "resource_missing":
            return NotFound(PAYMENT_NOT_FOUND, detail)
        code = f"stripe_{stripe_code}" if stripe_code else STRIPE_REFUSED
        return Conflict(code, detail, stripe_code=stripe_code, param=error.param)
    return GatewayUnavailable(STRIPE_UNAVAILABLE, detail, http_status=status)


@contextlib.asynccontextmanager
async def stripe_errors(operation: str, **context: str) -> AsyncIterator[None]:
    """Run a Stripe call; re-raise any ``stripe.StripeError`` as a domain error, logged."""
    try:
        yield
    except stripe.StripeError as error:
        domain_error = translate(error, operation)
        log.warning(
            "stripe call failed",
            extra={
                "operation": operation,
                "stripe_error": type(error).__name__,
                "stripe_code": getattr(error, "code", None),
                "http_status": error.http_status,
                "request_id": error.request_id,
                "error_code": domain_error.code,
                **context,
            },
        )
        raise domain_error from error
