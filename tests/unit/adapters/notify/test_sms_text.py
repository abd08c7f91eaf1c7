"""SMS texts and the provider configuration."""

from __future__ import annotations

import pytest

from eltiketi_adapters.notify import HttpSmsConfig, SmsComposer
from eltiketi_adapters.notify.sms import normalise_phone
from eltiketi_adapters.tickets import JoseTicketSigner, TicketKeySet
from eltiketi_core.domain.booking import Contact
from eltiketi_core.errors import ValidationFailed
from tests.unit.adapters.notify.samples import tickets_notice


def test_ticket_text_is_one_line_with_each_ticket_and_the_order_link() -> None:
    composer = SmsComposer(public_url="https://t.example.com")
    notice = tickets_notice(
        JoseTicketSigner(TicketKeySet.generate()),
        event_name="A very long festival name that goes on and on and on forever",
        locale="en",
    )

    text = composer.tickets(notice)

    assert "\n" not in text
    assert text.startswith("elTiketi: 3 tickets for A very long festival name that goes on…, ")
    for number, ticket in enumerate(notice.tickets, start=1):
        assert f"Ticket {number}: https://t.example.com/v1/tickets/{ticket.id}/qr.svg" in text
    assert text.endswith(f"Your order: https://t.example.com/orders/{notice.order.id}")


def test_a_text_names_five_tickets_and_points_to_the_order_for_the_rest() -> None:
    composer = SmsComposer(public_url="https://t.example.com")
    notice = tickets_notice(JoseTicketSigner(TicketKeySet.generate()), standing=7, locale="en")

    text = composer.tickets(notice)

    assert text.count("/v1/tickets/") == 5
    assert "Ticket 6" not in text
    assert text.endswith(
        f"Your order (all 8 tickets): https://t.example.com/orders/{notice.order.id}"
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+49 151 1234 5678", "+4915112345678"),
        ("+1 (415) 555-0100", "+14155550100"),
        ("0151/1234.5678", "015112345678"),
    ],
)
def test_phone_numbers_lose_their_separators(raw: str, expected: str) -> None:
    assert normalise_phone(Contact(phone=raw)) == expected


@pytest.mark.parametrize("raw", [None, "", "+", "call me", "+49 151 1234 5678 ext 12", "1" * 20])
def test_unusable_phone_numbers_are_refused(raw: str | None) -> None:
    with pytest.raises(ValidationFailed):
        normalise_phone(Contact(phone=raw))


def test_config_defaults_and_twilio_messages_url() -> None:
    config = HttpSmsConfig.from_settings("https://api.twilio.com/", "AC123", "tok", "+15005550006")

    assert config.messages_url == "https://api.twilio.com/2010-04-01/Accounts/AC123/Messages.json"
    assert config.sender == "+15005550006"
    assert "tok" not in repr(config)


def test_sender_can_ride_in_the_url() -> None:
    config = HttpSmsConfig.from_settings(
        "https://sms.example.com/api?from=%2B15005550006", "AC1", "t"
    )

    assert config.sender == "+15005550006"
    assert config.url == "https://sms.example.com/api"


@pytest.mark.parametrize(
    ("url", "user", "token", "sender", "message"),
    [
        ("ftp://x", "u", "t", "+1", "http"),
        ("https://x", "", "t", "+1", "user"),
        ("https://x", "u", "", "+1", "token"),
        ("https://x", "u", "t", None, "sender"),
    ],
)
def test_incomplete_config_is_refused(
    url: str, user: str, token: str, sender: str | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        HttpSmsConfig.from_settings(url, user, token, sender)


def test_a_ticket_link_replaces_the_order_link_in_the_e_ticket() -> None:
    from eltiketi_adapters.notify import MessageTemplates

    seen: list[tuple[object, object]] = []

    def link(order_id: object, starts_at: object) -> str:
        seen.append((order_id, starts_at))
        return "https://t.example.com/t/signed"

    templates = MessageTemplates(public_url="https://t.example.com", ticket_link=link)
    notice = tickets_notice(JoseTicketSigner(TicketKeySet.generate()))

    view = templates.tickets_view(notice)

    assert view.order_url == "https://t.example.com/t/signed"
    assert seen == [(notice.order.id, notice.event.starts_at)]
    # each ticket's own link is the page at that ticket, in the text part and the SMS
    assert [t.url for t in view.tickets] == [
        f"https://t.example.com/t/signed#ticket-{n}" for n in (1, 2, 3)
    ]
    text = templates.render("tickets.txt.j2", view)
    assert "https://t.example.com/t/signed#ticket-3" in text
    assert text.rstrip().endswith(
        "All your tickets (no login needed): https://t.example.com/t/signed\n\nelTiketi"
    )
    sms = " ".join(templates.render("tickets.sms.j2", view).split())
    assert sms.endswith("14. März 2026. Your tickets: https://t.example.com/t/signed")
