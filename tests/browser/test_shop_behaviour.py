"""What buyers meet besides the happy path: a race for the last ticket, an expired hold,
the Dutch shop, and a purchase with the keyboard alone."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import PHONE, Shop, check_page, log_in, start_shop, stop_shop

pytestmark = pytest.mark.e2e


def signed_in_page(browser: Any, shop: Shop, name: str, **options: Any) -> Any:
    context = browser.new_context(viewport=PHONE, **{"locale": "en-GB", **options})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(shop.url("/login?next=/"))
    log_in(page, name)
    page.wait_for_url(shop.url("/"))
    return page


def test_two_buyers_race_for_the_last_ticket(shop: Shop, browser: Any) -> None:
    event_id, type_id = shop.event_with_one_ticket("Last Seat Sessions")
    first = signed_in_page(browser, shop, "first")
    second = signed_in_page(browser, shop, "second")
    try:
        for page in (first, second):
            page.goto(shop.url(f"/events/{event_id}"))
            page.get_by_label("Number of tickets: Last seat").select_option("1")
        first.get_by_role("button", name="Reserve").click()
        second.get_by_role("button", name="Reserve").click()
        first.wait_for_url(re.compile(r"/bookings/"))
        second.wait_for_load_state()

        assert second.get_by_role("heading", name="Sold out").first.is_visible()
        assert "not enough tickets left" in second.locator(".notice.bad").first.inner_text()
        check_page(second, "10-sold-out")
        first.get_by_role("button", name="Pay €20.00").click()
        first.get_by_role("button", name=re.compile("^Pay ")).click()
        first.wait_for_url(re.compile(r"/orders/"))
        second.goto(shop.url(f"/events/{event_id}"))
        assert second.locator(f"#left-{type_id}").inner_text() == "Sold out"
        olga = shop.token("olga", "organizer")
        stock = shop.api("GET", f"/v1/events/{event_id}/stock", olga).json()
        assert [(t["held"] + t["sold"]) for t in stock["ticket_types"]] == [1]
    finally:
        first.context.close()
        second.context.close()


@pytest.fixture
def quick_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    running = start_shop(tmp_path_factory.mktemp("quick"), ELTIKETI_HOLD_TTL_SECONDS="5")
    try:
        yield running
    finally:
        stop_shop(running)


def test_an_expired_hold_says_so_and_the_stock_is_back(quick_shop: Shop, browser: Any) -> None:
    page = signed_in_page(browser, quick_shop, "slow")
    try:
        page.goto(quick_shop.url(f"/events/{quick_shop.demo_event_id}"))
        standing = page.locator(".type", has_text="Standing").locator(".left")
        assert standing.inner_text() == "200 left"
        page.get_by_label("Number of tickets: Standing").select_option("3")
        page.get_by_role("button", name="Reserve").click()
        page.wait_for_url(re.compile(r"/bookings/"))
        assert page.get_by_role("heading", name="Your tickets are held").is_visible()

        # the countdown reaches zero and the page reloads by itself
        page.get_by_role("heading", name="Your reservation expired").wait_for(timeout=15_000)
        assert "went back on sale" in page.locator(".notice").first.inner_text()
        check_page(page, "11-expired")
        page.get_by_role("link", name="Try again").click()
        assert page.get_by_label("Number of tickets: Standing").input_value() == "3"
        page.locator(".type", has_text="Standing").get_by_text("200 left").wait_for()
    finally:
        page.context.close()


def test_the_dutch_shop_speaks_dutch_with_dutch_dates(shop: Shop, browser: Any) -> None:
    context = browser.new_context(viewport=PHONE, locale="nl-NL")
    try:
        page = context.new_page()
        page.goto(shop.url("/"))
        assert page.get_by_role("heading", name="Binnenkort").is_visible()
        date = page.locator(".date-chip").first.inner_text()
        assert re.match(
            r"(maandag|dinsdag|woensdag|donderdag|vrijdag|zaterdag|zondag) \d{1,2} "
            r"(januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|"
            r"november|december) \d{4} · \d{2}:\d{2}$",
            date,
        ), date
        assert page.locator("html").get_attribute("lang") == "nl-NL"
        check_page(page, "12-home-nl")
        page.goto(shop.url(f"/events/{shop.demo_event_id}"))
        assert page.get_by_role("button", name="Reserveren").is_visible()
        assert "€ 35,00" in page.locator(".type").first.inner_text().replace("\xa0", " ")
        check_page(page, "13-event-nl")
        page.get_by_role("button", name="English").click()
        assert page.get_by_role("button", name="Reserve").is_visible()
    finally:
        context.close()


def press_tab_until(page: Any, selector: str, limit: int = 40) -> None:
    """Tab through the page until the element matching ``selector`` has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_the_whole_purchase_with_the_keyboard_alone(shop: Shop, browser: Any) -> None:
    context = browser.new_context(viewport=PHONE, locale="en-GB")
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        page.goto(shop.url("/"))
        press_tab_until(page, ".event-card h2 a")
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"^http://[^/]+/events/"))
        press_tab_until(page, "select[name^='qty-']")
        page.keyboard.press("ArrowDown")  # one Standing ticket
        press_tab_until(page, "form[action$='/reserve'] button[type=submit]")
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/login"))
        press_tab_until(page, "#name")
        page.keyboard.type("kees")
        press_tab_until(page, "#email")
        page.keyboard.type("kees@example.org")
        press_tab_until(page, "form[action='/login'] button[type=submit]")
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"^http://[^/]+/events/"))
        press_tab_until(page, "form[action$='/reserve'] button[type=submit]")
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/bookings/"))
        press_tab_until(page, "form[action$='/pay'] button")
        focus_ring = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert focus_ring == "solid"  # the focus is visible
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/dev/pay/"))
        press_tab_until(page, "button[value=pay]")
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/orders/"))
        assert page.locator(".qr").count() == 1
    finally:
        context.close()
