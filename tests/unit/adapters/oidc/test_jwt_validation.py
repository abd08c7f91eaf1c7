"""The shared JWT checks, with locally generated keys and a static key set."""

from __future__ import annotations

from typing import Any

import pytest

from eltiketi_adapters.oidc import JwtPolicy, JwtValidator, StaticKeys
from eltiketi_adapters.oidc import errors as refusal
from eltiketi_adapters.oidc.jwt_validation import MAX_TOKEN_LENGTH
from eltiketi_core.errors import Unauthenticated
from tests.unit.adapters.oidc.forge import (
    MovableClock,
    b64_json,
    claims_for,
    ec_key,
    ed_key,
    hs256_with_public_key,
    public_jwks,
    rsa_key,
    sign,
    unsigned,
    with_header,
)

ISSUER = "https://sso.example.test/realms/eltiketi"
AUDIENCE = "eltiketi-api"
RSA = rsa_key("rsa-1")
EC = ec_key("P-256", "ec-1")
EC384 = ec_key("P-384", "ec-384")
ED = ed_key("ed-1")


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


def validator(clock: MovableClock, **policy: Any) -> JwtValidator:
    settings: dict[str, Any] = {"issuer": ISSUER, "audience": AUDIENCE} | policy
    return JwtValidator(JwtPolicy(**settings), StaticKeys(public_jwks(RSA, EC, EC384, ED)), clock)


def good_claims(clock: MovableClock, **overrides: Any) -> dict[str, Any]:
    return claims_for(ISSUER, AUDIENCE, clock.now(), **overrides)


async def refused_code(check: JwtValidator, token: str) -> str:
    with pytest.raises(Unauthenticated) as caught:
        await check.validate(token)
    return caught.value.code


@pytest.mark.parametrize(
    ("key", "alg"),
    [
        (RSA, "RS256"),
        (RSA, "RS512"),
        (RSA, "PS256"),
        (EC, "ES256"),
        (EC384, "ES384"),
        (ED, "EdDSA"),
    ],
)
async def test_accepts_a_valid_token_for_each_default_algorithm(
    clock: MovableClock, key: Any, alg: str
) -> None:
    token = sign(key, good_claims(clock), alg=alg)
    claims = await validator(clock).validate(token)
    assert claims["sub"] == good_claims(clock)["sub"]
    assert claims["realm_access"] == {"roles": ["customer"]}


@pytest.mark.parametrize("typ", ["JWT", "jwt", "at+jwt", "application/at+jwt", "AT+JWT"])
async def test_accepts_access_token_types(clock: MovableClock, typ: str) -> None:
    assert await validator(clock).validate(sign(RSA, good_claims(clock), typ=typ))


@pytest.mark.parametrize("typ", [None, "JOSE", "id+jwt", "logout+jwt"])
async def test_refuses_missing_or_other_token_types(clock: MovableClock, typ: str | None) -> None:
    token = sign(RSA, good_claims(clock), typ=typ)
    assert await refused_code(validator(clock), token) == refusal.WRONG_TOKEN_TYPE


@pytest.mark.parametrize("payload_typ", ["ID", "Refresh", "Logout", 7])
async def test_refuses_keycloak_id_and_refresh_tokens(
    clock: MovableClock, payload_typ: Any
) -> None:
    token = sign(RSA, good_claims(clock, typ=payload_typ))
    assert await refused_code(validator(clock), token) == refusal.WRONG_TOKEN_TYPE


async def test_expired_token_is_refused_after_the_leeway_only(clock: MovableClock) -> None:
    token = sign(RSA, good_claims(clock))
    check = validator(clock, leeway_seconds=30)
    clock.advance(300 + 30)
    assert await check.validate(token)  # exactly at exp + leeway: still accepted
    clock.advance(1)
    assert await refused_code(check, token) == refusal.TOKEN_EXPIRED


