"""OidcConfig validation and Keycloak role mapping."""

from __future__ import annotations

from typing import Any

import pytest

from eltiketi_adapters.oidc import IntrospectionMode, OidcConfig, RoleMapping
from eltiketi_adapters.oidc import principal_from_claims as principal

ISSUER = "https://sso.example.test/realms/eltiketi"


def config(**settings: Any) -> OidcConfig:
    return OidcConfig(**({"issuer": ISSUER, "audience": "eltiketi-api"} | settings))


@pytest.mark.parametrize(
    "algorithms", [("none",), ("HS256",), ("HS384", "RS256"), ("RSA-OAEP",), ()]
)
def test_symmetric_none_and_unknown_algorithms_cannot_be_configured(
    algorithms: tuple[str, ...],
) -> None:
    with pytest.raises(ValueError):
        config(allowed_algorithms=algorithms)


def test_defaults_are_the_documented_ones() -> None:
    defaults = config()
    assert defaults.allowed_algorithms[:7] == (
        "RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA",
    )  # fmt: skip
    assert not any(alg.startswith("HS") or alg == "none" for alg in defaults.allowed_algorithms)
    assert defaults.leeway_seconds == 30
    assert defaults.introspection is IntrospectionMode.OFF
    assert defaults.introspection_cache_ttl_seconds == 30
    assert defaults.jwks_min_refetch_interval_seconds == 30
    assert defaults.role_mapping.client_ids == ("eltiketi-api",)
    assert defaults.discovery_document_url == f"{ISSUER}/.well-known/openid-configuration"


@pytest.mark.parametrize("mode", [IntrospectionMode.ALWAYS, IntrospectionMode.OPAQUE_ONLY])
def test_introspection_needs_client_credentials(mode: IntrospectionMode) -> None:
    with pytest.raises(ValueError, match="client_id and client_secret"):
        config(introspection=mode, client_id="eltiketi-api")
    assert config(introspection=mode, client_id="eltiketi-api", client_secret="s").introspection


@pytest.mark.parametrize(
    "settings",
    [
        {"issuer": "sso.example.test/realms/eltiketi"},
        {"leeway_seconds": -1},
        {"jwks_min_refetch_interval_seconds": -1},
        {"http_timeout_seconds": 0},
    ],
)
def test_nonsense_settings_are_refused_at_start_up(settings: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        config(**settings)


def test_role_mapping_targets_must_be_eltiketi_roles() -> None:
    with pytest.raises(ValueError, match="superuser"):
        RoleMapping(mapping={"kc-admin": "superuser"})


CLAIMS: dict[str, Any] = {
    "sub": "u-1",
    "preferred_username": "olga",
    "realm_access": {"roles": ["organizer", "offline_access", "default-roles-eltiketi"]},
    "resource_access": {
        "eltiketi-api": {"roles": ["staff", "manage-account"]},
        "account": {"roles": ["admin"]},
    },
}


def test_realm_and_configured_client_roles_are_merged_unknown_names_dropped() -> None:
    mapped = principal(CLAIMS, RoleMapping(client_ids=("eltiketi-api",)))
    assert mapped.roles == frozenset({"organizer", "staff"})


def test_roles_of_clients_not_configured_are_ignored() -> None:
    assert principal(CLAIMS, RoleMapping()).roles == frozenset({"organizer"})


def test_realm_roles_can_be_switched_off() -> None:
    mapping = RoleMapping(realm_roles=False, client_ids=("eltiketi-api",))
    assert principal(CLAIMS, mapping).roles == frozenset({"staff"})


def test_mapping_renames_keycloak_roles() -> None:
    mapping = RoleMapping(
        client_ids=("account",), mapping={"offline_access": "customer", "admin": "staff"}
    )
    assert principal(CLAIMS, mapping).roles == frozenset({"organizer", "customer", "staff"})


@pytest.mark.parametrize(
    "realm_access", [None, "admin", {"roles": "admin"}, {"roles": [1, None, {"admin": 1}]}]
)
def test_malformed_role_claims_grant_nothing(realm_access: Any) -> None:
    assert principal({"sub": "u", "realm_access": realm_access}, RoleMapping()).roles == frozenset()


def test_profile_claims_map_to_the_principal() -> None:
    mapped = principal(
        {"sub": "u", "username": "intro", "email": "u@x.test", "phone_number": "+49", "name": 1},
        RoleMapping(),
    )
    assert (mapped.subject, mapped.username, mapped.email, mapped.phone) == (
        "u", "intro", "u@x.test", "+49",
    )  # fmt: skip
    assert principal({"sub": "u", "email": ""}, RoleMapping()).email is None


@pytest.mark.parametrize(
    ("claim", "verified"),
    [(True, True), ("true", True), ("TRUE", True), (False, False), ("false", False), (1, False)],
)
def test_email_verified_is_only_an_explicit_true(claim: Any, verified: bool) -> None:
    claims = {"sub": "u", "email": "u@x.test", "email_verified": claim}
    assert principal(claims, RoleMapping()).email_verified is verified
    assert principal({"sub": "u", "email": "u@x.test"}, RoleMapping()).email_verified is False
