"""The organizer's dashboard, orders (search, detail, refund, resend) and attendees."""

from __future__ import annotations

import csv
import io
from datetime import UTC, timedelta
from uuid import UUID

import pytest

from eltiketi_core.domain.booking import Contact
from eltiketi_core.domain.catalog import EventPhase
from eltiketi_core.domain.identity import Principal
from eltiketi_core.domain.money import Money
from eltiketi_core.domain.order import OrderStatus, TicketStatus
from eltiketi_core.domain.payment import PaymentStatus, RefundReason
from eltiketi_core.errors import Conflict, Forbidden, NotFound, RateLimited, ValidationFailed
from eltiketi_core.usecases import ItemRequest, ReserveRequest
from eltiketi_core.usecases.attendees import csv_lines, safe_cell
from eltiketi_core.usecases.organizer_orders import order_query
from tests.unit.usecases.conftest import ORGANIZER, STAFF, Sale, buyer

OTTO = Principal(subject="otto", roles=frozenset({"organizer"}))


async def _check_in(sale: Sale, order_id: UUID) -> None:
    view = await sale.kit.core.orders.get(buyer_of(sale, order_id), order_id)
    await sale.kit.core.checkins.check_in(STAFF, view.tickets[0].token, sale.event.id)


_buyers: dict[UUID, Principal] = {}


def buyer_of(sale: Sale, order_id: UUID) -> Principal:
    return _buyers[order_id]


async def _buy(sale: Sale, name: str, quantity: int = 1) -> UUID:
    who = buyer(name)
    order_id = await sale.buy(who, quantity)
    _buyers[order_id] = who
    return order_id


# -- dashboard ---------------------------------------------------------------------------------


async def test_the_dashboard_shows_stock_money_hours_and_check_ins(sale: Sale) -> None:
    kit = sale.kit
    start = sale.clock.now()
    first = await _buy(sale, "a", 2)
    sale.clock.advance(hours=2)
    await _buy(sale, "b", 1)
    refunded = await _buy(sale, "c", 3)
    await kit.drain()
    await kit.core.orders.cancel(buyer("c"), refunded)
    await sale.hold(buyer("d"), 4)
    await kit.drain()
    await _check_in(sale, first)

    board = await kit.core.dashboards.for_event(ORGANIZER, sale.event.id, hours=3)
    standing, seated = board.ticket_types
    assert (standing.capacity, standing.held, standing.sold, standing.available) == (100, 4, 3, 93)
    assert (seated.held, seated.sold) == (0, 0)
    assert (board.capacity, board.held, board.sold, board.available) == (200, 4, 3, 193)
    assert (board.orders, board.refunded_orders, board.checked_in) == (2, 1, 1)
    assert (board.gross, board.refunded, board.net) == (
        Money(6 * 4500, "EUR"),
        Money(3 * 4500, "EUR"),
        Money(3 * 4500, "EUR"),
    )
    assert board.phase is EventPhase.ON_SALE
    hour = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    assert [(h.hour, h.orders) for h in board.orders_per_hour] == [
        (hour, 1),
        (hour + timedelta(hours=1), 0),
        (hour + timedelta(hours=2), 2),
    ]
    assert board.as_of == sale.clock.now()


async def test_the_dashboard_is_the_organizers_only(sale: Sale) -> None:
    dashboards = sale.kit.core.dashboards
    with pytest.raises(NotFound):
        await dashboards.for_event(OTTO, sale.event.id)
    with pytest.raises(NotFound):  # no member
        await dashboards.for_event(buyer(), sale.event.id)
    with pytest.raises(Forbidden):  # a door member
        await dashboards.for_event(STAFF, sale.event.id)
    with pytest.raises(ValidationFailed) as err:
        await dashboards.for_event(ORGANIZER, sale.event.id, hours=169)
    assert err.value.code == "invalid_hours"
    board = await dashboards.for_event(ORGANIZER, sale.event.id)
    assert len(board.orders_per_hour) == 24 and board.gross == Money(0, "EUR")


