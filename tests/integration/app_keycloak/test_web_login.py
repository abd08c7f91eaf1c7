"""The pages sign buyers in at the OIDC issuer (backend-for-frontend), against oidc-provider.

The app is the OIDC client ``eltiketi-shop`` (confidential, PKCE): ``/login`` sends the
browser to the issuer, the test plays the person there (login and consent forms, with
httpx keeping the issuer's cookies, so single sign-on is real), and ``/login/callback``
brings it back. Tokens stay in the server-side session; refreshes are counted at the
transport to the issuer; sign-out ends the issuer's session too.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from dishka import Provider, Scope, provide
from litestar.testing import AsyncTestClient

from eltiketi_adapters.oidc import OidcRelyingParty, WebClientConfig
from eltiketi_app.app import create_app
from eltiketi_app.settings import Settings
from eltiketi_app.web.oidc_login import OidcLogin
from eltiketi_app.web.session import SESSION_COOKIE
from tests.infra.oidc import OidcServer, browse_login, start_oidc_server
from tests.infra.ports import free_port
from tests.infra.requirement import ComponentUnavailable, require
from tests.integration.app_keycloak.conftest import oidc_env

pytestmark = pytest.mark.oidc

HTML = {"Accept": "text/html"}


class CountingTransport(httpx.AsyncBaseTransport):
    """The real transport, counting the refresh-token grants it carries to the issuer."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.refreshes = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if b"grant_type=refresh_token" in request.content:
            self.refreshes += 1
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


class CountedLogin(Provider):
    """The app's own login, with the counting transport under it."""

    scope = Scope.APP

    def __init__(self, transport: CountingTransport, recent_seconds: float = 60.0) -> None:
        super().__init__()
        self._transport = transport
        self._recent_seconds = recent_seconds

    @provide
    async def oidc_login(self, settings: Settings) -> AsyncIterator[OidcLogin]:
        party = OidcRelyingParty(
            WebClientConfig(
                issuer=settings.oidc_issuer or "",
                client_id=settings.oidc_web_client_id or "",
                client_secret=settings.oidc_web_client_secret,
            ),
            transport=self._transport,
        )
        try:
            yield OidcLogin(
                party,
                public_url=settings.effective_public_url,
                recent_seconds=self._recent_seconds,
            )
        finally:
            await party.aclose()


class Shop:
    """The app in-process, its public URL, and a browser (cookies) at the issuer."""

    def __init__(self, client: AsyncTestClient, public_url: str, browser: httpx.Client) -> None:  # type: ignore[type-arg]
        self.client = client
        self.public_url = public_url
        self.browser = browser

    async def start_login(self, next_path: str = "/orders") -> str:
        started = await self.client.get(
            f"/login?next={next_path}", headers=HTML, follow_redirects=False
        )
        assert started.status_code == 303, started.text
        return str(started.headers["location"])

    def at_issuer(self, url: str, username: str = "alice") -> str:
        """The person signs in at the issuer; the callback URL it sends them back to."""
        return browse_login(self.browser, url, username, until=self.public_url + "/login/")

    def asks_at_issuer(self, url: str) -> str:
        """What the issuer asks the person for (``login``, ``consent``), or ``nothing``
        when it sends them straight back to the shop."""
        response = self.browser.get(url)
        while response.is_redirect:
            location = str(response.url.join(response.headers["location"]))
            if location.startswith(self.public_url):
                return "nothing"
            response = self.browser.get(location)
        prompt = re.search(r'name="prompt" value="([^"]+)"', response.text)
        assert prompt is not None, response.text[:300]
        return prompt.group(1)

    async def come_back(self, callback_url: str) -> httpx.Response:
        parts = urlsplit(callback_url)
        return await self.client.get(
            f"{parts.path}?{parts.query}", headers=HTML, follow_redirects=False
        )

    async def sign_in(self, username: str = "alice", next_path: str = "/orders") -> None:
        back = await self.come_back(self.at_issuer(await self.start_login(next_path), username))
        assert back.status_code == 303, back.text


