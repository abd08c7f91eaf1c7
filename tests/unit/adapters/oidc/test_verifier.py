"""OidcTokenVerifier against an in-process issuer (httpx.MockTransport): caching and failure paths.

The same behaviours against the real OIDC server are in ``tests/integration/keycloak``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from eltiketi_adapters.devauth import DevTokenIssuer
from eltiketi_adapters.oidc import (
    BAD_SIGNATURE,
    ISSUER_UNAVAILABLE,
    MALFORMED_TOKEN,
    TOKEN_EXPIRED,
    TOKEN_INACTIVE,
    UNKNOWN_KEY,
    WRONG_AUDIENCE,
    WRONG_ISSUER,
    IntrospectionMode,
    OidcConfig,
    OidcTokenVerifier,
)
from eltiketi_core.errors import GatewayUnavailable, Unauthenticated
from tests.unit.adapters.oidc.forge import MovableClock, Ticker, claims_for, rsa_key, sign
from tests.unit.adapters.oidc.local_issuer import (
    CLIENT_ID,
    CLIENT_SECRET,
    ISSUER,
    LocalIssuer,
)

AUDIENCE = "eltiketi-api"
KEY = rsa_key("current")

VerifierFactory = Callable[..., OidcTokenVerifier]


@pytest.fixture
def issuer() -> LocalIssuer:
    return LocalIssuer(KEY)


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def ticker() -> Ticker:
    return Ticker()


@pytest.fixture
async def make_verifier(
    issuer: LocalIssuer, clock: MovableClock, ticker: Ticker
) -> AsyncIterator[VerifierFactory]:
    made: list[OidcTokenVerifier] = []

    def make(**settings: Any) -> OidcTokenVerifier:
        config = OidcConfig(**({"issuer": ISSUER, "audience": AUDIENCE} | settings))
        verifier = OidcTokenVerifier(
            config, clock=clock, transport=issuer.transport, monotonic=ticker
        )
        made.append(verifier)
        return verifier

    yield make
    for verifier in made:
        await verifier.aclose()


def introspecting(
    mode: IntrospectionMode = IntrospectionMode.OPAQUE_ONLY, **more: Any
) -> dict[str, Any]:
    return {"introspection": mode, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET} | more


FORGER = rsa_key("forger")


def forged_kid_token(clock: MovableClock, n: int) -> str:
    return sign(FORGER, claims_for(ISSUER, AUDIENCE, clock.now()), kid=f"forged-{n}")


def token(clock: MovableClock, key: Any = KEY, **overrides: Any) -> str:
    return sign(key, claims_for(ISSUER, AUDIENCE, clock.now(), **overrides))


async def refused(verifier: OidcTokenVerifier, bearer: str) -> str:
    with pytest.raises(Unauthenticated) as caught:
        await verifier.verify(bearer)
    return caught.value.code


async def test_valid_token_gives_the_principal_and_caches_discovery_and_keys(
    make_verifier: VerifierFactory, issuer: LocalIssuer, clock: MovableClock
) -> None:
    verifier = make_verifier()
    bearer = token(
        clock,
        phone_number="+4915100000009",
        realm_access={"roles": ["organizer", "offline_access", "default-roles-eltiketi"]},
    )
    for _ in range(3):
        principal = await verifier.verify(bearer)
    assert principal.subject == claims_for(ISSUER, AUDIENCE)["sub"]
    assert principal.username == "mallory"
    assert principal.email == "mallory@example.test"
    assert principal.phone == "+4915100000009"
    assert principal.roles == frozenset({"organizer"})
    assert issuer.count("openid-configuration") == 1
    assert issuer.count("certs") == 1


async def test_flood_of_forged_kids_costs_at_most_one_jwks_fetch(
    make_verifier: VerifierFactory, issuer: LocalIssuer, clock: MovableClock
) -> None:
    verifier = make_verifier()
    await verifier.verify(token(clock))
    assert issuer.count("certs") == 1
    forged = [forged_kid_token(clock, n) for n in range(50)]
    for bearer in forged[:25]:
        assert await refused(verifier, bearer) == UNKNOWN_KEY
    results = await asyncio.gather(
        *(verifier.verify(b) for b in forged[25:]), return_exceptions=True
    )
    assert all(isinstance(r, Unauthenticated) and r.code == UNKNOWN_KEY for r in results)
    assert issuer.count("certs") == 1  # the first fetch is less than 30 s old: no refetch at all


async def test_concurrent_misses_share_one_fetch(
    make_verifier: VerifierFactory, issuer: LocalIssuer, clock: MovableClock, ticker: Ticker
) -> None:
    verifier = make_verifier()
    await verifier.verify(token(clock))
    ticker.advance(31)
    forged = [forged_kid_token(clock, n) for n in range(50)]
    results = await asyncio.gather(*(verifier.verify(b) for b in forged), return_exceptions=True)
    assert all(isinstance(r, Unauthenticated) and r.code == UNKNOWN_KEY for r in results)
    assert issuer.count("certs") == 2
    assert verifier.jwks_fetch_attempts == 2


async def test_rotated_key_is_picked_up_once_the_refetch_interval_allows(
    make_verifier: VerifierFactory, issuer: LocalIssuer, clock: MovableClock, ticker: Ticker
) -> None:
    verifier = make_verifier(jwks_min_refetch_interval_seconds=10)
    await verifier.verify(token(clock))
    rotated = rsa_key("rotated")
    issuer.keys.insert(0, rotated)
    new_token = token(clock, rotated)
    assert await refused(verifier, new_token) == UNKNOWN_KEY  # fetched < 10 s ago
    ticker.advance(10)
    assert (await verifier.verify(new_token)).subject
    assert (await verifier.verify(token(clock))).subject  # the old key is still published
    assert issuer.count("certs") == 2


async def test_stale_keys_are_refreshed_and_withdrawn_keys_stop_working(
    make_verifier: VerifierFactory, issuer: LocalIssuer, clock: MovableClock, ticker: Ticker
) -> None:
    verifier = make_verifier(jwks_max_age_seconds=300)
    old = token(clock)
    await verifier.verify(old)
    issuer.keys = [rsa_key("replacement")]
    ticker.advance(299)
    assert await verifier.verify(old)
    ticker.advance(1)
    assert await refused(verifier, old) == UNKNOWN_KEY
    assert issuer.count("certs") == 2


async def test_cached_keys_keep_working_while_the_issuer_is_down(
    make_verifier: VerifierFactory, issuer: LocalIssuer, clock: MovableClock, ticker: Ticker
) -> None:
    verifier = make_verifier()
    bearer = token(clock)
    await verifier.verify(bearer)
    issuer.down = True
    ticker.advance(3600)  # keys are stale: a refresh is tried, fails, the cached key serves
    assert await verifier.verify(bearer)
    assert issuer.count("certs") == 2


async def test_issuer_down_is_503_not_401_and_is_not_hammered(
    make_verifier: VerifierFactory, issuer: LocalIssuer, clock: MovableClock, ticker: Ticker
) -> None:
    verifier = make_verifier()
    issuer.down = True
    bearer = token(clock)
    with pytest.raises(GatewayUnavailable) as caught:
        await verifier.verify(bearer)
    assert caught.value.code == ISSUER_UNAVAILABLE
    for _ in range(10):
        with pytest.raises(GatewayUnavailable):
            await verifier.verify(bearer)
    assert issuer.count("openid-configuration") == 1
    issuer.down = False
    ticker.advance(5)
    assert await verifier.verify(bearer)


@pytest.mark.parametrize("status", [500, 502, 404])
async def test_issuer_errors_are_503(
    make_verifier: VerifierFactory, issuer: LocalIssuer, clock: MovableClock, status: int
) -> None:
    issuer.status = status
    with pytest.raises(GatewayUnavailable):
        await make_verifier().verify(token(clock))


async def test_discovery_for_another_issuer_is_refused_as_misconfiguration(
    make_verifier: VerifierFactory, issuer: LocalIssuer, clock: MovableClock
) -> None:
    issuer.discovery_issuer = "https://attacker.test/realms/eltiketi"
    with pytest.raises(GatewayUnavailable) as caught:
        await make_verifier().verify(token(clock))
    assert "attacker.test" in caught.value.detail
    assert issuer.count("certs") == 0


async def test_prefetch_loads_discovery_and_keys(
    make_verifier: VerifierFactory, issuer: LocalIssuer
) -> None:
    await make_verifier().prefetch()
    assert (issuer.count("openid-configuration"), issuer.count("certs")) == (1, 1)


async def test_token_for_another_issuer_never_reaches_the_network(
    make_verifier: VerifierFactory, issuer: LocalIssuer, clock: MovableClock
) -> None:
    verifier = make_verifier()
    assert await refused(verifier, token(clock, iss="https://other.test/realms/x")) == WRONG_ISSUER
    assert sum(issuer.requests.values()) == 0


async def test_dev_tokens_are_refused_by_the_oidc_verifier(
    make_verifier: VerifierFactory, issuer: LocalIssuer, tmp_path: Path
) -> None:
    dev_token = DevTokenIssuer(tmp_path).mint("olga", ["organizer", "admin"])
    assert await refused(make_verifier(), dev_token) == WRONG_ISSUER
    assert issuer.count("certs") == 0


async def test_opaque_tokens_are_refused_when_introspection_is_off(
    make_verifier: VerifierFactory, issuer: LocalIssuer, clock: MovableClock
) -> None:
    issuer.active["opaque-1"] = claims_for(ISSUER, AUDIENCE, clock.now())
    assert await refused(make_verifier(), "opaque-1") == MALFORMED_TOKEN
    assert sum(issuer.requests.values()) == 0


async def test_opaque_token_is_introspected_with_rfc6749_basic_auth(
    make_verifier: VerifierFactory, issuer: LocalIssuer, clock: MovableClock
) -> None:
    issuer.active["opaque-1"] = claims_for(
        ISSUER, AUDIENCE, clock.now(), realm_access={"roles": ["staff"]}
    )
    principal = await make_verifier(**introspecting()).verify("opaque-1")
    assert principal.roles == frozenset({"staff"})
    assert issuer.introspection_credentials == [(CLIENT_ID, CLIENT_SECRET)]


async def test_inactive_opaque_token_is_refused(
    make_verifier: VerifierFactory, clock: MovableClock
) -> None:
    assert await refused(make_verifier(**introspecting()), "never-issued") == TOKEN_INACTIVE


async def test_revoked_token_works_until_the_cache_ttl_then_is_refused(
    make_verifier: VerifierFactory, issuer: LocalIssuer, clock: MovableClock
) -> None:
    verifier = make_verifier(**introspecting(introspection_cache_ttl_seconds=30))
    issuer.active["opaque-1"] = claims_for(ISSUER, AUDIENCE, clock.now())
    await verifier.verify("opaque-1")
    del issuer.active["opaque-1"]  # revoked at the issuer
    clock.advance(29)
    assert await verifier.verify("opaque-1")  # cached positive answer: documented delay
    assert verifier.introspection_calls == 1
    clock.advance(1)
    assert await refused(verifier, "opaque-1") == TOKEN_INACTIVE
    assert verifier.introspection_calls == 2


async def test_cache_ttl_zero_asks_every_time(
    make_verifier: VerifierFactory, issuer: LocalIssuer, clock: MovableClock
) -> None:
    verifier = make_verifier(**introspecting(introspection_cache_ttl_seconds=0))
    issuer.active["opaque-1"] = claims_for(ISSUER, AUDIENCE, clock.now())
    await verifier.verify("opaque-1")
    await verifier.verify("opaque-1")
    assert verifier.introspection_calls == 2


async def test_cached_answer_never_outlives_the_token(
    make_verifier: VerifierFactory, issuer: LocalIssuer, clock: MovableClock
) -> None:
    verifier = make_verifier(**introspecting(introspection_cache_ttl_seconds=30, leeway_seconds=0))
    expires = int(clock.now().timestamp()) + 5
    issuer.active["opaque-1"] = claims_for(ISSUER, AUDIENCE, clock.now(), exp=expires)
    await verifier.verify("opaque-1")
    clock.advance(6)
    assert await refused(verifier, "opaque-1") == TOKEN_EXPIRED  # asked again, not served stale
    assert verifier.introspection_calls == 2


@pytest.mark.parametrize(
    ("overrides", "code"),
    [({"aud": "other-api", "azp": "x"}, WRONG_AUDIENCE), ({"iss": "https://x.test"}, WRONG_ISSUER)],
)
async def test_active_answer_for_another_audience_or_issuer_is_refused(
    make_verifier: VerifierFactory,
    issuer: LocalIssuer,
    clock: MovableClock,
    overrides: dict[str, str],
    code: str,
) -> None:
    issuer.active["opaque-1"] = claims_for(ISSUER, AUDIENCE, clock.now(), **overrides)
    assert await refused(make_verifier(**introspecting()), "opaque-1") == code


async def test_opaque_garbage_is_refused_without_asking(
    make_verifier: VerifierFactory, issuer: LocalIssuer
) -> None:
    verifier = make_verifier(**introspecting())
    for garbage in ("", "has space", "semi;colon", "x" * 70_000):
        assert await refused(verifier, garbage) == MALFORMED_TOKEN
    assert sum(issuer.requests.values()) == 0


async def test_rejected_client_credentials_are_503(
    issuer: LocalIssuer, clock: MovableClock
) -> None:
    config = OidcConfig(issuer=ISSUER, audience=AUDIENCE, **introspecting(client_secret="wrong"))
    async with OidcTokenVerifier(config, clock=clock, transport=issuer.transport) as verifier:
        with pytest.raises(GatewayUnavailable):
            await verifier.verify("opaque-1")


async def test_always_mode_checks_jwts_locally_then_at_the_issuer(
    make_verifier: VerifierFactory, issuer: LocalIssuer, clock: MovableClock
) -> None:
    verifier = make_verifier(**introspecting(IntrospectionMode.ALWAYS))
    bearer = token(clock)
    assert await refused(verifier, bearer) == TOKEN_INACTIVE  # valid JWT, revoked at the issuer
    issuer.active[bearer] = claims_for(ISSUER, AUDIENCE, clock.now())
    assert await verifier.verify(bearer)
    calls = verifier.introspection_calls
    assert await refused(verifier, token(clock, rsa_key("forged"))) == UNKNOWN_KEY
    assert verifier.introspection_calls == calls  # forged JWTs never reach introspection


async def test_opaque_only_mode_does_not_introspect_jwts(
    make_verifier: VerifierFactory, clock: MovableClock
) -> None:
    verifier = make_verifier(**introspecting())
    assert await verifier.verify(token(clock))
    assert verifier.introspection_calls == 0


async def test_async_with_closes_the_http_client(issuer: LocalIssuer) -> None:
    async with OidcTokenVerifier(
        OidcConfig(issuer=ISSUER, audience=AUDIENCE), transport=issuer.transport
    ) as verifier:
        await verifier.prefetch()
    assert verifier._client.is_closed


# -- remembered tokens (token_cache) -----------------------------------------------------------


@pytest.fixture
def signature_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every signature the validator checks, by token (the cost the cache saves)."""
    from eltiketi_adapters.oidc import jwt_validation

    checked: list[str] = []
    real = jwt_validation.verify_signature

    def counting(bearer: str, *args: Any) -> Any:
        checked.append(bearer)
        return real(bearer, *args)

    monkeypatch.setattr(jwt_validation, "verify_signature", counting)
    return checked


