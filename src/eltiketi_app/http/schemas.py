"""The JSON shapes of the REST contract (v1): msgspec structs at the HTTP edge.

Requests are decoded strictly (wrong types or missing fields are a 400
``malformed_request``); the rules about values (quantity ≥ 1, currency of the
event…) are the core's and answer 422. Responses are built from domain objects
by the ``*_out`` functions, so the wire format is written down in one place.

Every number and text a request carries has an upper bound here, so nothing a
client sends can overflow a database column (``int4``, ``varchar(n)``) or a sum
of money: beyond a bound is a ``400 malformed_request`` naming the field, and the
bounds are in the OpenAPI document. Single-line texts refuse control characters
(a NUL byte cannot be stored in PostgreSQL; a line break does not belong in an
e-mail subject).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, TypeVar
from uuid import UUID

import msgspec
from msgspec import Meta

from eltiketi_core.domain.booking import Booking
from eltiketi_core.domain.catalog import Event, TicketType
from eltiketi_core.domain.job import Job, JobStatus
from eltiketi_core.domain.money import Money
from eltiketi_core.domain.order import Order, Ticket
from eltiketi_core.domain.organization import Invitation, MemberRole, Membership
from eltiketi_core.domain.payment import Payment
from eltiketi_core.usecases.catalog import EventView, TicketTypeView
from eltiketi_core.usecases.checkin import Admission
from eltiketi_core.usecases.orders import OrderView
from eltiketi_core.usecases.organizations import InvitationPreview, OrganizationView


class Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Request bodies: unknown fields are an error, so typos never pass silently."""


C = TypeVar("C")
R = TypeVar("R", bound=msgspec.Struct)


# --- bounds ---------------------------------------------------------------------------

#: PostgreSQL ``integer`` (int4): capacities, limits, shard counts, quantities are stored so.
MAX_INT4 = 2**31 - 1
#: A price in minor units: 10^12 (ten billion euros). With :data:`MAX_QUANTITY` and
#: :data:`MAX_ITEMS`, the total of any booking stays far below PostgreSQL's ``bigint``.
MAX_AMOUNT = 10**12
#: Tickets of one type in one booking (the ticket type's own ``max_per_booking`` is lower).
MAX_QUANTITY = 10_000
#: Ticket types in one booking.
MAX_ITEMS = 100
#: Deepest page a list route serves (``offset``); page size is 1–200.
MAX_OFFSET = 1_000_000
MAX_PAGE = 200

#: One line of text: no control characters (NUL, CR, LF, …).
_ONE_LINE = r"^[^\x00-\x1f\x7f]*$"

Name = Annotated[str, Meta(max_length=300, pattern=_ONE_LINE, examples=["Open Air 2031"])]
#: Plain text shown to buyers; several lines allowed (the core's limit, 5,000 characters).
Description = Annotated[str, Meta(max_length=5_000, examples=["Doors open at 19:00."])]
TimezoneName = Annotated[
    str, Meta(max_length=64, pattern=_ONE_LINE, description="IANA", examples=["Europe/Berlin"])
]
LocaleTag = Annotated[str, Meta(max_length=35, pattern=_ONE_LINE, examples=["de"])]
#: The core checks it is an ISO 4217 code (422 `invalid_currency`); this only bounds it.
CurrencyCode = Annotated[str, Meta(max_length=16, description="ISO 4217", examples=["EUR"])]
Amount = Annotated[
    int, Meta(le=MAX_AMOUNT, description="minor units (cents for EUR)", examples=[4500])
]
Capacity = Annotated[int, Meta(le=MAX_INT4, examples=[500])]
PerBooking = Annotated[int, Meta(le=MAX_QUANTITY, examples=[10])]
Shards = Annotated[int, Meta(le=MAX_INT4, description="1–256", examples=[1])]
Quantity = Annotated[int, Meta(le=MAX_QUANTITY, examples=[2])]
Subject = Annotated[str, Meta(max_length=255, pattern=_ONE_LINE)]
#: A signed ticket token (compact JWS); real ones are a few hundred characters.
TicketToken = Annotated[str, Meta(max_length=4096)]
#: The core checks the shape (422 `invalid_email`); this only bounds it.
EmailAddress = Annotated[
    str, Meta(max_length=320, pattern=_ONE_LINE, examples=["dora@example.com"])
]
OrganizationName = Annotated[
    str, Meta(max_length=200, pattern=_ONE_LINE, examples=["Open Air Collective"])
]


