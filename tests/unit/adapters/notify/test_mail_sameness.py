"""The directly written mail reads exactly like the one the stdlib's modern API builds.

The reference below is the composer as it was before it wrote bytes itself
(``EmailMessage`` + ``set_content``/``add_alternative``/``add_related``, serialised with
``policy.SMTP``). Both are parsed as a mail client would (``policy.default``) and compared
part by part: decoded headers, MIME tree, transfer encodings, decoded bodies, image bytes.
"""

from __future__ import annotations

import email
import email.policy
import re
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.utils import parseaddr
from pathlib import Path

import pytest

from eltiketi_adapters.notify import Mail, MailComposer
from eltiketi_adapters.notify.mail import render_qr_png
from eltiketi_adapters.tickets import JoseTicketSigner, TicketKeySet
from eltiketi_core.domain.booking import Contact
from eltiketi_core.ports.notifications import TicketsNotice
from tests.unit.adapters.notify.mail_reading import body, inline_pngs, parse
from tests.unit.adapters.notify.samples import payment_problem_notice, refund_notice, tickets_notice

PUBLIC_URL = "https://tickets.example.com"
MAIL_FROM = "elTiketi <tickets@example.com>"


@pytest.fixture(scope="module")
def signer() -> JoseTicketSigner:
    return JoseTicketSigner(TicketKeySet.generate())


def _reference(
    composer: MailComposer,
    *,
    mail_from: str,
    to: str,
    subject: str,
    text: str,
    html: str,
    images: list[tuple[str, str, bytes]],
) -> EmailMessage:
    """The previous implementation, kept here as the yardstick."""
    message = EmailMessage()
    message["From"] = mail_from
    name, address = parseaddr(to)
    username, _, domain = address.rpartition("@")
    message["To"] = Address(display_name=name, username=username, domain=domain)
    message["Subject"] = subject
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    html_part = message.get_body(("html",))
    assert isinstance(html_part, EmailMessage)
    for cid, filename, png in images:
        html_part.add_related(
            png,
            maintype="image",
            subtype="png",
            cid=f"<{cid}>",
            disposition="inline",
            filename=filename,
        )
    return parse(message.as_bytes(policy=email.policy.SMTP))


def _assert_same_as_reference(
    mail: Mail, composer: MailComposer, notice: TicketsNotice, mail_from: str = MAIL_FROM
) -> None:
    view = composer.templates.tickets_view(notice)
    subject = composer.templates.subject("tickets.subject.j2", view)
    reference = _reference(
        composer,
        mail_from=mail_from,
        to=notice.contact.email or "",
        subject=subject,
        text=composer.templates.render("tickets.txt.j2", view),
        html=composer.templates.render("tickets.html.j2", view),
        images=[(t.cid, f"ticket-{t.number}.png", render_qr_png(t.token)) for t in view.tickets],
    )
    _assert_same(mail, reference, subject)


def _shape(part: Message) -> object:
    """A part as a client sees it: type, encoding, disposition, ids and decoded content."""
    if part.is_multipart():
        return (part.get_content_type(), [_shape(p) for p in part.iter_parts()])  # type: ignore[attr-defined]
    assert isinstance(part, EmailMessage)
    return (
        part.get_content_type(),
        part.get_content_charset(),
        part["Content-Transfer-Encoding"],
        part.get_content_disposition(),
        part.get_filename(),
        part["Content-ID"],
        part.get_content(),
    )


def _assert_same(mail: Mail, reference: EmailMessage, subject: str) -> None:
    """Same decoded headers and parts; the subject reads exactly as rendered.

    (The reference lets a word that looks like an encoded-word, ``=?utf-8?q?x?=``, be
    decoded by the client; the composer encodes it, so the subject shows what was written.)
    """
    message = parse(mail.data)
    for name in ("From", "To", "Auto-Submitted", "MIME-Version"):
        assert str(message[name]) == str(reference[name]), name
    assert str(message["Subject"]) == subject
    if "=?" not in subject:
        assert str(reference["Subject"]) == subject
    assert message.defects == []
    assert all(not part.defects for part in message.walk())
    assert _shape(message) == _shape(reference)


def _assert_well_formed(mail: Mail) -> None:
    """CRLF only, short lines, and (ASCII addresses) pure ASCII: safe for any SMTP server."""
    assert b"\n" not in mail.data.replace(b"\r\n", b"")
    assert b"\r" not in mail.data.replace(b"\r\n", b"")
    assert max(len(line) for line in mail.data.split(b"\r\n")) <= 78
    if not mail.needs_smtputf8:
        assert mail.data.isascii()


@pytest.mark.parametrize(
    "event_name",
    [
        "Nachtkonzert",
        "Ünïcödé Fëstïvål " * 8,
        "日本語のコンサート" * 6,
        "Ticket night 🎫 with émojis and a very long name that needs folding " * 3,
        "x" * 120,
        '--=_boundary-lookalike = "quotes" <b>bold</b> & =?utf-8?q?fake?=',
    ],
)
def test_tickets_mail_reads_the_same_as_the_modern_api_built_it(
    signer: JoseTicketSigner, event_name: str
) -> None:
    composer = MailComposer(mail_from=MAIL_FROM, public_url=PUBLIC_URL)
    notice = tickets_notice(signer, event_name=event_name)

    mail = composer.tickets(notice)

    _assert_same_as_reference(mail, composer, notice)
    _assert_well_formed(mail)


