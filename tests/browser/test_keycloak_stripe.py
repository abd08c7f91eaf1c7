"""The shop as production runs it, in Chromium: sign-in at the OIDC issuer (oidc-provider, the
real PKCE login form), PostgreSQL, and Stripe in ``payment_intent`` mode (localstripe) with
the card form of our Stripe.js stand-in on the hold page — the real Payment Element cannot
run here (it loads from js.stripe.com). A declined card says so and lets the buyer try
again, a good one ends on the order page; signing out ends the issuer's session too.

The card is typed and sent with the keyboard alone; the rest of a keyboard-only purchase
is ``test_shop_behaviour.test_the_whole_purchase_with_the_keyboard_alone``.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import asyncpg
import pytest

from tests.browser.conftest import PHONE, Shop, check_page, start_shop, stop_shop
from tests.browser.test_shop_behaviour import press_tab_until
from tests.infra.oidc import API_AUDIENCE, OidcServer
from tests.infra.requirement import require
from tests.infra.stripe import StripeJs, StripeServer
from tests.integration.sqlalchemy.database import (
    PG_HOST,
    PG_PORT,
    PG_USER,
    pg_url,
    postgres_reachable,
    unique_database_name,
)

pytestmark = [pytest.mark.e2e, pytest.mark.oidc, pytest.mark.stripe, pytest.mark.postgres]

T = TypeVar("T")
DECLINED = "4000000000000341"  # localstripe declines it when charged
GOOD = "4242424242424242"


def _run(work: Coroutine[Any, Any, T]) -> T:
    """Run ``work`` on an event loop of its own thread: Playwright's sync API owns this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, work).result()


async def _admin(statement: str) -> None:
    admin = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres")
    try:
        await admin.execute(statement)
    finally:
        await admin.close()


@contextlib.contextmanager
def postgres_database(purpose: str) -> Iterator[str]:
    problem = _run(postgres_reachable())
    if problem is not None:
        require("postgresql", problem)
    name = unique_database_name(purpose)
    _run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield pg_url(name)
    finally:
        _run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="module")
def sso_shop(
    tmp_path_factory: pytest.TempPathFactory,
    oidc_server: OidcServer,
    stripe_server: StripeServer,
    stripe_js: StripeJs,
) -> Iterator[Shop]:
    """``eltiketi serve --demo`` on PostgreSQL, signing in at oidc-provider, paying on localstripe."""
    with postgres_database("web_sso") as database_url:
        running = start_shop(
            tmp_path_factory.mktemp("sso"),
            ELTIKETI_DATABASE_URL=database_url,
            ELTIKETI_DATABASE_POOL_SIZE="4",
            ELTIKETI_OIDC_ISSUER=oidc_server.issuer,
            ELTIKETI_OIDC_AUDIENCE=API_AUDIENCE,
            ELTIKETI_OIDC_WEB_CLIENT_ID=oidc_server.shop_client_id,
            ELTIKETI_OIDC_WEB_CLIENT_SECRET=oidc_server.shop_client_secret,
            ELTIKETI_STRIPE_API_KEY=stripe_server.api_key,
            ELTIKETI_STRIPE_API_BASE=stripe_server.api_base,
            ELTIKETI_STRIPE_WEBHOOK_SECRET=f"whsec_{secrets.token_hex(8)}",
            ELTIKETI_STRIPE_PUBLISHABLE_KEY=stripe_js.publishable_key,
            ELTIKETI_STRIPE_JS_URL=stripe_js.script_url,
        )
        try:
            yield running
        finally:
            stop_shop(running)


def sign_in_at_the_issuer(page: Any, username: str) -> None:
    """The issuer's own login and consent pages (oidc-provider's, as Keycloak's would be)."""
    page.wait_for_selector("input[name=login]")
    page.fill("input[name=login]", username)
    page.fill("input[name=password]", "pass")
    page.locator("button[type=submit]").click()
    page.wait_for_load_state()
    consent = page.locator("form button[type=submit]")
    if "/interaction/" in page.url and consent.count():  # "Continue": share name and e-mail
        consent.first.click()