# --- requests -------------------------------------------------------------------------


class MoneyIn(Strict):
    amount: Amount
    currency: CurrencyCode


class ContactIn(Strict):
    email: str | None = None
    phone: str | None = None


class NewEventIn(Strict):
    name: Name
    venue: Name
    starts_at: Annotated[datetime, Meta(examples=["2031-07-01T18:00:00+02:00"])]
    timezone: TimezoneName
    locale: LocaleTag = "en"
    currency: CurrencyCode = "EUR"
    description: Description = ""
    #: The owning organization (you must be its owner or manager); omitted: your
    #: personal organization, created on first use (needs the organizer role).
    organization_id: UUID | None = None


class NewTicketTypeIn(Strict):
    name: Name
    price: MoneyIn
    capacity: Capacity
    max_per_booking: PerBooking = 10
    shards: Shards = 1
    sales_start: datetime | None = None
    """Holds are refused before this instant (``409 sales_not_open``); none: no bound."""
    sales_end: datetime | None = None
    """Holds are refused from this instant on (``409 sales_closed``); none: no bound."""


class BookingItemIn(Strict):
    ticket_type_id: UUID
    quantity: Quantity


class NewBookingIn(Strict):
    event_id: UUID
    items: Annotated[list[BookingItemIn], Meta(max_length=MAX_ITEMS)]
    contact: ContactIn | None = None
    locale: str | None = None


class ConfirmOrderIn(Strict):
    booking_id: UUID
    #: The payment that paid the booking; omitted (or null) for a free booking.
    payment_id: UUID | None = None


class CheckInIn(Strict):
    token: TicketToken
    #: The event this scanner works for (required): the caller needs a membership in
    #: its organization, and a ticket of any other event is ``wrong_event``.
    event_id: UUID


class NewOrganizationIn(Strict):
    name: OrganizationName


class NewMemberIn(Strict):
    #: The identity provider's user id (the token's ``sub``).
    subject: Subject
    role: MemberRole
    email: EmailAddress | None = None


class MemberRoleIn(Strict):
    role: MemberRole


class NewInvitationIn(Strict):
    email: EmailAddress
    role: MemberRole


# --- responses ------------------------------------------------------------------------


class TicketTypeOut(msgspec.Struct, kw_only=True):
    id: UUID
    name: str
    price: Money
    capacity: int
    max_per_booking: int
    available: int
    sales_start: datetime | None = None
    sales_end: datetime | None = None


class EventOut(msgspec.Struct, kw_only=True):
    id: UUID
    name: str
    venue: str
    starts_at: datetime
    timezone: str
    locale: str
    currency: str
    status: str
    owner: str
    organization_id: UUID
    ticket_types: list[TicketTypeOut]
    description: str = ""


class EventListOut(msgspec.Struct, kw_only=True):
    items: list[EventOut]
    limit: int
    offset: int


class BookingItemOut(msgspec.Struct, kw_only=True):
    ticket_type_id: UUID
    quantity: int
    unit_price: Money
    subtotal: Money


class ContactOut(msgspec.Struct, kw_only=True):
    email: str | None
    phone: str | None


class BookingOut(msgspec.Struct, kw_only=True):
    id: UUID
    event_id: UUID
    status: str
    created_at: datetime
    expires_at: datetime
    items: list[BookingItemOut]
    total: Money
    contact: ContactOut
    holders: list[str]
    locale: str | None


class PaymentOut(msgspec.Struct, kw_only=True, omit_defaults=True):
    payment_id: UUID
    booking_id: UUID
    provider: str
    provider_reference: str | None
    status: str
    amount: Money
    checkout_url: str | None = None
    client_secret: str | None = None


class TicketOut(msgspec.Struct, kw_only=True):
    id: UUID
    ticket_type_id: UUID
    holder_name: str | None
    status: str
    token: str
    qr_svg: str
    qr_png: str


