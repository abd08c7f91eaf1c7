"""Opaque tokens under introspection, revocation, and signing-key rotation, through the app.

The app exposes neither the introspection cache TTL nor the JWKS refetch interval as settings,
so it runs with the adapter's documented defaults (docs/keycloak.md): a positive introspection
answer is reused for up to 30 s, and an unknown ``kid`` triggers at most one JWKS fetch per
30 s. The slow test below waits out those 30 s on a running app instead of restarting it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import httpx
import pytest

from tests.infra.oidc import (
    OidcServer,
    decode_unverified,
    login_with_pkce,
    opaque_token,
    revoke,
    start_oidc_server,
)
from tests.infra.requirement import ComponentUnavailable, require
from tests.integration.app_keycloak.conftest import (
    AppFactory,
    Headers,
    OidcApi,
    assert_bearer_challenge,
    bearer,
    problem,
)

pytestmark = pytest.mark.oidc

Logins = Callable[[str], Headers]

DOCUMENTED_CACHE_SECONDS = 30.0
"""OidcConfig defaults the app keeps: introspection cache TTL and JWKS refetch interval."""
MARGIN_SECONDS = 10.0


def introspecting(server: OidcServer) -> dict[str, str]:
    """``ELTIKETI_OIDC_INTROSPECTION=opaque-only`` and the confidential client that may ask."""
    return {
        "oidc_introspection": "opaque-only",
        "oidc_client_id": server.api_client_id,
        "oidc_client_secret": server.api_client_secret,
    }


@pytest.fixture
async def introspecting_api(
    start_app: AppFactory, oidc_server: OidcServer
) -> AsyncIterator[OidcApi]:
    async with start_app(**introspecting(oidc_server)) as running:
        yield running


@pytest.fixture
def private_oidc_server() -> Iterator[OidcServer]:
    """An issuer of this test's own: rotating the session's would move keys under other tests."""
    try:
        with start_oidc_server() as server:
            yield server
    except ComponentUnavailable as exc:
        require(exc.component, exc.reason)


async def test_an_opaque_token_is_refused_when_introspection_is_off(
    api: OidcApi, oidc_server: OidcServer
) -> None:
    token = opaque_token(oidc_server, "alice")
    body = assert_bearer_challenge(await api.client.get("/v1/orders", headers=bearer(token)))
    assert body["code"] == "malformed_token"


async def test_an_opaque_token_is_accepted_then_refused_once_revoked(
    introspecting_api: OidcApi, start_app: AppFactory, oidc_server: OidcServer, logins: Logins
) -> None:
    api = introspecting_api
    alice = opaque_token(oidc_server, "alice")
    assert alice.count(".") != 2  # really opaque: only introspection can say who this is
    event_id, standing = await api.sale(logins("olga"))  # a JWT still validates locally

    held = await api.hold(bearer(alice), event_id, standing)
    assert held.status_code == 201, held.text
    assert held.json()["contact"]["email"] == "alice@eltiketi.test"  # claims via introspection
    # roles come through introspection too: a customer's opaque token cannot create events
    problem(await api.create_event(bearer(alice)), 403)

    revoke(oidc_server, alice)

    # The running app may reuse its positive answer for up to 30 s (documented); an app
    # with an empty cache asks the issuer and is told the token is no longer active.
    async with start_app(**introspecting(oidc_server)) as fresh:
        refused = await fresh.client.get("/v1/orders", headers=bearer(alice))
        assert assert_bearer_challenge(refused)["code"] == "token_inactive"


def refused_with(code: str) -> Callable[[httpx.Response], bool]:
    def check(response: httpx.Response) -> bool:
        return response.status_code == 401 and response.json().get("code") == code

    return check


async def eventually(
    request: Callable[[], Awaitable[httpx.Response]],
    done: Callable[[httpx.Response], bool],
    *,
    pending: Callable[[httpx.Response], bool],
    deadline: float,
    what: str,
) -> httpx.Response:
    """Repeat ``request`` until ``done``; every answer before that must be ``pending``."""
    while True:
        response = await request()
        if done(response):
            return response
        assert pending(response), (what, response.status_code, response.text)
        assert time.monotonic() < deadline, f"{what}: unchanged after the documented delay"
        await asyncio.sleep(0.5)


@pytest.mark.slow
async def test_a_running_app_follows_key_rotation_and_revocation(
    start_app: AppFactory, private_oidc_server: OidcServer
) -> None:
    """No restart: within the documented 30 s, new keys validate and revoked tokens stop."""
    server = private_oidc_server
    async with start_app(server, **introspecting(server)) as api:
        olga_before = bearer(login_with_pkce(server, "olga").access_token)
        alice = bearer(opaque_token(server, "alice"))
        event_id, standing = await api.sale(olga_before)  # the app fetches the JWKS now
        assert (await api.hold(alice, event_id, standing)).status_code == 201

        new_kid = server.rotate()
        revoke(server, alice["Authorization"][7:])
        changed_at = time.monotonic()
        olga_after = bearer(login_with_pkce(server, "olga").access_token)
        assert decode_unverified(olga_after["Authorization"][7:])[0]["kid"] == new_kid
        assert new_kid not in {decode_unverified(olga_before["Authorization"][7:])[0]["kid"]}
        deadline = changed_at + DOCUMENTED_CACHE_SECONDS + MARGIN_SECONDS

        created = await eventually(
            lambda: api.create_event(olga_after),
            lambda r: r.status_code == 201,
            pending=refused_with("unknown_key"),  # the JWKS refetch is rate-limited
            deadline=deadline,
            what="a token signed with the new key",
        )
        assert created.json()["status"] == "draft"
        await eventually(
            lambda: api.client.get("/v1/orders", headers=alice),
            refused_with("token_inactive"),
            pending=lambda r: r.status_code == 200,  # the cached positive answer
            deadline=deadline,
            what="the revoked opaque token",
        )
        refused = await api.hold(alice, event_id, standing)
        assert assert_bearer_challenge(refused)["code"] == "token_inactive"
        # the rotated-out key is still published, so tokens it signed remain valid
        still = await api.client.get("/v1/events", params={"mine": "true"}, headers=olga_before)
        assert still.status_code == 200, still.text
        assert len(still.json()["items"]) == 2
