"""Organizations and their teams: create, list, members and roles, invitations.

Who may do what (admins may do everything, everywhere):

=====================================  ==========================================
action                                 needs
=====================================  ==========================================
create an organization                 the realm role ``organizer``
see an organization                    any membership
list members                           ``manager`` (or ``owner``)
add, change or remove members          ``owner``
leave (remove oneself)                 any membership
invite, list and revoke invitations    ``owner``
accept an invitation                   the invited address, verified by the
                                       identity provider (``email_verified``)
=====================================  ==========================================

An organization always keeps an owner: demoting or removing the last one is
refused (``409 last_owner``) by the store in the same step that would do it.
"""

from __future__ import annotations

import logging
from uuid import UUID

import msgspec

from eltiketi_core.domain.identity import Principal, Role
from eltiketi_core.domain.organization import (
    Invitation,
    InvitationStatus,
    MemberChange,
    MemberRole,
    Membership,
    Organization,
    normalise_email,
)
from eltiketi_core.errors import Conflict, Forbidden, InvitationGone, NotFound, ValidationFailed
from eltiketi_core.ports.clock import Clock, IdGenerator
from eltiketi_core.ports.uow import UnitOfWork
from eltiketi_core.usecases.access import organization_access, require_role
from eltiketi_core.usecases.core_ports import CorePorts, UseCase
from eltiketi_core.usecases.notifications import Notifications, invitation_key
from eltiketi_core.usecases.policy import Policy

log = logging.getLogger(__name__)


class OrganizationView(msgspec.Struct, frozen=True, kw_only=True):
    """An organization as one member sees it: with their own role in it."""

    organization: Organization
    role: MemberRole


class InvitationPreview(msgspec.Struct, frozen=True, kw_only=True):
    """What the invited person sees before accepting: which organization, which role, who
    invited them (the inviter's e-mail address as they joined, else their subject) and
    whether it can still be accepted (``status``; ``expired`` is its own flag)."""

    invitation: Invitation
    organization_name: str
    invited_by: str
    expired: bool