@contextlib.asynccontextmanager
async def shop(
    server: OidcServer, data_dir: Path, overrides: tuple[Provider, ...] = ()
) -> AsyncIterator[Shop]:
    # the issuer allows the shop's loopback callback on any port: nothing listens on this one,
    # the test client carries the callback to the app itself
    public_url = f"http://127.0.0.1:{free_port()}"
    env = oidc_env(
        server,
        data_dir,
        public_url=public_url,
        oidc_web_client_id=server.shop_client_id,
        oidc_web_client_secret=server.shop_client_secret,
    )
    app = create_app(Settings.from_env(env), overrides=overrides)
    with httpx.Client(timeout=10, follow_redirects=False) as browser:
        async with AsyncTestClient(app=app, timeout=30) as client:
            yield Shop(client, public_url, browser)


@pytest.fixture
async def alices_shop(oidc_server: OidcServer, tmp_path: Path) -> AsyncIterator[Shop]:
    async with shop(oidc_server, tmp_path) as running:
        yield running


@pytest.fixture(scope="module")
def short_lived_tokens() -> Iterator[OidcServer]:
    """An issuer whose access tokens live 30 s: inside the pages' refresh margin at once."""
    try:
        with start_oidc_server(access_token_ttl=30) as server:
            yield server
    except ComponentUnavailable as exc:
        require(exc.component, exc.reason)


async def test_signing_in_at_the_issuer_returns_to_the_page_with_a_new_session(
    alices_shop: Shop,
) -> None:
    login_url = await alices_shop.start_login("/orders")
    before = alices_shop.client.cookies.get(SESSION_COOKIE)
    query = parse_qs(urlsplit(login_url).query)
    assert "/realms/eltiketi/protocol/openid-connect/auth?" in login_url
    assert query["client_id"] == ["eltiketi-shop"]
    assert query["response_type"] == ["code"]
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) == 43
    assert query["redirect_uri"] == [alices_shop.public_url + "/login/callback"]
    assert query["state"] and query["nonce"] and "code_verifier" not in query

    callback = alices_shop.at_issuer(login_url, "alice")
    back = await alices_shop.come_back(callback)
    replayed = await alices_shop.come_back(callback)
    orders = await alices_shop.client.get("/orders", headers=HTML)

    assert back.status_code == 303 and back.headers["location"] == "/orders"
    after = alices_shop.client.cookies.get(SESSION_COOKIE)
    assert before and after and after != before  # a new session id at login
    assert orders.status_code == 200
    assert "Signed in as Alice Buyer" in orders.text  # the ID token's name
    assert "eyJ" not in orders.text and "." not in after  # no token reaches the browser
    assert replayed.status_code == 400 and "login_expired" in replayed.text


async def test_a_callback_this_session_did_not_start_signs_nobody_in(
    alices_shop: Shop, oidc_server: OidcServer, tmp_path: Path
) -> None:
    # a code obtained in another browser (an attacker's) must not log this one in
    async with shop(oidc_server, tmp_path / "other") as victim:
        callback = alices_shop.at_issuer(await alices_shop.start_login(), "bob")
        forced = await victim.come_back(callback.replace(alices_shop.public_url, ""))
        unknown = await victim.client.get("/login/callback?code=x&state=never-issued", headers=HTML)
        cancelled = await victim.client.get(
            "/login/callback?error=access_denied&state=x", headers=HTML
        )
        orders = await victim.client.get("/orders", headers=HTML, follow_redirects=False)

    assert forced.status_code == 400 and "login_expired" in forced.text
    assert unknown.status_code == 400
    assert cancelled.status_code == 400 and "login_cancelled" in cancelled.text
    assert orders.status_code == 303 and orders.headers["location"] == "/login?next=/orders"


