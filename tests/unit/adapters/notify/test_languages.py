"""E-tickets in the buyer's language: Dutch templates, falling back to the event's language,
then English; holder names on every ticket."""

from __future__ import annotations

import msgspec
import pytest

from eltiketi_adapters.notify import MailComposer, SmsComposer
from eltiketi_adapters.tickets import JoseTicketSigner, TicketKeySet
from eltiketi_core.ports.notifications import TicketsNotice
from tests.unit.adapters.notify.mail_reading import body, parse
from tests.unit.adapters.notify.samples import tickets_notice

PUBLIC_URL = "https://tickets.example.com"


@pytest.fixture(scope="module")
def signer() -> JoseTicketSigner:
    return JoseTicketSigner(TicketKeySet.generate())


def _mail(notice: TicketsNotice) -> tuple[str, str, str]:
    composer = MailComposer(mail_from="elTiketi <tickets@example.com>", public_url=PUBLIC_URL)
    message = parse(composer.tickets(notice).data)
    return str(message["Subject"]), body(message, "plain"), body(message, "html")


def test_a_buyer_who_shopped_in_dutch_gets_a_dutch_e_ticket(signer: JoseTicketSigner) -> None:
    notice = msgspec.structs.replace(tickets_notice(signer, locale="de-DE"), locale="nl-NL")

    subject, text, html = _mail(notice)
    sms = SmsComposer(public_url=PUBLIC_URL).tickets(notice)

    assert subject == "Je tickets voor Nachtkonzert – 14 maart 2026"
    assert "Wanneer: zaterdag 14 maart 2026, 19:30 CET" in text
    assert "Totaal: €\u00a0138,00" in text
    assert "Ticket 1 van 3: Stehplatz\r\n  https://" in text
    assert '<html lang="nl">' in html and "Ticket 1 van 3" in html
    assert sms.startswith("elTiketi: 3 tickets voor Nachtkonzert, 14 maart 2026. Ticket 1: ")
    assert " Je bestelling: https://tickets.example.com/orders/" in sms


def test_without_the_buyers_language_the_events_is_used_then_english(
    signer: JoseTicketSigner,
) -> None:
    dutch_event = tickets_notice(signer, locale="nl")
    german_event = tickets_notice(signer, locale="de-DE")
    german_buyer = msgspec.structs.replace(tickets_notice(signer, locale="nl"), locale="de")

    assert _mail(dutch_event)[0].startswith("Je tickets voor")
    # no German templates: English words, German dates (as before buyer languages)
    subject, text, _ = _mail(german_event)
    assert subject == "Your tickets for Nachtkonzert – 14. März 2026"
    # a German buyer at a Dutch event: the event's Dutch templates, the buyer's formats
    subject, _, _ = _mail(german_buyer)
    assert subject == "Je tickets voor Nachtkonzert – 14. März 2026"


def test_every_ticket_shows_whom_it_is_for(signer: JoseTicketSigner) -> None:
    notice = tickets_notice(signer, locale="en")
    first, second, third = notice.tickets
    notice = msgspec.structs.replace(
        notice,
        tickets=(msgspec.structs.replace(first, holder_name="Ada <Lovelace>"), second, third),
    )

    _, text, html = _mail(notice)

    assert "Ticket 1 of 3: Stehplatz, for Ada <Lovelace>\r\n  https://" in text
    assert "Ticket 2 of 3: Stehplatz\r\n  https://" in text
    assert "For Ada &lt;Lovelace&gt;" in html  # escaped in HTML