class Organizations(UseCase):
    """Every organization use case; they share the same collaborators."""

    def __init__(self, ports: CorePorts, policy: Policy, notifications: Notifications) -> None:
        super().__init__(ports)
        self._policy = policy
        self._notifications = notifications

    # -- organizations -----------------------------------------------------------------

    async def create(self, principal: Principal, name: str) -> OrganizationView:
        """A new organization with the caller as its owner (realm role ``organizer``)."""
        require_role(principal, Role.ORGANIZER)
        now = self._clock.now()
        organization = Organization(
            id=self._ids.new_id(), name=name.strip(), created_by=principal.subject, created_at=now
        )
        async with self._uow() as uow:
            await uow.organizations.add(organization)
            await uow.organizations.add_member(_founder(organization, principal))
            await uow.commit()
        return OrganizationView(organization=organization, role=MemberRole.OWNER)

    async def mine(self, principal: Principal) -> list[OrganizationView]:
        """The organizations the caller belongs to, by name, with the caller's role."""
        async with self._uow() as uow:
            memberships = await uow.organizations.memberships(principal.subject)
            roles = {m.organization_id: m.role for m in memberships}
            found = await uow.organizations.get_many(list(roles))
        return [OrganizationView(organization=o, role=roles[o.id]) for o in found]

    async def get(self, principal: Principal, organization_id: UUID) -> OrganizationView:
        """One organization the caller belongs to (any role); anyone else: 404."""
        async with self._uow() as uow:
            organization, role = await organization_access(
                uow, principal, organization_id, MemberRole.DOOR
            )
        return OrganizationView(organization=organization, role=role)

    # -- members -----------------------------------------------------------------------

    async def members(self, principal: Principal, organization_id: UUID) -> list[Membership]:
        async with self._uow() as uow:
            await organization_access(uow, principal, organization_id, MemberRole.MANAGER)
            return await uow.organizations.members(organization_id)

    async def add_member(
        self,
        principal: Principal,
        organization_id: UUID,
        subject: str,
        role: MemberRole,
        *,
        email: str | None = None,
    ) -> Membership:
        """An owner adds someone by their subject (the identity provider's user id).

        For people whose subject the owner does not know, :meth:`invite` by e-mail.
        """
        membership = Membership(
            organization_id=organization_id,
            subject=_subject(subject),
            role=role,
            added_by=principal.subject,
            added_at=self._clock.now(),
            email=normalise_email(email) if email else None,
        )
        async with self._uow() as uow:
            await organization_access(uow, principal, organization_id, MemberRole.OWNER)
            if not await uow.organizations.add_member(membership):
                raise Conflict("already_member", f"{membership.subject} is already a member")
            await uow.commit()
        return membership

    async def change_role(
        self, principal: Principal, organization_id: UUID, subject: str, role: MemberRole
    ) -> Membership:
        async with self._uow() as uow:
            await organization_access(uow, principal, organization_id, MemberRole.OWNER)
            _changed(await uow.organizations.set_role(organization_id, subject, role))
            member = await uow.organizations.member(organization_id, subject)
            await uow.commit()
        assert member is not None  # set_role said it is there, in this transaction
        return member

    async def remove_member(
        self, principal: Principal, organization_id: UUID, subject: str
    ) -> None:
        """An owner removes a member, or a member leaves. Takes effect at the member's
        next request: memberships are read on every request."""
        needed = MemberRole.DOOR if subject == principal.subject else MemberRole.OWNER
        async with self._uow() as uow:
            await organization_access(uow, principal, organization_id, needed)
            _changed(await uow.organizations.remove_member(organization_id, subject))
            await uow.commit()

    async def grant(
        self,
        organization_id: UUID,
        subject: str,
        role: MemberRole,
        *,
        email: str | None = None,
        by: str = "operator",
    ) -> Membership:
        """Make ``subject`` a member with ``role`` (or give an existing member ``role``).

        No caller is checked: this is for operators and tools that act outside any
        request (``eltiketi dev-token --member``, the testing kit). The last owner is
        still never demoted.
        """
        async with self._uow() as uow:
            if await uow.organizations.get(organization_id) is None:
                raise NotFound("organization_not_found", "no such organization")
            membership = Membership(
                organization_id=organization_id,
                subject=_subject(subject),
                role=role,
                added_by=by,
                added_at=self._clock.now(),
                email=normalise_email(email) if email else None,
            )
            if not await uow.organizations.add_member(membership):
                _changed(await uow.organizations.set_role(organization_id, subject, role))
                stored = await uow.organizations.member(organization_id, subject)
                assert stored is not None
                membership = stored
            await uow.commit()
        return membership

    # -- invitations -------------------------------------------------------------------

    async def invite(
        self, principal: Principal, organization_id: UUID, email: str, role: MemberRole
    ) -> Invitation:
        """An owner invites an e-mail address; the invitation link is mailed to it.

        The message is queued and sent after the invitation is stored; a failed send
        is retried like every notification.
        """
        now = self._clock.now()
        invitation = Invitation(
            id=self._ids.new_id(),
            organization_id=organization_id,
            email=normalise_email(email),
            role=role,
            invited_by=principal.subject,
            created_at=now,
            expires_at=now + self._policy.invitation_ttl,
        )
        async with self._uow() as uow:
            await organization_access(uow, principal, organization_id, MemberRole.OWNER)
            await uow.invitations.add(invitation)
            await uow.commit()
        await self._notifications.deliver(invitation_key(invitation.id))
        return invitation

    async def invitations(self, principal: Principal, organization_id: UUID) -> list[Invitation]:
        """The organization's invitations, newest first (owners)."""
        async with self._uow() as uow:
            await organization_access(uow, principal, organization_id, MemberRole.OWNER)
            return await uow.invitations.for_organization(organization_id)

    async def revoke(
        self, principal: Principal, organization_id: UUID, invitation_id: UUID
    ) -> Invitation:
        """Withdraw a pending invitation; its link stops working. Revoking twice is fine;
        an invitation already accepted answers ``409 invitation_used``."""
        now = self._clock.now()
        async with self._uow() as uow:
            await organization_access(uow, principal, organization_id, MemberRole.OWNER)
            invitation = await _invitation(uow, invitation_id, organization_id)
            if invitation.status is InvitationStatus.REVOKED:
                return invitation
            decided = await uow.invitations.decide(
                invitation_id, InvitationStatus.REVOKED, by=principal.subject, at=now
            )
            if not decided:
                raise Conflict("invitation_used", "this invitation was accepted already")
            await uow.commit()
        return msgspec.structs.replace(
            invitation,
            status=InvitationStatus.REVOKED,
            decided_by=principal.subject,
            decided_at=now,
        )

    async def preview(self, invitation_id: UUID) -> InvitationPreview:
        """The invitation as its link shows it, before anyone accepts it.

        No caller is checked: whoever holds the signed link (the app checks the link's
        signature before asking) may read what the e-mail said anyway. Accepting is
        :meth:`accept`, which decides who may.

        Raises:
            NotFound: ``invitation_not_found``.
        """
        async with self._uow() as uow:
            invitation = await _invitation(uow, invitation_id)
            organization = await uow.organizations.get(invitation.organization_id)
            if organization is None:  # pragma: no cover - organizations are never deleted
                raise NotFound("invitation_not_found", "no such invitation")
            inviter = await uow.organizations.member(
                invitation.organization_id, invitation.invited_by
            )
        return InvitationPreview(
            invitation=invitation,
            organization_name=organization.name,
            invited_by=inviter.email if inviter and inviter.email else invitation.invited_by,
            expired=invitation.expired(self._clock.now()),
        )

    async def accept(self, principal: Principal, invitation_id: UUID) -> Membership:
        """The invited person joins: only with the invited address, verified.

        Single use: the invitation leaves ``pending`` by a compare-and-set in the
        transaction that adds the membership, so of two accepts exactly one joins.

        Raises:
            NotFound: ``invitation_not_found``.
            InvitationGone: ``invitation_expired`` or ``invitation_revoked`` (410).
            Conflict: ``invitation_used`` (accepted already), ``already_member``.
            Forbidden: ``invitation_email_mismatch`` (the caller's e-mail is not the
                invited one), ``email_not_verified``.
        """
        now = self._clock.now()
        async with self._uow() as uow:
            invitation = await _invitation(uow, invitation_id)
            if invitation.status is InvitationStatus.ACCEPTED:
                raise Conflict("invitation_used", "this invitation was accepted already")
            if invitation.status is InvitationStatus.REVOKED:
                raise InvitationGone("invitation_revoked", "this invitation was withdrawn")
            if invitation.expired(now):
                raise InvitationGone(
                    "invitation_expired",
                    "this invitation has expired; ask the organization for a new one",
                    expired_at=invitation.expires_at.isoformat(),
                )
            _check_address(principal, invitation)
            if await uow.organizations.member(invitation.organization_id, principal.subject):
                raise Conflict("already_member", "you are already a member of this organization")
            if not await uow.invitations.decide(
                invitation.id, InvitationStatus.ACCEPTED, by=principal.subject, at=now
            ):
                raise Conflict("invitation_used", "this invitation was accepted already")
            membership = Membership(
                organization_id=invitation.organization_id,
                subject=principal.subject,
                role=invitation.role,
                added_by=invitation.invited_by,
                added_at=now,
                email=invitation.email,
            )
            if not await uow.organizations.add_member(membership):
                raise Conflict("already_member", "you are already a member of this organization")
            await uow.commit()
        log.info(
            "invitation accepted",
            extra={
                "invitation": str(invitation.id),
                "organization": str(membership.organization_id),
            },
        )
        return membership


