"""Key rotation at the real provider, and the provider being unreachable.

Each test runs its own OIDC server (rotating the session server would change the keys under
other tests' feet; stopping it would break them).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from eltiketi_adapters.oidc import (
    ISSUER_UNAVAILABLE,
    UNKNOWN_KEY,
    OidcConfig,
    OidcTokenVerifier,
)
from eltiketi_core.errors import GatewayUnavailable, Unauthenticated
from tests.infra.oidc import (
    API_AUDIENCE,
    OidcServer,
    decode_unverified,
    login_with_pkce,
    start_oidc_server,
)
from tests.infra.ports import free_port
from tests.infra.requirement import ComponentUnavailable, require
from tests.integration.keycloak.conftest import HarnessFactory
from tests.unit.adapters.oidc.forge import claims_for, rsa_key, sign

pytestmark = pytest.mark.oidc


@pytest.fixture
def private_server() -> Iterator[OidcServer]:
    try:
        with start_oidc_server() as server:
            yield server
    except ComponentUnavailable as exc:
        require(exc.component, exc.reason)


def kid_of(token: str) -> str:
    header, _claims = decode_unverified(token)
    kid: str = header["kid"]
    return kid


async def test_rotated_signing_key_validates_without_a_new_verifier(
    make_harness: HarnessFactory, private_server: OidcServer
) -> None:
    harness = make_harness(private_server, jwks_min_refetch_interval_seconds=30)
    before = login_with_pkce(private_server, "olga").access_token
    assert (await harness.verifier.verify(before)).roles == {"organizer"}

    new_kid = private_server.rotate()
    after = login_with_pkce(private_server, "olga").access_token
    assert kid_of(after) == new_kid != kid_of(before)

    # Within the refetch interval the new kid is not looked up yet (documented delay) ...
    assert harness.transport.jwks_fetches == 1
    with pytest.raises(Unauthenticated) as caught:
        await harness.verifier.verify(after)
    assert caught.value.code == UNKNOWN_KEY
    # ... and once it has passed, the same verifier fetches the new key set.
    harness.ticker.advance(30)
    assert (await harness.verifier.verify(after)).roles == {"organizer"}
    assert await harness.verifier.verify(before)  # the old key is still published
    assert harness.transport.jwks_fetches == 2


async def test_first_token_after_rotation_validates_when_no_fetch_was_recent(
    make_harness: HarnessFactory, private_server: OidcServer
) -> None:
    harness = make_harness(private_server)
    await harness.verifier.prefetch()
    harness.ticker.advance(60)
    private_server.rotate()
    token = login_with_pkce(private_server, "alice").access_token
    assert (await harness.verifier.verify(token)).username == "alice"


async def test_unreachable_issuer_is_503() -> None:
    issuer = f"http://127.0.0.1:{free_port()}/realms/eltiketi"  # nothing listens there
    async with OidcTokenVerifier(OidcConfig(issuer=issuer, audience=API_AUDIENCE)) as verifier:
        with pytest.raises(GatewayUnavailable) as caught:
            await verifier.prefetch()
        assert caught.value.code == ISSUER_UNAVAILABLE


async def test_issuer_going_down_keeps_cached_keys_working(
    make_harness: HarnessFactory, private_server: OidcServer
) -> None:
    harness = make_harness(private_server, jwks_max_age_seconds=60)
    token = login_with_pkce(private_server, "alice").access_token
    assert await harness.verifier.verify(token)
    assert private_server.process is not None
    private_server.process.stop()

    harness.ticker.advance(120)  # keys are stale: the refresh fails, the cached key serves
    assert (await harness.verifier.verify(token)).username == "alice"
    # A token for a key we do not have cannot be checked while the issuer is down: 503.
    unknown_kid = sign(rsa_key(), claims_for(private_server.issuer, API_AUDIENCE), kid="next-key")
    harness.ticker.advance(30)
    with pytest.raises(GatewayUnavailable) as caught:
        await harness.verifier.verify(unknown_kid)
    assert caught.value.code == ISSUER_UNAVAILABLE
