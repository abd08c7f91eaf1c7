"""Stripe adapter: the payment-gateway port on the official ``stripe`` SDK (extra ``[stripe]``).

``StripePaymentGateway(StripeConfig(...))`` starts PaymentIntents or Checkout Sessions,
verifies payments server-side, cancels, refunds and verifies signed webhooks. See
``docs/stripe.md`` for the dashboard setup.
"""

from eltiketi_adapters.stripe.config import StripeConfig, StripeMode
from eltiketi_adapters.stripe.gateway import StripePaymentGateway
from eltiketi_adapters.stripe.webhooks import HANDLED_EVENT_TYPES

__all__ = ["HANDLED_EVENT_TYPES", "StripeConfig", "StripeMode", "StripePaymentGateway"]