# -- orders ------------------------------------------------------------------------------------


async def test_organizers_search_their_events_orders(sale: Sale) -> None:
    ada, bob = await _buy(sale, "ada"), await _buy(sale, "bob")
    other = await sale.kit.event_on_sale(organizer=ORGANIZER)
    await sale.kit.bookings.reserve(
        buyer("ada2"),
        ReserveRequest(
            event_id=other.event.id,
            items=(ItemRequest(ticket_type_id=other.ticket_types[0].id, quantity=1),),
        ),
    )
    orders = sale.kit.core.organizer_orders

    assert [o.id for o in await orders.search(ORGANIZER, sale.event.id)] == [bob, ada]
    assert [o.id for o in await orders.search(ORGANIZER, sale.event.id, " ADA@example")] == [ada]
    assert [o.id for o in await orders.search(ORGANIZER, sale.event.id, str(bob).upper())] == [bob]
    reference = (await sale.kit.core.orders.get(buyer("ada"), ada)).order.reference
    typed = f" {reference[:4].lower()}-{reference[4:]} "  # as a person copies it from paper
    assert [o.id for o in await orders.search(ORGANIZER, sale.event.id, typed)] == [ada]
    assert await orders.search(ORGANIZER, sale.event.id, "nobody") == []
    assert [o.id for o in await orders.search_everywhere(ORGANIZER, "example.org")] == [bob, ada]
    assert await orders.search_everywhere(OTTO, "example.org") == []
    with pytest.raises(NotFound):
        await orders.search(OTTO, sale.event.id)
    with pytest.raises(ValidationFailed) as err:
        await orders.search(ORGANIZER, sale.event.id, "x" * 321)
    assert err.value.code == "invalid_query"


def test_a_search_box_text_is_a_reference_an_id_prefix_and_words() -> None:
    events = (UUID(int=1),)
    query = order_query(events, "0190ABCD-12", None)
    assert (query.id_prefix, query.reference, query.text) == ("0190abcd12", None, "0190ABCD-12")
    short = order_query(events, "0190abc", None)  # too short for an id
    assert (short.id_prefix, short.text) == (None, "0190abc")
    assert order_query(events, "7k3m-9qxa", None).reference == "7K3M9QXA"
    both = order_query(events, "15112345", None)  # a phone's digits, or an id's start
    assert (both.id_prefix, both.text, both.reference) == ("15112345", "15112345", "15112345")
    words = order_query(events, "cafe@example.org", None)
    assert (words.text, words.id_prefix, words.reference) == ("cafe@example.org", None, None)
    assert order_query(events, "  ", OrderStatus.REFUNDED) == order_query(
        events, None, OrderStatus.REFUNDED
    )


async def test_an_order_in_detail_with_payments_refunds_tickets_and_scans(sale: Sale) -> None:
    order_id = await _buy(sale, "ada", 2)
    await _check_in(sale, order_id)
    detail = await sale.kit.core.organizer_orders.detail(ORGANIZER, sale.event.id, order_id)
    assert detail.order.id == order_id and len(detail.tickets) == 2
    assert [p.status for p in detail.payments] == [PaymentStatus.SUCCEEDED]
    assert detail.refunds == ()
    assert [c.ticket_id for c in detail.check_ins] == [detail.tickets[0].id]

    other = await sale.kit.event_on_sale(organizer=ORGANIZER)
    with pytest.raises(NotFound) as err:  # a real order, through another event of mine
        await sale.kit.core.organizer_orders.detail(ORGANIZER, other.event.id, order_id)
    assert err.value.code == "order_not_found"
    with pytest.raises(NotFound) as err:
        await sale.kit.core.organizer_orders.detail(OTTO, sale.event.id, order_id)
    assert err.value.code == "event_not_found"


