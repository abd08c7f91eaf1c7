"""How the pages present catalogue facts: badges, the "from" price, what is left.

Presentation only; every rule (limits, stock, cut-offs) is decided by the core and
arrives here as data.
"""

from __future__ import annotations

from datetime import datetime

from eltiketi_core.domain.catalog import EventStatus
from eltiketi_core.domain.money import Money
from eltiketi_core.usecases import EventView, TicketTypeView

#: "Few left" when at most this share of a ticket type's capacity remains…
FEW_LEFT_SHARE = 0.1
#: …or at most this many tickets, whichever is larger.
FEW_LEFT_COUNT = 10


def few_left(ticket_type: TicketTypeView) -> bool:
    threshold = max(FEW_LEFT_COUNT, int(ticket_type.capacity * FEW_LEFT_SHARE))
    return 0 < ticket_type.available <= threshold


def price_from(view: EventView) -> Money | None:
    """The lowest price of a ticket type still available (else of any)."""
    types = [t for t in view.ticket_types if t.available > 0] or list(view.ticket_types)
    return min((t.price for t in types), key=lambda m: m.amount, default=None)


def sale_state(view: EventView, now: datetime) -> str:
    """``on_sale``, ``few_left``, ``sold_out``, ``sales_closed`` or ``event_cancelled``."""
    if view.event.status is EventStatus.CANCELLED:
        return "event_cancelled"
    if view.event.starts_at <= now:
        return "sales_closed"
    if not any(t.available > 0 for t in view.ticket_types):
        return "sold_out"
    if any(few_left(t) for t in view.ticket_types if t.available > 0):
        return "few_left"
    return "on_sale"
