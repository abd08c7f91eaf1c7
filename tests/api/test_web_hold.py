"""The hold page in-process: whom the tickets are for and where they go, saved with Pay."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from tests.api.conftest import Api
from tests.api.test_web_pages import HTML, csrf_of, log_in


async def _hold_page(api: Api, quantity: int = 2) -> tuple[str, str]:
    """Alice reserves ``quantity`` tickets on the event page: (hold path, its HTML)."""
    event_id, type_id = await api.sale()
    await log_in(api, "alice")
    event_page = await api.client.get(f"/events/{event_id}", headers=HTML)
    reserved = await api.client.post(
        f"/events/{event_id}/reserve",
        data={
            f"qty-{type_id}": str(quantity),
            "idempotency_key": "k1",
            "_csrf_token": csrf_of(event_page.text),
        },
        headers=HTML,
        follow_redirects=False,
    )
    assert reserved.status_code == 303, reserved.text
    path = reserved.headers["location"]
    return path, (await api.client.get(path, headers=HTML)).text


def _holder_values(html: str) -> list[str]:
    return re.findall(r'name="holder"[^>]*value="([^"]*)"', html)


async def test_names_are_asked_per_ticket_prefilled_and_printed_on_the_tickets(api: Api) -> None:
    hold, html = await _hold_page(api)
    assert _holder_values(html) == ["alice", "alice"]
    assert 'for="holder-2">Ticket 2, Standing' in html.replace("\n", "")

    paid = await api.client.post(
        f"{hold}/pay",
        data={
            "holder": ["Ada Lovelace", "Grace Hopper"],
            "email": "ada@example.org",
            "phone": "",
            "_csrf_token": csrf_of(html),
        },
        headers=HTML,
        follow_redirects=False,
    )
    assert paid.status_code == 303, paid.text
    assert urlsplit(paid.headers["location"]).path.startswith("/dev/pay/")
    back = await api.client.post(
        urlsplit(paid.headers["location"]).path,
        data={"outcome": "pay", "back": "shop"},
        follow_redirects=False,
    )
    order = await api.client.get(back.headers["location"], headers=HTML)  # confirms (step 11)

    assert order.status_code == 200
    assert "For Ada Lovelace" in order.text and "For Grace Hopper" in order.text
    booking_id = hold.rsplit("/", 1)[1]
    read = (
        await api.client.get(f"/v1/bookings/{booking_id}", headers=api.customer("alice"))
    ).json()
    assert read["holders"] == ["Ada Lovelace", "Grace Hopper"]
    assert read["contact"]["email"] == "ada@example.org"
    assert read["locale"] == "en-GB"  # the shop's language, for the e-tickets


async def test_a_refused_name_is_shown_at_its_field_and_nothing_is_paid(api: Api) -> None:
    hold, html = await _hold_page(api)

    refused = await api.client.post(
        f"{hold}/pay",
        data={
            "holder": ["Ada", "x" * 101],
            "email": "new@example.org",
            "_csrf_token": csrf_of(html),
        },
        headers=HTML,
        follow_redirects=False,
    )

    assert refused.status_code == 422
    assert 'href="#holder-2"' in refused.text  # the error summary links to the field
    assert 'id="holder-2-error"' in refused.text
    assert _holder_values(refused.text)[0] == "Ada"  # what was typed stays
    progress = await api.client.get(
        f"/v1/bookings/{hold.rsplit('/', 1)[1]}/progress", headers=api.customer("alice")
    )
    assert progress.json()["payment"] is None
    assert progress.json()["booking"]["contact"]["email"] == "alice@example.org"


async def test_save_details_keeps_names_and_contact_without_paying(api: Api) -> None:
    hold, html = await _hold_page(api, quantity=1)

    saved = await api.client.post(
        f"{hold}/contact",
        data={"holder": ["Ada"], "email": "ada@example.org", "_csrf_token": csrf_of(html)},
        headers=HTML,
    )

    assert saved.status_code == 200
    assert "We will print these names on the tickets" in saved.text
    assert _holder_values(saved.text) == ["Ada"]
    assert 'value="ada@example.org"' in saved.text
