"""OidcTokenVerifier against the real OIDC server: real tokens accepted, each bad token refused.

Bad tokens are forged with joserfc using the real issuer, audience and ``kid`` but one wrong
property. Lifetime checks use REAL tokens and move the verifier's clock instead (we cannot sign
with the provider's key, and a forged signature would be refused before the lifetime check).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from joserfc.jwk import RSAKey

from eltiketi_adapters.devauth import DevTokenIssuer
from eltiketi_adapters.oidc import (
    BAD_SIGNATURE,
    MALFORMED_TOKEN,
    TOKEN_EXPIRED,
    TOKEN_NOT_YET_VALID,
    UNKNOWN_KEY,
    UNSUPPORTED_ALGORITHM,
    WRONG_AUDIENCE,
    WRONG_ISSUER,
    WRONG_TOKEN_TYPE,
    RoleMapping,
)
from eltiketi_core.domain.identity import Role
from eltiketi_core.errors import Unauthenticated
from tests.infra.oidc import (
    API_AUDIENCE,
    OidcServer,
    TokenSet,
    client_credentials_token,
    decode_unverified,
    login_with_pkce,
    start_oidc_server,
)
from tests.integration.keycloak.conftest import Harness, HarnessFactory
from tests.unit.adapters.oidc.forge import (
    b64_json,
    claims_for,
    hs256_with_public_key,
    rsa_key,
    sign,
    unsigned,
)

pytestmark = pytest.mark.oidc


@pytest.fixture(scope="module")
def alice(oidc_server: OidcServer) -> TokenSet:
    """Alice's tokens from the real authorization-code + PKCE flow (the test drives the form)."""
    return login_with_pkce(oidc_server, "alice")


def current_kid(server: OidcServer) -> str:
    """The kid the provider signs with now (first key of its JWKS)."""
    kid: str = server.jwks()["keys"][0]["kid"]
    return kid


def forged_claims(server: OidcServer, **overrides: Any) -> dict[str, Any]:
    return claims_for(server.issuer, API_AUDIENCE, **overrides)


async def refused(harness: Harness, token: str) -> str:
    with pytest.raises(Unauthenticated) as caught:
        await harness.verifier.verify(token)
    return caught.value.code


async def test_pkce_login_token_is_accepted_with_subject_profile_and_roles(
    make_harness: HarnessFactory, alice: TokenSet
) -> None:
    assert alice.id_token is not None
    _header, id_claims = decode_unverified(alice.id_token)
    principal = await make_harness().verifier.verify(alice.access_token)
    assert principal.subject == id_claims["sub"]
    assert principal.subject != "alice"  # a stable id, not the login name
    assert principal.username == "alice"
    assert principal.email == "alice@eltiketi.test"
    assert principal.phone == id_claims["phone_number"]
    assert principal.roles == frozenset({"customer"})


@pytest.mark.parametrize(
    ("username", "role"), [("olga", Role.ORGANIZER), ("sam", Role.STAFF), ("admin", Role.ADMIN)]
)
async def test_realm_roles_come_through(
    make_harness: HarnessFactory, oidc_server: OidcServer, username: str, role: Role
) -> None:
    token = login_with_pkce(oidc_server, username).access_token
    principal = await make_harness().verifier.verify(token)
    assert principal.roles == frozenset({role.value})
    assert principal.has_role(role)
    assert (principal.is_admin) is (role is Role.ADMIN)


async def test_service_account_token_is_accepted_without_roles(
    make_harness: HarnessFactory, oidc_server: OidcServer
) -> None:
    principal = await make_harness().verifier.verify(client_credentials_token(oidc_server))
    assert principal.subject == oidc_server.api_client_id
    assert principal.roles == frozenset()
    assert principal.has_role(Role.CUSTOMER)
    assert not principal.has_role(Role.ORGANIZER)


