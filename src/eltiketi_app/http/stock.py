"""``GET /v1/events/{id}/stock``: the organization's view of the counters (owners, managers).

``available`` (public) cannot show seed step 14, because moving a ticket from
held to sold leaves it unchanged; the organizer sees ``held`` and ``sold``.
The counters are the core's (:meth:`~eltiketi_core.usecases.event_admin.EventAdmin.stock`,
under its access rule, the same read as ``GET /v1/events/{id}/ticket-types``); this
route only answers them in its own, smaller shape. Nothing is written.
"""

from __future__ import annotations

from uuid import UUID

import msgspec
from dishka.integrations.litestar import FromDishka, inject
from litestar import Router, get
from litestar.params import FromPath

from eltiketi_app.http.auth import BEARER, authenticated
from eltiketi_app.http.openapi import can_answer
from eltiketi_app.http.problem_catalog import STORAGE
from eltiketi_app.http.schemas import core_output
from eltiketi_core.domain.identity import Principal
from eltiketi_core.usecases.event_admin import EventAdmin, TicketTypeStock


class StockLevelOut(msgspec.Struct, kw_only=True):
    ticket_type_id: FromPath[UUID]
    name: str
    capacity: int
    held: int
    sold: int
    available: int


class StockOut(msgspec.Struct, kw_only=True):
    event_id: FromPath[UUID]
    ticket_types: list[StockLevelOut]


@can_answer("event_not_found", "missing_role", *STORAGE)
@get(
    "/{event_id:uuid}/stock",
    summary="Inventory counters: capacity, held, sold (owner or manager)",
    guards=[authenticated],
    security=BEARER,
)
@inject
async def event_stock(
    event_id: FromPath[UUID], event_admin: FromDishka[EventAdmin], principal: FromDishka[Principal]
) -> StockOut:
    stock = await event_admin.stock(principal, event_id)
    return StockOut(event_id=event_id, ticket_types=[stock_level_out(s) for s in stock])


def stock_level_out(stock: TicketTypeStock) -> StockLevelOut:
    ticket_type = stock.ticket_type
    return core_output(StockLevelOut, stock, ticket_type, ticket_type_id=ticket_type.id)


router = Router(path="/v1/events", tags=["events"], route_handlers=[event_stock])
