"""The e-ticket mail as a mail client sees it: bodies, inline QR codes, local times."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path
from uuid import UUID

import msgspec
import pytest

from eltiketi_adapters.notify import Mail, MailComposer
from eltiketi_adapters.tickets import JoseTicketSigner, TicketKeySet
from eltiketi_core.domain.booking import Contact
from eltiketi_core.domain.order import order_reference
from eltiketi_core.errors import ValidationFailed
from tests.unit.adapters.notify.mail_reading import body, inline_pngs, parse, ticket_tokens
from tests.unit.adapters.notify.samples import payment_problem_notice, refund_notice, tickets_notice

PUBLIC_URL = "https://tickets.example.com/"


@pytest.fixture(scope="module")
def signer() -> JoseTicketSigner:
    return JoseTicketSigner(TicketKeySet.generate())


@pytest.fixture
def composer() -> MailComposer:
    return MailComposer(mail_from="elTiketi <tickets@example.com>", public_url=PUBLIC_URL)


def _on_the_wire(mail: Mail) -> EmailMessage:
    """Parse the composed bytes, so tests see what a receiver sees."""
    return parse(mail.data)


def test_one_inline_qr_per_ticket_decoding_to_that_tickets_token(
    composer: MailComposer, signer: JoseTicketSigner
) -> None:
    notice = tickets_notice(signer)

    message = _on_the_wire(composer.tickets(notice))

    tokens = ticket_tokens(message)
    assert tokens == {f"ticket-{t.id}@eltiketi": t.token for t in notice.tickets}
    for token in tokens.values():
        assert signer.verify(token).event_id == notice.event.id


def test_html_references_every_inline_image_by_content_id(
    composer: MailComposer, signer: JoseTicketSigner
) -> None:
    message = _on_the_wire(composer.tickets(tickets_notice(signer)))

    html = body(message, "html")
    for cid in inline_pngs(message):
        assert f'src="cid:{cid}"' in html


def test_structure_is_text_alternative_to_html_with_related_images(
    composer: MailComposer, signer: JoseTicketSigner
) -> None:
    message = _on_the_wire(composer.tickets(tickets_notice(signer)))

    assert message.get_content_type() == "multipart/alternative"
    text_part, related = message.iter_parts()
    assert text_part.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    kinds = [p.get_content_type() for p in related.iter_parts()]
    assert kinds == ["text/html", "image/png", "image/png", "image/png"]


def test_time_is_shown_in_the_events_timezone_and_language(
    composer: MailComposer, signer: JoseTicketSigner
) -> None:
    message = _on_the_wire(composer.tickets(tickets_notice(signer)))

    for text in (body(message, "plain"), body(message, "html")):
        assert "Samstag, 14. März 2026, 19:30 CET" in text
        assert "18:30" not in text
    assert "14. März 2026" in message["Subject"]


def test_time_follows_another_timezone(composer: MailComposer, signer: JoseTicketSigner) -> None:
    notice = tickets_notice(signer, timezone="America/New_York", locale="en-US")

    text = body(_on_the_wire(composer.tickets(notice)), "plain")

    assert "Saturday, March 14, 2026, 2:30\u202fPM EDT" in text


def test_headers_subject_and_summary(composer: MailComposer, signer: JoseTicketSigner) -> None:
    notice = tickets_notice(signer)

    message = _on_the_wire(composer.tickets(notice))

    assert message["From"] == "elTiketi <tickets@example.com>"
    assert message["To"] == "ada@example.org"
    assert message["Subject"] == "Your tickets for Nachtkonzert – 14. März 2026"
    assert message["Message-ID"].endswith("@example.com>")
    assert message["Auto-Submitted"] == "auto-generated"
    text = body(message, "plain")
    assert "2 × Stehplatz at 39,50\u00a0€ = 79,00\u00a0€" in text
    assert "1 × Sitzplatz at 59,00\u00a0€ = 59,00\u00a0€" in text
    assert "Total: 138,00\u00a0€" in text
    assert "Columbiahalle, Berlin" in text
    link = f"https://tickets.example.com/orders/{notice.order.id}"
    assert link in text
    assert f'href="{link}"' in body(message, "html")


def test_void_tickets_get_no_qr_code(composer: MailComposer, signer: JoseTicketSigner) -> None:
    notice = tickets_notice(signer, void=1)

    tokens = ticket_tokens(_on_the_wire(composer.tickets(notice)))

    assert sorted(tokens.values()) == sorted(t.token for t in notice.tickets[:2])


def test_html_escapes_event_data(composer: MailComposer, signer: JoseTicketSigner) -> None:
    notice = tickets_notice(signer, event_name='<script>alert("x")</script> & Friends')

    message = _on_the_wire(composer.tickets(notice))

    html = body(message, "html")
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "&amp; Friends" in html
    assert '<script>alert("x")</script> & Friends' in body(message, "plain")


def test_a_line_break_in_the_event_name_cannot_inject_headers(
    composer: MailComposer, signer: JoseTicketSigner
) -> None:
    notice = tickets_notice(signer, event_name="Gig\r\nBcc: victim@example.net")

    message = _on_the_wire(composer.tickets(notice))

    assert message["Bcc"] is None
    assert message["Subject"].startswith("Your tickets for Gig Bcc: victim@example.net")


@pytest.mark.parametrize("address", [None, "", "not-an-address", "a@b.c\r\nBcc: x@y.z"])
def test_unusable_recipient_is_a_validation_error(
    composer: MailComposer, signer: JoseTicketSigner, address: str | None
) -> None:
    notice = tickets_notice(signer, contact=Contact(email=address, phone="+4915112345678"))

    with pytest.raises(ValidationFailed) as caught:
        composer.tickets(notice)

    assert caught.value.code == "invalid_email"


@pytest.mark.parametrize("mail_from", ["", "nobody", "a@b.c\nBcc: x@y.z"])
def test_bad_mail_from_is_refused_at_construction(mail_from: str) -> None:
    with pytest.raises(ValueError, match="mail_from"):
        MailComposer(mail_from=mail_from, public_url=PUBLIC_URL)


def test_public_url_must_be_http() -> None:
    with pytest.raises(ValueError, match="public_url"):
        MailComposer(mail_from="t@example.com", public_url="tickets.example.com")


def test_order_link_template_is_configurable(signer: JoseTicketSigner) -> None:
    composer = MailComposer(
        mail_from="t@example.com",
        public_url="https://shop.example.com",
        order_url_template="{public_url}/my/orders/{order_id}?from=mail",
    )
    notice = tickets_notice(signer)

    text = body(_on_the_wire(composer.tickets(notice)), "plain")

    assert f"https://shop.example.com/my/orders/{notice.order.id}?from=mail" in text


def test_templates_dir_overrides_packaged_templates_by_name(
    tmp_path: Path, signer: JoseTicketSigner
) -> None:
    (tmp_path / "tickets.subject.j2").write_text("Eintrittskarten: {{ v.event_name }}")
    composer = MailComposer(
        mail_from="t@example.com", public_url=PUBLIC_URL, templates_dir=tmp_path
    )

    message = _on_the_wire(composer.tickets(tickets_notice(signer)))

    assert message["Subject"] == "Eintrittskarten: Nachtkonzert"
    assert "Columbiahalle" in body(message, "plain")  # the rest still comes from the package


def test_refund_mail(composer: MailComposer) -> None:
    notice = refund_notice()

    message = _on_the_wire(composer.refund(notice))

    assert message["Subject"] == "Your refund of €138.00 for Nachtkonzert"
    text = body(message, "plain")
    assert "The event has been cancelled by the organiser." in text
    assert f"https://tickets.example.com/orders/{notice.order_id}" in text
    assert "cancelled by the organiser" in body(message, "html")
    assert not inline_pngs(message)


def test_refund_with_an_unknown_reason_shows_it_escaped_in_html(composer: MailComposer) -> None:
    notice = msgspec.structs.replace(refund_notice(), reason="<b>goodwill</b>", order_id=None)

    message = _on_the_wire(composer.refund(notice))

    assert "<b>goodwill</b>" in body(message, "plain")
    assert "&lt;b&gt;goodwill&lt;/b&gt;" in body(message, "html")
    assert "/v1/orders/" not in body(message, "plain")


def test_payment_problem_mail(composer: MailComposer) -> None:
    notice = payment_problem_notice()

    message = _on_the_wire(composer.payment_problem(notice))

    assert message["Subject"] == "Your payment for Nachtkonzert did not go through"
    text = body(message, "plain")
    assert "the payment did not go through" in text
    assert f"Booking {order_reference(UUID(notice.booking_id))} is not confirmed" in text


def test_the_text_part_has_a_link_to_each_ticket_and_the_order_reference(
    composer: MailComposer, signer: JoseTicketSigner
) -> None:
    notice = tickets_notice(signer, void=1)

    text = body(_on_the_wire(composer.tickets(notice)), "plain")

    valid, void = notice.tickets[:2], notice.tickets[2]
    for number, ticket in enumerate(valid, start=1):
        assert f"Ticket {number} of 2: Stehplatz" in text
        assert f"https://tickets.example.com/v1/tickets/{ticket.id}/qr.svg" in text
    assert str(void.id) not in text
    assert "HTML version" not in text
    assert f"Order {notice.order.reference}" in text
    assert notice.order.reference == order_reference(notice.order.id)


def test_with_a_ticket_page_each_ticket_links_to_its_place_on_it(
    signer: JoseTicketSigner,
) -> None:
    composer = MailComposer(
        mail_from="elTiketi <tickets@example.com>",
        public_url="https://shop.example.com",
        ticket_link=lambda order_id, starts_at: f"https://shop.example.com/t/{order_id}",
    )
    notice = tickets_notice(signer)

    message = _on_the_wire(composer.tickets(notice))

    page = f"https://shop.example.com/t/{notice.order.id}"
    text = body(message, "plain")
    assert f"{page}#ticket-1" in text and f"{page}#ticket-3" in text
    assert "/v1/tickets/" not in text
    assert f'href="{page}#ticket-2"' in body(message, "html")


def test_the_message_id_is_derived_from_the_message_key(
    composer: MailComposer, signer: JoseTicketSigner
) -> None:
    notice = tickets_notice(signer)
    key = f"tickets:{notice.order.id}/email"
    first = composer.tickets(msgspec.structs.replace(notice, message_key=key))
    again = composer.tickets(msgspec.structs.replace(notice, message_key=key))
    resent = composer.tickets(msgspec.structs.replace(notice, message_key=f"{key}/1"))

    assert first.message_id == again.message_id == f"<tickets.{notice.order.id}.email@example.com>"
    assert resent.message_id == f"<tickets.{notice.order.id}.email.1@example.com>"
    assert _on_the_wire(first)["Message-ID"] == first.message_id
    refund = composer.refund(msgspec.structs.replace(refund_notice(), message_key="refund:r/sms"))
    assert refund.message_id == "<refund.r.sms@example.com>"
    assert composer.tickets(notice).message_id != composer.tickets(notice).message_id  # no key
