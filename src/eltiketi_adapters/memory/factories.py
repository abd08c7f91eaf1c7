"""polyfactory factories that build *valid* elTiketi domain objects (``[testing]`` extra).

Every object these factories build passes the core's own checks and the
stores' constraints: money carries an ISO 4217 currency, events have a
timezone-aware ``starts_at`` and a real IANA timezone, a booking's ``total`` is
the sum of its items (all in one currency) and its hold ends 15 minutes after
it was created. Random values vary; ids are always fresh (``uuid4``, never
from the seeded random source), so two builds never collide in a database.

.. code-block:: python

    from eltiketi_adapters.memory.factories import BookingFactory, EventFactory

    event = EventFactory.build(timezone="Asia/Tokyo")
    booking = BookingFactory.build(event_id=event.id)   # consistent total
    assert booking.total.amount == sum(i.subtotal.amount for i in booking.items)

Objects that refer to each other (a booking of *these* ticket types, the order
of *this* booking and payment, the tickets of *this* order) come from the
``for_*`` class methods, which keep ids, buyers, currencies and amounts
consistent. Any field can be overridden with a keyword, as with every
polyfactory factory. :func:`seed` makes the random values repeatable.

This module is the only part of the testing kit that needs polyfactory; the
rest of ``eltiketi_adapters.memory`` works without it.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

import msgspec

try:
    from polyfactory import PostGenerated
    from polyfactory.factories.msgspec_factory import MsgspecFactory
except ImportError as missing:  # `pip install eltiketi` alone: the rest of the kit works
    raise ImportError(
        "eltiketi_adapters.memory.factories needs polyfactory: pip install 'eltiketi[testing]'"
    ) from missing

from eltiketi_adapters.memory.clock import DEFAULT_START
from eltiketi_core.domain.booking import Booking, BookingItem, BookingStatus, Contact
from eltiketi_core.domain.catalog import Event, EventStatus, TicketType
from eltiketi_core.domain.identity import Principal
from eltiketi_core.domain.money import Money
from eltiketi_core.domain.order import (
    Order,
    OrderStatus,
    StockState,
    Ticket,
    TicketClaims,
    TicketStatus,
    order_reference,
)
from eltiketi_core.domain.organization import Organization
from eltiketi_core.domain.payment import Payment, PaymentStatus
from eltiketi_core.ports.tickets import TicketSigner

__all__ = [
    "BASE_INSTANT",
    "CURRENCIES",
    "TIMEZONES",
    "BookingFactory",
    "BookingItemFactory",
    "ContactFactory",
    "EventFactory",
    "MoneyFactory",
    "OrderFactory",
    "OrganizationFactory",
    "PaymentFactory",
    "PrincipalFactory",
    "TicketFactory",
    "TicketTypeFactory",
    "seed",
]

T = TypeVar("T", bound=msgspec.Struct)

#: ISO 4217 codes the factories pick from (JPY has no minor unit; amounts stay integers).
CURRENCIES: tuple[str, ...] = ("EUR", "USD", "GBP", "CHF", "SEK", "JPY")
#: IANA zones with and without daylight saving, on both sides of UTC.
TIMEZONES: tuple[str, ...] = (
    "Europe/Berlin",
    "Europe/Lisbon",
    "America/New_York",
    "America/Sao_Paulo",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "Australia/Sydney",
    "UTC",
)
LOCALES: tuple[str, ...] = ("en", "en-GB", "de", "de-AT", "fr-FR", "es", "ja-JP", "pt-BR")
TICKET_TYPE_NAMES: tuple[str, ...] = ("Standing", "Seated", "VIP", "Balcony", "Early bird")

#: The instant the factories' timestamps are built around: the start of the kit's
#: :class:`~eltiketi_adapters.memory.FixedClock`, so built events lie in its future.
BASE_INSTANT: datetime = DEFAULT_START
HOLD_TIME = timedelta(minutes=15)
#: Where the embedded fake gateway's pay pages live (as :class:`FakePaymentGateway` says).
FAKE_PAY_URL = "http://127.0.0.1:8000/dev/pay"


def seed(value: int) -> None:
    """Make the random field values of every factory here repeatable (ids stay fresh)."""
    _KitFactory.seed_random(value)


def _total(items: Sequence[BookingItem]) -> Money:
    if not items:
        raise ValueError("a booking or order needs at least one item")
    total = Money.zero(items[0].unit_price.currency)
    for item in items:
        total = total + item.subtotal  # raises on mixed currencies, as the core would
    return total


def _total_of_items(_name: str, values: dict[str, Any]) -> Money:
    return _total(values["items"])


def _reference_of_id(_name: str, values: dict[str, Any]) -> str:
    return order_reference(values["id"])


def _hold_end(_name: str, values: dict[str, Any]) -> datetime:
    created: datetime = values["created_at"]
    return created + HOLD_TIME


def _checkout_url(_name: str, values: dict[str, Any]) -> str | None:
    reference = values.get("provider_reference")
    return None if reference is None else f"{FAKE_PAY_URL}/{reference}"


def _client_secret(_name: str, values: dict[str, Any]) -> str | None:
    reference = values.get("provider_reference")
    return None if reference is None else f"{reference}_secret"


class _KitFactory(MsgspecFactory[T], Generic[T]):
    """Every field is set explicitly below, so optional fields are never a random None."""

    __is_base_factory__ = True
    __allow_none_optionals__ = False

    @classmethod
    def id(cls) -> uuid.UUID:
        return uuid.uuid4()

    @classmethod
    def _pick(cls, choices: Sequence[str]) -> str:
        return cls.__random__.choice(choices)

    @classmethod
    def _instant(cls, *, days: tuple[int, int] = (0, 0)) -> datetime:
        """``BASE_INSTANT`` plus a random whole number of seconds within ``days``."""
        low, high = days[0] * 86_400, days[1] * 86_400
        return BASE_INSTANT + timedelta(seconds=cls.__random__.randint(low, high))

    @classmethod
    def _subject(cls, prefix: str) -> str:
        return f"{prefix}-{cls.__random__.randrange(16**8):08x}"


class _BuyersFactory(_KitFactory[T], Generic[T]):
    """A record a buyer made: ``buyer`` is a ``buyer-…`` subject, ``created_at`` is
    ``BASE_INSTANT``."""

    __is_base_factory__ = True

    @classmethod
    def buyer(cls) -> str:
        return cls._subject("buyer")

    @classmethod
    def created_at(cls) -> datetime:
        return cls._instant()


class MoneyFactory(_KitFactory[Money]):
    """Between 1.00 and 250.00 (in minor units) of one of :data:`CURRENCIES`.

    It is polyfactory's default for ``Money``: your own factories of structs that
    contain money build valid amounts too, not random currency strings.
    """

    __model__ = Money
    __set_as_default_factory_for_type__ = True

    @classmethod
    def amount(cls) -> int:
        return cls.__random__.randint(100, 25_000)

    @classmethod
    def currency(cls) -> str:
        return cls._pick(CURRENCIES)


class ContactFactory(_KitFactory[Contact]):
    """An email address and an E.164 phone number, both reachable (polyfactory's default)."""

    __model__ = Contact
    __set_as_default_factory_for_type__ = True

    @classmethod
    def email(cls) -> str:
        return f"{cls._subject('buyer')}@example.org"

    @classmethod
    def phone(cls) -> str:
        return f"+49151{cls.__random__.randrange(10**7):07d}"


class PrincipalFactory(_KitFactory[Principal]):
    """A customer with an email (no roles); pass ``roles=frozenset({"organizer"})`` etc."""

    __model__ = Principal

    phone = None
    email_verified = True
    roles: frozenset[str] = frozenset()

    @classmethod
    def subject(cls) -> str:
        return cls._subject("user")

    @classmethod
    def username(cls) -> str:
        return cls.__faker__.user_name()

    @classmethod
    def email(cls) -> str:
        return f"{cls._subject('user')}@example.org"


class OrganizationFactory(_KitFactory[Organization]):
    """A team organization (not anyone's personal one)."""

    __model__ = Organization

    personal_of = None

    @classmethod
    def name(cls) -> str:
        return f"{cls.__faker__.company()} Events"

    @classmethod
    def created_by(cls) -> str:
        return cls._subject("organizer")

    @classmethod
    def created_at(cls) -> datetime:
        return cls._instant(days=(-60, -30))


class EventFactory(_KitFactory[Event]):
    """A draft event 7–180 days after :data:`BASE_INSTANT`, in a real timezone, of a
    random organization id (store the organization first: :meth:`for_organization`)."""

    __model__ = Event

    status = EventStatus.DRAFT
    description = ""
    organization_id = _KitFactory.id

    @classmethod
    def owner(cls) -> str:
        return cls._subject("organizer")

    @classmethod
    def name(cls) -> str:
        return f"{cls.__faker__.catch_phrase()} Live"

    @classmethod
    def venue(cls) -> str:
        return f"{cls.__faker__.city()} Arena"

    @classmethod
    def starts_at(cls) -> datetime:
        return cls._instant(days=(7, 180))

    @classmethod
    def timezone(cls) -> str:
        return cls._pick(TIMEZONES)

    @classmethod
    def locale(cls) -> str:
        return cls._pick(LOCALES)

    @classmethod
    def currency(cls) -> str:
        return cls._pick(CURRENCIES)

    @classmethod
    def created_at(cls) -> datetime:
        return cls._instant(days=(-30, 0))

    @classmethod
    def published(cls, **overrides: Any) -> Event:
        """An event on sale."""
        return cls.build(**{"status": EventStatus.PUBLISHED, **overrides})

    @classmethod
    def for_organization(cls, organization: Organization, **overrides: Any) -> Event:
        """An event of ``organization``, created by whoever created the organization."""
        values = {"organization_id": organization.id, "owner": organization.created_by}
        return cls.build(**{**values, **overrides})


class TicketTypeFactory(_KitFactory[TicketType]):
    """1–500 tickets at a price in a random currency (use :meth:`for_event` to match one)."""

    __model__ = TicketType

    event_id = _KitFactory.id
    price = MoneyFactory
    max_per_booking = 10
    shards = 1
    #: No sale window: on sale as long as its event is (give one to test windows).
    sales_start = None
    sales_end = None

    @classmethod
    def name(cls) -> str:
        return cls._pick(TICKET_TYPE_NAMES)

    @classmethod
    def capacity(cls) -> int:
        return cls.__random__.randint(1, 500)

    @classmethod
    def for_event(cls, event: Event, **overrides: Any) -> TicketType:
        """A ticket type of ``event``, priced in the event's currency."""
        values: dict[str, Any] = {
            "event_id": event.id,
            "price": MoneyFactory.build(currency=event.currency),
        }
        return cls.build(**{**values, **overrides})


class BookingItemFactory(_KitFactory[BookingItem]):
    __model__ = BookingItem

    ticket_type_id = _KitFactory.id
    unit_price = MoneyFactory

    @classmethod
    def quantity(cls) -> int:
        return cls.__random__.randint(1, 4)


class BookingFactory(_BuyersFactory[Booking]):
    """A live hold of 1–3 items in one currency; ``total`` and ``expires_at`` follow from
    ``items`` and ``created_at`` unless given."""

    __model__ = Booking

    event_id = _KitFactory.id
    contact = ContactFactory
    status = BookingStatus.HELD
    total = PostGenerated(_total_of_items)
    expires_at = PostGenerated(_hold_end)

    @classmethod
    def items(cls) -> tuple[BookingItem, ...]:
        currency = cls._pick(CURRENCIES)
        return tuple(
            BookingItemFactory.build(unit_price=MoneyFactory.build(currency=currency))
            for _ in range(cls.__random__.randint(1, 3))
        )

    @classmethod
    def for_ticket_types(
        cls, ticket_types: Sequence[TicketType], quantity: int = 1, **overrides: Any
    ) -> Booking:
        """A hold of ``quantity`` of each of ``ticket_types`` (one event) at their prices."""
        if not ticket_types:
            raise ValueError("give at least one ticket type")
        items = tuple(
            BookingItem(ticket_type_id=t.id, quantity=quantity, unit_price=t.price)
            for t in ticket_types
        )
        values: dict[str, Any] = {"event_id": ticket_types[0].event_id, "items": items}
        return cls.build(**{**values, **overrides})


class PaymentFactory(_BuyersFactory[Payment]):
    """An open payment at the fake gateway, with a provider reference, checkout URL and
    client secret as :class:`~eltiketi_adapters.memory.FakePaymentGateway` would give."""

    __model__ = Payment

    booking_id = _KitFactory.id
    amount = MoneyFactory
    provider = "fake"
    status = PaymentStatus.OPEN
    checkout_url = PostGenerated(_checkout_url)
    client_secret = PostGenerated(_client_secret)

    @classmethod
    def provider_reference(cls) -> str:
        return f"fake_pay_{secrets.token_hex(12)}"

    @classmethod
    def for_booking(cls, booking: Booking, **overrides: Any) -> Payment:
        """The payment of ``booking``: its buyer and its total."""
        values: dict[str, Any] = {
            "booking_id": booking.id,
            "buyer": booking.buyer,
            "amount": booking.total,
            "created_at": booking.created_at,
        }
        return cls.build(**{**values, **overrides})


class OrderFactory(_BuyersFactory[Order]):
    """A confirmed order whose tickets are still counted as held (before the inventory
    handler ran); ``total`` follows from ``items``."""

    __model__ = Order

    booking_id = _KitFactory.id
    payment_id = _KitFactory.id
    event_id = _KitFactory.id
    contact = ContactFactory
    status = OrderStatus.CONFIRMED
    stock = StockState.HELD
    items = BookingFactory.items
    total = PostGenerated(_total_of_items)
    reference = PostGenerated(_reference_of_id)

    @classmethod
    def for_booking(cls, booking: Booking, payment: Payment, **overrides: Any) -> Order:
        """The order ``booking`` becomes when ``payment`` succeeds."""
        if payment.booking_id != booking.id:
            raise ValueError("the payment belongs to another booking")
        values: dict[str, Any] = {
            "booking_id": booking.id,
            "payment_id": payment.id,
            "event_id": booking.event_id,
            "buyer": booking.buyer,
            "contact": booking.contact,
            "items": booking.items,
            "total": booking.total,
            "created_at": booking.created_at,
        }
        return cls.build(**{**values, **overrides})


class TicketFactory(_KitFactory[Ticket]):
    """A valid ticket; its ``token`` is a placeholder unless :meth:`for_order` signs it."""

    __model__ = Ticket

    order_id = _KitFactory.id
    event_id = _KitFactory.id
    ticket_type_id = _KitFactory.id
    status = TicketStatus.VALID
    version = 1

    @classmethod
    def holder(cls) -> str:
        return cls._subject("buyer")

    @classmethod
    def token(cls) -> str:
        return f"unsigned.{secrets.token_urlsafe(24)}"

    @classmethod
    def created_at(cls) -> datetime:
        return cls._instant()

    @classmethod
    def for_order(
        cls, order: Order, *, signer: TicketSigner | None = None, **overrides: Any
    ) -> list[Ticket]:
        """One ticket per admission of ``order``; signed by ``signer`` (a
        :class:`~eltiketi_core.ports.TicketSigner`) when given, as confirmation does."""
        tickets = []
        for item in order.items:
            for _ in range(item.quantity):
                ticket_id = uuid.uuid4()
                values: dict[str, Any] = {
                    "id": ticket_id,
                    "order_id": order.id,
                    "event_id": order.event_id,
                    "ticket_type_id": item.ticket_type_id,
                    "holder": order.buyer,
                    "created_at": order.created_at,
                }
                if signer is not None:
                    claims = TicketClaims(
                        ticket_id=ticket_id,
                        event_id=order.event_id,
                        ticket_type_id=item.ticket_type_id,
                    )
                    values["token"] = signer.sign(claims)
                tickets.append(cls.build(**{**values, **overrides}))
        return tickets
