"""Stripe ``checkout`` mode from the hold page: Pay goes to Stripe Checkout, and its return
URLs (``?payment=success|cancelled``) come back to the hold, which confirms the order.

localstripe has no Checkout Sessions, so the gateway talks to ``RecordingStripe``, our model
of Stripe's answers (see ``tests/integration/stripe/recording_stripe.py``); what is proven
is the pages' part: where Pay sends the buyer, what the return pages do, and the CSP.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

from dishka import Provider, Scope, provide

from eltiketi_adapters.stripe import StripeConfig, StripePaymentGateway
from eltiketi_app.settings import StripeMode
from eltiketi_core.ports.payments import PaymentGateway
from tests.api.test_web_hold import _hold_page
from tests.api.test_web_pages import HTML, csrf_of
from tests.integration.stripe.recording_stripe import RecordingStripe

PUBLIC_URL = "http://127.0.0.1:8000"


class RecordedCheckout(Provider):
    scope = Scope.APP

    def __init__(self, model: RecordingStripe) -> None:
        super().__init__()
        self._model = model

    @provide
    async def gateway(self) -> AsyncIterator[PaymentGateway]:
        config = StripeConfig(
            api_key="sk_test_recorded",
            webhook_secret="whsec_recorded",
            mode="checkout",
            public_url=PUBLIC_URL,
            max_network_retries=0,
        )
        async with StripePaymentGateway(config, http_client=self._model) as gateway:
            yield gateway


async def test_pay_goes_to_checkout_and_its_return_urls_end_on_the_order(start_app: Any) -> None:
    model = RecordingStripe()
    async with start_app(
        overrides=[RecordedCheckout(model)],
        stripe_api_key="sk_test_recorded",
        stripe_webhook_secret="whsec_recorded",
        stripe_mode=StripeMode.CHECKOUT,
        public_url=PUBLIC_URL,
    ) as api:
        hold, html = await _hold_page(api, quantity=1)
        paid = await api.client.post(
            f"{hold}/pay",
            data={"_csrf_token": csrf_of(html)},
            headers=HTML,
            follow_redirects=False,
        )
        checkout = paid.headers["location"]
        [session] = model.sessions.values()
        cancelled = await api.client.get(f"{hold}?payment=cancelled", headers=HTML)
        model.pay(session["id"])
        back = await api.client.get(f"{hold}?payment=success", headers=HTML, follow_redirects=False)
        order = await api.client.get(back.headers["location"], headers=HTML)

    assert paid.status_code == 303
    assert urlsplit(checkout).netloc == "checkout.stripe.com"
    policy = paid.headers["content-security-policy"]
    assert "form-action 'self' http://127.0.0.1:8000 https://checkout.stripe.com" in policy
    assert session["success_url"] == f"{PUBLIC_URL}{hold}?payment=success"
    assert session["cancel_url"] == f"{PUBLIC_URL}{hold}?payment=cancelled"
    assert cancelled.status_code == 200 and "Payment cancelled" in cancelled.text
    assert back.status_code == 303 and back.headers["location"].startswith("/orders/")
    assert "You&#39;re going!" in order.text or "You're going!" in order.text