async def test_a_verified_token_is_answered_from_memory(
    make_verifier: VerifierFactory, clock: MovableClock, signature_checks: list[str]
) -> None:
    verifier = make_verifier()
    bearer, other = token(clock), token(clock)
    first = await verifier.verify(bearer)
    assert await verifier.verify(bearer) is first
    assert await verifier.verify(bearer) is first
    assert signature_checks == [bearer]
    await verifier.verify(other)
    assert signature_checks == [bearer, other]


async def test_a_remembered_token_is_checked_again_at_its_exp_and_then_refused(
    make_verifier: VerifierFactory, clock: MovableClock, signature_checks: list[str]
) -> None:
    verifier = make_verifier()
    bearer = token(clock)  # exp: now + 300 s
    await verifier.verify(bearer)
    clock.advance(299)
    await verifier.verify(bearer)
    assert len(signature_checks) == 1
    clock.advance(1)  # at exp: no longer remembered; the full check grants the 30 s leeway
    await verifier.verify(bearer)
    assert len(signature_checks) == 2
    clock.advance(31)
    assert await refused(verifier, bearer) == TOKEN_EXPIRED


async def test_tokens_sharing_all_but_the_signature_are_not_confused(
    make_verifier: VerifierFactory, clock: MovableClock
) -> None:
    verifier = make_verifier()
    claims = claims_for(ISSUER, AUDIENCE, clock.now())
    genuine = sign(KEY, claims)
    impostor = sign(rsa_key(str(KEY.kid)), claims)  # same header and claims, another key
    assert genuine.rsplit(".", 1)[0] == impostor.rsplit(".", 1)[0]
    assert await verifier.verify(genuine)
    assert await refused(verifier, impostor) == BAD_SIGNATURE
    assert await refused(verifier, genuine[:-4] + "AAAA") == BAD_SIGNATURE
    assert await verifier.verify(genuine)


