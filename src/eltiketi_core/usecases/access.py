"""Who may see and touch what: the ownership rules of the REST contract.

Someone else's booking, order or ticket is reported as *not found*, so ids
cannot be probed; so is an event its caller may not manage (even a published
one: the management routes do not confirm it exists). Events are public once
published; an organizer manages only the events they created; admins manage
everything. A missing role is ``403 missing_role``.

:func:`managed_event` is the one place that decides whether someone may manage
an event: every organizer use case goes through it.
"""

from __future__ import annotations

from typing import TypeVar

from eltiketi_core.domain.catalog import Event, EventStatus
from eltiketi_core.domain.identity import Principal, Role
from eltiketi_core.domain.order import Order
from eltiketi_core.errors import Forbidden, NotFound

T = TypeVar("T")


def require_role(principal: Principal, role: Role) -> None:
    if not principal.has_role(role):
        raise Forbidden("missing_role", f"this needs the {role.value} role")


def visible_event(event: Event | None, principal: Principal | None) -> Event:
    """The event if the caller may see it; drafts are visible to their owner only."""
    if event is None:
        raise NotFound("event_not_found", "no such event")
    if event.status is EventStatus.DRAFT and not _manages(event, principal):
        raise NotFound("event_not_found", "no such event")
    return event


def managed_event(event: Event | None, principal: Principal) -> Event:
    """The event if the caller may manage it (its organizer or an admin); another
    organizer's event is ``event_not_found``, published or not."""
    require_role(principal, Role.ORGANIZER)
    if event is None or not _manages(event, principal):
        raise NotFound("event_not_found", "no such event")
    return event


def event_order(order: Order | None, event: Event) -> Order:
    """The order if it belongs to ``event`` (one the caller manages); else ``order_not_found``."""
    if order is None or order.event_id != event.id:
        raise NotFound("order_not_found", "no such order")
    return order


def owned(record: T | None, owner: str | None, principal: Principal, what: str) -> T:
    """The record if it belongs to the caller (or the caller is an admin)."""
    if record is None or (owner != principal.subject and not principal.is_admin):
        raise NotFound(f"{what}_not_found", f"no such {what}")
    return record


def _manages(event: Event, principal: Principal | None) -> bool:
    return principal is not None and (principal.is_admin or event.owner == principal.subject)
