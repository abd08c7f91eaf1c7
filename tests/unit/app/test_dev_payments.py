"""The embedded fake gateway's provider: the journal file is compacted when the app stops."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

import msgspec
from dishka import Provider, Scope, from_context, make_async_container

from eltiketi_adapters.fakepay import SharedFakePaymentGateway
from eltiketi_adapters.memory import FakePayment, FakePaymentGateway
from eltiketi_app.ioc.dev_payments import STATE_FILE, FakeGatewayProvider
from eltiketi_app.settings import Settings
from eltiketi_core.domain.money import Money
from eltiketi_core.ports.payments import GatewayPaymentStatus, PaymentGateway

REFERENCE = "fake_pay_0001"


class SettingsFromContext(Provider):
    settings = from_context(provides=Settings, scope=Scope.APP)


def journal_lines(path: Path) -> list[FakePayment]:
    return [
        msgspec.json.decode(line, type=FakePayment)
        for line in path.read_bytes().splitlines()
        if line
    ]


async def test_closing_the_container_compacts_the_gateway_journal(tmp_path: Path) -> None:
    state_file = tmp_path / STATE_FILE
    pending = FakePayment(
        reference=REFERENCE,
        booking_id=UUID("0190a5a0-0000-7000-8000-000000000002"),
        amount=Money(4500, "EUR"),
    )
    state_file.write_bytes(msgspec.json.encode(pending) + b"\n")
    settings = Settings(data_dir=tmp_path)  # a database that survives: payments do too
    container = make_async_container(
        SettingsFromContext(), FakeGatewayProvider(), context={Settings: settings}
    )

    gateway = await container.get(FakePaymentGateway)
    assert await container.get(PaymentGateway) is gateway
    gateway.approve(REFERENCE)
    assert len(journal_lines(state_file)) == 2  # the change is appended, not yet compacted

    await container.close()

    [kept] = journal_lines(state_file)
    assert kept.reference == REFERENCE
    assert kept.status is GatewayPaymentStatus.SUCCEEDED
    restarted = SharedFakePaymentGateway(state_file=state_file)
    assert restarted.payment(REFERENCE).status is GatewayPaymentStatus.SUCCEEDED
    restarted.close()
