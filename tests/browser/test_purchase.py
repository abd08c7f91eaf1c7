"""The whole purchase in a real browser, embedded mode: from ``/`` to a ticket checked in
at the door, and the e-mail's link opening the tickets on a phone without a login."""

from __future__ import annotations

import email
import io
import re
from email import policy
from typing import Any

import pytest

from tests.browser.conftest import Shop, check_page, log_in

pytestmark = pytest.mark.e2e


def qr_tokens(page: Any) -> list[str]:
    """Decode every QR code on the page from a screenshot of its SVG (zxing-cpp)."""
    import zxingcpp
    from PIL import Image

    tokens = []
    for code in page.locator(".qr").all():
        image = Image.open(io.BytesIO(code.screenshot()))
        results = zxingcpp.read_barcodes(image)
        assert len(results) == 1, "one readable QR code per ticket"
        tokens.append(results[0].text)
    return tokens


def test_a_buyer_buys_two_tickets_and_gets_in(shop: Shop, context: Any, browser: Any) -> None:
    page = context.new_page()
    page.goto(shop.url("/"))
    check_page(page, "01-home")
    page.get_by_role("link", name="elTiketi Demo Night").click()
    check_page(page, "02-event")
    page.get_by_label("Number of tickets: Standing").select_option("2")
    page.get_by_role("button", name="Reserve").click()

    # not signed in: the dev login, then back to the same selection
    page.wait_for_url(re.compile(r"/login\?next="))
    check_page(page, "03-login")
    log_in(page, "alice", "alice@example.org")
    page.wait_for_url(re.compile(r"^http://[^/]+/events/"))
    assert page.get_by_label("Number of tickets: Standing").input_value() == "2"
    page.get_by_role("button", name="Reserve").click()

    # the hold: what is held, the total, the countdown
    page.wait_for_url(re.compile(r"/bookings/[0-9a-f-]+$"))
    assert page.get_by_role("heading", name="Your tickets are held").is_visible()
    assert "€70.00" in page.locator(".summary").inner_text()
    clock = page.locator(".timer .clock")
    first = clock.inner_text()
    assert re.fullmatch(r"1[45]:\d\d", first), first
    page.wait_for_function(
        "first => document.querySelector('.timer .clock').textContent !== first", arg=first
    )
    assert page.get_by_label("E-mail address").input_value() == "alice@example.org"
    check_page(page, "04-hold")

    # pay on the fake gateway's page, back to the hold, which confirms (seed step 11)
    page.get_by_role("button", name="Pay €70.00").click()
    page.wait_for_url(re.compile(r"/dev/pay/"))
    check_page(page, "05-fake-pay")
    page.get_by_role("button", name=re.compile("^Pay ")).click()
    page.wait_for_url(re.compile(r"/orders/[0-9a-f-]+$"))
    assert page.get_by_role("heading", name="You're going!").is_visible()
    check_page(page, "06-order")
    order_url = page.url

    # the QR codes read from the page let one person in, once
    tokens = qr_tokens(page)
    assert len(tokens) == 2
    staff = shop.token("sam", door_of=shop.demo_event_id)
    scan = {"token": tokens[0], "event_id": shop.demo_event_id}
    first_scan = shop.api("POST", "/v1/check-ins", staff, json=scan)
    second_scan = shop.api("POST", "/v1/check-ins", staff, json=scan)
    assert first_scan.status_code == 200, first_scan.text
    assert second_scan.status_code == 409

    # My orders lists it
    page.get_by_role("link", name="My orders").click()
    assert page.get_by_role("link", name="elTiketi Demo Night").is_visible()
    check_page(page, "07-orders")

    # the e-mail's link opens the tickets on another phone, without a login
    link = ticket_link_from_outbox(shop)
    assert "/t/" in link
    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-GB")
    try:
        stranger = phone.new_page()
        stranger.goto(link)
        assert stranger.get_by_role("heading", name="Your tickets").is_visible()
        assert stranger.get_by_role("link", name="Sign in").is_visible()  # not signed in
        assert sorted(qr_tokens(stranger)) == sorted(tokens)
        check_page(stranger, "08-ticket-link")
        stranger.goto(shop.url("/t/" + link.rsplit("/t/", 1)[1][:-4] + "AAAA"))
        assert stranger.get_by_role("heading", name="This link does not work").is_visible()
        check_page(stranger, "09-link-invalid")
        stranger.goto(order_url)  # another visitor's order needs a login first
        assert "/login" in stranger.url
    finally:
        phone.close()


def ticket_link_from_outbox(shop: Shop) -> str:
    """The order link in the ticket e-mail (the ``.eml`` in the data folder's outbox)."""
    import time

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        mails = sorted((shop.data_dir / "outbox").glob("*tickets*.eml"))
        if mails:
            message = email.message_from_bytes(mails[-1].read_bytes(), policy=policy.default)
            text = message.get_body(preferencelist=("plain",))
            assert text is not None
            # the page itself, not a ticket's place on it (``…#ticket-1``)
            found = re.search(r"https?://\S+/t/[^\s#]+", text.get_content())
            assert found is not None, text.get_content()
            return found.group(0)
        time.sleep(0.1)
    raise AssertionError("no ticket e-mail in the outbox")
