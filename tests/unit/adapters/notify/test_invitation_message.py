"""The invitation e-mail: who invites, to what, as which role, and the signed link."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID, uuid4

from eltiketi_adapters.notify import EmlFileNotifier, MailComposer, SmsComposer, SmsFileNotifier
from eltiketi_core.domain.booking import Contact
from eltiketi_core.ports.notifications import InvitationNotice
from tests.unit.adapters.notify.mail_reading import body, parse

PUBLIC_URL = "https://tickets.example.test"
EXPIRES = datetime(2030, 3, 14, 18, 30, tzinfo=UTC)


def notice(**changes: object) -> InvitationNotice:
    fields: dict[str, object] = {
        "contact": Contact(email="dora@example.org"),
        "invitation_id": uuid4(),
        "organization_name": "Open Air Collective",
        "role": "door",
        "invited_by": "olga@example.org",
        "expires_at": EXPIRES,
    }
    fields.update(changes)
    return InvitationNotice(**fields)  # type: ignore[arg-type]


def link(invitation_id: UUID, expires_at: datetime) -> str:
    return f"{PUBLIC_URL}/invitations/signed-{invitation_id}-{int(expires_at.timestamp())}"


def composer(**options: object) -> MailComposer:
    return MailComposer(
        mail_from="elTiketi <tickets@example.test>",
        public_url=PUBLIC_URL,
        **options,  # type: ignore[arg-type]
    )


def test_the_mail_names_the_organization_the_role_and_carries_the_signed_link() -> None:
    sent = notice()
    mail = composer(invitation_link=link).invitation(sent)
    message = parse(mail.data)

    assert mail.recipients == ("dora@example.org",)
    assert message["Subject"] == "You are invited to join Open Air Collective on elTiketi"
    expected = link(sent.invitation_id, EXPIRES)
    for subtype in ("plain", "html"):
        text = body(message, subtype)
        assert expected in text
        assert "olga@example.org" in text and "door" in text
        assert "check tickets in at the door" in text
        assert "14 March 2030" in text  # when it expires
    assert f'href="{expected}"' in body(message, "html")


def test_without_a_link_maker_the_mail_names_the_invitation() -> None:
    sent = notice(role="manager")
    text = body(parse(composer().invitation(sent).data), "plain")

    assert str(sent.invitation_id) in text
    assert "/invitations/" not in text
    assert "manage events, orders, refunds and reports" in text


def test_organization_names_cannot_inject_headers_or_markup() -> None:
    sent = notice(organization_name="Evil\r\nBcc: all@example.org <b>Corp</b>")
    message = parse(composer(invitation_link=link).invitation(sent).data)

    assert message["Bcc"] is None
    assert "\n" not in str(message["Subject"])
    assert "<b>Corp</b>" not in body(message, "html")
    assert "&lt;b&gt;Corp&lt;/b&gt;" in body(message, "html")


async def test_embedded_mode_writes_the_invitation_as_an_eml_file(tmp_path: Path) -> None:
    notifier = EmlFileNotifier(
        tmp_path, mail_from="tickets@example.test", public_url=PUBLIC_URL, invitation_link=link
    )
    sent = notice()

    await notifier.send_invitation(sent)

    [written] = list(notifier.folder.iterdir())
    assert "-invitation-" in written.name and written.suffix == ".eml"
    assert link(sent.invitation_id, EXPIRES) in body(parse(written.read_bytes()), "plain")


async def test_an_sms_only_points_to_the_email(tmp_path: Path) -> None:
    sent = notice(contact=Contact(phone="+4915112345678"))
    text = SmsComposer(public_url=PUBLIC_URL).invitation(sent)
    notifier = SmsFileNotifier(tmp_path, public_url=PUBLIC_URL)
    await notifier.send_invitation(sent)

    assert "Open Air Collective" in text and "e-mail" in text
    assert "http" not in text
    [written] = list(notifier.folder.iterdir())
    assert "-invitation-" in written.name and written.suffix == ".txt"
    assert written.read_text().startswith("To: +4915112345678")
