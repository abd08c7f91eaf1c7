"""The back office in a real browser, as a newcomer on the embedded server uses it: an owner
signs in on the dev page as an organizer, creates an organization, an event with two ticket
types (one with a sale window) and publishes it; a buyer in another browser buys; the live
dashboard shows the tickets held, then sold; the attendee CSV downloads and parses; the
owner refunds the order and the buyer's order page says so; a door member invited by e-mail
accepts from the link and sees the event without any refund button; cancelling the event
shows the job's progress.

One long scenario (one server of its own, so the shop's tests see none of these events);
every page is checked with axe-core and for sideways scrolling, and screenshotted.
"""

from __future__ import annotations

import csv
import email
import io
import re
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from email import policy
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.browser.conftest import DESKTOP, PHONE, Shop, check_page, start_shop, stop_shop
from tests.browser.test_shop_behaviour import press_tab_until

pytestmark = pytest.mark.e2e

VENUE_ZONE = ZoneInfo("Europe/Amsterdam")
#: How long the live dashboard may take to show a change (it polls every 2 s).
LIVE_WITHIN_MS = 8_000


@pytest.fixture(scope="module")
def back_office(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    running = start_shop(tmp_path_factory.mktemp("back-office"))
    try:
        yield running
    finally:
        stop_shop(running)


def new_page(browser: Any, viewport: dict[str, int]) -> Any:
    context = browser.new_context(viewport=viewport, locale="en-GB", accept_downloads=True)
    context.set_default_timeout(15_000)
    return context.new_page()


def sign_in(page: Any, name: str, *roles: str) -> None:
    """The dev login form the page is on (the e-mail address is ``name@example.org``)."""
    page.get_by_label("User name").fill(name)
    page.get_by_label("E-mail address").fill(f"{name}@example.org")
    for role in roles:
        page.get_by_label(role, exact=True).check()
    page.get_by_role("button", name="Sign in").click()


def local(moment: datetime) -> str:
    """A ``datetime-local`` value at the venue."""
    return moment.astimezone(VENUE_ZONE).strftime("%Y-%m-%dT%H:%M")


def add_ticket_type(page: Any, name: str, price: str, capacity: str, **window: datetime) -> None:
    page.get_by_role("link", name="Add a ticket type").click()
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Price in EUR").fill(price)
    page.get_by_label("Capacity").fill(capacity)
    page.get_by_label("Most tickets per order").fill("6")
    if "start" in window:
        page.get_by_label("Sales start").fill(local(window["start"]))
    if "end" in window:
        page.get_by_label("Sales end").fill(local(window["end"]))
    page.get_by_role("button", name="Add ticket type").click()
    page.get_by_role("heading", name="Ticket type added").wait_for()


def mail_in_outbox(shop: Shop, kind: str, pattern: str) -> str:
    """The first match of ``pattern`` in the newest ``kind`` e-mail of the outbox."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        mails = sorted((shop.data_dir / "outbox").glob(f"*{kind}*.eml"))
        if mails:
            message = email.message_from_bytes(mails[-1].read_bytes(), policy=policy.default)
            text = message.get_body(preferencelist=("plain",))
            assert text is not None
            found = re.search(pattern, text.get_content())
            assert found is not None, text.get_content()
            return found.group(0)
        time.sleep(0.1)
    raise AssertionError(f"no {kind} e-mail in the outbox")


def test_an_owner_runs_a_sale_from_the_back_office(back_office: Shop, browser: Any) -> None:
    from playwright.sync_api import expect

    shop = back_office
    owner = new_page(browser, DESKTOP)

    # signing in on the dev page as an organizer, the back office offers an organization
    owner.goto(shop.url("/manage"))
    owner.wait_for_url(re.compile(r"/login\?next=/manage"))
    sign_in(owner, "ada", "organizer")
    owner.wait_for_url(shop.url("/manage"))
    check_page(owner, "m01-welcome")
    owner.get_by_label("Name of the organization").fill("Open Air Collective")
    owner.get_by_role("button", name="Create organization").click()
    owner.get_by_role("heading", name="Organization created").wait_for()
    check_page(owner, "m02-organization")

    # an event: a form with its errors first, then the event
    owner.get_by_role("link", name="New event").first.click()
    owner.get_by_role("button", name="Create event").click()
    summary = owner.locator(".error-summary")
    summary.wait_for()
    assert owner.evaluate("document.activeElement.classList.contains('error-summary')")
    check_page(owner, "m03-event-form-errors")
    summary.get_by_role("link").first.click()  # the summary's link takes the focus there
    assert owner.evaluate("document.activeElement.id") == "name"
    starts = (datetime.now(VENUE_ZONE) + timedelta(days=60)).replace(
        hour=20, minute=0, second=0, microsecond=0
    )
    owner.get_by_label("Name of the event").fill("Open Air Night")
    owner.get_by_label("Venue", exact=True).fill("Westerpark, Amsterdam")
    owner.get_by_label("Starts at").fill(local(starts))
    owner.get_by_label("Time zone of the venue").select_option("Europe/Amsterdam")
    owner.get_by_label("Description (optional)").fill("Three stages.\nDoors at 18:00.")
    owner.get_by_role("button", name="Create event").click()
    owner.get_by_role("heading", name="Event created").wait_for()
    event_url = owner.url.split("?")[0]
    event_id = event_url.rsplit("/", 1)[1]

    # two ticket types, one with a sale window that is open now
    now = datetime.now(VENUE_ZONE)
    add_ticket_type(
        owner,
        "Early bird",
        "29.50",
        "100",
        start=now - timedelta(hours=1),
        end=now + timedelta(days=30),
    )
    add_ticket_type(owner, "Standing", "35,00", "400")
    check_page(owner, "m04-event-draft")
    owner.get_by_role("button", name="Publish").click()
    owner.get_by_role("heading", name="Published").wait_for()
    assert "On sale" in owner.locator(".page-head").inner_text()
    check_page(owner, "m05-event")

    # the dashboard, live while a buyer in another browser holds, then pays
    owner.get_by_role("link", name="Dashboard").click()
    held, sold = owner.locator("#fig-held"), owner.locator("#fig-sold")  # swapped by htmx
    assert held.inner_text() == "0" and sold.inner_text() == "0"
    check_page(owner, "m06-dashboard-empty")

    buyer = new_page(browser, PHONE)
    buyer.goto(shop.url(f"/events/{event_id}"))
    buyer.get_by_label("Number of tickets: Early bird").select_option("2")
    buyer.get_by_role("button", name="Reserve").click()
    buyer.wait_for_url(re.compile(r"/login"))
    sign_in(buyer, "bea")
    buyer.wait_for_url(re.compile(r"/events/"))
    buyer.get_by_role("button", name="Reserve").click()
    buyer.wait_for_url(re.compile(r"/bookings/"))

    expect(held).to_have_text("2", timeout=LIVE_WITHIN_MS)
    buyer.get_by_role("button", name="Pay €59.00").click()
    buyer.wait_for_url(re.compile(r"/dev/pay/"))
    buyer.get_by_role("button", name=re.compile("^Pay ")).click()
    buyer.wait_for_url(re.compile(r"/orders/[0-9a-f-]+$"))
    buyer_order = buyer.url
    expect(sold).to_have_text("2", timeout=LIVE_WITHIN_MS)
    expect(held).to_have_text("0", timeout=LIVE_WITHIN_MS)
    assert owner.locator("#fig-orders").inner_text() == "1"
    assert owner.locator(".chart .bar").count() == 24
    check_page(owner, "m07-dashboard-sold")

    # the attendees, and their CSV
    owner.get_by_role("link", name="Attendees").click()
    assert owner.locator(".data-table tbody tr").count() == 2
    check_page(owner, "m08-attendees")
    with owner.expect_download() as download:
        owner.get_by_role("link", name="Download as CSV").click()
    saved = Path(download.value.path())
    rows = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
    assert [(r["ticket_type"], r["name"], r["email"], r["status"]) for r in rows] == [
        ("Early bird", "bea", "bea@example.org", "valid")
    ] * 2

    # the order: found by the buyer's e-mail, refunded after a confirmation
    owner.get_by_role("link", name="Orders", exact=True).click()
    owner.get_by_label("Search").fill("bea@example.org")
    owner.get_by_role("button", name="Search").click()
    check_page(owner, "m09-orders")
    owner.locator(".data-table tbody th a").first.click()
    owner.get_by_role("heading", name=re.compile("^Order ")).wait_for()
    check_page(owner, "m10-order")
    owner.get_by_role("link", name="Refund…").click()
    check_page(owner, "m11-refund-confirm")
    owner.get_by_role("button", name="Yes, refund €59.00").click()
    owner.get_by_role("heading", name="Order refunded").wait_for()
    assert owner.get_by_role("link", name="Refund…").count() == 0
    buyer.goto(buyer_order)
    assert buyer.get_by_text("Cancelled and refunded").is_visible()

    # the team: an invitation sent with the keyboard alone
    owner.goto(shop.url("/manage"))
    owner.get_by_role("link", name="Team", exact=True).click()
    press_tab_until(owner, "#email")
    owner.keyboard.type("dora@example.org")
    press_tab_until(owner, "#role")
    press_tab_until(owner, "form[action$='/invitations'] button[type=submit]")
    owner.keyboard.press("Enter")
    owner.get_by_role("heading", name="Invitation sent").wait_for()
    assert "dora@example.org" in owner.locator(".data-table").last.inner_text()
    check_page(owner, "m12-team")

    # the door member accepts from the e-mail's link, sees the event, refunds nothing
    link = mail_in_outbox(shop, "invitation", r"https?://\S+/invitations/\S+")
    door = new_page(browser, PHONE)
    door.goto(link)
    door.get_by_role("heading", name="Join Open Air Collective").wait_for()
    assert door.get_by_text("ada@example.org invites you").is_visible()
    check_page(door, "m13-invitation")
    door.get_by_role("link", name="Sign in to accept").click()
    sign_in(door, "dora")
    door.wait_for_url(re.compile(r"/invitations/"))
    door.get_by_role("button", name="Accept and join").click()
    door.get_by_role("heading", name="Welcome to the team").wait_for()
    door.get_by_role("link", name="Open Air Night").click()
    door.get_by_text("You work at the door of this event").wait_for()
    assert door.get_by_role("link", name=re.compile("Refund")).count() == 0
    assert door.get_by_role("link", name="Edit event").count() == 0
    check_page(door, "m14-door-event")
    door.goto(shop.url(f"/manage/events/{event_id}/orders"))
    assert door.get_by_role("heading", name="Not allowed").is_visible()

    # cancelling the event: a confirmation, then the job's progress, polled
    owner.goto(event_url)
    owner.get_by_role("link", name="Cancel the event…").click()
    check_page(owner, "m15-cancel-confirm")
    owner.get_by_role("button", name="Yes, cancel the event and refund everyone").click()
    # the refunded order was the only one: the job finds nothing left to refund
    done = owner.get_by_role("heading", name="Done: there were no orders to refund")
    done.wait_for(timeout=LIVE_WITHIN_MS)
    assert owner.locator("#job-progress[hx-trigger]").count() == 0  # no more polling
    check_page(owner, "m16-cancel-job")
