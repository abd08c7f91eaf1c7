"""``GET /v1/events/{id}/stock``: the organization's view of the counters (owners, managers).

``available`` (public) cannot show seed step 14, because moving a ticket from
held to sold leaves it unchanged; the organizer sees ``held`` and ``sold``.
It is a read of the inventory port under the core's access rule
(:func:`~eltiketi_core.usecases.access.managed_event`); nothing is written.
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
from eltiketi_app.ioc.types import Persistence
from eltiketi_core.domain.identity import Principal
from eltiketi_core.usecases.access import managed_event


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
    event_id: FromPath[UUID], persistence: FromDishka[Persistence], principal: FromDishka[Principal]
) -> StockOut:
    async with persistence.uow() as uow:
        event = await managed_event(uow, principal, event_id)
        types = await uow.catalog.ticket_types(event.id)
        levels = await uow.inventory.levels([t.id for t in types])
    out = []
    for ticket_type in types:
        level = levels.get(ticket_type.id)
        held, sold = (level.held, level.sold) if level else (0, 0)
        out.append(
            StockLevelOut(
                ticket_type_id=ticket_type.id,
                name=ticket_type.name,
                capacity=ticket_type.capacity,
                held=held,
                sold=sold,
                available=max(ticket_type.capacity - held - sold, 0),
            )
        )
    return StockOut(event_id=event.id, ticket_types=out)


router = Router(path="/v1/events", tags=["events"], route_handlers=[event_stock])
