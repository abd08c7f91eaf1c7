"""Request bodies and their use cases' inputs have one shape: the edge's copy only adds
the wire's bounds, so the fields must be the same and a body converts as it is."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import msgspec
import pytest

from eltiketi_app.http.schemas import (
    BookingItemIn,
    ContactIn,
    MoneyIn,
    NewBookingIn,
    NewEventIn,
    NewTicketTypeIn,
    core_input,
)
from eltiketi_core.domain.booking import Contact
from eltiketi_core.domain.money import Money
from eltiketi_core.errors import ValidationFailed
from eltiketi_core.usecases import ItemRequest, NewEvent, NewTicketType, ReserveRequest

PAIRS = [
    (NewEventIn, NewEvent),
    (NewTicketTypeIn, NewTicketType),
    (NewBookingIn, ReserveRequest),
    (BookingItemIn, ItemRequest),
    (ContactIn, Contact),
    (MoneyIn, Money),
]


@pytest.mark.parametrize(("edge", "core"), PAIRS, ids=lambda shape: shape.__name__)
def test_the_edge_and_the_core_have_the_same_fields(
    edge: type[msgspec.Struct], core: type[msgspec.Struct]
) -> None:
    assert edge.__struct_fields__ == core.__struct_fields__


def test_a_booking_body_becomes_the_reserve_request() -> None:
    event_id, type_id = uuid4(), uuid4()
    body = NewBookingIn(
        event_id=event_id,
        items=[BookingItemIn(ticket_type_id=type_id, quantity=2)],
        contact=ContactIn(email="dora@example.com"),
        locale="de",
    )
    assert core_input(body, ReserveRequest) == ReserveRequest(
        event_id=event_id,
        items=(ItemRequest(ticket_type_id=type_id, quantity=2),),
        contact=Contact(email="dora@example.com"),
        locale="de",
    )


def test_an_event_body_keeps_its_defaults() -> None:
    starts = datetime(2031, 7, 1, 18, tzinfo=UTC)
    body = NewEventIn(name="Open Air", venue="Park", starts_at=starts, timezone="Europe/Berlin")
    assert core_input(body, NewEvent) == NewEvent(
        name="Open Air", venue="Park", starts_at=starts, timezone="Europe/Berlin"
    )


def test_the_core_still_checks_what_it_is_given() -> None:
    body = NewTicketTypeIn(name="Standard", price=MoneyIn(amount=100, currency="eur"), capacity=5)
    with pytest.raises(ValidationFailed) as refused:
        core_input(body, NewTicketType)
    assert refused.value.code == "invalid_currency"
