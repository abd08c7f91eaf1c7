"""Who may see and touch what: the ownership rules of the REST contract.

Someone else's booking, order or ticket is reported as *not found*, so ids
cannot be probed. Events are public once published; an organizer manages only
the events they created; admins manage everything.
"""

from __future__ import annotations

from typing import TypeVar

from eltiketi_core.domain.catalog import Event, EventStatus
from eltiketi_core.domain.identity import Principal, Role
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
    """The event if the caller may change it (owner or admin)."""
    require_role(principal, Role.ORGANIZER)
    event = visible_event(event, principal)
    if not _manages(event, principal):
        raise Forbidden("not_event_owner", "only the organizer who created the event may do this")
    return event


def owned(record: T | None, owner: str | None, principal: Principal, what: str) -> T:
    """The record if it belongs to the caller (or the caller is an admin)."""
    if record is None or (owner != principal.subject and not principal.is_admin):
        raise NotFound(f"{what}_not_found", f"no such {what}")
    return record


def _manages(event: Event, principal: Principal | None) -> bool:
    return principal is not None and (principal.is_admin or event.owner == principal.subject)