async def test_expiring_tokens_are_refreshed_once_for_requests_at_the_same_time(
    short_lived_tokens: OidcServer, tmp_path: Path
) -> None:
    transport = CountingTransport()
    async with shop(short_lived_tokens, tmp_path, (CountedLogin(transport),)) as running:
        await running.sign_in("alice")
        assert transport.refreshes == 0
        pages = await asyncio.gather(
            *(running.client.get("/orders", headers=HTML) for _ in range(6))
        )
        again = await running.client.get("/orders", headers=HTML)

    assert all(p.status_code == 200 and "Signed in as Alice Buyer" in p.text for p in pages)
    assert "Signed in as Alice Buyer" in again.text
    assert transport.refreshes == 1


async def test_signing_out_ends_the_session_here_and_at_the_issuer(alices_shop: Shop) -> None:
    await alices_shop.sign_in("alice")
    signed_in = alices_shop.client.cookies.get(SESSION_COOKIE)
    # single sign-on is live: a login from a fresh session asks no password
    alices_shop.client.cookies.delete(SESSION_COOKIE)
    assert alices_shop.asks_at_issuer(await alices_shop.start_login("/")) != "login"
    alices_shop.client.cookies.set(SESSION_COOKIE, str(signed_in), domain="testserver.local")
    page = await alices_shop.client.get("/orders", headers=HTML)
    assert "Signed in as Alice Buyer" in page.text
    csrf = page.text.split('name="_csrf_token" value="', 1)[1].split('"', 1)[0]

    out = await alices_shop.client.post(
        "/logout", data={"_csrf_token": csrf}, headers=HTML, follow_redirects=False
    )
    end_session = out.headers["location"]
    query = parse_qs(urlsplit(end_session).query)
    landed = browse_login(alices_shop.browser, end_session, "alice", until=alices_shop.public_url)
    orders = await alices_shop.client.get("/orders", headers=HTML, follow_redirects=False)
    alices_shop.client.cookies.delete(SESSION_COOKIE)
    asked_again = alices_shop.asks_at_issuer(await alices_shop.start_login("/"))

    assert out.status_code == 303 and "/protocol/openid-connect/logout" in end_session
    assert query["post_logout_redirect_uri"] == [alices_shop.public_url + "/"]
    assert query["client_id"] == ["eltiketi-shop"] and query["id_token_hint"]
    assert landed == alices_shop.public_url + "/"
    assert orders.status_code == 303  # signed out here
    assert asked_again == "login"  # and signed out at the issuer: the password again


async def test_a_session_ended_at_the_issuer_signs_the_visitor_out_at_the_next_refresh(
    short_lived_tokens: OidcServer, tmp_path: Path
) -> None:
    transport = CountingTransport()
    quick = CountedLogin(transport, recent_seconds=0.5)
    async with shop(short_lived_tokens, tmp_path, (quick,)) as running:
        await running.sign_in("alice")
        assert "Signed in as Alice Buyer" in (await running.client.get("/", headers=HTML)).text
        first_session = running.client.cookies.get(SESSION_COOKIE)
        # the same person signs out in another tab of the shop: the issuer ends the SSO session
        running.client.cookies.delete(SESSION_COOKIE)
        await running.sign_in("alice")
        page = await running.client.get("/orders", headers=HTML)
        csrf = page.text.split('name="_csrf_token" value="', 1)[1].split('"', 1)[0]
        out = await running.client.post(
            "/logout", data={"_csrf_token": csrf}, headers=HTML, follow_redirects=False
        )
        browse_login(running.browser, out.headers["location"], "alice", until=running.public_url)
        running.client.cookies.set(SESSION_COOKIE, str(first_session), domain="testserver.local")

        await asyncio.sleep(0.6)  # past the reuse window of the last refresh
        refreshes = transport.refreshes
        after = await running.client.get("/orders", headers=HTML, follow_redirects=False)

    assert transport.refreshes == refreshes + 1  # the issuer was asked, and said no
    assert after.status_code == 303 and after.headers["location"] == "/login?next=/orders"
