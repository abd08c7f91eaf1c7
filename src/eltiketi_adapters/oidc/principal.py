"""Verified Keycloak claims -> :class:`~eltiketi_core.domain.identity.Principal`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from eltiketi_adapters.oidc.config import RoleMapping
from eltiketi_core.domain.identity import Principal


def keycloak_roles(claims: Mapping[str, Any], mapping: RoleMapping) -> Iterator[str]:
    """Raw role names from ``realm_access.roles`` and ``resource_access.<client>.roles``.

    Malformed role claims are ignored rather than refused: a token with odd roles is still a
    valid identity, it just grants nothing beyond ``customer``.
    """
    if mapping.realm_roles:
        yield from _role_list(claims.get("realm_access"))
    resource_access = claims.get("resource_access")
    if isinstance(resource_access, Mapping):
        for client_id in mapping.client_ids:
            yield from _role_list(resource_access.get(client_id))


def _role_list(container: object) -> Iterator[str]:
    if isinstance(container, Mapping):
        roles = container.get("roles")
        if isinstance(roles, list):
            yield from (role for role in roles if isinstance(role, str))


def principal_from_claims(claims: Mapping[str, Any], mapping: RoleMapping) -> Principal:
    """Build the caller from verified claims (a JWT payload or an introspection answer).

    ``username`` is ``preferred_username`` (introspection's ``username`` as a fallback),
    ``phone`` is the OIDC ``phone_number`` claim; roles are elTiketi role names only.
    ``email_verified`` is true only for a boolean ``true`` claim (or the string
    ``"true"``, as some providers send it): absent means unverified.
    """
    names = mapping.effective_mapping()
    roles = frozenset(names[role] for role in keycloak_roles(claims, mapping) if role in names)
    return Principal(
        subject=str(claims["sub"]),
        username=_text(claims.get("preferred_username")) or _text(claims.get("username")),
        email=_text(claims.get("email")),
        email_verified=_true(claims.get("email_verified")),
        phone=_text(claims.get("phone_number")),
        roles=roles,
    )


def _true(value: object) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
