"""The bearer guard of an app configured for OIDC: what it refuses, and how it says so.

Every refusal is a 401 problem with a stable ``code`` and ``WWW-Authenticate: Bearer
error="invalid_token"`` (RFC 6750), decided before the body is read, and it changes nothing.
The forged tokens carry the real issuer, audience and current ``kid`` and differ in one
property only (signature, algorithm, lifetime, issuer key).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from eltiketi_adapters.devauth import DevTokenIssuer
from tests.infra.oidc import API_AUDIENCE, OidcServer, decode_unverified
from tests.integration.app_keycloak.conftest import (
    Headers,
    OidcApi,
    assert_bearer_challenge,
    bearer,
)
from tests.unit.adapters.oidc.forge import b64_json, claims_for, rsa_key, sign, unsigned

pytestmark = pytest.mark.oidc

Logins = Callable[[str], Headers]


def current_kid(server: OidcServer) -> str:
    kid: str = server.jwks()["keys"][0]["kid"]
    return kid


async def organizer_events(api: OidcApi, organizer: Headers) -> list[str]:
    mine = await api.client.get("/v1/events", params={"mine": "true"}, headers=organizer)
    assert mine.status_code == 200, mine.text
    return [e["id"] for e in mine.json()["items"]]


async def test_no_token_is_401_before_the_body_is_read(api: OidcApi) -> None:
    missing = await api.client.post("/v1/bookings", content=b"{not json")
    body = assert_bearer_challenge(missing)
    assert body["code"] == "missing_token"

    other_scheme = await api.client.get("/v1/orders", headers={"Authorization": "Basic YTpi"})
    assert_bearer_challenge(other_scheme)


@pytest.mark.parametrize(
    "garbage",
    [
        b"garbage",
        b"a.b.c",
        b"eyJhbGciOiJSUzI1NiJ9.e30.",
        b"x" * 5000,
        "\u00e4-latin1".encode("latin-1"),
    ],
    ids=["word", "three-dots", "header-only", "huge", "non-ascii"],
)
async def test_garbage_is_401(api: OidcApi, garbage: bytes) -> None:
    refused = await api.client.get("/v1/orders", headers={b"Authorization": b"Bearer " + garbage})
    assert_bearer_challenge(refused)


async def test_an_expired_looking_token_is_401(api: OidcApi, oidc_server: OidcServer) -> None:
    """exp an hour ago, otherwise shaped like the provider's own tokens (real kid and iss)."""
    an_hour_ago = int(time.time()) - 3600
    expired = sign(
        rsa_key(),
        claims_for(oidc_server.issuer, API_AUDIENCE, iat=an_hour_ago - 300, exp=an_hour_ago),
        kid=current_kid(oidc_server),
        typ="at+jwt",
    )
    refused = await api.client.get("/v1/orders", headers=bearer(expired))
    body = assert_bearer_challenge(refused)
    assert body["code"] in {"token_expired", "bad_signature"}
    assert body["code"] in refused.headers["www-authenticate"]


async def test_forged_tokens_with_the_real_kid_are_401_and_change_nothing(
    api: OidcApi, oidc_server: OidcServer, logins: Logins
) -> None:
    kid = current_kid(oidc_server)
    organizer_claims = claims_for(
        oidc_server.issuer, API_AUDIENCE, realm_access={"roles": ["organizer"]}
    )
    # a real customer token whose payload claims the organizer role (signature left as is)
    header, payload, signature = logins("alice")["Authorization"][7:].split(".")
    _h, claims = decode_unverified(logins("alice")["Authorization"][7:])
    escalated = (
        f"{header}.{b64_json(claims | {'realm_access': {'roles': ['organizer']}})}.{signature}"
    )
    forged = {
        "another key": sign(rsa_key(), organizer_claims, kid=kid, typ="at+jwt"),
        "alg none": unsigned(organizer_claims, kid=kid, typ="at+jwt"),
        "escalated payload": escalated,
    }
    for name, token in forged.items():
        refused = await api.create_event(bearer(token))
        body = assert_bearer_challenge(refused)
        assert body["code"] in {"bad_signature", "unsupported_algorithm"}, (name, body)

    listed = await api.client.get("/v1/events")
    assert listed.json()["items"] == []
    assert await organizer_events(api, logins("olga")) == []


async def test_a_dev_token_is_refused_once_an_oidc_issuer_is_set(
    api: OidcApi, logins: Logins
) -> None:
    issuer = DevTokenIssuer(api.settings.data_dir)  # the very key an embedded app would trust
    dev_token = issuer.mint("olga", ["organizer"], email="olga@example.com")
    refused = await api.create_event(bearer(dev_token))
    assert_bearer_challenge(refused)

    # the same key claiming to be the configured issuer does not pass either
    impostor = DevTokenIssuer(
        api.settings.data_dir, issuer=api.settings.oidc_issuer or "", audience=API_AUDIENCE
    ).mint("olga", ["organizer"])
    assert_bearer_challenge(await api.create_event(bearer(impostor)))

    # and the dev issuer's minting route does not exist
    assert (await api.client.post("/dev/token", json={"sub": "olga"})).status_code == 404
    assert await organizer_events(api, logins("olga")) == []
