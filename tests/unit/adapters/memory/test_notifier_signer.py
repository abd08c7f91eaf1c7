"""RecordingNotifier and HmacTicketSigner."""

from __future__ import annotations

import base64
import hashlib
import hmac
from uuid import uuid4

import msgspec
import pytest

from eltiketi_adapters.memory import HmacTicketSigner, NotifierDown, RecordingNotifier
from eltiketi_core.domain.booking import Contact
from eltiketi_core.domain.money import Money
from eltiketi_core.domain.order import TicketClaims
from eltiketi_core.errors import InvalidTicket
from eltiketi_core.ports.notifications import Notifier, PaymentProblemNotice, RefundNotice
from eltiketi_core.ports.tickets import TicketSigner

ALICE = Contact(email="alice@example.org", phone="+4915112345678")


def refund(n: int = 1) -> RefundNotice:
    return RefundNotice(contact=ALICE, buyer="alice", amount=Money(100 * n, "EUR"), reason="x")


def problem() -> PaymentProblemNotice:
    return PaymentProblemNotice(contact=ALICE, buyer="alice", booking_id="b1", reason="declined")


# -- notifier ---------------------------------------------------------------------------------


def test_channels_reach_the_contacts_they_can() -> None:
    email: Notifier = RecordingNotifier()
    sms = RecordingNotifier("sms")
    assert email.channel == "email"
    assert email.accepts(ALICE)
    assert not email.accepts(Contact(phone="+491"))
    assert sms.accepts(Contact(phone="+491"))
    assert not sms.accepts(Contact(email="a@b.c"))
    assert not sms.accepts(Contact())


async def test_every_notice_is_recorded_by_kind_and_in_order() -> None:
    notifier = RecordingNotifier()
    await notifier.send_refund(refund(1))
    await notifier.send_payment_problem(problem())
    await notifier.send_refund(refund(2))
    assert notifier.refunds == [refund(1), refund(2)]
    assert notifier.payment_problems == [problem()]
    assert notifier.tickets == []
    assert notifier.sent == [refund(1), problem(), refund(2)]
    notifier.clear()
    assert notifier.sent == notifier.refunds == []


async def test_fail_next_fails_exactly_that_many_sends() -> None:
    notifier = RecordingNotifier()
    notifier.fail_next(2)
    for _ in range(2):
        with pytest.raises(NotifierDown):
            await notifier.send_refund(refund())
    await notifier.send_refund(refund())
    assert notifier.failures == 2
    assert notifier.refunds == [refund()]  # failed sends leave no record


async def test_fail_next_can_raise_a_given_error() -> None:
    notifier = RecordingNotifier("sms")
    notifier.fail_next(error=TimeoutError("provider slow"))
    with pytest.raises(TimeoutError, match="provider slow"):
        await notifier.send_payment_problem(problem())
    await notifier.send_payment_problem(problem())
    assert len(notifier.payment_problems) == 1


# -- signer -----------------------------------------------------------------------------------


def claims() -> TicketClaims:
    return TicketClaims(ticket_id=uuid4(), event_id=uuid4(), ticket_type_id=uuid4(), version=2)


def test_a_signed_token_verifies_to_its_claims() -> None:
    signer: TicketSigner = HmacTicketSigner(b"k1", "2030-01")
    mine = claims()
    token = signer.sign(mine)
    assert token.startswith("2030-01.")
    assert signer.verify(token) == mine


def test_retired_keys_still_verify_but_never_sign() -> None:
    old = HmacTicketSigner(b"old-secret", "k1")
    token = old.sign(mine := claims())
    rotated = HmacTicketSigner(b"new-secret", "k2", retired={"k1": b"old-secret"})
    assert rotated.verify(token) == mine
    assert rotated.sign(mine).startswith("k2.")
    with pytest.raises(InvalidTicket):
        HmacTicketSigner(b"new-secret", "k2").verify(token)  # k1 forgotten: unknown key


def _tampered_claims(token: str) -> str:
    kid, _, mac = token.split(".")
    forged = msgspec.json.encode(claims())
    return f"{kid}.{base64.urlsafe_b64encode(forged).rstrip(b'=').decode()}.{mac}"


@pytest.mark.parametrize(
    "spoil",
    [
        lambda t: t + "x",
        lambda t: t.replace(".", "", 1),
        lambda t: "",
        lambda t: "test.%%%.abc",
        _tampered_claims,
        lambda t: HmacTicketSigner(b"other-secret").sign(claims()),
        lambda t: "other" + t[t.index(".") :],
    ],
    ids=["mac", "shape", "empty", "garbage", "claims swapped", "other secret", "kid"],
)
def test_anything_else_is_an_invalid_ticket(spoil: object) -> None:
    signer = HmacTicketSigner()
    token = signer.sign(claims())
    with pytest.raises(InvalidTicket):
        signer.verify(spoil(token))  # type: ignore[operator]


def test_a_valid_mac_over_non_claims_is_still_invalid() -> None:
    body = base64.urlsafe_b64encode(b'{"hello": "world"}').rstrip(b"=").decode()
    mac = hmac.new(b"eltiketi-test-secret", f"test.{body}".encode(), hashlib.sha256).digest()
    token = f"test.{body}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    with pytest.raises(InvalidTicket, match="claims"):
        HmacTicketSigner().verify(token)


def test_no_public_keys_because_hmac_is_not_offline_verifiable() -> None:
    assert HmacTicketSigner().public_jwks() == {"keys": []}


def test_kids_with_dots_are_refused() -> None:
    with pytest.raises(ValueError, match="dot"):
        HmacTicketSigner(kid="a.b")


def test_signing_is_deterministic() -> None:
    mine = claims()
    assert HmacTicketSigner().sign(mine) == HmacTicketSigner().sign(mine)
    assert HmacTicketSigner(b"k2").sign(mine) != HmacTicketSigner().sign(mine)