async def test_an_organizer_refunds_an_order_after_the_buyers_cut_off(sale: Sale) -> None:
    kit = sale.kit
    order_id = await _buy(sale, "ada", 2)
    await kit.drain()
    sale.clock.set(sale.event.starts_at - timedelta(hours=1))
    with pytest.raises(Conflict) as err:  # too late for the buyer…
        await kit.core.orders.cancel(buyer("ada"), order_id)
    assert err.value.code == "cancellation_closed"

    detail = await kit.core.organizer_orders.refund(ORGANIZER, sale.event.id, order_id)  # …not us
    assert detail.order.status is OrderStatus.REFUNDED
    assert {t.status for t in detail.tickets} == {TicketStatus.VOID}
    assert [(r.reason, r.amount) for r in detail.refunds] == [
        (RefundReason.ORGANIZER_CANCELLED, Money(9000, "EUR"))
    ]
    again = await kit.core.organizer_orders.refund(ORGANIZER, sale.event.id, order_id)
    assert again.refunds == detail.refunds  # refunded once
    assert (await kit.core.orders.get(buyer("ada"), order_id)).order.status is OrderStatus.REFUNDED

    await kit.drain()
    assert await sale.levels() == (100, 0, 0)  # the stock came back
    payment = detail.payments[0]
    assert payment.provider_reference is not None
    assert kit.gateway.refunded_amount(payment.provider_reference) == 9000
    assert [n.reason for n in kit.notifier.refunds] == ["organizer_cancelled"]


async def test_refunds_by_the_buyer_and_the_organizer_do_not_add_up(sale: Sale) -> None:
    order_id = await _buy(sale, "ada")
    await sale.kit.core.orders.cancel(buyer("ada"), order_id)
    detail = await sale.kit.core.organizer_orders.refund(ORGANIZER, sale.event.id, order_id)
    assert [r.reason for r in detail.refunds] == [RefundReason.CUSTOMER_CANCELLED]
    with pytest.raises(NotFound):
        await sale.kit.core.organizer_orders.refund(OTTO, sale.event.id, order_id)
    with pytest.raises(NotFound):  # the buyer is no member of the organization
        await sale.kit.core.organizer_orders.refund(buyer("ada"), sale.event.id, order_id)
    with pytest.raises(Forbidden):  # nor may its door staff refund
        await sale.kit.core.organizer_orders.refund(STAFF, sale.event.id, order_id)


async def test_a_used_order_is_not_refunded(sale: Sale) -> None:
    order_id = await _buy(sale, "ada", 2)
    await _check_in(sale, order_id)
    with pytest.raises(Conflict) as err:
        await sale.kit.core.organizer_orders.refund(ORGANIZER, sale.event.id, order_id)
    assert err.value.code == "ticket_used"
    assert err.value.extra["checked_in"] == 1  # type: ignore[attr-defined]
    detail = await sale.kit.core.organizer_orders.detail(ORGANIZER, sale.event.id, order_id)
    assert detail.order.status is OrderStatus.CONFIRMED and detail.refunds == ()
    assert {t.status for t in detail.tickets} == {TicketStatus.VALID}


async def test_an_organizer_resends_tickets_under_the_buyers_rate_limit(sale: Sale) -> None:
    kit = sale.kit
    order_id = await _buy(sale, "ada")
    await kit.drain()
    assert len(kit.notifier.tickets) == 1
    kit.clock.advance(minutes=2)
    assert await kit.core.organizer_orders.resend(ORGANIZER, sale.event.id, order_id) == 1
    assert len(kit.notifier.tickets) == 2
    with pytest.raises(RateLimited):
        await kit.core.organizer_orders.resend(ORGANIZER, sale.event.id, order_id)
    with pytest.raises(NotFound):
        await kit.core.organizer_orders.resend(OTTO, sale.event.id, order_id)
    other = await kit.event_on_sale(organizer=ORGANIZER)
    with pytest.raises(NotFound):
        await kit.core.organizer_orders.resend(ORGANIZER, other.event.id, order_id)


# -- attendees ---------------------------------------------------------------------------------


