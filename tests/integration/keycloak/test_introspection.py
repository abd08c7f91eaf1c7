"""RFC 7662 introspection against the real OIDC server: opaque tokens, revocation, the cache."""

from __future__ import annotations

import pytest

from eltiketi_adapters.oidc import (
    MALFORMED_TOKEN,
    TOKEN_INACTIVE,
    IntrospectionMode,
)
from eltiketi_core.errors import GatewayUnavailable, Unauthenticated
from tests.infra.oidc import OidcServer, login_with_pkce, opaque_token, revoke
from tests.integration.keycloak.conftest import Harness, HarnessFactory, introspection_settings

pytestmark = pytest.mark.oidc


async def refused(harness: Harness, token: str) -> str:
    with pytest.raises(Unauthenticated) as caught:
        await harness.verifier.verify(token)
    return caught.value.code


async def test_opaque_token_is_accepted_through_introspection(
    make_harness: HarnessFactory, oidc_server: OidcServer
) -> None:
    harness = make_harness(**introspection_settings(oidc_server))
    token = opaque_token(oidc_server, "olga")
    assert token.count(".") != 2  # really opaque
    principal = await harness.verifier.verify(token)
    assert principal.username == "olga"
    assert principal.email == "olga@eltiketi.test"
    assert principal.roles == frozenset({"organizer"})
    assert harness.transport.introspections == 1


async def test_opaque_token_is_refused_when_introspection_is_off(
    make_harness: HarnessFactory, oidc_server: OidcServer
) -> None:
    harness = make_harness()
    assert await refused(harness, opaque_token(oidc_server, "alice")) == MALFORMED_TOKEN
    assert sum(harness.transport.requests.values()) == 0


async def test_revoked_opaque_token_is_refused_at_once_without_cache(
    make_harness: HarnessFactory, oidc_server: OidcServer
) -> None:
    harness = make_harness(**introspection_settings(oidc_server), introspection_cache_ttl_seconds=0)
    token = opaque_token(oidc_server, "alice")
    assert await harness.verifier.verify(token)
    revoke(oidc_server, token)
    assert await refused(harness, token) == TOKEN_INACTIVE


async def test_revoked_opaque_token_works_for_at_most_the_cache_ttl(
    make_harness: HarnessFactory, oidc_server: OidcServer
) -> None:
    """The documented trade-off: a positive answer is reused for ``ttl`` seconds."""
    harness = make_harness(
        **introspection_settings(oidc_server), introspection_cache_ttl_seconds=30
    )
    token = opaque_token(oidc_server, "alice")
    assert await harness.verifier.verify(token)
    revoke(oidc_server, token)
    harness.clock.advance(29)
    assert await harness.verifier.verify(token)  # served from the cache
    assert harness.transport.introspections == 1
    harness.clock.advance(1)
    assert await refused(harness, token) == TOKEN_INACTIVE
    assert harness.transport.introspections == 2


async def test_unknown_opaque_token_is_inactive(
    make_harness: HarnessFactory, oidc_server: OidcServer
) -> None:
    harness = make_harness(**introspection_settings(oidc_server))
    assert await refused(harness, "made-up-opaque-token") == TOKEN_INACTIVE


async def test_always_mode_refuses_a_revoked_jwt(
    make_harness: HarnessFactory, oidc_server: OidcServer
) -> None:
    harness = make_harness(**introspection_settings(oidc_server, IntrospectionMode.ALWAYS))
    token = login_with_pkce(oidc_server, "bob").access_token
    assert (await harness.verifier.verify(token)).username == "bob"
    harness.clock.advance(31)  # past the cache TTL
    revoke(oidc_server, token)
    assert await refused(harness, token) == TOKEN_INACTIVE
    assert harness.transport.introspections == 2


async def test_opaque_only_mode_does_not_introspect_jwts(
    make_harness: HarnessFactory, oidc_server: OidcServer
) -> None:
    harness = make_harness(**introspection_settings(oidc_server))
    assert await harness.verifier.verify(login_with_pkce(oidc_server, "alice").access_token)
    assert harness.transport.introspections == 0


async def test_wrong_client_secret_is_an_issuer_problem_not_a_401(
    make_harness: HarnessFactory, oidc_server: OidcServer
) -> None:
    settings = introspection_settings(oidc_server) | {"client_secret": "not-the-secret"}
    harness = make_harness(**settings)
    with pytest.raises(GatewayUnavailable):
        await harness.verifier.verify(opaque_token(oidc_server, "alice"))
