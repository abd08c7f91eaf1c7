"""Paying by card on the hold page: Stripe.js and its Payment Element (``payment_intent`` mode).

In ``checkout`` mode and with the embedded fake gateway the buyer pays on another page and
comes back; in ``payment_intent`` mode the card form is on our own page: the hold page
loads Stripe.js from ``ELTIKETI_STRIPE_JS_URL``, mounts the Payment Element with the
PaymentIntent's client secret, and confirms it in the browser, after which the page asks
the server to confirm the order (seed step 11) exactly as a return from Checkout does.

The card details go from the browser to Stripe only. The Content-Security-Policy of that
one page allows Stripe's origins (:meth:`CardPayments.policy_sources`); every other page
keeps ``script-src 'self'``.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from eltiketi_app.settings import Settings, StripeMode

STRIPE_JS_ORIGIN = "https://js.stripe.com"


@dataclass(frozen=True, slots=True)
class CardPayments:
    """Whether the hold page takes cards itself, with which key and script."""

    enabled: bool
    publishable_key: str = ""
    js_url: str = ""

    def policy_sources(self) -> dict[str, tuple[str, ...]]:
        """CSP sources the card page adds, by directive (Stripe's documented list for the
        real Stripe.js; the script's own origin for a stand-in)."""
        if not self.enabled:
            return {}
        parts = urlsplit(self.js_url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin != STRIPE_JS_ORIGIN:
            return {"script-src": (origin,), "frame-src": (origin,), "connect-src": (origin,)}
        return {
            "script-src": (STRIPE_JS_ORIGIN, "https://*.js.stripe.com"),
            "frame-src": (STRIPE_JS_ORIGIN, "https://*.js.stripe.com", "https://hooks.stripe.com"),
            "connect-src": ("https://api.stripe.com",),
            "img-src": ("https://*.stripe.com",),
        }


def card_payments(settings: Settings) -> CardPayments:
    """Cards on the hold page when Stripe is configured in ``payment_intent`` mode with a
    publishable key; otherwise the pages say that paying there is not available."""
    if (
        settings.stripe_api_key is None
        or settings.stripe_mode is not StripeMode.PAYMENT_INTENT
        or not settings.stripe_publishable_key
    ):
        return CardPayments(enabled=False)
    return CardPayments(
        enabled=True,
        publishable_key=settings.stripe_publishable_key,
        js_url=settings.stripe_js_url,
    )
