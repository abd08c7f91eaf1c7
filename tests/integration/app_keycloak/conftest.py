"""The real app (``create_app``) behind the real OIDC provider: tokens from oidc-provider.

The app is configured only through ``ELTIKETI_*`` variables (``Settings.from_env``), exactly as
an operator would: ``ELTIKETI_OIDC_ISSUER`` selects the OIDC verifier, so nothing here builds a
verifier or swaps a provider. Persistence is in memory, payments use the embedded fake gateway
(its pay page is driven like a person would drive it). Requests go through Litestar's
``AsyncTestClient``: the verifier's own calls to the issuer (discovery, JWKS, introspection)
are real HTTP to the ``oidc_server`` fixture.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from eltiketi_app.app import create_app
from eltiketi_app.settings import Settings
from tests.infra.oidc import API_AUDIENCE, OidcServer, login_with_pkce
from tests.infra.rest_calls import create_event, published_sale

Headers = dict[str, str]
AppFactory = Callable[..., contextlib.AbstractAsyncContextManager["OidcApi"]]


def oidc_env(server: OidcServer, data_dir: Path, **extra: str) -> dict[str, str]:
    """The operator's environment for an app that trusts ``server`` (introspection off)."""
    env = {
        "ELTIKETI_DATA_DIR": str(data_dir),
        "ELTIKETI_DATABASE_URL": "memory://",
        "ELTIKETI_OIDC_ISSUER": server.issuer,
        "ELTIKETI_OIDC_AUDIENCE": API_AUDIENCE,
        "ELTIKETI_LOG_LEVEL": "WARNING",
    }
    env.update({f"ELTIKETI_{name.upper()}": value for name, value in extra.items()})
    return env


def bearer(token: str) -> Headers:
    return {"Authorization": f"Bearer {token}"}


def problem(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """Assert an RFC 9457 problem with ``status`` (and ``code`` when given); return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert isinstance(body.get("code"), str) and body["code"], body
    if code is not None:
        assert body["code"] == code, body
    return body


def assert_bearer_challenge(response: httpx.Response) -> dict[str, Any]:
    """A 401 that tells the client, RFC 6750 style, to get another token."""
    body = problem(response, 401)
    challenge = response.headers.get("www-authenticate", "")
    assert challenge.startswith('Bearer error="invalid_token"'), challenge
    return body


class OidcApi:
    """One running app and the REST calls the tests make, speaking the v1 contract."""

    def __init__(self, app: Litestar, client: AsyncTestClient[Litestar]) -> None:
        self.app = app
        self.client = client
        settings = app.state.settings
        assert isinstance(settings, Settings)
        self.settings = settings

    async def create_event(self, organizer: Headers) -> httpx.Response:
        return await create_event(self.client, organizer, name="Keycloak Night", venue="Hall 1")

    async def sale(
        self, organizer: Headers, *, capacity: int = 20, amount: int = 2500
    ) -> tuple[str, str]:
        """A published event with one ticket type: (event id, ticket type id)."""
        return await published_sale(
            self.client,
            organizer,
            name="Keycloak Night",
            venue="Hall 1",
            capacity=capacity,
            amount=amount,
        )

    async def hold(
        self, who: Headers, event_id: str, ticket_type_id: str, quantity: int = 1
    ) -> httpx.Response:
        return await self.client.post(
            "/v1/bookings",
            json={
                "event_id": event_id,
                "items": [{"ticket_type_id": ticket_type_id, "quantity": quantity}],
            },
            headers=who,
        )

    async def pay_on_fake_page(self, checkout_url: str) -> None:
        """Click "Pay" on the embedded gateway's page (a form POST, as a browser sends it)."""
        paid = await self.client.post(
            urlsplit(checkout_url).path, data={"outcome": "pay"}, follow_redirects=False
        )
        assert paid.status_code == 303, paid.text

    async def orders(self, who: Headers) -> list[dict[str, Any]]:
        listed = await self.client.get("/v1/orders", headers=who)
        assert listed.status_code == 200, listed.text
        items: list[dict[str, Any]] = listed.json()["items"]
        return items


@contextlib.asynccontextmanager
async def running_app(env: dict[str, str]) -> AsyncIterator[OidcApi]:
    """``create_app(Settings.from_env(env))`` started (lifespan included) and stopped after."""
    app = create_app(Settings.from_env(env))
    async with AsyncTestClient(app=app, timeout=30) as client:
        yield OidcApi(app, client)


@pytest.fixture
def start_app(oidc_server: OidcServer, tmp_path: Path) -> AppFactory:
    """``async with start_app(server=None, **ELTIKETI_ overrides) as api`` — a fresh app.

    Each call gets its own data folder, so two apps never share a dev key or state.
    """
    made = 0

    def start(
        server: OidcServer | None = None, **extra: str
    ) -> contextlib.AbstractAsyncContextManager[OidcApi]:
        nonlocal made
        made += 1
        data_dir = tmp_path / f"app{made}"
        return running_app(oidc_env(server or oidc_server, data_dir, **extra))

    return start


@pytest.fixture
async def api(start_app: AppFactory) -> AsyncIterator[OidcApi]:
    """An app that validates the session OIDC server's JWT access tokens locally."""
    async with start_app() as running:
        yield running


@pytest.fixture(scope="module")
def logins(oidc_server: OidcServer) -> Callable[[str], Headers]:
    """``logins("alice")`` -> bearer headers from the real authorization-code + PKCE flow.

    One login per user per module: the tokens live 5 minutes, far longer than a module here.
    """
    cache: dict[str, Headers] = {}

    def login(username: str) -> Headers:
        if username not in cache:
            cache[username] = bearer(login_with_pkce(oidc_server, username).access_token)
        return cache[username]

    return login
