"""SharedFakePaymentGateway's state file: an append-only journal, shared by processes.

A change appends one line (earlier bytes stay as they were); a restart replays and
compacts; gateways in other processes on the same file see each other's payments.
"""

from __future__ import annotations

import asyncio
import sys
import textwrap
from pathlib import Path

import msgspec
import pytest

from eltiketi_adapters.fakepay import SharedFakePaymentGateway
from eltiketi_core.domain.money import Money
from eltiketi_core.ports.payments import GatewayPaymentStatus
from tests.unit.adapters.memory.test_gateway import NOW, booking, payment_for, started

REPO = Path(__file__).resolve().parents[4]


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "data" / "fake-payments.json"


def _raw(state: Path) -> bytes:
    return state.read_bytes()


def _lines(state: Path) -> list[dict[str, object]]:
    return [msgspec.json.decode(line) for line in _raw(state).splitlines()]


async def test_state_file_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "data" / "fake-payments.json"
    gateway = SharedFakePaymentGateway(state_file=state)
    reference, held = await started(gateway)
    gateway.approve(reference)
    await gateway.refund(reference, Money(1000, "EUR"), idempotency_key="refund:1")
    restarted = SharedFakePaymentGateway(state_file=state)
    verified = await restarted.verify(reference)
    assert verified.status is GatewayPaymentStatus.SUCCEEDED
    assert verified.booking_id == held.id
    assert restarted.refunded_amount(reference) == 1000
    assert await restarted.refund(
        reference, Money(1000, "EUR"), idempotency_key="refund:1"
    ) == await gateway.refund(reference, Money(1000, "EUR"), idempotency_key="refund:1")
    assert not list(state.parent.glob("*.tmp"))


async def test_a_change_appends_one_line_and_leaves_earlier_bytes_alone(state: Path) -> None:
    gateway = SharedFakePaymentGateway(state_file=state)
    first, _ = await started(gateway)
    before = _raw(state)

    second, _ = await started(gateway)
    gateway.approve(first)
    after = _raw(state)

    assert after.startswith(before)
    assert [(line["reference"], line["status"]) for line in _lines(state)] == [
        (first, "pending"),
        (second, "pending"),
        (first, "succeeded"),
    ]


async def test_a_restart_replays_the_last_line_of_each_payment_and_compacts(state: Path) -> None:
    gateway = SharedFakePaymentGateway(state_file=state)
    paid, _ = await started(gateway)
    declined, _ = await started(gateway)
    gateway.approve(paid)
    gateway.decline(declined, "insufficient_funds")
    await gateway.refund(paid, Money(500, "EUR"), idempotency_key="r1")
    assert len(_lines(state)) == 5

    restarted = SharedFakePaymentGateway(state_file=state)

    assert restarted.started == [paid, declined]
    assert (await restarted.verify(paid)).status is GatewayPaymentStatus.SUCCEEDED
    assert (await restarted.verify(declined)).failure_reason == "insufficient_funds"
    assert restarted.refunded_amount(paid) == 500
    assert [line["reference"] for line in _lines(state)] == [paid, declined]
    assert not list(state.parent.glob("*.tmp"))


async def test_a_retried_start_after_a_restart_answers_the_same_reference(state: Path) -> None:
    held = booking()
    payment = payment_for(held)
    first = await SharedFakePaymentGateway(state_file=state).start(payment, held, expires_at=NOW)

    again = await SharedFakePaymentGateway(state_file=state).start(payment, held, expires_at=NOW)

    assert again.provider_reference == first.provider_reference


async def test_close_compacts_and_is_idempotent(state: Path) -> None:
    with SharedFakePaymentGateway(state_file=state) as gateway:
        reference, _ = await started(gateway)
        gateway.approve(reference)
        assert len(_lines(state)) == 2
    gateway.close()

    [line] = _lines(state)
    assert (line["reference"], line["status"]) == (reference, "succeeded")


async def test_a_torn_last_line_is_dropped_and_later_appends_stay_readable(state: Path) -> None:
    gateway = SharedFakePaymentGateway(state_file=state)
    kept, _ = await started(gateway)
    other = SharedFakePaymentGateway(state_file=state)  # another process, running meanwhile
    with state.open("ab") as journal:
        journal.write(b'{"reference":"fake_pay_torn","booking_id":"')  # a writer died here

    added, _ = await started(gateway)

    assert set(other.payments) == {kept, added}
    assert set(SharedFakePaymentGateway(state_file=state).payments) == {kept, added}


async def test_gateways_on_one_file_see_each_others_payments_and_decisions(state: Path) -> None:
    api = SharedFakePaymentGateway(state_file=state)
    worker = SharedFakePaymentGateway(state_file=state)
    reference, held = await started(api)

    worker.approve(reference)  # e.g. the pay page served by another API worker

    assert (await api.verify(reference)).status is GatewayPaymentStatus.SUCCEEDED
    assert worker.references_for(held.id) == [reference]
    with pytest.raises(Exception, match="already succeeded"):
        api.decline(reference)


async def test_a_compaction_elsewhere_loses_nothing(state: Path) -> None:
    running = SharedFakePaymentGateway(state_file=state)
    before, _ = await started(running)
    SharedFakePaymentGateway(state_file=state).close()  # a restart elsewhere replaces the file

    after, _ = await started(running)
    running.approve(before)

    fresh = SharedFakePaymentGateway(state_file=state)
    assert fresh.started == [before, after]
    assert (await fresh.verify(before)).status is GatewayPaymentStatus.SUCCEEDED


_CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from eltiketi_adapters.fakepay import SharedFakePaymentGateway
    from tests.unit.adapters.memory.test_gateway import NOW, booking, payment_for

    async def main() -> None:
        gateway = SharedFakePaymentGateway(state_file=Path(sys.argv[1]))
        for _ in range(int(sys.argv[2])):
            held = booking()
            session = await gateway.start(payment_for(held), held, expires_at=NOW)
            gateway.approve(session.provider_reference)
        print(len(gateway.payments))

    asyncio.run(main())
    """
)


async def test_processes_appending_while_others_restart_lose_no_payment(state: Path) -> None:
    """Two processes start and approve payments while this one starts its own and,
    between them, restarts gateways on the same file (each restart compacts it)."""
    count = 1500
    children = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _CHILD,
            str(state),
            str(count),
            cwd=REPO,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(2)
    ]
    waiting = [asyncio.ensure_future(child.communicate()) for child in children]
    here = SharedFakePaymentGateway(state_file=state)
    mine: list[str] = []
    while not all(w.done() for w in waiting) or len(mine) < 20:
        mine.append((await started(here))[0])
        if len(mine) % 5 == 0:
            SharedFakePaymentGateway(state_file=state).close()
        await asyncio.sleep(0)
    for child, done in zip(children, waiting, strict=True):
        _, err = await done
        assert child.returncode == 0, err.decode()

    everyone = SharedFakePaymentGateway(state_file=state).payments

    assert len(everyone) == 2 * count + len(mine)
    assert len(here.payments) == len(everyone)
    assert {r for r, p in everyone.items() if p.status is GatewayPaymentStatus.PENDING} == set(mine)
