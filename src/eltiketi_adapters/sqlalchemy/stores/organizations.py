"""Organizations, their members and invitations.

Statements are built once, at import, with ``p_``-prefixed bind parameters (see
:mod:`.notifications`). The "last owner" rule is a read followed by a write, so
on PostgreSQL the organization's row is locked first (``SELECT … FOR UPDATE``):
every change of one organization's members waits for the one before it to end,
and two owners demoting each other at once cannot both win. SQLite runs one
writer at a time (``BEGIN IMMEDIATE``), which serialises them already.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from uuid import UUID

from sqlalchemy import Integer, bindparam, delete, func, insert, select, update

from eltiketi_adapters.sqlalchemy._tx import Tx, insert_unless_exists
from eltiketi_adapters.sqlalchemy.models import (
    InvitationRow,
    OrganizationMemberRow,
    OrganizationRow,
    Timestamp,
)
from eltiketi_adapters.sqlalchemy.rows import from_row, row_values
from eltiketi_core.domain.organization import (
    Invitation,
    InvitationStatus,
    MemberChange,
    MemberRole,
    Membership,
    Organization,
)

_organizations = OrganizationRow.__table__
_members = OrganizationMemberRow.__table__
_invitations = InvitationRow.__table__

_ORGANIZATION = select(_organizations).where(OrganizationRow.id == bindparam("p_id"))
_ORGANIZATIONS = (
    select(_organizations)
    .where(OrganizationRow.id.in_(bindparam("p_ids", expanding=True)))
    .order_by(OrganizationRow.name, OrganizationRow.id)
)
_PERSONAL = select(_organizations).where(OrganizationRow.personal_of == bindparam("p_subject"))
_LOCK_ORGANIZATION = (
    select(OrganizationRow.id).where(OrganizationRow.id == bindparam("p_id")).with_for_update()
)
_MEMBER = select(_members).where(
    OrganizationMemberRow.organization_id == bindparam("p_organization_id"),
    OrganizationMemberRow.subject == bindparam("p_subject"),
)
_MEMBERS = (
    select(_members)
    .where(OrganizationMemberRow.organization_id == bindparam("p_organization_id"))
    .order_by(OrganizationMemberRow.added_at, OrganizationMemberRow.subject)
)
_MEMBERSHIPS = (
    select(_members)
    .where(OrganizationMemberRow.subject == bindparam("p_subject"))
    .order_by(OrganizationMemberRow.organization_id)
)
_OWNERS = select(func.count()).where(
    OrganizationMemberRow.organization_id == bindparam("p_organization_id"),
    OrganizationMemberRow.role == MemberRole.OWNER.value,
)
_SET_ROLE = (
    update(OrganizationMemberRow)
    .where(
        OrganizationMemberRow.organization_id == bindparam("p_organization_id"),
        OrganizationMemberRow.subject == bindparam("p_subject"),
    )
    .values(role=bindparam("p_role"))
)
_REMOVE = delete(OrganizationMemberRow).where(
    OrganizationMemberRow.organization_id == bindparam("p_organization_id"),
    OrganizationMemberRow.subject == bindparam("p_subject"),
)

_INVITATION = select(_invitations).where(InvitationRow.id == bindparam("p_id"))
_DECIDE = (
    update(InvitationRow)
    .where(
        InvitationRow.id == bindparam("p_id"),
        InvitationRow.status == InvitationStatus.PENDING.value,
    )
    .values(
        status=bindparam("p_status"),
        decided_by=bindparam("p_by"),
        decided_at=bindparam("p_at", type_=Timestamp),
    )
    .returning(InvitationRow.id)
)


class SqlOrganizationStore:
    """:class:`~eltiketi_core.ports.OrganizationStore` over ``organizations`` and
    ``organization_members``."""

    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    async def add(self, organization: Organization) -> bool:
        return await insert_unless_exists(
            self._tx,
            OrganizationRow,
            row_values(organization),
            conflict_on=[OrganizationRow.personal_of],
        )

    async def get(self, organization_id: UUID) -> Organization | None:
        row = await self._tx.first(_ORGANIZATION, {"p_id": organization_id})
        return from_row(Organization, row._mapping) if row else None

    async def get_many(self, organization_ids: Collection[UUID]) -> list[Organization]:
        if not organization_ids:
            return []
        rows = await self._tx.rows(_ORGANIZATIONS, {"p_ids": list(set(organization_ids))})
        return [from_row(Organization, row._mapping) for row in rows]

    async def personal(self, subject: str) -> Organization | None:
        row = await self._tx.first(_PERSONAL, {"p_subject": subject})
        return from_row(Organization, row._mapping) if row else None

    async def add_member(self, membership: Membership) -> bool:
        return await insert_unless_exists(
            self._tx,
            OrganizationMemberRow,
            row_values(membership),
            conflict_on=[OrganizationMemberRow.organization_id, OrganizationMemberRow.subject],
        )

    async def member(self, organization_id: UUID, subject: str) -> Membership | None:
        row = await self._tx.first(
            _MEMBER, {"p_organization_id": organization_id, "p_subject": subject}
        )
        return from_row(Membership, row._mapping) if row else None

    async def members(self, organization_id: UUID) -> list[Membership]:
        rows = await self._tx.rows(_MEMBERS, {"p_organization_id": organization_id})
        return [from_row(Membership, row._mapping) for row in rows]

    async def memberships(self, subject: str) -> list[Membership]:
        rows = await self._tx.rows(_MEMBERSHIPS, {"p_subject": subject})
        return [from_row(Membership, row._mapping) for row in rows]

    async def set_role(self, organization_id: UUID, subject: str, role: MemberRole) -> MemberChange:
        current = await self._locked_member(organization_id, subject)
        if current is None:
            return MemberChange.NOT_MEMBER
        if role is not MemberRole.OWNER and await self._only_owner(current):
            return MemberChange.LAST_OWNER
        await self._tx.execute(
            _SET_ROLE,
            {"p_organization_id": organization_id, "p_subject": subject, "p_role": role.value},
        )
        return MemberChange.DONE

    async def remove_member(self, organization_id: UUID, subject: str) -> MemberChange:
        current = await self._locked_member(organization_id, subject)
        if current is None:
            return MemberChange.NOT_MEMBER
        if await self._only_owner(current):
            return MemberChange.LAST_OWNER
        await self._tx.execute(
            _REMOVE, {"p_organization_id": organization_id, "p_subject": subject}
        )
        return MemberChange.DONE

    async def _locked_member(self, organization_id: UUID, subject: str) -> Membership | None:
        """The member, read after this transaction holds the organization's row lock
        (PostgreSQL), so the owner count that follows cannot change under it."""
        if self._tx.is_postgres:
            # Its own statement: under READ COMMITTED the reads after it take their
            # snapshots once the lock is ours, and so see the change we waited for.
            await self._tx.execute(_LOCK_ORGANIZATION, {"p_id": organization_id})
        return await self.member(organization_id, subject)

    async def _only_owner(self, membership: Membership) -> bool:
        if membership.role is not MemberRole.OWNER:
            return False
        owners = await self._tx.first(_OWNERS, {"p_organization_id": membership.organization_id})
        return owners is None or int(owners[0]) <= 1


class SqlInvitationStore:
    """:class:`~eltiketi_core.ports.InvitationStore` over ``invitations``."""

    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    async def add(self, invitation: Invitation) -> None:
        await self._tx.execute(insert(InvitationRow).values(row_values(invitation)))

    async def get(self, invitation_id: UUID) -> Invitation | None:
        row = await self._tx.first(_INVITATION, {"p_id": invitation_id})
        return from_row(Invitation, row._mapping) if row else None

    async def for_organization(
        self,
        organization_id: UUID,
        *,
        statuses: frozenset[InvitationStatus] | None = None,
        limit: int = 100,
    ) -> list[Invitation]:
        query = select(_invitations).where(InvitationRow.organization_id == organization_id)
        if statuses is not None:
            query = query.where(InvitationRow.status.in_(sorted(s.value for s in statuses)))
        query = query.order_by(InvitationRow.created_at.desc(), InvitationRow.id.desc()).limit(
            bindparam("p_limit", type_=Integer)
        )
        rows = await self._tx.rows(query, {"p_limit": limit})
        return [from_row(Invitation, row._mapping) for row in rows]

    async def decide(
        self, invitation_id: UUID, status: InvitationStatus, *, by: str, at: datetime
    ) -> bool:
        row = await self._tx.first(
            _DECIDE, {"p_id": invitation_id, "p_status": status.value, "p_by": by, "p_at": at}
        )
        return row is not None