async def personal_organization(
    uow: UnitOfWork, principal: Principal, ids: IdGenerator, clock: Clock
) -> Organization:
    """The caller's personal organization, created (with the caller as owner) on first use.

    Where an organizer's events go when they name no organization, so the REST
    routes of before organizations keep working. Needs the realm role ``organizer``
    to create it, and ``manager`` in it (a personal organization can be handed over).
    """
    require_role(principal, Role.ORGANIZER)
    organization = await uow.organizations.personal(principal.subject)
    if organization is None:
        now = clock.now()
        name = principal.username or principal.email or principal.subject
        created = Organization(
            id=ids.new_id(),
            name=name[:200],
            created_by=principal.subject,
            created_at=now,
            personal_of=principal.subject,
        )
        if await uow.organizations.add(created):
            await uow.organizations.add_member(_founder(created, principal))
            return created
        organization = await uow.organizations.personal(principal.subject)
        assert organization is not None  # another request created it meanwhile
    await organization_access(uow, principal, organization.id, MemberRole.MANAGER)
    return organization


def _founder(organization: Organization, principal: Principal) -> Membership:
    return Membership(
        organization_id=organization.id,
        subject=principal.subject,
        role=MemberRole.OWNER,
        added_by=principal.subject,
        added_at=organization.created_at,
        email=_verified_email(principal),
    )


def _verified_email(principal: Principal) -> str | None:
    if not principal.email:
        return None
    try:
        return normalise_email(principal.email)
    except ValidationFailed:
        return None


def _subject(subject: str) -> str:
    subject = subject.strip()
    if not subject or len(subject) > 255:
        raise ValidationFailed("invalid_subject", "a subject has 1 to 255 characters")
    return subject


def _changed(change: MemberChange) -> None:
    if change is MemberChange.NOT_MEMBER:
        raise NotFound("member_not_found", "no such member")
    if change is MemberChange.LAST_OWNER:
        raise Conflict(
            "last_owner", "an organization keeps at least one owner; make someone else owner first"
        )


async def _invitation(
    uow: UnitOfWork, invitation_id: UUID, organization_id: UUID | None = None
) -> Invitation:
    invitation = await uow.invitations.get(invitation_id)
    if invitation is None or (
        organization_id is not None and invitation.organization_id != organization_id
    ):
        raise NotFound("invitation_not_found", "no such invitation")
    return invitation


def _check_address(principal: Principal, invitation: Invitation) -> None:
    try:
        mine = normalise_email(principal.email) if principal.email else None
    except ValidationFailed:
        mine = None
    if mine != invitation.email:
        raise Forbidden(
            "invitation_email_mismatch",
            "this invitation is for another e-mail address; sign in with the invited one",
        )
    if not principal.email_verified:
        raise Forbidden(
            "email_not_verified",
            "your identity provider has not verified your e-mail address; verify it, "
            "sign in again and retry",
        )
