"""The hold page's card form (Stripe ``payment_intent`` mode) over HTTP, on localstripe.

The browser's part — Stripe.js confirming the PaymentIntent with the card — is played by
posting to our Stripe.js stand-in's server exactly what its ``confirmPayment`` posts; the
browser test (``tests/browser/test_keycloak_stripe.py``) runs the same page in Chromium.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.infra.stripe import StripeJs
from tests.integration.app_stripe.conftest import LiveApp, LiveAppFactory

pytestmark = pytest.mark.stripe

HTML = {"Accept": "text/html"}
FOLLOW: dict[str, Any] = {"headers": HTML, "follow_redirects": True}
DECLINED = "4000000000000341"  # localstripe declines it when charged
GOOD = "4242424242424242"


def _csrf(html: str) -> str:
    found = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


async def _signed_in_hold(live: LiveApp) -> str:
    """Alice signs in on the dev login and reserves 2 tickets on the event page: the hold's path."""
    olga = live.auth("olga", "organizer")
    event_id, type_id = await live.sale(olga, amount=2500)
    login = await live.client.get("/login", headers=HTML)
    signed_in = await live.client.post(
        "/login",
        data={"name": "alice", "email": "alice@example.org", "_csrf_token": _csrf(login.text)},
        **FOLLOW,
    )
    assert signed_in.status_code == 200, signed_in.text
    event = await live.client.get(f"/events/{event_id}", headers=HTML)
    held = await live.client.post(
        f"/events/{event_id}/reserve",
        data={f"qty-{type_id}": "2", "_csrf_token": _csrf(event.text)},
        **FOLLOW,
    )
    assert held.status_code == 200, held.text
    return held.url.path


async def _to_card_form(live: LiveApp, hold: str) -> httpx.Response:
    page = await live.client.get(hold, headers=HTML)
    card = await live.client.post(
        f"{hold}/pay",
        data={"holder": ["Ada", "Grace"], "_csrf_token": _csrf(page.text)},
        **FOLLOW,
    )
    assert card.status_code == 200, card.text
    assert card.url.path == f"{hold}/pay"
    return card


async def _pay_like_stripe_js(stripe_js: StripeJs, card_page: str, number: str) -> dict[str, Any]:
    secret = re.search(r'data-client-secret="([^"]+)"', card_page)
    key = re.search(r'data-stripe-key="([^"]+)"', card_page)
    assert secret is not None and key is not None
    intent = secret.group(1).split("_secret_")[0]
    base = stripe_js.script_url.removesuffix("/v3/")
    async with httpx.AsyncClient(timeout=10) as browser:
        answer = await browser.post(
            f"{base}/v1/payment_intents/{intent}/confirm",
            data={
                "key": key.group(1),
                "client_secret": secret.group(1),
                "payment_method_data[type]": "card",
                "payment_method_data[card][number]": number,
                "payment_method_data[card][exp_month]": "12",
                "payment_method_data[card][exp_year]": "34",
                "payment_method_data[card][cvc]": "123",
            },
        )
    result: dict[str, Any] = answer.json()
    return result


async def test_a_declined_card_says_so_and_a_second_card_pays(
    start_live_app: LiveAppFactory, stripe_js: StripeJs
) -> None:
    async with start_live_app(
        stripe_publishable_key=stripe_js.publishable_key, stripe_js_url=stripe_js.script_url
    ) as live:
        hold = await _signed_in_hold(live)
        card = await _to_card_form(live, hold)
        home = await live.client.get("/", headers=HTML)

        stand_in = stripe_js.script_url.removesuffix("/v3/")
        policy = card.headers["content-security-policy"]
        assert f"script-src 'self' {stand_in}" in policy and "unsafe-inline" not in policy
        assert f"connect-src 'self' {stand_in}" in policy
        assert stand_in not in home.headers["content-security-policy"]  # this page only
        assert f'<script src="{stripe_js.script_url}" defer>' in card.text

        declined = await _pay_like_stripe_js(stripe_js, card.text, DECLINED)
        assert declined["error"]["code"] == "card_declined"
        back = await live.client.get(f"{hold}?payment=success", **FOLLOW)
        assert back.status_code == 200
        assert "Your payment was declined" in back.text
        assert re.search(r"Pay €50\.00", back.text)  # and the buyer can try again

        second = await _to_card_form(live, hold)
        assert _client_secret(second.text) != _client_secret(card.text)  # a new payment
        paid = await _pay_like_stripe_js(stripe_js, second.text, GOOD)
        assert paid["status"] == "succeeded"
        order = await live.client.get(f"{hold}?payment=success", **FOLLOW)

    assert order.status_code == 200
    assert order.url.path.startswith("/orders/")
    assert "For Ada" in order.text and "For Grace" in order.text


async def test_without_a_publishable_key_the_page_says_cards_are_not_taken_here(
    live: LiveApp,
) -> None:
    hold = await _signed_in_hold(live)
    page = await live.client.get(hold, headers=HTML)

    answer = await live.client.post(f"{hold}/pay", data={"_csrf_token": _csrf(page.text)}, **FOLLOW)

    assert answer.status_code == 200
    assert "Paying on this page is not available" in answer.text
    card = await live.client.get(f"{hold}/pay", headers=HTML, follow_redirects=False)
    assert card.status_code == 303 and card.headers["location"] == hold


def _client_secret(html: str) -> str:
    found = re.search(r'data-client-secret="([^"]+)"', html)
    assert found is not None
    return found.group(1)
