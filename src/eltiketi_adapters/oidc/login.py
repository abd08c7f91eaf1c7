"""Signing buyers in to the web pages: an OIDC relying party (authorization code + PKCE).

The pages are a backend-for-frontend: this server, not the browser, is the OIDC client. It
sends the browser to the issuer's authorization endpoint with a fresh ``state``, ``nonce``
and PKCE (S256) challenge, exchanges the returned code for tokens at the token endpoint
(authenticating with the client secret when the client is confidential), refreshes them,
and builds the RP-initiated logout URL (OpenID Connect RP-Initiated Logout 1.0). The tokens
never reach the browser: the app keeps them in its server-side session store.

The OAuth 2.0 protocol work is Authlib's (``AsyncOAuth2Client`` on httpx); this module adds
discovery, the ID token checks and the mapping of failures to domain errors:

* the issuer answered an error (a used or forged code, a revoked refresh token) →
  :class:`~eltiketi_core.errors.Unauthenticated` with code :data:`LOGIN_REFUSED`;
* the issuer cannot be reached or answers nonsense →
  :class:`~eltiketi_core.errors.GatewayUnavailable` (retry later).

The ID token is checked as OpenID Connect Core 1.0 §3.1.3.7 asks — issuer, audience,
authorized party, expiry and the ``nonce`` of this login — and its signature is not: it
comes straight from the token endpoint over the TLS connection this server opened, which
§3.1.3.7 (6) accepts in place of the signature. The access token, which is what the pages
act on, is verified by the app's ``TokenVerifier`` like any API bearer token.

One instance per application (it owns an HTTP connection pool); close it with
:meth:`OidcRelyingParty.aclose`.
"""

from __future__ import annotations

import secrets
import warnings
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlencode

import httpx
import msgspec
from authlib.deprecate import AuthlibDeprecationWarning
from authlib.integrations.base_client import OAuthError

from eltiketi_adapters.oidc.discovery import Discovery, ProviderMetadata
from eltiketi_adapters.oidc.errors import issuer_unavailable, refused
from eltiketi_adapters.oidc.jwt_validation import parse_unverified
from eltiketi_adapters.system import SystemClock
from eltiketi_core.errors import Unauthenticated
from eltiketi_core.ports.clock import Clock

with warnings.catch_warnings():
    # Authlib >= 1.9 prefers the httpx2 fork and warns, on this import, that it falls back
    # to httpx. Falling back is what we want: the OIDC verifier and Stripe use httpx, and
    # Authlib's httpx client works. The filter has to sit here, around the one import:
    # importing authlib.deprecate (above) puts an "always" filter for its warnings first,
    # so one set earlier (at the command's start, say) would never apply.
    warnings.filterwarnings(
        "ignore", "The httpx module is deprecated", category=AuthlibDeprecationWarning
    )
    from authlib.integrations.httpx_client import AsyncOAuth2Client

LOGIN_REFUSED: Final = "login_refused"
"""The issuer refused a code or refresh token, or its ID token did not check out."""

#: Length of the random ``state``, ``nonce`` and PKCE verifier (bytes before base64url):
#: 32 bytes give 43 characters, RFC 7636's minimum verifier length.
_RANDOM_BYTES: Final = 32


class WebClientConfig(msgspec.Struct, frozen=True, kw_only=True):
    """The pages' OIDC client, as registered at the issuer.

    Attributes:
        issuer: The realm URL (``ELTIKETI_OIDC_ISSUER``), exactly as in tokens' ``iss``.
        client_id: The web client (``ELTIKETI_OIDC_WEB_CLIENT_ID``).
        client_secret: Its secret for a confidential client (``client_secret_basic`` at the
            token endpoint); None for a public client (PKCE alone).
        scopes: What the login asks for; ``openid`` is required.
        leeway_seconds: Clock skew tolerated on the ID token's ``exp``.
        http_timeout_seconds: One request to the issuer.
    """

    issuer: str
    client_id: str
    client_secret: str | None = None
    scopes: str = "openid profile email phone"
    leeway_seconds: float = 30.0
    http_timeout_seconds: float = 10.0

    def __post_init__(self) -> None:
        if not self.issuer.startswith(("http://", "https://")):
            raise ValueError(f"issuer must be an http(s) URL, got {self.issuer!r}")
        if not self.client_id:
            raise ValueError("client_id must not be empty")
        if "openid" not in self.scopes.split():
            raise ValueError("scopes must include openid")

    @property
    def discovery_document_url(self) -> str:
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"

    def __repr__(self) -> str:  # never print the secret
        return f"WebClientConfig(issuer={self.issuer!r}, client_id={self.client_id!r})"