async def test_not_yet_valid_token_is_refused_beyond_the_leeway(clock: MovableClock) -> None:
    not_before = int(clock.now().timestamp()) + 60
    token = sign(RSA, good_claims(clock, nbf=not_before))
    check = validator(clock, leeway_seconds=30)
    assert await refused_code(check, token) == refusal.TOKEN_NOT_YET_VALID
    clock.advance(30)
    assert await check.validate(token)


async def test_token_issued_in_the_future_is_refused(clock: MovableClock) -> None:
    issued = int(clock.now().timestamp()) + 120
    token = sign(RSA, good_claims(clock, iat=issued, exp=issued + 300))
    assert await refused_code(validator(clock), token) == refusal.TOKEN_NOT_YET_VALID


@pytest.mark.parametrize("claim", ["exp", "sub"])
async def test_missing_required_claim_is_refused(clock: MovableClock, claim: str) -> None:
    token = sign(RSA, good_claims(clock, **{claim: None}))
    assert await refused_code(validator(clock), token) == refusal.INVALID_TOKEN


@pytest.mark.parametrize("exp", ["tomorrow", True, [1]])
async def test_non_numeric_time_claim_is_malformed(clock: MovableClock, exp: Any) -> None:
    token = sign(RSA, good_claims(clock, exp=exp))
    assert await refused_code(validator(clock), token) == refusal.MALFORMED_TOKEN


@pytest.mark.parametrize(
    "issuer", [f"{ISSUER}/", "https://evil.test/realms/eltiketi", ISSUER.upper(), None]
)
async def test_wrong_issuer_is_refused(clock: MovableClock, issuer: str | None) -> None:
    token = sign(RSA, good_claims(clock, iss=issuer))
    assert await refused_code(validator(clock), token) == refusal.WRONG_ISSUER


async def test_wrong_issuer_is_refused_before_any_key_lookup(clock: MovableClock) -> None:
    token = sign(rsa_key("foreign"), good_claims(clock, iss="https://evil.test"))
    assert await refused_code(validator(clock), token) == refusal.WRONG_ISSUER


@pytest.mark.parametrize("audience", ["account", ["account", "other"], None, ""])
async def test_wrong_audience_is_refused(clock: MovableClock, audience: Any) -> None:
    token = sign(RSA, good_claims(clock, aud=audience))
    assert await refused_code(validator(clock), token) == refusal.WRONG_AUDIENCE


async def test_audience_in_a_list_is_accepted(clock: MovableClock) -> None:
    token = sign(RSA, good_claims(clock, aud=["account", AUDIENCE]))
    assert await validator(clock).validate(token)


async def test_azp_counts_as_audience_only_when_configured(clock: MovableClock) -> None:
    token = sign(RSA, good_claims(clock, aud="account", azp=AUDIENCE))
    assert await refused_code(validator(clock), token) == refusal.WRONG_AUDIENCE
    assert await validator(clock, accept_azp=True).validate(token)


async def test_alg_none_is_refused(clock: MovableClock) -> None:
    token = unsigned(good_claims(clock), kid=RSA.kid)
    assert await refused_code(validator(clock), token) == refusal.UNSUPPORTED_ALGORITHM


async def test_hs256_keyed_with_the_public_key_is_refused(clock: MovableClock) -> None:
    token = hs256_with_public_key(RSA, good_claims(clock), kid=RSA.kid)
    assert await refused_code(validator(clock), token) == refusal.UNSUPPORTED_ALGORITHM


async def test_algorithm_outside_a_narrowed_allow_list_is_refused(clock: MovableClock) -> None:
    token = sign(RSA, good_claims(clock), alg="RS512")
    assert (
        await refused_code(validator(clock, algorithms=("RS256",)), token)
        == refusal.UNSUPPORTED_ALGORITHM
    )


async def test_key_type_must_fit_the_algorithm(clock: MovableClock) -> None:
    # ES256 signature, but the header names the RSA key: never tried as an EC key.
    token = sign(EC, good_claims(clock), alg="ES256", kid=RSA.kid)
    assert await refused_code(validator(clock), token) == refusal.UNSUPPORTED_ALGORITHM


