"""Domain rules that need no adapters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import msgspec
import pytest

from eltiketi_core.domain.booking import Booking, BookingItem, BookingStatus, Contact
from eltiketi_core.domain.catalog import Event, EventStatus, StockLevel, TicketType
from eltiketi_core.domain.events import OrderCreated, decode_event, encode_event
from eltiketi_core.domain.identity import Principal, Role
from eltiketi_core.domain.money import Money
from eltiketi_core.domain.organization import (
    Invitation,
    InvitationStatus,
    MemberRole,
    Organization,
    normalise_email,
)
from eltiketi_core.errors import Conflict, NotFound, ValidationFailed
from eltiketi_core.usecases.access import owned

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def make_event(**changes: object) -> Event:
    fields: dict[str, object] = {
        "id": uuid4(),
        "owner": "olga",
        "organization_id": uuid4(),
        "name": "Concert",
        "venue": "Hall",
        "starts_at": NOW + timedelta(days=30),
        "timezone": "Europe/Berlin",
        "locale": "de",
        "currency": "EUR",
        "created_at": NOW,
    }
    fields.update(changes)
    return Event(**fields)  # type: ignore[arg-type]


class TestMoney:
    def test_adds_and_multiplies_in_minor_units(self) -> None:
        assert Money(1050, "EUR") * 3 + Money(5, "EUR") == Money(3155, "EUR")

    def test_refuses_to_mix_currencies(self) -> None:
        with pytest.raises(ValidationFailed) as err:
            Money(1, "EUR") + Money(1, "USD")
        assert err.value.code == "currency_mismatch"

    @pytest.mark.parametrize("code", ["eur", "EURO", "E1R", ""])
    def test_refuses_codes_that_are_not_iso_4217_shaped(self, code: str) -> None:
        with pytest.raises(ValidationFailed) as err:
            Money(1, code)
        assert err.value.code == "invalid_currency"

    def test_decoding_validates_too(self) -> None:
        with pytest.raises(ValidationFailed):
            msgspec.json.decode(b'{"amount": 1, "currency": "xx"}', type=Money)


class TestEvent:
    def test_needs_an_offset_on_its_start(self) -> None:
        with pytest.raises(ValidationFailed) as err:
            make_event(starts_at=datetime(2026, 12, 1, 20, 0))
        assert err.value.code == "naive_datetime"

    def test_needs_a_known_timezone(self) -> None:
        with pytest.raises(ValidationFailed) as err:
            make_event(timezone="Mars/Olympus")
        assert err.value.code == "invalid_timezone"

    def test_local_start_is_in_its_timezone(self) -> None:
        event = make_event(starts_at=datetime(2026, 12, 1, 19, 0, tzinfo=UTC))
        assert event.local_start().hour == 20  # Berlin is UTC+1 in December

    def test_a_cancelled_event_cannot_be_published(self) -> None:
        with pytest.raises(Conflict):
            make_event(status=EventStatus.CANCELLED).published()


class TestTicketType:
    @pytest.mark.parametrize(
        ("changes", "code"),
        [
            ({"capacity": -1}, "invalid_capacity"),
            ({"max_per_booking": 0}, "invalid_limit"),
            ({"shards": 0}, "invalid_shards"),
            ({"shards": 1000}, "invalid_shards"),
            ({"price": Money(-1, "EUR")}, "invalid_price"),
            ({"name": "  "}, "invalid_name"),
        ],
    )
    def test_rejects_impossible_values(self, changes: dict[str, object], code: str) -> None:
        fields: dict[str, object] = {
            "id": uuid4(),
            "event_id": uuid4(),
            "name": "Standing",
            "price": Money(2500, "EUR"),
            "capacity": 100,
        }
        fields.update(changes)
        with pytest.raises(ValidationFailed) as err:
            TicketType(**fields)  # type: ignore[arg-type]
        assert err.value.code == code


def test_available_is_what_is_neither_held_nor_sold() -> None:
    assert StockLevel(ticket_type_id=uuid4(), capacity=10, held=3, sold=4).available == 3


class TestPrincipal:
    def test_everyone_is_a_customer(self) -> None:
        assert Principal(subject="a").has_role(Role.CUSTOMER)

    def test_roles_come_from_the_token(self) -> None:
        organizer = Principal(subject="o", roles=frozenset({"organizer"}))
        assert organizer.has_role(Role.ORGANIZER)
        assert not organizer.has_role(Role.STAFF)

    def test_admin_holds_every_role(self) -> None:
        admin = Principal(subject="root", roles=frozenset({"admin"}))
        assert all(admin.has_role(role) for role in Role)


class TestAccess:
    customer = Principal(subject="alice")

    def test_someone_elses_record_is_not_found(self) -> None:
        with pytest.raises(NotFound) as err:
            owned("booking", "bob", self.customer, "booking")
        assert err.value.code == "booking_not_found"
        assert owned("booking", "alice", self.customer, "booking") == "booking"


class TestOrganizations:
    def test_each_role_includes_the_ones_below_it(self) -> None:
        owner, manager, door = MemberRole.OWNER, MemberRole.MANAGER, MemberRole.DOOR
        assert all(owner.includes(r) for r in MemberRole)
        assert manager.includes(manager) and manager.includes(door)
        assert not manager.includes(owner)
        assert door.includes(door)
        assert not door.includes(manager) and not door.includes(owner)

    @pytest.mark.parametrize(
        ("raw", "stored"),
        [
            (" Dora@Example.ORG ", "dora@example.org"),
            ("d.o+ra@sub.example.org", "d.o+ra@sub.example.org"),
        ],
    )
    def test_emails_are_compared_trimmed_and_lower_cased(self, raw: str, stored: str) -> None:
        assert normalise_email(raw) == stored

    @pytest.mark.parametrize(
        "raw",
        [
            "",
            "dora",
            "@example.org",
            "dora@",
            "dora@localhost",
            "a@b@example.org",
            "Dora <dora@example.org>",
            "dora @example.org",
            "x" * 250 + "@example.org",
        ],
    )
    def test_anything_but_one_plain_address_is_refused(self, raw: str) -> None:
        with pytest.raises(ValidationFailed) as err:
            normalise_email(raw)
        assert err.value.code == "invalid_email"

    def test_an_organization_needs_a_short_name(self) -> None:
        for name in ("  ", "x" * 201):
            with pytest.raises(ValidationFailed):
                Organization(id=uuid4(), name=name, created_by="olga", created_at=NOW)

    def test_only_a_pending_invitation_expires(self) -> None:
        invitation = Invitation(
            id=uuid4(),
            organization_id=uuid4(),
            email="dora@example.org",
            role=MemberRole.DOOR,
            invited_by="olga",
            created_at=NOW,
            expires_at=NOW + timedelta(days=1),
        )
        assert not invitation.expired(NOW + timedelta(hours=23))
        assert invitation.expired(NOW + timedelta(days=1))
        used = msgspec.structs.replace(invitation, status=InvitationStatus.ACCEPTED)
        assert not used.expired(NOW + timedelta(days=9))


def test_events_round_trip_through_json_with_their_type_tag() -> None:
    item = BookingItem(ticket_type_id=uuid4(), quantity=2, unit_price=Money(1000, "EUR"))
    event = OrderCreated(
        id=uuid4(),
        occurred_at=NOW,
        booking_id=uuid4(),
        order_id=uuid4(),
        event_id=uuid4(),
        buyer="alice",
        contact=Contact(email="a@example.org"),
        items=(item,),
        total=Money(2000, "EUR"),
        ticket_ids=(uuid4(), uuid4()),
    )
    data = encode_event(event)
    assert msgspec.json.decode(data)["type"] == "OrderCreated"
    assert decode_event(data) == event
    assert event.key == str(event.booking_id)


def test_a_held_booking_expires_at_its_deadline() -> None:
    booking = Booking(
        id=uuid4(),
        event_id=uuid4(),
        buyer="alice",
        contact=Contact(),
        items=(),
        total=Money(0, "EUR"),
        status=BookingStatus.HELD,
        created_at=NOW,
        expires_at=NOW + timedelta(minutes=15),
    )
    assert not booking.is_expired_at(NOW + timedelta(minutes=14, seconds=59))
    assert booking.is_expired_at(NOW + timedelta(minutes=15))
    assert not booking.with_status(BookingStatus.CONFIRMED).is_expired_at(NOW + timedelta(days=1))
