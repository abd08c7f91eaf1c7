"""The order number a buyer reads: short, not a timestamp, and unique."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

from eltiketi_adapters.memory import InMemoryTicketing, TimeOrderedIds
from eltiketi_core.domain.order import REFERENCE_LENGTH, normalise_reference, order_reference
from tests.unit.usecases.conftest import buyer, make_sale


class CollidingIds:
    """Time-ordered ids, except that the next ``armed`` ones end in the same 40 bits as
    ``like`` (so their orders would get its reference)."""

    def __init__(self) -> None:
        self._ids = TimeOrderedIds()
        self.like: UUID | None = None
        self.armed = 0

    def new_id(self) -> UUID:
        fresh = self._ids.new_id()
        if self.armed and self.like is not None:
            self.armed -= 1
            low = (1 << 40) - 1
            return UUID(int=(uuid4().int & ~low) | (self.like.int & low))
        return fresh


def test_orders_made_moments_apart_have_unrelated_references() -> None:
    ids = TimeOrderedIds()
    first, second = ids.new_id(), ids.new_id()
    assert str(first)[:8] == str(second)[:8]  # the old "short ref": the same timestamp
    assert order_reference(first) != order_reference(second)
    assert len(order_reference(first)) == REFERENCE_LENGTH
    assert set(order_reference(first)) <= set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")


def test_a_reference_typed_by_a_person_is_read_back() -> None:
    assert normalise_reference("7k3m-9qxo") == "7K3M9QX0"
    assert normalise_reference(" 7K3M 9QXL ") == "7K3M9QX1"
    assert normalise_reference("7K3M9QX") is None
    assert normalise_reference("7K3M9QXU") is None  # U is not in the alphabet


async def test_a_reference_that_is_taken_gets_the_order_a_fresh_one() -> None:
    ids = CollidingIds()
    kit = InMemoryTicketing(ids=ids)
    sale = await make_sale(kit)
    alice, bob = buyer("alice"), buyer("bob")
    first = await sale.buy(alice)
    booking = await sale.hold(bob)
    payment = await sale.pay(bob, booking)
    sale.clock.advance(timedelta(seconds=5))
    ids.like, ids.armed = first, 1  # the next id made is the new order's
    second = (await kit.core.settlement.confirm(bob, booking.id, payment.id)).order
    assert ids.armed == 0, "the colliding id was used"
    async with kit.uow() as uow:
        stored_first = await uow.orders.get(first)
        assert stored_first is not None
        assert second.reference != stored_first.reference
        assert await uow.orders.by_reference(second.reference) == second
        assert await uow.orders.by_reference(stored_first.reference) == stored_first