class OrderOut(msgspec.Struct, kw_only=True):
    id: UUID
    #: The short order number the buyer reads in e-mails and SMS (8 characters, unique).
    reference: str
    booking_id: UUID
    #: null for a free order (no payment step)
    payment_id: UUID | None
    event_id: UUID
    status: str
    created_at: datetime
    items: list[BookingItemOut]
    total: Money
    tickets: list[TicketOut]


class OrderListOut(msgspec.Struct, kw_only=True):
    items: list[OrderOut]
    limit: int
    offset: int


class ResendOut(msgspec.Struct, kw_only=True):
    order_id: UUID
    channels_sent: int


class JobOut(msgspec.Struct, kw_only=True):
    """A background job (today: an event's cancellation) and how far it has got."""

    id: UUID
    kind: str
    event_id: UUID
    status: str
    orders_refunded: int
    orders_remaining: int
    holds_released: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    last_error: str | None
    """A plain sentence when a batch failed (the details are in the server's log)."""


# The check-in's answer is the use case's ``Admission`` field for field (who and what was
# let in, and when): one declaration, named for the wire. No docstring: it would become
# the schema's description in the OpenAPI document.
class AdmissionOut(Admission, frozen=True, kw_only=True):
    pass


class JwkOut(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One public key (RFC 7517); ticket keys are Ed25519: ``kty`` OKP, ``crv`` Ed25519."""

    kty: str
    kid: str
    crv: str | None = None
    x: str | None = None
    use: str | None = None
    alg: str | None = None


class JwkSetOut(msgspec.Struct, kw_only=True):
    """A JWK set (RFC 7517 §5): every key a valid ticket may be signed with."""

    keys: list[JwkOut]


class WebhookOut(msgspec.Struct, kw_only=True):
    received: bool
    kind: str


class DevMemberIn(Strict):
    organization_id: UUID
    role: MemberRole


class DevTokenIn(Strict):
    sub: Subject
    roles: Annotated[list[Annotated[str, Meta(max_length=32)]], Meta(max_length=8)] = msgspec.field(
        default_factory=list
    )
    email: Annotated[str, Meta(max_length=320, pattern=_ONE_LINE)] | None = None
    phone: Annotated[str, Meta(max_length=40, pattern=_ONE_LINE)] | None = None
    #: Default: true when ``email`` is given (as for an address the provider confirmed).
    email_verified: bool | None = None
    #: Memberships to ensure before minting (kept in the database, not in the token).
    members: Annotated[list[DevMemberIn], Meta(max_length=16)] = msgspec.field(default_factory=list)


class DevTokenOut(msgspec.Struct, kw_only=True):
    access_token: str
    token_type: str = "Bearer"


class OrganizationOut(msgspec.Struct, kw_only=True):
    id: UUID
    name: str
    #: Whether this is someone's personal organization (see ``POST /v1/events``).
    personal: bool
    created_at: datetime
    #: The caller's role in it (admins: ``owner``).
    role: str


class OrganizationListOut(msgspec.Struct, kw_only=True):
    items: list[OrganizationOut]


class MemberOut(msgspec.Struct, kw_only=True):
    organization_id: UUID
    subject: str
    role: str
    email: str | None
    added_by: str
    added_at: datetime


class MemberListOut(msgspec.Struct, kw_only=True):
    items: list[MemberOut]


class InvitationOut(msgspec.Struct, kw_only=True):
    id: UUID
    organization_id: UUID
    email: str
    role: str
    #: ``pending``, ``accepted``, ``revoked``, or ``expired`` (pending past ``expires_at``).
    status: str
    invited_by: str
    created_at: datetime
    expires_at: datetime
    decided_by: str | None
    decided_at: datetime | None


class InvitationListOut(msgspec.Struct, kw_only=True):
    items: list[InvitationOut]


class InvitationPreviewOut(msgspec.Struct, kw_only=True):
    """An invitation as its link shows it to the invited person, before accepting."""

    id: UUID
    organization_id: UUID
    organization_name: str
    email: str
    role: str
    #: ``pending``, ``accepted``, ``revoked``, or ``expired``.
    status: str
    #: The inviter's e-mail address as they joined (else their subject).
    invited_by: str
    expires_at: datetime


# --- conversions ----------------------------------------------------------------------


def core_output(shape: type[R], *sources: object, **fields: object) -> R:
    """A use case's values as a response shape (``Event`` → ``EventOut``…), the mirror of
    :func:`core_input`.

    msgspec copies every field of ``shape`` that a source has by name, the first source
    that has it winning, nested values included (an order's items become
    ``BookingItemOut``); an enum stays an enum and is written as its value. ``fields``
    are what the response adds, derives or names otherwise (``payment_id`` for a
    payment's ``id``), so only what differs is written by hand.
    """
    if len(sources) == 1 and not fields:
        return msgspec.convert(sources[0], shape, from_attributes=True)
    values = dict(fields)
    for name in shape.__struct_fields__:
        found = [getattr(source, name) for source in sources if hasattr(source, name)]
        if found and name not in values:
            values[name] = found[0]
    return msgspec.convert(values, shape, from_attributes=True)


def organization_out(view: OrganizationView) -> OrganizationOut:
    organization = view.organization
    return core_output(
        OrganizationOut,
        organization,
        personal=organization.personal_of is not None,
        role=view.role,
    )


def member_out(membership: Membership) -> MemberOut:
    return core_output(MemberOut, membership)


def invitation_out(invitation: Invitation, now: datetime) -> InvitationOut:
    status = "expired" if invitation.expired(now) else invitation.status
    return core_output(InvitationOut, invitation, status=status)


def invitation_preview_out(preview: InvitationPreview) -> InvitationPreviewOut:
    invitation = preview.invitation
    return core_output(
        InvitationPreviewOut,
        invitation,
        organization_name=preview.organization_name,
        status="expired" if preview.expired else invitation.status,
        invited_by=preview.invited_by,
    )


def core_input(body: Strict, shape: type[C]) -> C:
    """A request body as its use case's input (``NewEventIn`` → ``NewEvent``, ``NewBookingIn``
    → ``ReserveRequest``…).

    The two share their fields; the edge's copy adds what only the wire needs (bounds,
    examples, unknown fields refused, its name in the OpenAPI document). msgspec copies one
    into the other field by field, nested structs included, so no mapping is written by
    hand; the core's checks (``Money`` refusing a bad currency…) run as it does.
    """
    return msgspec.convert(body, shape, from_attributes=True)


def ticket_type_out(view: TicketTypeView) -> TicketTypeOut:
    return core_output(TicketTypeOut, view)


def new_ticket_type_out(ticket_type: TicketType) -> TicketTypeOut:
    return core_output(TicketTypeOut, ticket_type, available=ticket_type.capacity)


def event_out(event: Event, ticket_types: list[TicketTypeOut]) -> EventOut:
    return core_output(EventOut, event, ticket_types=ticket_types)


def event_view_out(view: EventView) -> EventOut:
    return event_out(view.event, [ticket_type_out(t) for t in view.ticket_types])


def booking_out(booking: Booking) -> BookingOut:
    return core_output(BookingOut, booking)


def payment_out(payment: Payment) -> PaymentOut:
    return core_output(PaymentOut, payment, payment_id=payment.id)


def ticket_out(ticket: Ticket) -> TicketOut:
    return core_output(
        TicketOut,
        ticket,
        qr_svg=f"/v1/tickets/{ticket.id}/qr.svg",
        qr_png=f"/v1/tickets/{ticket.id}/qr.png",
    )


def order_out(order: Order, tickets: tuple[Ticket, ...]) -> OrderOut:
    return core_output(OrderOut, order, tickets=[ticket_out(t) for t in tickets])


def order_view_out(view: OrderView) -> OrderOut:
    return order_out(view.order, view.tickets)


def job_path(job_id: UUID) -> str:
    return f"/v1/jobs/{job_id}"


def job_out(job: Job) -> JobOut:
    return core_output(JobOut, job, last_error=_job_error(job))


def _job_error(job: Job) -> str | None:
    """The failure in words a client may see; the driver's message stays in the log."""
    if job.last_error is None:
        return None
    if job.status is JobStatus.FAILED:
        return (
            f"stopped after {job.failures} failed attempts; "
            "cancel the event again to resume where it stopped"
        )
    return f"a batch failed ({job.failures} in a row); it is retried automatically"


def admission_out(admission: Admission) -> AdmissionOut:
    return core_output(AdmissionOut, admission)


def as_dict(value: Any) -> Any:
    return msgspec.to_builtins(value)
