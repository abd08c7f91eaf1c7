"""Configuration of the OIDC verifier: one immutable struct, built by the app from ``ELTIKETI_*``.

The adapter never reads the environment; :class:`OidcConfig` validates itself on construction so
a misconfiguration stops the app at start-up rather than producing 401s or 500s later.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

import msgspec

from eltiketi_adapters.oidc.jwt_validation import (
    DEFAULT_ALGORITHMS,
    DEFAULT_TOKEN_TYPES,
    JwtPolicy,
    check_algorithm_allow_list,
)
from eltiketi_core.domain.identity import Role


class IntrospectionMode(StrEnum):
    """When to ask the issuer's RFC 7662 introspection endpoint about a token."""

    OFF = "off"
    """JWTs are validated locally only; opaque tokens are refused."""
    ALWAYS = "always"
    """Every token is introspected (JWTs are also validated locally first): revocation counts
    within the introspection cache TTL, at the price of a call per token per TTL."""
    OPAQUE_ONLY = "opaque-only"
    """JWTs are validated locally; opaque tokens (not three dot-separated parts) are introspected."""


class RoleMapping(msgspec.Struct, frozen=True, kw_only=True):
    """How Keycloak roles become elTiketi roles (:class:`~eltiketi_core.domain.identity.Role`).

    Keycloak roles are collected from ``realm_access.roles`` (when ``realm_roles``) and from
    ``resource_access.<client>.roles`` for each of ``client_ids``. Each collected name is looked
    up in ``mapping`` (Keycloak name -> elTiketi name); names that already are elTiketi role names
    map to themselves unless ``mapping`` says otherwise. Everything else (``offline_access``,
    ``default-roles-eltiketi``, ``uma_authorization`` ...) is dropped.
    """

    realm_roles: bool = True
    client_ids: tuple[str, ...] = ()
    mapping: Mapping[str, str] = msgspec.field(default_factory=dict)

    def __post_init__(self) -> None:
        known = {role.value for role in Role}
        unknown = sorted(set(self.mapping.values()) - known)
        if unknown:
            raise ValueError(
                f"role_mapping targets {unknown} are not elTiketi roles {sorted(known)}"
            )

    def effective_mapping(self) -> dict[str, str]:
        """Keycloak role name -> elTiketi role name, identity for our own names included."""
        return {role.value: role.value for role in Role} | dict(self.mapping)


class OidcConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Everything :class:`~eltiketi_adapters.oidc.OidcTokenVerifier` needs to know.

    Attributes:
        issuer: The realm URL exactly as it appears in tokens' ``iss``, e.g.
            ``https://sso.example.com/realms/eltiketi`` (``ELTIKETI_OIDC_ISSUER``).
        audience: The audience this API expects in ``aud`` (``ELTIKETI_OIDC_AUDIENCE``).
        accept_azp: Also accept tokens whose ``azp`` equals ``audience``.
        allowed_algorithms: Asymmetric JWS algorithms accepted; ``none`` and HS* are rejected
            at construction.
        leeway_seconds: Clock skew tolerated on ``exp``, ``nbf`` and ``iat``.
        token_types: Accepted ``typ`` header values (lower case, no ``application/``).
        introspection: See :class:`IntrospectionMode` (``ELTIKETI_OIDC_INTROSPECTION``).
        client_id: Confidential client that authenticates to the introspection endpoint with
            HTTP Basic (``ELTIKETI_OIDC_CLIENT_ID``); required unless introspection is off.
        client_secret: Its secret (``ELTIKETI_OIDC_CLIENT_SECRET``).
        introspection_cache_ttl_seconds: How long a positive introspection answer is reused;
            never past the token's ``exp``. It is the maximal delay before a revocation is
            noticed. ``0`` disables the cache.
        introspection_cache_size: Maximal number of cached answers (oldest evicted first).
        jwks_min_refetch_interval_seconds: At most one JWKS fetch per interval, whatever the
            number of tokens with unknown ``kid`` (forged kids cannot hammer the issuer).
        jwks_max_age_seconds: Known keys are re-fetched (in the background of a request, stale
            keys still served) after this age, so keys the issuer withdrew stop being accepted.
        roles: How roles are read and mapped. ``client_ids`` defaults to ``(audience,)`` when
            left empty and ``roles`` is not given.
        discovery_url: Override for ``{issuer}/.well-known/openid-configuration`` (e.g. when the
            API reaches Keycloak under an internal host name).
        http_timeout_seconds: Per request to the issuer.
    """

    issuer: str
    audience: str
    accept_azp: bool = False
    allowed_algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS
    leeway_seconds: float = 30.0
    token_types: frozenset[str] = DEFAULT_TOKEN_TYPES
    introspection: IntrospectionMode = IntrospectionMode.OFF
    client_id: str | None = None
    client_secret: str | None = None
    introspection_cache_ttl_seconds: float = 30.0
    introspection_cache_size: int = 10_000
    jwks_min_refetch_interval_seconds: float = 30.0
    jwks_max_age_seconds: float = 300.0
    roles: RoleMapping | None = None
    discovery_url: str | None = None
    http_timeout_seconds: float = 5.0

    def __post_init__(self) -> None:
        check_algorithm_allow_list(self.allowed_algorithms)
        if not self.issuer.startswith(("https://", "http://")):
            raise ValueError(f"issuer must be an http(s) URL, got {self.issuer!r}")
        if self.introspection is not IntrospectionMode.OFF and not (
            self.client_id and self.client_secret
        ):
            raise ValueError(
                f"introspection {self.introspection.value!r} needs client_id and client_secret"
            )
        for name in (
            "leeway_seconds",
            "introspection_cache_ttl_seconds",
            "jwks_min_refetch_interval_seconds",
            "jwks_max_age_seconds",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.http_timeout_seconds <= 0 or self.introspection_cache_size < 1:
            raise ValueError("http_timeout_seconds and introspection_cache_size must be positive")

    @property
    def policy(self) -> JwtPolicy:
        """The token-shape rules shared with the dev issuer's verifier."""
        return JwtPolicy(
            issuer=self.issuer,
            audience=self.audience,
            accept_azp=self.accept_azp,
            algorithms=self.allowed_algorithms,
            leeway_seconds=self.leeway_seconds,
            token_types=self.token_types,
        )

    @property
    def role_mapping(self) -> RoleMapping:
        return self.roles or RoleMapping(client_ids=(self.audience,))

    @property
    def discovery_document_url(self) -> str:
        return self.discovery_url or (f"{self.issuer.rstrip('/')}/.well-known/openid-configuration")
