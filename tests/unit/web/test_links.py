"""Signed ticket links: they name one order, expire, and refuse any change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from eltiketi_app.settings import Settings
from eltiketi_app.web.auth import safe_return_path
from eltiketi_app.web.keys import invitation_links, ticket_links
from eltiketi_app.web.links import (
    VALID_AFTER_START,
    InvitationLinks,
    LinkExpired,
    LinkInvalid,
    TicketLinks,
)

NOW = datetime(2026, 3, 1, tzinfo=UTC)
LINKS = TicketLinks(key=b"k" * 32, public_url="https://tickets.example.com/")


def test_a_link_names_its_order_until_a_day_after_the_event() -> None:
    order_id = uuid4()
    starts = NOW + timedelta(days=10)

    url = LINKS.url(order_id, starts)
    token = url.removeprefix("https://tickets.example.com/t/")

    assert url.startswith("https://tickets.example.com/t/")
    assert len(url) < 90  # fits an SMS with room to spare
    assert LINKS.order_of(token, NOW) == order_id
    assert LINKS.order_of(token, starts + VALID_AFTER_START - timedelta(seconds=1)) == order_id
    with pytest.raises(LinkExpired):
        LINKS.order_of(token, starts + VALID_AFTER_START)


def test_a_changed_or_foreign_link_is_refused() -> None:
    token = LINKS.token(uuid4(), NOW + timedelta(days=1))
    payload, mac = token.split(".")
    other_order = LINKS.token(uuid4(), NOW + timedelta(days=1)).split(".")[0]
    later = LINKS.token(uuid4(), NOW + timedelta(days=400)).split(".")[0]
    foreign = TicketLinks(key=b"x" * 32, public_url="https://a.example").token(
        uuid4(), NOW + timedelta(days=1)
    )

    for bad in (
        f"{other_order}.{mac}",  # another order under this signature
        f"{later}.{mac}",  # a later expiry
        f"{payload}.{mac[:-2]}AA",
        f"{payload}.",
        payload,
        "",
        "..",
        "not base64!.x",
        foreign,
        "A" * 500,
    ):
        with pytest.raises(LinkInvalid):
            LINKS.order_of(bad, NOW)


def test_an_invitation_link_names_its_invitation_until_it_expires() -> None:
    links = InvitationLinks(key=b"i" * 32, public_url="https://tickets.example.com")
    invitation_id, expires = uuid4(), NOW + timedelta(days=7)

    url = links.url(invitation_id, expires)
    token = url.removeprefix("https://tickets.example.com/invitations/")

    assert url.startswith("https://tickets.example.com/invitations/")
    assert links.invitation_of(token, expires - timedelta(seconds=1)) == invitation_id
    with pytest.raises(LinkExpired):
        links.invitation_of(token, expires)
    payload, mac = token.split(".")
    with pytest.raises(LinkInvalid):
        links.invitation_of(f"{payload}.{mac[:-2]}AA", NOW)


def test_ticket_and_invitation_links_of_one_installation_never_stand_in_for_each_other() -> None:
    settings = Settings(web_secret="s" * 40, public_url="https://tickets.example.com")
    tickets, invitations = ticket_links(settings), invitation_links(settings)
    subject, expires = uuid4(), NOW + timedelta(days=1)

    assert tickets.key != invitations.key
    with pytest.raises(LinkInvalid):
        invitations.invitation_of(tickets.token(subject, expires), NOW)
    with pytest.raises(LinkInvalid):
        tickets.order_of(invitations.token(subject, expires), NOW)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("/events/1?qty-a=2", "/events/1?qty-a=2"),
        ("/", "/"),
        ("/orders", "/orders"),
        (None, "/"),
        ("", "/"),
        ("https://evil.example/", "/"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("/path\\..\\x", "/"),
        ("javascript:alert(1)", "/"),
        ("/a\r\nLocation: https://evil.example", "/"),
        ("/a\tb", "/"),
        ("events", "/"),
        ("/" + "a" * 5000, "/"),
    ],
)
def test_return_paths_stay_on_this_site(raw: str | None, expected: str) -> None:
    assert safe_return_path(raw) == expected
