"""Organizations own events; people act on them through a membership with a role.

Identity stays with the identity provider (the token's subject and e-mail);
who belongs to which organization, and as what, is ours. A person may belong
to several organizations. An **invitation** is how an owner brings someone in
by e-mail address: it becomes a membership when the invited (and verified)
address accepts it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Final
from uuid import UUID

import msgspec

from eltiketi_core.errors import ValidationFailed

MAX_NAME_LENGTH: Final = 200
MAX_EMAIL_LENGTH: Final = 254


class MemberRole(StrEnum):
    """What a member may do in an organization; each role includes the ones below it.

    * ``owner``: everything, including the members and invitations;
    * ``manager``: the events, their orders, refunds and reports;
    * ``door``: check-in at the organization's events, nothing else.
    """

    OWNER = "owner"
    MANAGER = "manager"
    DOOR = "door"

    def includes(self, needed: MemberRole) -> bool:
        """Whether a member with this role may do what ``needed`` may."""
        return _RANK[self] >= _RANK[needed]


_RANK: Final = {MemberRole.DOOR: 1, MemberRole.MANAGER: 2, MemberRole.OWNER: 3}


class Organization(msgspec.Struct, frozen=True, kw_only=True):
    """A tenant: the events it owns and the team that runs them.

    ``personal_of`` names the subject whose *personal* organization this is (at most
    one per subject): the one ``POST /v1/events`` uses when no organization is given,
    and the one every organizer's events moved into when organizations arrived.
    """

    id: UUID
    name: str
    created_by: str
    created_at: datetime
    personal_of: str | None = None

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValidationFailed("invalid_name", "an organization needs a name")
        if len(self.name) > MAX_NAME_LENGTH:
            raise ValidationFailed(
                "invalid_name", f"an organization's name has at most {MAX_NAME_LENGTH} characters"
            )


class Membership(msgspec.Struct, frozen=True, kw_only=True):
    """One person's place in one organization.

    ``email`` is the address the person had when they joined (shown in member lists);
    it never decides anything: the subject does.
    """

    organization_id: UUID
    subject: str
    role: MemberRole
    added_by: str
    added_at: datetime
    email: str | None = None


class MemberChange(StrEnum):
    """What a change of a membership did (see ``OrganizationStore.set_role``)."""

    DONE = "done"
    NOT_MEMBER = "not_member"
    LAST_OWNER = "last_owner"


class InvitationStatus(StrEnum):
    """``pending`` until accepted or revoked, both final. Expiry is not a status: a
    pending invitation past ``expires_at`` simply cannot be accepted any more."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    REVOKED = "revoked"


class Invitation(msgspec.Struct, frozen=True, kw_only=True):
    """An owner's offer of ``role`` to whoever proves they own ``email``; single use."""

    id: UUID
    organization_id: UUID
    email: str
    role: MemberRole
    invited_by: str
    created_at: datetime
    expires_at: datetime
    status: InvitationStatus = InvitationStatus.PENDING
    decided_by: str | None = None
    decided_at: datetime | None = None

    def expired(self, now: datetime) -> bool:
        return self.status is InvitationStatus.PENDING and now >= self.expires_at


def normalise_email(raw: str) -> str:
    """The address as compared and stored: trimmed and lower-cased.

    Identity providers (Keycloak among them) keep addresses lower-cased, and no mail
    provider in practice tells ``Alice@`` from ``alice@``. Only a plausible single
    address is accepted: one ``@``, no spaces or angle brackets.
    """
    email = raw.strip().lower()
    local, at, domain = email.rpartition("@")
    if (
        not at
        or not local
        or "@" in local
        or "." not in domain.strip(".")
        or len(email) > MAX_EMAIL_LENGTH
        or any(c.isspace() or c in '<>()[]\\,;:"' for c in email)
    ):
        raise ValidationFailed("invalid_email", f"not an e-mail address: {raw!r}")
    return email