async def test_attendees_come_in_pages_with_type_contact_and_check_in(sale: Sale) -> None:
    first = await _buy(sale, "ada", 2)
    second = await _buy(sale, "bob", 1)
    refunded = await _buy(sale, "cy", 1)
    await sale.kit.core.orders.cancel(buyer("cy"), refunded)
    await _check_in(sale, second)
    attendees = sale.kit.core.attendees

    page = await attendees.page(ORGANIZER, sale.event.id, limit=2)
    assert len(page.items) == 2 and page.next_after == page.items[-1].ticket_id
    rest = await attendees.page(ORGANIZER, sale.event.id, after=page.next_after, limit=2)
    assert len(rest.items) == 1 and rest.next_after is None
    everyone = [*page.items, *rest.items]
    assert sorted(a.order_id for a in everyone) == sorted([first, first, second])
    scanned = next(a for a in everyone if a.order_id == second)
    assert scanned.checked_in_at is not None and scanned.email == "bob@example.org"
    assert {a.ticket_type_name for a in everyone} == {"Standing"}
    with_void = await attendees.page(ORGANIZER, sale.event.id, include_void=True)
    assert [a.status for a in with_void.items].count(TicketStatus.VOID) == 1

    with pytest.raises(NotFound):
        await attendees.page(OTTO, sale.event.id)
    with pytest.raises(ValidationFailed):
        await attendees.page(ORGANIZER, sale.event.id, limit=501)


async def test_the_csv_export_is_excel_friendly_and_formula_safe(sale: Sale) -> None:
    kit = sale.kit
    sneaky = Principal(subject='=HYPERLINK("http://evil")', email="x@example.org")
    booking = (
        await kit.bookings.reserve(
            sneaky,
            ReserveRequest(
                event_id=sale.event.id,
                items=(ItemRequest(ticket_type_id=sale.standing.id, quantity=1),),
                contact=Contact(email="=1+1@example.org", phone="+4915112345678"),
            ),
        )
    ).booking
    payment = await sale.pay(sneaky, booking)
    order = (await kit.settlement.confirm(sneaky, booking.id, payment.id)).order
    await kit.core.checkins.check_in(
        STAFF, (await kit.orders.get(sneaky, order.id)).tickets[0].token, sale.event.id
    )
    await _buy(sale, "Zoë")

    export = await kit.core.attendees.export(ORGANIZER, sale.event.id)
    assert export.filename == f"attendees-{sale.event.id}.csv"
    data = b"".join([chunk async for chunk in export.chunks()])
    assert data.startswith(b'\xef\xbb\xbf"ticket_id",')
    assert b"\r\n" in data and b'\n"' not in data.replace(b"\r\n", b"")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert len(rows) == 2
    evil = next(r for r in rows if r["order_id"] == str(order.id))
    assert evil["holder"] == '\'=HYPERLINK("http://evil")'
    assert evil["email"] == "'=1+1@example.org"
    assert evil["phone"] == "'+4915112345678"
    assert evil["ticket_type"] == "Standing" and evil["status"] == "valid"
    assert evil["checked_in_at"].endswith("+01:00")  # the event's own time (Berlin, January)
    assert any(r["holder"] == "Zoë" for r in rows)

    with pytest.raises(NotFound):
        await kit.core.attendees.export(OTTO, sale.event.id)


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ("=1+1", "'=1+1"),
        ("+49 151", "'+49 151"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("a=b", "a=b"),
        ("", ""),
        ("Zoë", "Zoë"),
    ],
)
def test_cells_a_spreadsheet_would_run_are_made_text(cell: str, safe: str) -> None:
    assert safe_cell(cell) == safe


def test_csv_lines_quote_every_cell_and_end_in_crlf() -> None:
    assert csv_lines([["a", 'say "hi"', "=x"], ["", "b\nc", "d"]]) == (
        '"a","say ""hi""","\'=x"\r\n"","b\nc","d"\r\n'
    )