def pay_by_keyboard(page: Any, number: str) -> None:
    """Type the card into the card form and send it with the keyboard alone."""
    press_tab_until(page, "#stand-in-card-number")
    page.keyboard.type(number)
    press_tab_until(page, "#stand-in-card-expiry")
    page.keyboard.type("12 / 34")
    press_tab_until(page, "#stand-in-card-cvc")
    page.keyboard.type("123")
    press_tab_until(page, "#card-submit")
    page.keyboard.press("Enter")


def test_sign_in_at_the_issuer_pay_by_card_after_a_decline_and_sign_out(
    sso_shop: Shop, browser: Any
) -> None:
    context = browser.new_context(viewport=PHONE, locale="en-GB")
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        page.goto(sso_shop.url(f"/events/{sso_shop.demo_event_id}"))
        page.get_by_label("Number of tickets: Standing").select_option("2")
        page.get_by_role("button", name="Reserve").click()

        # the real login form at the issuer, then back to the same selection
        page.wait_for_url(re.compile(r"/realms/eltiketi/"))
        sign_in_at_the_issuer(page, "alice")
        page.wait_for_url(re.compile(rf"^{re.escape(sso_shop.base_url)}/events/"))
        assert page.get_by_text("Signed in as Alice Buyer").is_visible()
        assert page.get_by_label("Number of tickets: Standing").input_value() == "2"
        page.get_by_role("button", name="Reserve").click()

        # the hold: one name per ticket, prefilled with the buyer's; the contact from the token
        page.wait_for_url(re.compile(r"/bookings/[0-9a-f-]+$"))
        hold_url = page.url
        assert page.get_by_label("Ticket 1, Standing").input_value() == "Alice Buyer"
        assert page.get_by_label("E-mail address").input_value() == "alice@eltiketi.test"
        page.get_by_label("Ticket 2, Standing").fill("Bob Buyer")
        page.get_by_role("button", name="Pay €70.00").click()

        # the card form on our page (Stripe.js: the stand-in), its own CSP
        page.wait_for_url(re.compile(r"/bookings/[0-9a-f-]+/pay$"))
        assert page.get_by_label("Card number").is_visible()
        check_page(page, "20-card")
        pay_by_keyboard(page, DECLINED)
        page.wait_for_url(re.compile(r"\?payment=success$"))
        assert page.get_by_role("heading", name="Your payment was declined").is_visible()
        assert page.get_by_label("Ticket 2, Standing").input_value() == "Bob Buyer"  # kept
        check_page(page, "21-declined")

        # try again: a new payment, a good card, the order
        page.get_by_role("button", name="Pay €70.00").click()
        page.wait_for_url(re.compile(r"/pay$"))
        pay_by_keyboard(page, GOOD)
        page.wait_for_url(re.compile(r"/orders/[0-9a-f-]+$"))
        assert page.get_by_role("heading", name="You're going!").is_visible()
        assert page.locator(".qr").count() == 2
        holders = sorted(page.locator(".ticket .holder").all_inner_texts())
        assert holders == ["For Alice Buyer", "For Bob Buyer"]
        check_page(page, "22-order-named")
        page.goto(hold_url)  # the paid hold now leads to its order
        page.wait_for_url(re.compile(r"/orders/"))

        # sign out: here and at the issuer
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url(re.compile(r"/realms/eltiketi/"))
        page.get_by_role("button", name="Yes, sign me out").click()
        page.wait_for_url(sso_shop.url("/"))
        assert page.get_by_role("link", name="Sign in").is_visible()  # anonymous here
        page.get_by_role("link", name="Sign in").click()
        page.wait_for_url(re.compile(r"/realms/eltiketi/"))
        assert page.locator("input[name=password]").is_visible()  # the issuer asks again

        # coming back from the issuer without signing in is a sentence, not an error page
        page.goto(sso_shop.url("/login/callback?error=access_denied&state=gone"))
        assert page.get_by_role("heading", name="You are not signed in").is_visible()
        check_page(page, "23-login-cancelled")
    finally:
        context.close()
