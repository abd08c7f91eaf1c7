"""Who may see and touch what: the ownership rules of the REST contract.

Someone else's booking, order or ticket is reported as *not found*, so ids
cannot be probed. Events are public once published. What someone may do to an
event comes from their membership in the event's organization, read from the
store on every call (never cached: a removed member is refused at once):

* not a member (and not an admin) → ``404 event_not_found`` /
  ``organization_not_found``, whatever the event's status, so nothing tells a
  stranger what an organization has (the management routes do not confirm an
  event exists);
* a member whose role does not include the one needed → ``403 missing_role``.

Admins (the realm role) act as owners of every organization.
:func:`managed_event` is the one place that decides whether someone may act on
an event: every organizer use case goes through it.
"""

from __future__ import annotations

from typing import TypeVar
from uuid import UUID

from eltiketi_core.domain.catalog import Event, EventStatus
from eltiketi_core.domain.identity import Principal, Role
from eltiketi_core.domain.order import Order
from eltiketi_core.domain.organization import MemberRole, Organization
from eltiketi_core.errors import Forbidden, NotFound
from eltiketi_core.ports.uow import UnitOfWork

T = TypeVar("T")


def require_role(principal: Principal, role: Role) -> None:
    """The caller holds the realm ``role`` (admins hold every role), else 403."""
    if not principal.has_role(role):
        raise Forbidden("missing_role", f"this needs the {role.value} role")


async def role_in(
    uow: UnitOfWork, principal: Principal, organization_id: UUID
) -> MemberRole | None:
    """The caller's role in the organization (admins: owner), None if not a member."""
    if principal.is_admin:
        return MemberRole.OWNER
    membership = await uow.organizations.member(organization_id, principal.subject)
    return membership.role if membership is not None else None


def require_member_role(mine: MemberRole, needed: MemberRole) -> None:
    if not mine.includes(needed):
        raise Forbidden(
            "missing_role",
            f"this needs the {needed.value} role in the organization (yours: {mine.value})",
            required_role=needed.value,
        )


async def organization_access(
    uow: UnitOfWork, principal: Principal, organization_id: UUID, role: MemberRole
) -> tuple[Organization, MemberRole]:
    """The organization and the caller's role in it, if the caller may act with ``role``.

    Raises:
        NotFound: ``organization_not_found``: no such organization, or the caller is
            not a member.
        Forbidden: ``missing_role``: a member whose role does not include ``role``.
    """
    organization = await uow.organizations.get(organization_id)
    mine = await role_in(uow, principal, organization_id) if organization else None
    if organization is None or mine is None:
        raise NotFound("organization_not_found", "no such organization")
    require_member_role(mine, role)
    return organization, mine


async def managed_event(
    uow: UnitOfWork,
    principal: Principal,
    event_id: UUID,
    *,
    role: MemberRole = MemberRole.MANAGER,
) -> Event:
    """The event if the caller may act on it with ``role`` in its organization.

    The one rule for "may this principal do X to this event": ``role=MANAGER``
    (the default) to change the catalogue, cancel, read stock, orders and
    reports; ``role=DOOR`` to check tickets in; ``role=OWNER`` for what only
    owners may do. Read in the caller's unit of work, so the decision and the
    change it allows share one transaction.

    Raises:
        NotFound: ``event_not_found``: no such event, or the caller is not a member
            of its organization (drafts and published events alike).
        Forbidden: ``missing_role``: a member whose role does not include ``role``.
    """
    event = await uow.catalog.get_event(event_id)
    mine = await role_in(uow, principal, event.organization_id) if event else None
    if event is None or mine is None:
        raise NotFound("event_not_found", "no such event")
    require_member_role(mine, role)
    return event


async def visible_event(uow: UnitOfWork, event_id: UUID, principal: Principal | None) -> Event:
    """The event if the caller may see it: published and cancelled events are public;
    a draft only to the members of its organization (and admins)."""
    event = await uow.catalog.get_event(event_id)
    if event is None or (
        event.status is EventStatus.DRAFT
        and (principal is None or await role_in(uow, principal, event.organization_id) is None)
    ):
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