async def test_roles_from_resource_access_of_the_configured_client(
    make_harness: HarnessFactory, oidc_server: OidcServer
) -> None:
    token = login_with_pkce(oidc_server, "olga").access_token
    client_only = RoleMapping(realm_roles=False, client_ids=(oidc_server.api_client_id,))
    other_client = RoleMapping(realm_roles=False, client_ids=("account",))
    renamed = RoleMapping(mapping={"organizer": "staff"})
    assert (await make_harness(roles=client_only).verifier.verify(token)).roles == {"organizer"}
    assert (await make_harness(roles=other_client).verifier.verify(token)).roles == frozenset()
    assert (await make_harness(roles=renamed).verifier.verify(token)).roles == {"staff"}


async def test_expired_token_is_refused(make_harness: HarnessFactory, alice: TokenSet) -> None:
    _header, claims = decode_unverified(alice.access_token)
    harness = make_harness(leeway_seconds=30)
    harness.clock.current = datetime.fromtimestamp(claims["exp"] + 31, UTC)
    assert await refused(harness, alice.access_token) == TOKEN_EXPIRED


async def test_not_yet_valid_token_is_refused(
    make_harness: HarnessFactory, alice: TokenSet
) -> None:
    _header, claims = decode_unverified(alice.access_token)
    harness = make_harness(leeway_seconds=30)
    harness.clock.current = datetime.fromtimestamp(claims["iat"] - 31, UTC)
    assert await refused(harness, alice.access_token) == TOKEN_NOT_YET_VALID


async def test_token_within_the_leeway_is_accepted(
    make_harness: HarnessFactory, alice: TokenSet
) -> None:
    _header, claims = decode_unverified(alice.access_token)
    harness = make_harness(leeway_seconds=30)
    harness.clock.current = datetime.fromtimestamp(claims["exp"] + 29, UTC)
    assert await harness.verifier.verify(alice.access_token)


async def test_token_from_another_realm_is_refused_without_fetching_keys(
    make_harness: HarnessFactory,
) -> None:
    with start_oidc_server(realm="elsewhere") as other_realm:
        foreign = login_with_pkce(other_realm, "alice").access_token
    harness = make_harness()
    assert await refused(harness, foreign) == WRONG_ISSUER
    assert harness.transport.jwks_fetches == 0


async def test_forged_wrong_issuer_is_refused(
    make_harness: HarnessFactory, oidc_server: OidcServer
) -> None:
    claims = forged_claims(oidc_server, iss=oidc_server.issuer.replace("eltiketi", "master"))
    token = sign(rsa_key(), claims, kid=current_kid(oidc_server))
    assert await refused(make_harness(), token) == WRONG_ISSUER


async def test_wrong_audience_is_refused(make_harness: HarnessFactory, alice: TokenSet) -> None:
    harness = make_harness(audience="eltiketi-billing-api")
    assert await refused(harness, alice.access_token) == WRONG_AUDIENCE


async def test_azp_is_accepted_as_audience_only_when_configured(
    make_harness: HarnessFactory, oidc_server: OidcServer, alice: TokenSet
) -> None:
    web = oidc_server.web_client_id  # alice's token: aud eltiketi-api, azp eltiketi-web
    assert await refused(make_harness(audience=web), alice.access_token) == WRONG_AUDIENCE
    principal = await make_harness(audience=web, accept_azp=True).verifier.verify(
        alice.access_token
    )
    assert principal.username == "alice"


async def test_token_signed_by_another_key_is_refused(
    make_harness: HarnessFactory, oidc_server: OidcServer
) -> None:
    token = sign(rsa_key(), forged_claims(oidc_server), kid=current_kid(oidc_server))
    assert await refused(make_harness(), token) == BAD_SIGNATURE


async def test_real_token_with_tampered_roles_is_refused(
    make_harness: HarnessFactory, alice: TokenSet
) -> None:
    header, _payload, signature = alice.access_token.split(".")
    _, claims = decode_unverified(alice.access_token)
    claims["realm_access"] = {"roles": ["admin"]}
    tampered = f"{header}.{b64_json(claims)}.{signature}"
    assert await refused(make_harness(), tampered) == BAD_SIGNATURE


