"""Tickets: the owner's QR codes, the public keys scanners verify tokens with, and the
tickets behind a signed ticket link (what the e-mail's and SMS's link shows, for apps)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import msgspec
from dishka.integrations.litestar import FromDishka, inject
from litestar import Response, Router, get
from litestar.params import FromPath

from eltiketi_app.http.auth import BEARER, authenticated
from eltiketi_app.http.openapi import can_answer
from eltiketi_app.http.problem_catalog import STORAGE
from eltiketi_app.http.schemas import JwkOut, JwkSetOut
from eltiketi_app.ioc.types import QrRenderer
from eltiketi_app.web.links import TicketLinks, shared_order
from eltiketi_core.domain.identity import Principal
from eltiketi_core.domain.order import TicketStatus
from eltiketi_core.ports.clock import Clock
from eltiketi_core.ports.tickets import TicketSigner
from eltiketi_core.usecases.orders import Orders

_PRIVATE = {"Cache-Control": "private, no-store"}


JWK_SET = "application/jwk-set+json"
SVG = "image/svg+xml"
PNG = "image/png"


@dataclass(frozen=True, slots=True)
class TicketCodes:
    """The caller's own tickets as QR images, per request (the container builds it)."""

    orders: Orders
    principal: Principal
    qr: QrRenderer

    async def image(self, ticket_id: UUID, media_type: str) -> Response[bytes]:
        """The ticket's QR code as ``media_type`` (:data:`SVG` or :data:`PNG`); never
        stored by a shared cache (``404 ticket_not_found`` for another buyer's ticket)."""
        ticket = await self.orders.ticket(self.principal, ticket_id)
        draw = self.qr.svg if media_type == SVG else self.qr.png
        return Response(draw(ticket.token), media_type=media_type, headers=_PRIVATE)


@get(
    "/keys",
    summary="Ticket-signing public keys (JWKS)",
    description="Every key a valid ticket may be signed with, rotated-out keys included, so "
    "scanners verify tickets offline.",
    media_type=JWK_SET,
)
@inject
async def ticket_keys(signer: FromDishka[TicketSigner]) -> Response[JwkSetOut]:
    keys = msgspec.convert(signer.public_jwks()["keys"], list[JwkOut])
    return Response(
        JwkSetOut(keys=keys), media_type=JWK_SET, headers={"Cache-Control": "public, max-age=300"}
    )


@can_answer("ticket_not_found", *STORAGE)
@get(
    "/{ticket_id:uuid}/qr.svg",
    summary="The ticket's QR code as SVG (owner)",
    guards=[authenticated],
    security=BEARER,
    media_type=SVG,
    content_media_type=SVG,
)
@inject
async def ticket_qr_svg(
    ticket_id: FromPath[UUID], codes: FromDishka[TicketCodes]
) -> Response[bytes]:
    return await codes.image(ticket_id, SVG)


@can_answer("ticket_not_found", *STORAGE)
@get(
    "/{ticket_id:uuid}/qr.png",
    summary="The ticket's QR code as PNG (owner)",
    guards=[authenticated],
    security=BEARER,
    media_type=PNG,
    content_media_type=PNG,
    content_encoding="binary",
)
@inject
async def ticket_qr_png(
    ticket_id: FromPath[UUID], codes: FromDishka[TicketCodes]
) -> Response[bytes]:
    return await codes.image(ticket_id, PNG)


router = Router(
    path="/v1/tickets", tags=["tickets"], route_handlers=[ticket_keys, ticket_qr_svg, ticket_qr_png]
)


class SharedTicketOut(msgspec.Struct, kw_only=True):
    id: UUID
    ticket_type_id: UUID
    holder_name: str | None
    token: str


class SharedTicketsOut(msgspec.Struct, kw_only=True):
    order_id: UUID
    event_id: UUID
    tickets: list[SharedTicketOut]


@can_answer("link_invalid", "link_expired", "link_revoked", *STORAGE)
@get(
    "/{link:str}",
    summary="The tickets behind a signed ticket link (no login)",
    description="What the link in the e-ticket e-mail and SMS (`/t/{link}`) shows, for apps: "
    "the order's valid tickets with their QR payload (`token`) and holder names, nothing "
    "about the buyer. 404 `link_invalid` (not a link we signed), 410 `link_expired` (a day "
    "after the event started), 410 `link_revoked` (the order was cancelled or refunded).",
)
@inject
async def shared_tickets(
    link: FromPath[str],
    orders: FromDishka[Orders],
    clock: FromDishka[Clock],
    links: FromDishka[TicketLinks],
) -> Response[SharedTicketsOut]:
    view = await shared_order(link, links, clock, orders)
    body = SharedTicketsOut(
        order_id=view.order.id,
        event_id=view.order.event_id,
        tickets=[
            SharedTicketOut(
                id=ticket.id,
                ticket_type_id=ticket.ticket_type_id,
                holder_name=ticket.holder_name,
                token=ticket.token,
            )
            for ticket in view.tickets
            if ticket.status is TicketStatus.VALID
        ],
    )
    # the link is the key: never stored by caches, never sent on as a Referer
    return Response(body, headers={**_PRIVATE, "Referrer-Policy": "no-referrer"})


links_router = Router(path="/v1/ticket-links", tags=["tickets"], route_handlers=[shared_tickets])
