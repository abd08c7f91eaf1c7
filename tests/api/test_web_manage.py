"""The back office's pages (``/manage``) in-process, without a browser: who may see and do
what (a door member is refused a refund with the 403 page, another organization's event
is the 404 page, the last owner stays, an invitation is accepted only by its address),
CSRF, forms that say what is wrong at the field, and refusals said in a sentence."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import time
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import httpx

from eltiketi_app.web.links import InvitationLinks
from tests.api.conftest import Api

HTML = {"Accept": "text/html"}


def csrf_of(html: str) -> str:
    found = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert found is not None, html[:2000]
    return found.group(1)


async def sign_in(api: Api, name: str, *roles: str, email: str | None = None) -> None:
    """The dev login form, as a browser fills it (a new session each time)."""
    form = await api.client.get("/login", headers=HTML)
    answer = await api.client.post(
        "/login",
        data={
            "name": name,
            "email": email or f"{name}@example.org",
            "roles": list(roles),
            "_csrf_token": csrf_of(form.text),
        },
        headers=HTML,
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text


async def sign_out(api: Api) -> None:
    page = await api.client.get("/", headers=HTML)
    await api.client.post("/logout", data={"_csrf_token": csrf_of(page.text)}, headers=HTML)


async def submit(api: Api, page: str, action: str, **fields: Any) -> httpx.Response:
    """Open ``page`` (for its CSRF token), then post ``fields`` to ``action``."""
    opened = await api.client.get(page, headers=HTML)
    assert opened.status_code == 200, opened.text
    return await api.client.post(
        action,
        data={**fields, "_csrf_token": csrf_of(opened.text)},
        headers=HTML,
        follow_redirects=False,
    )


async def organization_with_event(api: Api) -> tuple[str, str, str]:
    """Olga (organizer) creates an organization and an event from the pages, with one ticket
    type, and publishes it: (organization id, event id, ticket type id)."""
    await sign_in(api, "olga", "organizer")
    made = await submit(api, "/manage", "/manage/organizations", name="Open Air Collective")
    assert made.status_code == 303, made.text
    organization_id = made.headers["location"].split("/")[3].split("?")[0]
    starts = (datetime.now() + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")
    created = await submit(
        api,
        f"/manage/organizations/{organization_id}/events/new",
        f"/manage/organizations/{organization_id}/events",
        name="Summer Night",
        venue="Park, Utrecht",
        starts_at=starts,
        timezone="Europe/Amsterdam",
        locale="nl",
        currency="EUR",
        description="Doors at seven.",
    )
    assert created.status_code == 303, created.text
    event_id = created.headers["location"].split("/")[3].split("?")[0]
    added = await submit(
        api,
        f"/manage/events/{event_id}/ticket-types/new",
        f"/manage/events/{event_id}/ticket-types",
        name="Standing",
        price="35,00",
        capacity="100",
        max_per_booking="6",
        shards="1",
        sales_start="",
        sales_end="",
    )
    assert added.status_code == 303, added.text
    published = await submit(
        api, f"/manage/events/{event_id}", f"/manage/events/{event_id}/publish"
    )
    assert published.status_code == 303, published.text
    types = (await api.client.get(f"/v1/events/{event_id}")).json()["ticket_types"]
    return organization_id, event_id, types[0]["id"]


async def test_an_owner_runs_an_event_from_the_pages(api: Api) -> None:
    organization_id, event_id, type_id = await organization_with_event(api)
    order = await api.buy(api.customer("alice"), event_id, type_id, 2)
    await api.flush()

    events = await api.client.get(f"/manage/organizations/{organization_id}", headers=HTML)
    overview = await api.client.get(f"/manage/events/{event_id}", headers=HTML)
    dashboard = await api.client.get(f"/manage/events/{event_id}/dashboard/live", headers=HTML)
    found = await api.client.get(
        f"/manage/events/{event_id}/orders", params={"q": order["reference"]}, headers=HTML
    )
    detail = await api.client.get(f"/manage/events/{event_id}/orders/{order['id']}", headers=HTML)
    exported = await api.client.get(f"/manage/events/{event_id}/attendees.csv", headers=HTML)
    another = await api.client.get("/manage/organizations/new", headers=HTML)

    for shown in (events, overview, dashboard, found, detail):
        assert "unsafe-inline" not in shown.headers["content-security-policy"]
        assert "<script>" not in shown.text and " style=" not in shown.text
        assert "hx-on" not in shown.text and " on" + "click=" not in shown.text
    assert events.status_code == 200
    assert "Summer Night" in events.text and "On sale" in events.text
    assert "€70.00" in events.text  # sales so far
    assert another.status_code == 200 and "Create an organization" in another.text
    assert overview.status_code == 200 and "Standing" in overview.text
    assert "€35.00" in overview.text  # "35,00" typed, in euros
    assert overview.headers["cache-control"] == "no-store"
    assert dashboard.status_code == 200
    assert re.search(r'id="fig-sold">2<', dashboard.text)
    assert "hx-trigger" in dashboard.text  # polls while the sale runs
    assert order["reference"] in found.text
    assert "Refund…" in detail.text and "alice@example.com" in detail.text
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert len(rows) == 2 and {r["ticket_type"] for r in rows} == {"Standing"}

    refunded = await submit(
        api,
        f"/manage/events/{event_id}/orders/{order['id']}/refund",
        f"/manage/events/{event_id}/orders/{order['id']}/refund",
    )
    assert refunded.status_code == 303
    after = await api.client.get(refunded.headers["location"], headers=HTML)
    assert "Order refunded" in after.text and "Refunded by the organizer" in after.text
    assert (
        await api.client.get(f"/v1/orders/{order['id']}", headers=api.customer("alice"))
    ).json()["status"] == "refunded"


async def test_a_door_member_sees_the_event_but_may_not_refund(api: Api) -> None:
    organization_id, event_id, type_id = await organization_with_event(api)
    order = await api.buy(api.customer("alice"), event_id, type_id)
    csrf = csrf_of((await api.client.get(f"/manage/events/{event_id}", headers=HTML)).text)
    await api.member("dora", organization_id, "door")
    await sign_in(api, "dora")

    events = await api.client.get(f"/manage/organizations/{organization_id}", headers=HTML)
    overview = await api.client.get(f"/manage/events/{event_id}", headers=HTML)
    order_page = await api.client.get(
        f"/manage/events/{event_id}/orders/{order['id']}", headers=HTML
    )
    csrf = csrf_of(overview.text)
    refund = await api.client.post(
        f"/manage/events/{event_id}/orders/{order['id']}/refund",
        data={"_csrf_token": csrf},
        headers=HTML,
    )

    assert events.status_code == 200 and "Summer Night" in events.text
    assert "Gross" not in events.text  # no sales figures for the door
    assert overview.status_code == 200
    assert "Refund" not in overview.text and "Edit event" not in overview.text
    assert "Cancel the event" not in overview.text
    assert order_page.status_code == 403 and "Not allowed" in order_page.text
    assert refund.status_code == 403 and "missing_role" in refund.text
    for form in (
        f"/manage/organizations/{organization_id}/events/new",
        f"/manage/events/{event_id}/edit",
        f"/manage/events/{event_id}/ticket-types/new",
    ):
        refused = await api.client.get(form, headers=HTML)
        assert refused.status_code == 403 and "Not allowed" in refused.text, form
    assert (
        await api.client.get(f"/v1/orders/{order['id']}", headers=api.customer("alice"))
    ).json()["status"] == "confirmed"


async def test_another_organizations_event_is_the_404_page(api: Api) -> None:
    organization_id, event_id, _ = await organization_with_event(api)
    await sign_in(api, "otto", "organizer")

    pages = [
        f"/manage/events/{event_id}",
        f"/manage/events/{event_id}/dashboard",
        f"/manage/events/{event_id}/orders",
        f"/manage/events/{event_id}/attendees",
        f"/manage/events/{event_id}/attendees.csv",
        f"/manage/organizations/{organization_id}",
        f"/manage/organizations/{organization_id}/team",
    ]
    for path in pages:
        answer = await api.client.get(path, headers=HTML)
        assert answer.status_code == 404, path
        assert answer.headers["content-type"].startswith("text/html"), path
        assert "not found" in answer.text.lower(), path
    csrf = csrf_of((await api.client.get("/manage", headers=HTML)).text)
    publish = await api.client.post(
        f"/manage/events/{event_id}/unpublish", data={"_csrf_token": csrf}, headers=HTML
    )
    assert publish.status_code == 404


async def test_back_office_forms_without_their_csrf_token_are_refused(api: Api) -> None:
    organization_id, event_id, _ = await organization_with_event(api)

    for action, data in [
        (f"/manage/events/{event_id}/cancel", {}),
        (
            f"/manage/organizations/{organization_id}/invitations",
            {"email": "x@example.org", "role": "owner"},
        ),
        ("/manage/organizations", {"name": "Forged"}),
    ]:
        refused = await api.client.post(action, data=data, headers=HTML)
        assert refused.status_code == 403, action
        assert "This form has expired" in refused.text
    event = (await api.client.get(f"/v1/events/{event_id}")).json()
    assert event["status"] == "published"


async def test_a_form_says_what_is_wrong_at_each_field(api: Api) -> None:
    organization_id, event_id, type_id = await organization_with_event(api)
    await api.buy(api.customer("alice"), event_id, type_id, 3)
    await api.flush()

    event_form = await submit(
        api,
        f"/manage/organizations/{organization_id}/events/new",
        f"/manage/organizations/{organization_id}/events",
        name="",
        venue="Hall",
        starts_at="tomorrow",
        timezone="Mars/Olympus",
        locale="en",
        currency="EURO",
    )
    lowered = await submit(
        api,
        f"/manage/events/{event_id}/ticket-types/{type_id}/edit",
        f"/manage/events/{event_id}/ticket-types/{type_id}/edit",
        name="Standing",
        price="35.00",
        capacity="2",
        max_per_booking="6",
        sales_start="2031-06-02T10:00",
        sales_end="2031-06-01T10:00",
    )

    assert event_form.status_code == 422
    for field in ("name", "starts_at", "timezone", "currency"):
        assert f'href="#{field}"' in event_form.text, field  # the summary links to it
        assert f'id="{field}-error"' in event_form.text, field
    assert lowered.status_code == 422
    assert 'href="#sales_end"' in lowered.text and "Sales must end after they start" in lowered.text
    window_fixed = await submit(
        api,
        f"/manage/events/{event_id}/ticket-types/{type_id}/edit",
        f"/manage/events/{event_id}/ticket-types/{type_id}/edit",
        name="Standing",
        price="35.00",
        capacity="2",
        max_per_booking="6",
    )
    assert window_fixed.status_code == 422
    assert "cannot go below the 3 tickets already held or sold" in window_fixed.text


async def test_refusals_are_said_in_a_sentence(api: Api) -> None:
    organization_id, event_id, type_id = await organization_with_event(api)
    order = await api.buy(api.customer("alice"), event_id, type_id)
    await api.flush()
    token = (
        await api.client.get(f"/v1/orders/{order['id']}", headers=api.customer("alice"))
    ).json()["tickets"][0]["token"]
    door = await api.member("sam", organization_id, "door")
    scan = await api.client.post(
        "/v1/check-ins", json={"token": token, "event_id": event_id}, headers=door
    )
    assert scan.status_code == 200

    refund = await submit(
        api,
        f"/manage/events/{event_id}/orders/{order['id']}",
        f"/manage/events/{event_id}/orders/{order['id']}/refund",
    )
    unpublish = await submit(
        api, f"/manage/events/{event_id}", f"/manage/events/{event_id}/unpublish"
    )
    me = await api.client.get(f"/manage/organizations/{organization_id}/team", headers=HTML)
    leave = await submit(
        api,
        f"/manage/organizations/{organization_id}/team",
        f"/manage/organizations/{organization_id}/members/remove",
        subject="olga",
    )

    assert refund.status_code == 409
    assert "Ticket already used" in refund.text
    assert unpublish.status_code == 409 and "People have booked this event" in unpublish.text
    assert me.status_code == 200 and "olga@example.org" in me.text
    assert leave.status_code == 409 and "An organization needs an owner" in leave.text


async def test_an_invitation_is_accepted_by_its_address_only(api: Api) -> None:
    organization_id, event_id, _ = await organization_with_event(api)
    invited = await submit(
        api,
        f"/manage/organizations/{organization_id}/team",
        f"/manage/organizations/{organization_id}/invitations",
        email="Dora@Example.org",
        role="door",
    )
    assert invited.status_code == 303
    await api.flush()
    notice = api.email.invitations[-1]
    links = await api.get(InvitationLinks)
    path = f"/invitations/{links.token(notice.invitation_id, notice.expires_at)}"

    await sign_out(api)
    shown = await api.client.get(path, headers=HTML)
    await sign_in(api, "mallory", email="mallory@example.org")
    wrong = await submit(api, path, path)
    await sign_in(api, "dora", email="dora@example.org")
    accepted = await submit(api, path, path)
    again = await submit(api, path, path)
    tampered = await api.client.get(path[:-3] + "AAA", headers=HTML)

    assert shown.status_code == 200
    assert "Open Air Collective" in shown.text and "olga@example.org" in shown.text
    assert "Sign in to accept" in shown.text
    assert shown.headers["referrer-policy"] == "no-referrer"
    assert wrong.status_code == 403 and "for another e-mail address" in wrong.text
    assert accepted.status_code == 303
    assert accepted.headers["location"] == f"/manage/organizations/{organization_id}?done=joined"
    assert again.status_code == 409 and "This invitation was used already" in again.text
    assert tampered.status_code == 404 and "This invitation link does not work" in tampered.text
    overview = await api.client.get(f"/manage/events/{event_id}", headers=HTML)
    assert overview.status_code == 200 and "You work at the door" in overview.text


async def test_a_removed_member_is_refused_on_the_next_page(api: Api) -> None:
    organization_id, event_id, _ = await organization_with_event(api)
    await api.member("mia", organization_id, "manager")
    removed = await submit(
        api,
        f"/manage/organizations/{organization_id}/team",
        f"/manage/organizations/{organization_id}/members/remove",
        subject="mia",
    )
    assert removed.status_code == 303
    await sign_in(api, "mia")

    dashboard = await api.client.get(f"/manage/events/{event_id}/dashboard", headers=HTML)

    assert dashboard.status_code == 404


async def test_cancelling_shows_the_jobs_progress(api: Api) -> None:
    _, event_id, type_id = await organization_with_event(api)
    await api.buy(api.customer("alice"), event_id, type_id)
    await api.flush()

    confirm = await api.client.get(f"/manage/events/{event_id}/cancel", headers=HTML)
    cancelled = await api.client.post(
        f"/manage/events/{event_id}/cancel",
        data={"_csrf_token": csrf_of(confirm.text)},
        headers=HTML,
        follow_redirects=False,
    )
    job_path = cancelled.headers["location"]
    UUID(job_path.rsplit("/", 1)[1])
    page = await api.client.get(job_path, headers=HTML)
    await api.flush()
    progress = ""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the background runner does the job
        progress = (await api.client.get(job_path + "/progress", headers=HTML)).text
        if "Every order is refunded" in progress:
            break
        await asyncio.sleep(0.05)

    assert "1 order is refunded in full (€35.00 in all)" in confirm.text
    assert cancelled.status_code == 303
    assert page.status_code == 200 and 'id="job-progress"' in page.text
    assert "Every order is refunded" in progress
    assert "hx-trigger" not in progress  # done: no more polling
    assert (await api.client.get(f"/v1/events/{event_id}")).json()["status"] == "cancelled"


async def test_an_htmx_poll_after_the_session_ended_sends_the_page_to_the_login(api: Api) -> None:
    _, event_id, _ = await organization_with_event(api)
    await sign_out(api)

    poll = await api.client.get(
        f"/manage/events/{event_id}/dashboard/live",
        headers={**HTML, "HX-Request": "true"},
        follow_redirects=False,
    )

    assert poll.status_code == 204
    assert poll.headers["hx-redirect"].startswith("/login?next=/manage/events/")
