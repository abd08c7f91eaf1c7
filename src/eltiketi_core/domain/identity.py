"""Who is calling: the principal a token verifier produces."""

from __future__ import annotations

from enum import StrEnum

import msgspec


class Role(StrEnum):
    """Roles the REST contract knows. Any authenticated user is a customer."""

    CUSTOMER = "customer"
    ORGANIZER = "organizer"
    STAFF = "staff"
    ADMIN = "admin"


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """The verified caller. ``subject`` is the stable id every record is owned by."""

    subject: str
    username: str | None = None
    email: str | None = None
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
