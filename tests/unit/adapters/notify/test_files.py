"""Embedded delivery: one readable file per message, owner-only, written atomically."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from eltiketi_adapters.notify import EmlFileNotifier, SmsFileNotifier
from eltiketi_adapters.tickets import JoseTicketSigner, TicketKeySet
from eltiketi_core.domain.booking import Contact
from eltiketi_core.errors import GatewayUnavailable, ValidationFailed
from eltiketi_core.ports.notifications import Notifier
from tests.unit.adapters.notify.mail_reading import body, parse, ticket_tokens
from tests.unit.adapters.notify.samples import payment_problem_notice, refund_notice, tickets_notice

PUBLIC_URL = "http://127.0.0.1:8000"


@pytest.fixture(scope="module")
def signer() -> JoseTicketSigner:
    return JoseTicketSigner(TicketKeySet.generate())


@pytest.fixture
def eml(tmp_path: Path) -> EmlFileNotifier:
    return EmlFileNotifier(
        tmp_path / "mail", mail_from="tickets@example.com", public_url=PUBLIC_URL
    )


@pytest.fixture
def sms(tmp_path: Path) -> SmsFileNotifier:
    return SmsFileNotifier(tmp_path / "sms", public_url=PUBLIC_URL)


def test_both_implement_the_port(eml: EmlFileNotifier, sms: SmsFileNotifier) -> None:
    notifiers: list[Notifier] = [eml, sms]

    assert [n.channel for n in notifiers] == ["email", "sms"]


@pytest.mark.parametrize(
    ("contact", "expected"),
    [
        (Contact(email="a@example.org", phone="+4915112345678"), True),
        (Contact(email="a@example.org"), True),
        (Contact(phone="+4915112345678"), False),
        (Contact(email="  ", phone=""), False),
        (Contact(), False),
    ],
)
def test_email_accepts_an_address(eml: EmlFileNotifier, contact: Contact, expected: bool) -> None:
    assert eml.accepts(contact) is expected


@pytest.mark.parametrize(
    ("contact", "expected"),
    [
        (Contact(email="a@example.org", phone="+4915112345678"), True),
        (Contact(email="a@example.org"), False),
        (Contact(phone="+49 151 1234-5678"), True),
        (Contact(phone=" "), False),
    ],
)
def test_sms_accepts_a_phone(sms: SmsFileNotifier, contact: Contact, expected: bool) -> None:
    assert sms.accepts(contact) is expected


async def test_eml_file_is_a_complete_owner_only_message(
    eml: EmlFileNotifier, signer: JoseTicketSigner
) -> None:
    notice = tickets_notice(signer)

    await eml.send_tickets(notice)

    [path] = list(eml.folder.iterdir())
    assert path.suffix == ".eml"
    assert f"-tickets-{notice.order.reference}-" in path.name
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    raw = path.read_bytes()
    assert b"\r\n" in raw
    message = parse(raw)
    assert message["To"] == "ada@example.org"
    assert sorted(ticket_tokens(message).values()) == sorted(t.token for t in notice.tickets)


async def test_every_send_is_a_new_file(eml: EmlFileNotifier, signer: JoseTicketSigner) -> None:
    notice = tickets_notice(signer)

    await eml.send_tickets(notice)
    await eml.send_tickets(notice)
    await eml.send_refund(refund_notice())
    await eml.send_payment_problem(payment_problem_notice())

    names = sorted(p.name for p in eml.folder.iterdir())
    assert len(names) == 4
    assert [n.split("-")[1] for n in names] == ["tickets", "tickets", "refund", "payment_problem"]
    assert not [n for n in names if n.startswith(".")]


async def test_refund_file_reads_well(eml: EmlFileNotifier) -> None:
    await eml.send_refund(refund_notice())

    [path] = list(eml.folder.iterdir())
    assert "cancelled by the organiser" in body(parse(path.read_bytes()), "plain")


async def test_unwritable_folder_is_a_gateway_error(
    tmp_path: Path, signer: JoseTicketSigner
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    notifier = EmlFileNotifier(blocker / "mail", mail_from="t@example.com", public_url=PUBLIC_URL)

    with pytest.raises(GatewayUnavailable) as caught:
        await notifier.send_tickets(tickets_notice(signer))

    assert caught.value.code == "notification_write_failed"


async def test_sms_file_has_the_number_and_a_text_with_the_ticket_and_order_links(
    sms: SmsFileNotifier, signer: JoseTicketSigner
) -> None:
    notice = tickets_notice(signer, contact=Contact(phone="+49 (151) 1234-5678"))

    await sms.send_tickets(notice)

    [path] = list(sms.folder.iterdir())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    head, text = path.read_text().split("\n\n", 1)
    assert head == "To: +4915112345678"
    links = " ".join(
        f"Ticket {n}: {PUBLIC_URL}/v1/tickets/{t.id}/qr.svg"
        for n, t in enumerate(notice.tickets, start=1)
    )
    assert text.strip() == (
        f"elTiketi: 3 tickets for Nachtkonzert, 14. März 2026. {links} "
        f"Your order: {PUBLIC_URL}/orders/{notice.order.id}"
    )


async def test_sms_refund_and_payment_problem(sms: SmsFileNotifier) -> None:
    await sms.send_refund(refund_notice())
    await sms.send_payment_problem(payment_problem_notice())

    texts = sorted(p.read_text() for p in sms.folder.iterdir())
    assert any("we are refunding €138.00 for Nachtkonzert" in t for t in texts)
    assert any("did not go through" in t for t in texts)


async def test_sms_to_a_contact_without_a_usable_number_is_a_validation_error(
    sms: SmsFileNotifier,
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        await sms.send_refund(refund_notice(Contact(phone="call me maybe")))

    assert caught.value.code == "invalid_phone"
