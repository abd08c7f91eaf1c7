"""In-memory organizations, memberships and invitations.

Units of work run one at a time over a :class:`MemoryStorage`, so the checks and
changes of one method can never interleave with another's: the "last owner" rule
needs no lock here, and a compare-and-set is a plain read and write.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from uuid import UUID

import msgspec

from eltiketi_adapters.memory.stores import _append, _Store, _violation
from eltiketi_core.domain.organization import (
    Invitation,
    InvitationStatus,
    MemberChange,
    MemberRole,
    Membership,
    Organization,
)


class MemoryOrganizationStore(_Store):
    """:class:`~eltiketi_core.ports.OrganizationStore` in memory."""

    async def add(self, organization: Organization) -> bool:
        db = self._db
        if organization.id in db.organizations:
            raise _violation(f"organization {organization.id} exists")
        personal = organization.personal_of
        if personal is not None and personal in db.personal_organizations:
            return False
        db.organizations[organization.id] = organization
        if personal is not None:
            db.personal_organizations[personal] = organization.id
        return True

    async def get(self, organization_id: UUID) -> Organization | None:
        return self._db.organizations.get(organization_id)

    async def get_many(self, organization_ids: Collection[UUID]) -> list[Organization]:
        db = self._db
        found = [db.organizations[i] for i in set(organization_ids) if i in db.organizations]
        found.sort(key=lambda o: (o.name, o.id))
        return found

    async def personal(self, subject: str) -> Organization | None:
        db = self._db
        organization_id = db.personal_organizations.get(subject)
        return None if organization_id is None else db.organizations[organization_id]

    async def add_member(self, membership: Membership) -> bool:
        db = self._db
        key = (membership.organization_id, membership.subject)
        if membership.organization_id not in db.organizations:
            raise _violation(f"member of unknown organization {membership.organization_id}")
        if key in db.memberships:
            return False
        db.memberships[key] = membership
        subject, organization_id = membership.subject, membership.organization_id
        _append(db.memberships_by_subject, subject, organization_id)
        _append(db.members_by_organization, organization_id, subject)
        return True

    async def member(self, organization_id: UUID, subject: str) -> Membership | None:
        return self._db.memberships.get((organization_id, subject))

    async def members(self, organization_id: UUID) -> list[Membership]:
        db = self._db
        found = [
            db.memberships[(organization_id, subject)]
            for subject in db.members_by_organization.get(organization_id, ())
        ]
        found.sort(key=lambda m: (m.added_at, m.subject))
        return found

    async def memberships(self, subject: str) -> list[Membership]:
        db = self._db
        found = [
            db.memberships[(organization_id, subject)]
            for organization_id in db.memberships_by_subject.get(subject, ())
        ]
        found.sort(key=lambda m: m.organization_id)
        return found

    async def set_role(self, organization_id: UUID, subject: str, role: MemberRole) -> MemberChange:
        db = self._db
        current = db.memberships.get((organization_id, subject))
        if current is None:
            return MemberChange.NOT_MEMBER
        if role is not MemberRole.OWNER and self._only_owner(current):
            return MemberChange.LAST_OWNER
        db.memberships[(organization_id, subject)] = msgspec.structs.replace(current, role=role)
        return MemberChange.DONE

    async def remove_member(self, organization_id: UUID, subject: str) -> MemberChange:
        db = self._db
        current = db.memberships.get((organization_id, subject))
        if current is None:
            return MemberChange.NOT_MEMBER
        if self._only_owner(current):
            return MemberChange.LAST_OWNER
        del db.memberships[(organization_id, subject)]
        db.memberships_by_subject[subject] = tuple(
            o for o in db.memberships_by_subject[subject] if o != organization_id
        )
        db.members_by_organization[organization_id] = tuple(
            s for s in db.members_by_organization[organization_id] if s != subject
        )
        return MemberChange.DONE

    def _only_owner(self, membership: Membership) -> bool:
        if membership.role is not MemberRole.OWNER:
            return False
        db = self._db
        owners = sum(
            1
            for subject in db.members_by_organization.get(membership.organization_id, ())
            if db.memberships[(membership.organization_id, subject)].role is MemberRole.OWNER
        )
        return owners <= 1


class MemoryInvitationStore(_Store):
    """:class:`~eltiketi_core.ports.InvitationStore` in memory."""

    async def add(self, invitation: Invitation) -> None:
        db = self._db
        if invitation.id in db.invitations:
            raise _violation(f"invitation {invitation.id} exists")
        if invitation.organization_id not in db.organizations:
            raise _violation(f"invitation to unknown organization {invitation.organization_id}")
        db.invitations[invitation.id] = invitation
        _append(db.invitations_by_organization, invitation.organization_id, invitation.id)

    async def get(self, invitation_id: UUID) -> Invitation | None:
        return self._db.invitations.get(invitation_id)

    async def for_organization(
        self,
        organization_id: UUID,
        *,
        statuses: frozenset[InvitationStatus] | None = None,
        limit: int = 100,
    ) -> list[Invitation]:
        db = self._db
        found = [db.invitations[i] for i in db.invitations_by_organization.get(organization_id, ())]
        if statuses is not None:
            found = [invitation for invitation in found if invitation.status in statuses]
        found.sort(key=lambda inv: (inv.created_at, inv.id), reverse=True)
        return found[:limit]

    async def decide(
        self, invitation_id: UUID, status: InvitationStatus, *, by: str, at: datetime
    ) -> bool:
        db = self._db
        current = db.invitations.get(invitation_id)
        if current is None or current.status is not InvitationStatus.PENDING:
            return False
        db.invitations[invitation_id] = msgspec.structs.replace(
            current, status=status, decided_by=by, decided_at=at
        )
        return True
