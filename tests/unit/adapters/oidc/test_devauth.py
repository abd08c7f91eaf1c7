"""The embedded dev issuer: key file, Keycloak-shaped tokens, the shared JWT checks."""

from __future__ import annotations

import json
import stat
from datetime import timedelta
from pathlib import Path

import pytest

from eltiketi_adapters.devauth import (
    DEV_AUDIENCE,
    DEV_CLIENT_ID,
    DEV_ISSUER,
    KEY_FILE_NAME,
    DevTokenIssuer,
    DevTokenVerifier,
)
from eltiketi_adapters.oidc import (
    BAD_SIGNATURE,
    TOKEN_EXPIRED,
    UNKNOWN_KEY,
    UNSUPPORTED_ALGORITHM,
    WRONG_ISSUER,
)
from eltiketi_core.domain.identity import Role
from eltiketi_core.errors import Unauthenticated
from tests.infra.oidc import decode_unverified
from tests.unit.adapters.oidc.forge import (
    MovableClock,
    b64_json,
    claims_for,
    ec_key,
    hs256_with_public_key,
    rsa_key,
    sign,
    unsigned,
)


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def issuer(tmp_path: Path, clock: MovableClock) -> DevTokenIssuer:
    return DevTokenIssuer(tmp_path / "data", clock=clock)


async def refused(verifier: DevTokenVerifier, token: str) -> str:
    with pytest.raises(Unauthenticated) as caught:
        await verifier.verify(token)
    return caught.value.code


def test_key_file_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    first = DevTokenIssuer(tmp_path / "data")
    key_file = tmp_path / "data" / KEY_FILE_NAME
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    content = key_file.read_text()
    second = DevTokenIssuer(tmp_path / "data")
    assert second.kid == first.kid
    assert key_file.read_text() == content
    assert json.loads(content)["d"]  # the private key lives only in this file
    assert "d" not in first.jwks()["keys"][0]


def test_a_key_file_readable_by_others_is_tightened(tmp_path: Path) -> None:
    DevTokenIssuer(tmp_path)
    (tmp_path / KEY_FILE_NAME).chmod(0o644)
    DevTokenIssuer(tmp_path)
    assert stat.S_IMODE((tmp_path / KEY_FILE_NAME).stat().st_mode) == 0o600


@pytest.mark.parametrize(
    "content", ["not json", json.dumps({"kty": "EC"}), json.dumps(ec_key().as_dict(private=False))]
)
def test_a_broken_key_file_is_an_error_never_silently_replaced(
    tmp_path: Path, content: str
) -> None:
    key_file = tmp_path / KEY_FILE_NAME
    key_file.write_text(content)
    key_file.chmod(0o600)
    with pytest.raises(ValueError, match=KEY_FILE_NAME):
        DevTokenIssuer(tmp_path)
    assert key_file.read_text() == content


async def test_minted_token_is_keycloak_shaped_and_verifies(issuer: DevTokenIssuer) -> None:
    token = issuer.mint(
        "olga", [Role.ORGANIZER, "staff"], email="olga@example.test", phone="+4915100000003"
    )
    header, claims = decode_unverified(token)
    assert header == {"alg": "ES256", "typ": "JWT", "kid": issuer.kid}
    assert claims["iss"] == DEV_ISSUER
    assert claims["aud"] == DEV_AUDIENCE
    assert claims["azp"] == DEV_CLIENT_ID
    assert claims["typ"] == "Bearer"
    assert claims["realm_access"] == {"roles": ["organizer", "staff"]}
    assert claims["exp"] - claims["iat"] == 12 * 3600
    principal = await issuer.verifier().verify(token)
    assert principal.subject == "olga"
    assert principal.username == "olga"
    assert principal.email == "olga@example.test"
    assert principal.phone == "+4915100000003"
    assert principal.roles == frozenset({"organizer", "staff"})


async def test_tokens_expire_after_their_ttl(issuer: DevTokenIssuer, clock: MovableClock) -> None:
    token = issuer.mint("alice", ttl=timedelta(minutes=5))
    verifier = issuer.verifier(leeway_seconds=0)
    assert await verifier.verify(token)
    clock.advance(301)
    assert await refused(verifier, token) == TOKEN_EXPIRED


async def test_verifier_needs_only_the_public_key_set(
    issuer: DevTokenIssuer, clock: MovableClock
) -> None:
    verifier = DevTokenVerifier(issuer.jwks(), clock=clock)
    assert (await verifier.verify(issuer.mint("alice"))).subject == "alice"


async def test_token_of_another_installation_is_refused(
    issuer: DevTokenIssuer, tmp_path: Path
) -> None:
    other = DevTokenIssuer(tmp_path / "other")
    assert await refused(issuer.verifier(), other.mint("alice", ["admin"])) == UNKNOWN_KEY


async def test_forged_dev_tokens_are_refused(issuer: DevTokenIssuer, clock: MovableClock) -> None:
    verifier = issuer.verifier()
    claims = claims_for(DEV_ISSUER, DEV_AUDIENCE, clock.now(), realm_access={"roles": ["admin"]})
    assert (
        await refused(verifier, sign(ec_key(), claims, alg="ES256", kid=issuer.kid))
        == BAD_SIGNATURE
    )
    assert await refused(verifier, unsigned(claims, kid=issuer.kid)) == UNSUPPORTED_ALGORITHM
    header, _payload, signature = issuer.mint("alice").split(".")
    assert await refused(verifier, f"{header}.{b64_json(claims)}.{signature}") == BAD_SIGNATURE


async def test_hs256_keyed_with_an_rsa_public_key_is_refused(issuer: DevTokenIssuer) -> None:
    claims = claims_for(DEV_ISSUER, DEV_AUDIENCE)
    token = hs256_with_public_key(rsa_key(), claims, kid=issuer.kid)
    assert await refused(issuer.verifier(), token) == UNSUPPORTED_ALGORITHM


async def test_oidc_shaped_token_is_refused_by_the_dev_verifier(
    issuer: DevTokenIssuer, clock: MovableClock
) -> None:
    key = ec_key(kid=issuer.kid)
    claims = claims_for("https://sso.example.test/realms/eltiketi", DEV_AUDIENCE, clock.now())
    assert await refused(issuer.verifier(), sign(key, claims, alg="ES256")) == WRONG_ISSUER


@pytest.mark.parametrize(
    ("sub", "roles", "ttl"),
    [
        ("", (), timedelta(hours=1)),
        ("alice", ("organiser",), timedelta(hours=1)),
        ("alice", (), timedelta(0)),
    ],
)
def test_mint_refuses_nonsense(
    issuer: DevTokenIssuer, sub: str, roles: tuple[str, ...], ttl: timedelta
) -> None:
    with pytest.raises(ValueError):
        issuer.mint(sub, roles, ttl=ttl)


async def test_a_dev_tokens_email_is_verified_unless_minted_otherwise(
    issuer: DevTokenIssuer,
) -> None:
    verifier = issuer.verifier()
    verified = await verifier.verify(issuer.mint("dora", email="dora@example.org"))
    unverified = await verifier.verify(
        issuer.mint("dora", email="dora@example.org", email_verified=False)
    )
    no_mail = issuer.mint("dora")

    assert (verified.email, verified.email_verified) == ("dora@example.org", True)
    assert unverified.email_verified is False
    assert "email_verified" not in decode_unverified(no_mail)[1]
    assert (await verifier.verify(no_mail)).email_verified is False
