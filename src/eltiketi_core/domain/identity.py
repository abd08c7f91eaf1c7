"""Who is calling: the principal a token verifier produces."""

from __future__ import annotations

from enum import StrEnum

import msgspec


class Role(StrEnum):
    """Realm roles from the token. Any authenticated user is a customer.

    ``organizer`` may create organizations; ``admin`` may do everything. What someone
    may do to an event comes from their membership in its organization
    (:class:`~eltiketi_core.domain.organization.MemberRole`), not from these roles;
    ``staff`` alone admits no one at the door any more.
    """

    CUSTOMER = "customer"
    ORGANIZER = "organizer"
    STAFF = "staff"
    ADMIN = "admin"


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """The verified caller. ``subject`` is the stable id every record is owned by.

    ``email_verified`` is the identity provider's word that the caller controls
    ``email`` (the OIDC ``email_verified`` claim); only a verified address may accept
    an invitation to an organization.
    """

    subject: str
    username: str | None = None
    email: str | None = None
    email_verified: bool = False
    phone: str | None = None
    roles: frozenset[str] = frozenset()

    def has_role(self, role: Role) -> bool:
        """Admins hold every role; everyone authenticated is a customer."""
        if role is Role.CUSTOMER:
            return True
        return role.value in self.roles or Role.ADMIN.value in self.roles

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN.value in self.roles