class PendingLogin(msgspec.Struct, frozen=True, kw_only=True):
    """What one login attempt must remember between leaving for the issuer and coming back
    (kept in the visitor's server-side session, never in the browser)."""

    state: str
    nonce: str
    code_verifier: str


class LoginTokens(msgspec.Struct, frozen=True, kw_only=True):
    """The tokens of a signed-in visitor.

    ``expires_at`` is when the access token stops working (seconds since the epoch, by this
    server's clock); ``name`` is the person's display name from the ID token, if it had one.
    """

    access_token: str
    expires_at: float
    refresh_token: str | None = None
    id_token: str | None = None
    name: str | None = None


class OidcRelyingParty:
    """Authorization code + PKCE against one issuer, for one client (see the module docstring).

    Args:
        config: The client.
        clock: "Now", for token expiry and the ID token's ``exp``.
        transport: httpx transport to the issuer (tests wrap the real one).
    """

    def __init__(
        self,
        config: WebClientConfig,
        *,
        clock: Clock | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._config = config
        self._clock: Clock = clock or SystemClock()
        # The client holds no per-visitor state this code relies on: Authlib keeps the
        # last token it saw in ``client.token``, but every call here uses the token set
        # it returns and nothing else, so concurrent logins cannot mix.
        self._client = AsyncOAuth2Client(
            client_id=config.client_id,
            client_secret=config.client_secret,
            token_endpoint_auth_method="client_secret_basic" if config.client_secret else "none",
            scope=config.scopes,
            code_challenge_method="S256",
            timeout=config.http_timeout_seconds,
            transport=transport,
            follow_redirects=False,
            headers={"user-agent": "eltiketi-web-login"},
        )
        # Discovery on a plain client: Authlib's refuses requests without a user's token.
        self._http = httpx.AsyncClient(
            transport=transport,
            timeout=config.http_timeout_seconds,
            follow_redirects=False,
            headers={"user-agent": "eltiketi-web-login"},
        )
        self._discovery = Discovery(self._http, config.discovery_document_url, config.issuer)

    @property
    def config(self) -> WebClientConfig:
        return self._config

    async def start(self, redirect_uri: str) -> tuple[str, PendingLogin]:
        """The issuer's URL to send the browser to, and what to remember until it returns."""
        endpoints = await self._metadata()
        if endpoints.authorization_endpoint is None:
            raise issuer_unavailable("OIDC discovery: no authorization_endpoint")
        pending = PendingLogin(
            state=secrets.token_urlsafe(_RANDOM_BYTES),
            nonce=secrets.token_urlsafe(_RANDOM_BYTES),
            code_verifier=secrets.token_urlsafe(_RANDOM_BYTES),
        )
        url, _ = self._client.create_authorization_url(
            endpoints.authorization_endpoint,
            state=pending.state,
            code_verifier=pending.code_verifier,
            nonce=pending.nonce,
            redirect_uri=redirect_uri,
        )
        return str(url), pending

    async def finish(self, pending: PendingLogin, *, code: str, redirect_uri: str) -> LoginTokens:
        """Exchange the code the browser brought back (its ``state`` already matched
        ``pending.state``) for tokens, and check the ID token against this login."""
        endpoint = await self._token_endpoint()
        answer = await self._call(
            self._client.fetch_token(
                endpoint,
                grant_type="authorization_code",
                code=code,
                code_verifier=pending.code_verifier,
                redirect_uri=redirect_uri,
            ),
            "authorization code exchange",
        )
        tokens = self._tokens(answer)
        if tokens.id_token is None:
            raise refused(LOGIN_REFUSED, "the token endpoint answered no ID token")
        claims = self._checked_id_token(tokens.id_token, nonce=pending.nonce)
        return msgspec.structs.replace(tokens, name=_display_name(claims))

    async def refresh(self, refresh_token: str) -> LoginTokens:
        """New tokens for a refresh token; :data:`LOGIN_REFUSED` once the issuer says no
        (the session ended there, or the refresh token was revoked)."""
        endpoint = await self._token_endpoint()
        answer = await self._call(
            self._client.refresh_token(endpoint, refresh_token=refresh_token),
            "token refresh",
        )
        tokens = self._tokens(answer)
        if tokens.refresh_token is None:  # the issuer keeps the old one valid
            tokens = msgspec.structs.replace(tokens, refresh_token=refresh_token)
        if tokens.id_token is not None:
            claims = self._checked_id_token(tokens.id_token, nonce=None)
            tokens = msgspec.structs.replace(tokens, name=_display_name(claims))
        return tokens

    async def logout_url(
        self, *, id_token: str | None, post_logout_redirect_uri: str
    ) -> str | None:
        """Where to send the browser to end the session at the issuer too (RP-initiated
        logout), coming back to ``post_logout_redirect_uri``; None when the issuer offers
        no ``end_session_endpoint``."""
        endpoints = await self._metadata()
        if endpoints.end_session_endpoint is None:
            return None
        query: dict[str, str] = {
            "client_id": self._config.client_id,
            "post_logout_redirect_uri": post_logout_redirect_uri,
        }
        if id_token:
            query["id_token_hint"] = id_token
        separator = "&" if "?" in endpoints.end_session_endpoint else "?"
        return endpoints.end_session_endpoint + separator + urlencode(query)

    async def prefetch(self) -> None:
        """Load the discovery document now (start-up); raises ``GatewayUnavailable``."""
        await self._metadata()

    async def aclose(self) -> None:
        await self._client.aclose()
        await self._http.aclose()

    # -- internals -----------------------------------------------------------------------

    async def _metadata(self) -> ProviderMetadata:
        return await self._discovery.metadata()

    async def _token_endpoint(self) -> str:
        endpoint = (await self._metadata()).token_endpoint
        if endpoint is None:
            raise issuer_unavailable("OIDC discovery: no token_endpoint")
        return endpoint

    async def _call(self, request: Any, what: str) -> Mapping[str, Any]:
        try:
            answer = await request
        except OAuthError as exc:
            raise refused(LOGIN_REFUSED, f"{what}: {exc.error}") from exc
        except httpx.HTTPError as exc:
            raise issuer_unavailable(f"{what}: {type(exc).__name__}") from exc
        except ValueError as exc:  # not JSON
            raise issuer_unavailable(f"{what}: the issuer answered no JSON") from exc
        if not isinstance(answer, Mapping):
            raise issuer_unavailable(f"{what}: the issuer answered no JSON object")
        return answer

    def _tokens(self, answer: Mapping[str, Any]) -> LoginTokens:
        access_token = answer.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise issuer_unavailable("the token endpoint answered no access_token")
        expires_in = answer.get("expires_in")
        lifetime = float(expires_in) if isinstance(expires_in, int | float) else 300.0
        refresh_token = answer.get("refresh_token")
        id_token = answer.get("id_token")
        return LoginTokens(
            access_token=access_token,
            expires_at=self._clock.now().timestamp() + lifetime,
            refresh_token=refresh_token if isinstance(refresh_token, str) else None,
            id_token=id_token if isinstance(id_token, str) else None,
        )

    def _checked_id_token(self, id_token: str, *, nonce: str | None) -> Mapping[str, Any]:
        """OIDC Core §3.1.3.7 checks 2–4, 9 and 11 (and §12.2 on refresh: no nonce then)."""
        try:
            claims = parse_unverified(id_token).claims
        except Unauthenticated as exc:
            raise refused(LOGIN_REFUSED, f"ID token: {exc.detail}") from exc
        if claims.get("iss") != self._config.issuer:
            raise refused(LOGIN_REFUSED, "ID token: another issuer")
        audience = claims.get("aud")
        audiences = [audience] if isinstance(audience, str) else audience
        if not isinstance(audiences, list) or self._config.client_id not in audiences:
            raise refused(LOGIN_REFUSED, "ID token: not for this client")
        azp = claims.get("azp")
        if (len(audiences) > 1 or azp is not None) and azp != self._config.client_id:
            raise refused(LOGIN_REFUSED, "ID token: another authorized party")
        expires = claims.get("exp")
        now = self._clock.now().timestamp()
        if not isinstance(expires, int | float) or expires + self._config.leeway_seconds < now:
            raise refused(LOGIN_REFUSED, "ID token: expired")
        if nonce is not None and claims.get("nonce") != nonce:
            raise refused(LOGIN_REFUSED, "ID token: not from this login (nonce)")
        if not isinstance(claims.get("sub"), str):
            raise refused(LOGIN_REFUSED, "ID token: no sub")
        return claims


def _display_name(claims: Mapping[str, Any]) -> str | None:
    for claim in ("name", "preferred_username"):
        value = claims.get(claim)
        if isinstance(value, str) and value.strip():
            return value.strip()[:100]
    return None