async def test_a_remembered_token_goes_with_a_key_replaced_under_its_kid(
    make_verifier: VerifierFactory, issuer: LocalIssuer, clock: MovableClock, ticker: Ticker
) -> None:
    verifier = make_verifier(jwks_max_age_seconds=300)
    bearer = token(clock)
    await verifier.verify(bearer)
    issuer.keys = [rsa_key(str(KEY.kid))]  # the issuer replaced the key, same kid
    ticker.advance(300)
    assert await refused(verifier, bearer) == BAD_SIGNATURE


async def test_always_mode_still_asks_the_issuer_about_a_remembered_token(
    make_verifier: VerifierFactory,
    issuer: LocalIssuer,
    clock: MovableClock,
    signature_checks: list[str],
) -> None:
    verifier = make_verifier(
        **introspecting(IntrospectionMode.ALWAYS, introspection_cache_ttl_seconds=30)
    )
    bearer = token(clock)
    issuer.active[bearer] = claims_for(ISSUER, AUDIENCE, clock.now())
    await verifier.verify(bearer)
    del issuer.active[bearer]  # revoked in Keycloak (logout, session killed)
    clock.advance(29)
    assert await verifier.verify(bearer)  # the introspection answer is 29 s old: still used
    clock.advance(1)
    assert await refused(verifier, bearer) == TOKEN_INACTIVE
    assert await refused(verifier, bearer) == TOKEN_INACTIVE
    assert signature_checks == [bearer, bearer]  # remembered until revoked, then checked again
    assert verifier.introspection_calls == 3