@pytest.mark.parametrize(
    ("mail_from", "to"),
    [
        ("tickets@example.com", "ada@example.org"),
        ("Tikéti Ködé <tickets@example.com>", "Ädä Lövelace <ada@example.org>"),
        (
            '"elTiketi, Berlin" <tickets@example.com>',
            '"Lovelace, Ada (Countess)" <ada@example.org>',
        ),
        (
            "elTiketi <tickets@example.com>",
            "Augusta Ada King Countess of Lovelace " * 3 + "<a@b.org>",
        ),
    ],
)
def test_names_and_addresses_read_the_same(
    signer: JoseTicketSigner, mail_from: str, to: str
) -> None:
    composer = MailComposer(mail_from=mail_from, public_url=PUBLIC_URL)
    contact = Contact(email=to)
    notice = tickets_notice(signer, contact=contact)

    mail = composer.tickets(notice)

    _assert_same_as_reference(mail, composer, notice, mail_from=mail_from)
    _assert_well_formed(mail)
    assert mail.recipients == (parseaddr(to)[1],)
    assert mail.sender == "tickets@example.com"


def test_awkward_text_bodies_decode_to_the_same_text(
    tmp_path: Path, signer: JoseTicketSigner
) -> None:
    """Trailing blanks, tabs, lone dots, ``From `` lines, ``=``, very long lines."""
    awkward = (
        "trailing blanks   \n\ttab first\n.\nFrom the organiser\n= equals =3D\n"
        + "long " * 40
        + "\nno-spaces-" * 1
        + "y" * 200
        + "\n\n\nend without newline"
    )
    (tmp_path / "tickets.txt.j2").write_text(awkward)
    (tmp_path / "tickets.html.j2").write_text("<p>{{ v.event_name }}</p>\n" + awkward)
    composer = MailComposer(mail_from=MAIL_FROM, public_url=PUBLIC_URL, templates_dir=tmp_path)
    notice = tickets_notice(signer)

    mail = composer.tickets(notice)

    _assert_same_as_reference(mail, composer, notice)
    _assert_well_formed(mail)
    assert body(parse(mail.data), "plain").replace("\r\n", "\n") == awkward + "\n"


def test_refund_and_payment_problem_read_the_same() -> None:
    composer = MailComposer(mail_from=MAIL_FROM, public_url=PUBLIC_URL)
    refund, problem = refund_notice(), payment_problem_notice()
    refund_view = composer.templates.refund_view(refund)
    problem_view = composer.templates.payment_problem_view(problem)

    refund_mail, problem_mail = composer.refund(refund), composer.payment_problem(problem)

    for mail, kind, view in (
        (refund_mail, "refund", refund_view),
        (problem_mail, "payment_problem", problem_view),
    ):
        subject = composer.templates.subject(f"{kind}.subject.j2", view)
        reference = _reference(
            composer,
            mail_from=MAIL_FROM,
            to="ada@example.org",
            subject=subject,
            text=composer.templates.render(f"{kind}.txt.j2", view),
            html=composer.templates.render(f"{kind}.html.j2", view),
            images=[],
        )
        _assert_same(mail, reference, subject)
        _assert_well_formed(mail)
        assert parse(mail.data).get_content_type() == "multipart/alternative"


def test_inline_pngs_are_the_rendered_bytes_referenced_from_the_html(
    signer: JoseTicketSigner,
) -> None:
    composer = MailComposer(mail_from=MAIL_FROM, public_url=PUBLIC_URL)
    notice = tickets_notice(signer)

    message = parse(composer.tickets(notice).data)

    expected = {f"ticket-{t.id}@eltiketi": render_qr_png(t.token) for t in notice.tickets}
    assert inline_pngs(message) == expected
    html = body(message, "html")
    assert sorted(re.findall(r'src="cid:([^"]+)"', html)) == sorted(expected)


def test_date_and_message_id_are_well_formed_and_fresh(signer: JoseTicketSigner) -> None:
    composer = MailComposer(mail_from=MAIL_FROM, public_url=PUBLIC_URL)
    notice = tickets_notice(signer)

    first, second = composer.tickets(notice), composer.tickets(notice)

    message = parse(first.data)
    assert message["Date"].datetime.tzinfo is not None
    assert str(message["Message-ID"]) == first.message_id
    assert re.fullmatch(r"<[^<>@\s]+@example\.com>", first.message_id)
    assert first.message_id != second.message_id


def test_a_non_ascii_address_needs_smtputf8_and_reads_back(signer: JoseTicketSigner) -> None:
    composer = MailComposer(mail_from=MAIL_FROM, public_url=PUBLIC_URL)
    notice = tickets_notice(signer, contact=Contact(email="Ädä <ädä@exämple.org>"))

    mail = composer.tickets(notice)

    assert mail.needs_smtputf8
    assert mail.recipients == ("ädä@exämple.org",)
    # RFC 6532: the header carries the address as UTF-8 (as aiosmtplib sent it before).
    header = email.message_from_string(mail.data.decode(), policy=email.policy.default)["To"]
    to = header
    assert to.addresses[0].display_name == "Ädä"
    assert to.addresses[0].addr_spec == "ädä@exämple.org"
    assert not composer.tickets(tickets_notice(signer)).needs_smtputf8
