"""A rule added to the reservation as one more HoldCheck: checked per request, in arrival
order, against the batch's tally, and written for the holds kept — the shape an
admission pass or a code with counted uses takes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eltiketi_adapters.memory import InMemoryTicketing
from eltiketi_core.domain.booking import Booking
from eltiketi_core.errors import DomainError, ValidationFailed
from eltiketi_core.ports.uow import UnitOfWork
from eltiketi_core.usecases.booking import Bookings
from eltiketi_core.usecases.core_ports import CorePorts
from eltiketi_core.usecases.policy import Policy
from eltiketi_core.usecases.reservation import (
    Check,
    HoldCheck,
    ItemRequest,
    PendingHold,
    ReserveRequest,
    Sale,
    Tally,
    standard_checks,
)
from tests.unit.usecases.conftest import buyer, make_sale


class Uses(Check):
    """At most ``limit`` tickets ever for buyers whose name starts with ``code``: a code
    with counted uses, its counter in ``table`` (what a store would hold)."""

    def __init__(self, table: dict[str, int], limit: int) -> None:
        self.table = table
        self.limit = limit
        self.used = 0
        self.recorded: list[list[str]] = []

    async def prepare(self, uow: UnitOfWork, sale: Sale, holds: Sequence[PendingHold]) -> None:
        self.used = self.table.get("code", 0)  # a store would read it under a lock

    def check(self, hold: PendingHold, sale: Sale, tally: Tally) -> None:
        if not hold.buyer.startswith("code"):
            return
        if self.used + tally["uses"]["code"] + hold.wanted > self.limit:
            raise ValidationFailed("code_used_up", "the code has no uses left")

    def count(self, hold: PendingHold, sale: Sale, tally: Tally) -> None:
        if hold.buyer.startswith("code"):
            tally["uses"]["code"] += hold.wanted

    async def record(self, uow: UnitOfWork, kept: Sequence[tuple[PendingHold, Booking]]) -> None:
        self.recorded.append([hold.buyer for hold, _ in kept])
        used = sum(hold.wanted for hold, _ in kept if hold.buyer.startswith("code"))
        self.table["code"] = self.table.get("code", 0) + used


async def test_a_rule_with_counted_uses_is_one_more_check() -> None:
    kit = InMemoryTicketing()
    sale = await make_sale(kit, capacity=5)
    table: dict[str, int] = {"code": 1}
    made: list[Uses] = []

    def checks(policy: Policy) -> list[HoldCheck]:
        made.append(Uses(table, limit=4))
        return [*standard_checks(policy), made[-1]]

    bookings = Bookings(CorePorts(kit.uow, kit.clock, kit.ids), Policy(), checks=checks)

    def wants(quantity: int) -> ReserveRequest:
        item = ItemRequest(ticket_type_id=sale.standing.id, quantity=quantity)
        return ReserveRequest(event_id=sale.event.id, items=(item,))

    answers: list[Any] = await bookings.reserve_together(
        [
            (buyer("code-a"), wants(2)),  # 1 + 2 uses: fits
            (buyer("code-b"), wants(2)),  # 3 + 2 > 4: refused, uses nothing
            (buyer("plain"), wants(2)),  # no code: stock 5 - 2 - 2 = 1 left
            (buyer("code-c"), wants(1)),  # 3 + 1 uses: fits, and the last ticket
            (buyer("code-d"), wants(1)),  # no uses left (and no stock either)
        ]
    )

    assert ["held" if isinstance(a, Booking) else a.code for a in answers] == [
        "held",
        "code_used_up",
        "held",
        "held",
        "code_used_up",
    ]
    assert isinstance(answers[1], DomainError)
    assert made[-1].recorded == [["code-a", "plain", "code-c"]]  # written once, for the kept
    assert table == {"code": 4}
