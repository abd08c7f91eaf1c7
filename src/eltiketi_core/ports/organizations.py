"""Persistence of organizations, their members and invitations.

Rules every implementation keeps (``tests/contract/test_organizations.py`` checks
them on every adapter):

* one membership per (organization, subject) and one personal organization per
  subject, enforced at write time;
* an organization never loses its last owner: :meth:`OrganizationStore.set_role`
  and :meth:`OrganizationStore.remove_member` check and change in one step that
  concurrent changes of the same organization's members wait for, so two owners
  demoting each other at once cannot both succeed;
* an invitation leaves ``pending`` once, by a compare-and-set
  (:meth:`InvitationStore.decide`): of two accepts of one link exactly one wins.

Nothing here is cached: a membership read sees the last committed change, so a
removed member is refused on their very next request.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Protocol
from uuid import UUID

from eltiketi_core.domain.organization import (
    Invitation,
    InvitationStatus,
    MemberChange,
    MemberRole,
    Membership,
    Organization,
)


class OrganizationStore(Protocol):
    async def add(self, organization: Organization) -> bool:
        """False (nothing written) if ``personal_of`` already has a personal organization.

        Of two concurrent first events of one organizer, one creates the personal
        organization and the other gets False and reads it with :meth:`personal`.
        """
        ...

    async def get(self, organization_id: UUID) -> Organization | None: ...

    async def get_many(self, organization_ids: Collection[UUID]) -> list[Organization]:
        """The organizations that exist among ``organization_ids``, by name then id."""
        ...

    async def personal(self, subject: str) -> Organization | None:
        """The subject's personal organization, if it has one."""
        ...

    async def add_member(self, membership: Membership) -> bool:
        """False (nothing written) if the subject is already a member of the organization."""
        ...

    async def member(self, organization_id: UUID, subject: str) -> Membership | None: ...

    async def members(self, organization_id: UUID) -> list[Membership]:
        """Everyone in the organization, longest-standing first (then by subject)."""
        ...

    async def memberships(self, subject: str) -> list[Membership]:
        """Every organization the subject belongs to, by organization id."""
        ...

    async def set_role(self, organization_id: UUID, subject: str, role: MemberRole) -> MemberChange:
        """Give the member ``role``; ``LAST_OWNER`` (nothing changed) if that would
        leave the organization without an owner, ``NOT_MEMBER`` if there is no such member.

        Waits for, and is waited for by, every other :meth:`set_role` and
        :meth:`remove_member` of the same organization until the unit of work ends.
        """
        ...

    async def remove_member(self, organization_id: UUID, subject: str) -> MemberChange:
        """Remove the member; ``LAST_OWNER`` (nothing changed) for the only owner,
        ``NOT_MEMBER`` if there is no such member. Serialised like :meth:`set_role`."""
        ...


class InvitationStore(Protocol):
    async def add(self, invitation: Invitation) -> None:
        """A new invitation; its organization must exist (a missing one is a
        ``constraint_violation``)."""
        ...

    async def get(self, invitation_id: UUID) -> Invitation | None: ...

    async def for_organization(
        self,
        organization_id: UUID,
        *,
        statuses: frozenset[InvitationStatus] | None = None,
        limit: int = 100,
    ) -> list[Invitation]:
        """The organization's invitations, newest first (then by id)."""
        ...

    async def decide(
        self, invitation_id: UUID, status: InvitationStatus, *, by: str, at: datetime
    ) -> bool:
        """``pending`` → ``status`` (accepted or revoked), recording who and when.

        Compare-and-set: True only for the call that made the change; an invitation
        already decided (or unknown) answers False and is left as it is.
        """
        ...
