"""The pages' security and plumbing, in-process: CSRF, sessions, error pages, signed links."""

from __future__ import annotations

import re
from uuid import UUID

from eltiketi_app.web.links import TicketLinks
from eltiketi_app.web.session import SESSION_COOKIE
from tests.api.conftest import Api

HTML = {"Accept": "text/html"}


def csrf_of(html: str) -> str:
    found = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


async def log_in(api: Api, name: str = "alice") -> None:
    page = await api.client.get("/login", headers=HTML)
    answer = await api.client.post(
        "/login",
        data={"name": name, "email": f"{name}@example.org", "_csrf_token": csrf_of(page.text)},
        headers=HTML,
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text


async def test_a_form_without_its_csrf_token_is_refused_with_a_page(api: Api) -> None:
    event_id, type_id = await api.sale()
    await api.client.get(f"/events/{event_id}", headers=HTML)  # sets the CSRF cookie

    refused = await api.client.post(
        f"/events/{event_id}/reserve", data={f"qty-{type_id}": "1"}, headers=HTML
    )
    forged = await api.client.post(
        "/login", data={"name": "mallory", "_csrf_token": "0" * 128}, headers=HTML
    )

    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("text/html")
    assert "This form has expired" in refused.text
    assert "csrf_failed" in refused.text
    assert forged.status_code == 403
    assert SESSION_COOKIE not in api.client.cookies


async def test_browsing_makes_no_session_and_login_makes_a_new_one(api: Api) -> None:
    event_id, _ = await api.sale()
    browsing = await api.client.get(f"/events/{event_id}", headers=HTML)
    assert SESSION_COOKIE not in str(browsing.headers.get_list("set-cookie"))
    api.client.cookies.set(SESSION_COOKIE, "planted-by-an-attacker", domain="testserver.local")

    await log_in(api)

    session_id = api.client.cookies.get(SESSION_COOKIE)
    assert session_id and session_id != "planted-by-an-attacker"
    orders = await api.client.get("/orders", headers=HTML)
    assert orders.status_code == 200
    assert "Signed in as alice" in orders.text
    assert orders.headers["cache-control"] == "no-store"
    await log_in(api, "alice")  # signing in again rotates the id again
    assert api.client.cookies.get(SESSION_COOKIE) not in {None, session_id}
    page = await api.client.get("/orders", headers=HTML)
    out = await api.client.post(
        "/logout",
        data={"_csrf_token": csrf_of(page.text)},
        headers=HTML,
        follow_redirects=False,
    )
    assert out.status_code == 303
    after = await api.client.get("/orders", headers=HTML, follow_redirects=False)
    assert after.status_code == 303
    assert after.headers["location"] == "/login?next=/orders"


async def test_pages_carry_a_csp_without_inline_scripts(api: Api) -> None:
    home = await api.client.get("/", headers=HTML)

    policy = home.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    assert "<script>" not in home.text
    assert " on" + "click=" not in home.text
    assert "hx-on" not in home.text


async def test_unknown_pages_are_pages_and_unknown_api_routes_stay_problems(api: Api) -> None:
    page = await api.client.get("/no/such/page", headers=HTML)
    problem = await api.client.get("/v1/no/such/route", headers=HTML)
    not_mine = await api.client.get(
        f"/bookings/{UUID(int=7)}", headers=HTML, follow_redirects=False
    )

    assert page.status_code == 404
    assert "Page not found" in page.text
    assert "<code>not_found</code>" in page.text
    assert problem.status_code == 404
    assert problem.headers["content-type"] == "application/problem+json"
    assert not_mine.status_code == 303  # a login first: whose booking it is comes after


async def test_another_buyers_booking_is_a_404_page(api: Api) -> None:
    event_id, type_id = await api.sale()
    bobs = (await api.hold(api.customer("bob"), event_id, type_id)).json()
    await log_in(api, "alice")

    page = await api.client.get(f"/bookings/{bobs['id']}", headers=HTML)

    assert page.status_code == 404
    assert "Reservation not found" in page.text


async def test_a_ticket_link_works_without_login_until_the_order_is_cancelled(api: Api) -> None:
    event_id, type_id = await api.sale()
    alice = api.customer("alice")
    order = await api.buy(alice, event_id, type_id, 2)
    event = (await api.client.get(f"/v1/events/{event_id}")).json()
    links = await api.get(TicketLinks)
    from datetime import datetime

    url = links.url(UUID(order["id"]), datetime.fromisoformat(event["starts_at"]))
    path = "/t/" + url.rsplit("/t/", 1)[1]

    shown = await api.client.get(path, headers=HTML)
    await api.client.post(f"/v1/orders/{order['id']}/cancel", headers=alice)
    revoked = await api.client.get(path, headers=HTML)

    assert shown.status_code == 200
    assert shown.text.count('class="qr"') == 2
    assert shown.headers["referrer-policy"] == "no-referrer"
    assert "alice@example.com" not in shown.text  # the tickets and nothing else
    assert revoked.status_code == 410
    assert "These tickets are no longer valid" in revoked.text
    assert 'class="qr"' not in revoked.text


async def test_the_availability_fragment_shows_what_is_left(api: Api) -> None:
    event_id, type_id = await api.sale(capacity=30, max_per_booking=30)
    for buyer, quantity in (("bob", 10), ("carol", 10), ("dave", 5)):
        held = await api.hold(api.customer(buyer), event_id, type_id, quantity)
        assert held.status_code == 201, held.text

    fragment = await api.client.get(f"/events/{event_id}/availability", headers=HTML)

    assert fragment.status_code == 200
    assert f'id="left-{type_id}" hx-swap-oob="true"' in fragment.text
    assert "Only 5 left" in fragment.text
    assert SESSION_COOKIE not in str(fragment.headers.get_list("set-cookie"))


async def test_an_order_gives_its_event_as_a_calendar_file_to_its_buyer_only(api: Api) -> None:
    event_id, type_id = await api.sale()
    order = await api.buy(api.customer("alice"), event_id, type_id, 1)
    path = f"/orders/{order['id']}/calendar.ics"

    signed_out = await api.client.get(path, headers=HTML, follow_redirects=False)
    await log_in(api, "alice")
    entry = await api.client.get(path)
    await log_in(api, "bob")
    someone_else = await api.client.get(path, headers=HTML)

    assert signed_out.status_code == 303
    assert signed_out.headers["location"] == f"/login?next={path}"
    assert entry.status_code == 200
    assert entry.headers["content-type"].startswith("text/calendar")
    assert entry.headers["content-disposition"] == 'attachment; filename="event.ics"'
    assert entry.headers["cache-control"] == "no-store"
    assert "BEGIN:VEVENT" in entry.text
    assert f"{order['id']}@eltiketi" in entry.text
    assert someone_else.status_code == 404