async def test_curve_must_fit_the_algorithm(clock: MovableClock) -> None:
    token = sign(EC384, good_claims(clock), alg="ES384", kid=EC.kid)
    assert await refused_code(validator(clock), token) == refusal.UNSUPPORTED_ALGORITHM


async def test_key_declared_for_another_alg_is_not_used(clock: MovableClock) -> None:
    pinned = rsa_key("pinned")
    jwks = {"keys": [pinned.as_dict(private=False) | {"alg": "RS512"}]}
    check = JwtValidator(JwtPolicy(issuer=ISSUER, audience=AUDIENCE), StaticKeys(jwks), clock)
    token = sign(pinned, good_claims(clock), alg="RS256")
    assert await refused_code(check, token) == refusal.UNSUPPORTED_ALGORITHM


async def test_token_signed_by_another_key_under_a_known_kid_is_refused(
    clock: MovableClock,
) -> None:
    token = sign(rsa_key(), good_claims(clock), kid=RSA.kid)
    assert await refused_code(validator(clock), token) == refusal.BAD_SIGNATURE


async def test_tampered_payload_is_refused(clock: MovableClock) -> None:
    header, _payload, signature = sign(RSA, good_claims(clock)).split(".")
    forged = b64_json(good_claims(clock, realm_access={"roles": ["admin"]}))
    assert (
        await refused_code(validator(clock), f"{header}.{forged}.{signature}")
        == refusal.BAD_SIGNATURE
    )


async def test_tampered_header_is_refused(clock: MovableClock) -> None:
    token = with_header(sign(RSA, good_claims(clock)), typ="at+jwt")
    assert await refused_code(validator(clock), token) == refusal.BAD_SIGNATURE


async def test_unknown_kid_is_refused(clock: MovableClock) -> None:
    token = sign(rsa_key("who-knows"), good_claims(clock))
    assert await refused_code(validator(clock), token) == refusal.UNKNOWN_KEY


async def test_token_without_kid_is_refused(clock: MovableClock) -> None:
    token = sign(RSA, good_claims(clock), kid=None)
    assert await refused_code(validator(clock), token) == refusal.UNKNOWN_KEY


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "garbage",
        "a.b",
        "a.b.c",
        "..",
        "a.b.c.d.e",
        f"{b64_json({'alg': 'RS256'})}.bm90IGpzb24.c2ln",
        f"{b64_json({'alg': 'RS256'})}.{b64_json({'sub': 'x'})}",
        "W10.W10.c2ln",  # JSON arrays, not objects
        "x" * (MAX_TOKEN_LENGTH + 1),
    ],
)
async def test_garbage_is_malformed(clock: MovableClock, garbage: str) -> None:
    assert await refused_code(validator(clock), garbage) == refusal.MALFORMED_TOKEN


async def test_undecodable_signature_is_refused(clock: MovableClock) -> None:
    header, payload, _signature = sign(RSA, good_claims(clock)).split(".")
    code = await refused_code(validator(clock), f"{header}.{payload}.!!!")
    assert code in {refusal.BAD_SIGNATURE, refusal.MALFORMED_TOKEN}


def test_policy_refuses_none_and_symmetric_algorithms() -> None:
    for algorithms in (("none",), ("HS256",), ("RS256", "HS512"), ()):
        with pytest.raises(ValueError):
            JwtPolicy(issuer=ISSUER, audience=AUDIENCE, algorithms=algorithms)


def test_static_keys_skip_encryption_symmetric_and_kidless_keys() -> None:
    jwks = {
        "keys": [
            RSA.as_dict(private=False) | {"use": "enc"},
            {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"},
            EC.as_dict(private=False) | {"kid": None},
            {"kty": "RSA", "kid": "broken", "n": "??", "e": "AQAB"},
            ED.as_dict(private=False),
        ]
    }
    keys = StaticKeys(jwks)
    assert set(keys._keys) == {ED.kid}


def test_private_members_published_by_mistake_are_dropped() -> None:
    keys = StaticKeys({"keys": [RSA.as_dict(private=True)]})
    assert not keys._keys[str(RSA.kid)].is_private