async def test_alg_none_is_refused(make_harness: HarnessFactory, oidc_server: OidcServer) -> None:
    token = unsigned(forged_claims(oidc_server), kid=current_kid(oidc_server))
    assert await refused(make_harness(), token) == UNSUPPORTED_ALGORITHM


async def test_hs256_signed_with_the_public_key_is_refused(
    make_harness: HarnessFactory, oidc_server: OidcServer
) -> None:
    published = oidc_server.jwks()["keys"][0]
    public_key = RSAKey.import_key(published)
    token = hs256_with_public_key(public_key, forged_claims(oidc_server), kid=published["kid"])
    assert await refused(make_harness(), token) == UNSUPPORTED_ALGORITHM


@pytest.mark.parametrize(
    "garbage", ["garbage", "Bearer abc", "a.b.c", "", "eyJhbGciOiJSUzI1NiJ9..", "{}.{}.{}"]
)
async def test_garbage_is_refused(make_harness: HarnessFactory, garbage: str) -> None:
    harness = make_harness()
    assert await refused(harness, garbage) == MALFORMED_TOKEN
    assert sum(harness.transport.requests.values()) == 0


async def test_id_token_is_not_an_access_token(
    make_harness: HarnessFactory, alice: TokenSet
) -> None:
    assert alice.id_token is not None
    assert await refused(make_harness(), alice.id_token) == WRONG_TOKEN_TYPE


async def test_unknown_kid_flood_stays_within_the_jwks_rate_limit(
    make_harness: HarnessFactory, oidc_server: OidcServer, alice: TokenSet
) -> None:
    harness = make_harness(jwks_min_refetch_interval_seconds=30)
    await harness.verifier.verify(alice.access_token)  # warm: one JWKS fetch
    assert harness.transport.jwks_fetches == 1
    forger = rsa_key()
    flood = [sign(forger, forged_claims(oidc_server), kid=f"forged-{n}") for n in range(50)]
    for token in flood[:25]:
        assert await refused(harness, token) == UNKNOWN_KEY
    assert harness.transport.jwks_fetches == 1  # the last fetch is < 30 s old: none at all

    harness.ticker.advance(30)  # one interval later, a concurrent flood: one fetch, shared
    results = await asyncio.gather(
        *(harness.verifier.verify(token) for token in flood[25:]), return_exceptions=True
    )
    assert [getattr(r, "code", r) for r in results] == [UNKNOWN_KEY] * 25
    assert harness.transport.jwks_fetches == 2
    assert await harness.verifier.verify(alice.access_token)  # real tokens unaffected
    assert harness.transport.jwks_fetches == 2


async def test_dev_issuer_tokens_are_refused(
    make_harness: HarnessFactory, oidc_server: OidcServer, tmp_path: Path
) -> None:
    harness = make_harness()
    dev_token = DevTokenIssuer(tmp_path / "dev").mint("olga", ["admin"])
    assert await refused(harness, dev_token) == WRONG_ISSUER
    # Even minted with the real issuer and audience, the dev key is not the realm's key.
    impostor = DevTokenIssuer(tmp_path / "dev", issuer=oidc_server.issuer, audience=API_AUDIENCE)
    assert await refused(harness, impostor.mint("olga", ["admin"])) == UNKNOWN_KEY


async def test_fresh_token_is_accepted_by_an_api_whose_clock_is_slow(
    make_harness: HarnessFactory, alice: TokenSet
) -> None:
    """An API host 20 s behind the issuer sees ``iat`` in its future: within the 30 s leeway."""
    _header, claims = decode_unverified(alice.access_token)
    harness = make_harness(leeway_seconds=30)
    harness.clock.current = datetime.fromtimestamp(claims["iat"] - 20, UTC)
    assert await harness.verifier.verify(alice.access_token)
