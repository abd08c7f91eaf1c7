"""Settings of the Stripe gateway: explicit values, never read from the environment here.

The app reads ``ELTIKETI_STRIPE_*`` and ``ELTIKETI_PUBLIC_URL`` and builds a
:class:`StripeConfig`; tests build one directly.
"""

from __future__ import annotations

from typing import Literal

import msgspec

StripeMode = Literal["payment_intent", "checkout"]

DEFAULT_SUCCESS_PATH = "/bookings/{booking_id}?payment=success"
DEFAULT_CANCEL_PATH = "/bookings/{booking_id}?payment=cancelled"


class StripeConfig(msgspec.Struct, frozen=True, kw_only=True):
    """How to talk to Stripe and what to create there.

    Attributes:
        api_key: Secret key (``sk_live_…``/``sk_test_…``, or a restricted ``rk_…`` key
            allowed to write PaymentIntents, Checkout Sessions and Refunds).
        webhook_secret: The endpoint's signing secret (``whsec_…``); every webhook
            body is verified with it.
        mode: ``payment_intent`` gives the buyer a ``client_secret`` for a card form
            (Stripe.js / Payment Element); ``checkout`` gives a ``checkout_url`` to
            Stripe's hosted page.
        public_url: Base URL of the buyer-facing site (``ELTIKETI_PUBLIC_URL``); the
            Checkout return URLs are built from it.
        api_base: Another API address (localstripe in tests). ``None`` means Stripe.
        webhook_tolerance_seconds: Oldest acceptable ``Stripe-Signature`` timestamp,
            against replayed deliveries. Stripe's own default is 300.
        timeout: Seconds for one HTTP request to Stripe.
        max_network_retries: Retries of failed requests by the SDK; POSTs carry an
            idempotency key, so a retry never doubles a charge or a refund.
        allowed_payment_method_types: Restrict PaymentIntents and Sessions to these
            (e.g. ``("card",)``). ``None`` leaves it to Stripe's dynamic payment methods
            (the dashboard's settings), which is what Stripe recommends.
        product_name: The line's name on the hosted Checkout page.
        success_path: Path after ``public_url`` where Checkout returns after payment;
            ``{booking_id}`` is replaced. Stripe itself fills ``{CHECKOUT_SESSION_ID}``.
        cancel_path: Same, for a buyer who leaves the Checkout page.
    """

    api_key: str
    webhook_secret: str
    mode: StripeMode = "payment_intent"
    public_url: str = "http://127.0.0.1:8000"
    api_base: str | None = None
    webhook_tolerance_seconds: int = 300
    timeout: float = 30.0
    max_network_retries: int = 2
    allowed_payment_method_types: tuple[str, ...] | None = None
    product_name: str = "Tickets"
    success_path: str = DEFAULT_SUCCESS_PATH
    cancel_path: str = DEFAULT_CANCEL_PATH

    def __post_init__(self) -> None:
        if not self.api_key.strip():
            raise ValueError("StripeConfig.api_key is empty")
        if not self.webhook_secret.strip():
            raise ValueError("StripeConfig.webhook_secret is empty")
        if self.mode not in ("payment_intent", "checkout"):
            raise ValueError(
                f"StripeConfig.mode must be 'payment_intent' or 'checkout', got {self.mode!r}"
            )
        if not self.public_url.startswith(("http://", "https://")):
            raise ValueError(f"StripeConfig.public_url must be an http(s) URL: {self.public_url!r}")
        if self.webhook_tolerance_seconds <= 0:
            raise ValueError("StripeConfig.webhook_tolerance_seconds must be positive")
        if self.timeout <= 0:
            raise ValueError("StripeConfig.timeout must be positive")

    def return_url(self, path: str, booking_id: str) -> str:
        """``public_url`` + ``path`` with ``{booking_id}`` filled (no other placeholder touched)."""
        return self.public_url.rstrip("/") + path.replace("{booking_id}", booking_id)

    def __repr__(self) -> str:  # never print the secrets
        return (
            f"StripeConfig(mode={self.mode!r}, public_url={self.public_url!r}, "
            f"api_base={self.api_base!r}, api_key='***', webhook_secret='***')"
        )
