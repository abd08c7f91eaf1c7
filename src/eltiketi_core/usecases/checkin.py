"""Check-in at the door: one valid ticket, one entry."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from eltiketi_core.domain.identity import Principal
from eltiketi_core.domain.order import CheckIn, TicketStatus
from eltiketi_core.domain.organization import MemberRole
from eltiketi_core.errors import AlreadyCheckedIn, InvalidTicket, TicketVoid, WrongEvent
from eltiketi_core.ports.tickets import TicketSigner
from eltiketi_core.usecases.access import managed_event
from eltiketi_core.usecases.core_ports import CorePorts, UseCase


class Admission(msgspec.Struct, frozen=True, kw_only=True):
    """Who and what was let in, and when."""

    ticket_id: UUID
    event_id: UUID
    event_name: str
    ticket_type_id: UUID
    ticket_type_name: str
    holder: str
    checked_in_at: datetime
    #: the name the buyer gave this ticket (None: not named); show it to the door staff
    holder_name: str | None = None


class CheckIns(UseCase):
    def __init__(self, ports: CorePorts, signer: TicketSigner) -> None:
        super().__init__(ports)
        self._signer = signer

    async def check_in(self, principal: Principal, token: str, event_id: UUID) -> Admission:
        """Verify the token, then record the scan; of two scanners at once exactly one wins.

        The scanner works for one event (``event_id``, the binding of a scanner session):
        the caller needs a membership (``door``, ``manager`` or ``owner``) in its
        organization, else the event is not found; a ticket of any other event is
        ``wrong_event``. A good signature is not enough: a refunded order's tickets are void.
        """
        async with self._uow() as uow:
            await managed_event(uow, principal, event_id, role=MemberRole.DOOR)
            claims = self._signer.verify(token)
            if claims.event_id != event_id:
                raise WrongEvent("wrong_event", "this ticket is for another event")
            mine = CheckIn(
                id=self._ids.new_id(),
                ticket_id=claims.ticket_id,
                event_id=claims.event_id,
                checked_in_at=self._clock.now(),
                scanned_by=principal.subject,
            )
            # Locked: a cancellation of the order waits for this check-in, or we wait
            # for it and see the ticket void (see Orders.cancel).
            ticket = await uow.tickets.get_locked(claims.ticket_id)
            if ticket is None or ticket.event_id != claims.event_id:
                raise InvalidTicket("invalid_ticket", "unknown ticket")
            if ticket.status is TicketStatus.VOID or ticket.version != claims.version:
                raise TicketVoid("ticket_void", "this ticket was cancelled or refunded")
            stored = await uow.tickets.check_in(mine)
            event = await uow.catalog.get_event(ticket.event_id)
            ticket_type = await uow.catalog.get_ticket_type(ticket.ticket_type_id)
            await uow.commit()
        if stored.id != mine.id:
            raise AlreadyCheckedIn(
                "already_checked_in",
                "this ticket was already used",
                first_checked_in_at=stored.checked_in_at.isoformat(),
            )
        return Admission(
            ticket_id=ticket.id,
            event_id=ticket.event_id,
            event_name=event.name if event else "",
            ticket_type_id=ticket.ticket_type_id,
            ticket_type_name=ticket_type.name if ticket_type else "",
            holder=ticket.holder,
            checked_in_at=stored.checked_in_at,
            holder_name=ticket.holder_name,
        )
