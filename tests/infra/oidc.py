"""A Keycloak stand-in for tests: ``oidc-provider`` (Node) configured like a Keycloak realm.

``tests/infra/oidc_server/server.mjs`` serves issuer ``http://127.0.0.1:P/realms/eltiketi`` with
Keycloak's endpoint paths, a confidential client (``eltiketi-api``, client_credentials, may
introspect), a public PKCE client (``eltiketi-web``), the shop's confidential PKCE client
(``eltiketi-shop``, loopback redirects on any port), JWT access tokens (audience
``eltiketi-api``) for :data:`API_RESOURCE` and opaque ones for :data:`OPAQUE_RESOURCE`, Keycloak
claims (``realm_access.roles``, ``resource_access``, ``azp``, ``preferred_username``, ``email``,
``phone_number``) and a test-only key rotation endpoint. Users: see :data:`USERS`, password
:data:`PASSWORD`.

Known differences from Keycloak: the access token header says ``typ: at+jwt``; tokens for a
resource get 401 at userinfo (read the profile from the ID token).

The helpers are synchronous (httpx): they only talk to the separate OIDC process, so calling them
from an async test is harmless.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import html
import json
import re
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

from tests.infra.ports import (
    LOOPBACK,
    ComponentProcess,
    free_port,
    start_process,
    wait_until,
)
from tests.infra.requirement import ComponentUnavailable

COMPONENT = "oidc (oidc-provider on Node)"
SERVER_DIR = Path(__file__).parent / "oidc_server"
REALM = "eltiketi"
API_CLIENT_ID = "eltiketi-api"
API_CLIENT_SECRET = "eltiketi-api-secret"
WEB_CLIENT_ID = "eltiketi-web"
REDIRECT_URI = "http://127.0.0.1/callback"
SHOP_CLIENT_ID = "eltiketi-shop"
"""The shop's backend-for-frontend client: confidential, PKCE, redirect
``http://127.0.0.1:<any port>/login/callback``, post-logout ``http://127.0.0.1:<any port>/``."""
SHOP_CLIENT_SECRET = "eltiketi-shop-secret"
API_AUDIENCE = API_CLIENT_ID
API_RESOURCE = "urn:eltiketi:api"
"""Resource indicator for JWT access tokens (``aud`` = ``eltiketi-api``); the default."""
OPAQUE_RESOURCE = "urn:eltiketi:opaque"
"""Resource indicator for opaque access tokens (check them by introspection)."""
PASSWORD = "pass"
USERS: Mapping[str, tuple[str, ...]] = {
    "alice": ("customer",),
    "bob": ("customer",),
    "olga": ("organizer",),
    "sam": ("staff",),
    "admin": ("admin",),
}
"""Username -> realm roles. Emails are ``<username>@eltiketi.test``; ``sub`` is a fixed UUID."""
DEFAULT_SCOPE = "openid profile email phone"
_READY_LINE = "OIDC READY"
_MIN_NODE_MAJOR = 20


class OidcFlowError(RuntimeError):
    """The OIDC server answered something the helper did not expect (message says what)."""


@dataclass(frozen=True)
class OidcServer:
    """A running Keycloak stand-in; endpoint URLs follow Keycloak's naming."""

    issuer: str
    port: int
    api_client_id: str = API_CLIENT_ID
    api_client_secret: str = API_CLIENT_SECRET
    web_client_id: str = WEB_CLIENT_ID
    redirect_uri: str = REDIRECT_URI
    realm: str = REALM
    shop_client_id: str = SHOP_CLIENT_ID
    shop_client_secret: str = SHOP_CLIENT_SECRET
    process: ComponentProcess | None = field(default=None, repr=False, compare=False)

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def endpoint(self, name: str) -> str:
        """``{issuer}/protocol/openid-connect/{name}`` (auth, token, certs, userinfo, ...)."""
        return f"{self.issuer}/protocol/openid-connect/{name}"

    @property
    def authorization_endpoint(self) -> str:
        return self.endpoint("auth")

    @property
    def token_endpoint(self) -> str:
        return self.endpoint("token")

    @property
    def jwks_uri(self) -> str:
        return self.endpoint("certs")

    @property
    def userinfo_endpoint(self) -> str:
        return self.endpoint("userinfo")

    @property
    def introspection_endpoint(self) -> str:
        return self.endpoint("token/introspect")

    @property
    def revocation_endpoint(self) -> str:
        return self.endpoint("revoke")

    @property
    def end_session_endpoint(self) -> str:
        return self.endpoint("logout")

    def rotate(self) -> str:
        """Add a new current signing key (old keys stay in the JWKS); return its ``kid``."""
        response = httpx.post(f"http://{LOOPBACK}:{self.port}/__admin/rotate", timeout=10)
        response.raise_for_status()
        kid: str = response.json()["kid"]
        return kid

    def jwks(self) -> dict[str, Any]:
        response = httpx.get(self.jwks_uri, timeout=10)
        response.raise_for_status()
        jwks: dict[str, Any] = response.json()
        return jwks


@dataclass(frozen=True)
class TokenSet:
    """What the token endpoint returned for a user login."""

    access_token: str
    id_token: str | None
    refresh_token: str | None
    expires_in: int
    scope: str | None = None


def _node_major(node: str) -> int:
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True)
    return int(version.stdout.strip().lstrip("v").split(".")[0])


def ensure_node_modules(server_dir: Path = SERVER_DIR, timeout: float = 300.0) -> None:
    """Run ``npm ci`` once if ``node_modules`` is missing (a clean clone), under a file lock."""

    def installed() -> bool:
        modules = server_dir / "node_modules"
        return (modules / ".package-lock.json").is_file() and (
            modules / "oidc-provider" / "package.json"
        ).is_file()

    if installed():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise ComponentUnavailable(COMPONENT, "npm is not on PATH (Node.js >= 20 needed)")
    digest = hashlib.sha256(str(server_dir.resolve()).encode()).hexdigest()[:12]
    lock_path = Path(tempfile.gettempdir()) / f"eltiketi-npm-ci-{digest}.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if installed():
            return
        try:
            subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=server_dir,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=True,
            )
        except subprocess.CalledProcessError as exc:
            raise ComponentUnavailable(
                COMPONENT, f"`npm ci` in {server_dir} failed:\n{exc.stderr[-3000:]}"
            ) from exc
        except subprocess.TimeoutExpired as exc:
            raise ComponentUnavailable(COMPONENT, f"`npm ci` took over {timeout}s") from exc


@contextlib.contextmanager
def start_oidc_server(
    port: int | None = None,
    *,
    realm: str = REALM,
    access_token_ttl: int = 300,
    timeout: float = 20.0,
) -> Iterator[OidcServer]:
    """Run the Keycloak stand-in on ``127.0.0.1:port`` until the block exits."""
    node = shutil.which("node")
    if node is None:
        raise ComponentUnavailable(COMPONENT, "node is not on PATH (Node.js >= 20 needed)")
    if _node_major(node) < _MIN_NODE_MAJOR:
        raise ComponentUnavailable(COMPONENT, f"Node.js >= {_MIN_NODE_MAJOR} needed")
    ensure_node_modules()
    port = port or free_port()
    process = start_process(
        "oidc-provider",
        [node, "server.mjs"],
        cwd=SERVER_DIR,
        env={
            "OIDC_PORT": str(port),
            "OIDC_REALM": realm,
            "OIDC_API_CLIENT_ID": API_CLIENT_ID,
            "OIDC_API_CLIENT_SECRET": API_CLIENT_SECRET,
            "OIDC_WEB_CLIENT_ID": WEB_CLIENT_ID,
            "OIDC_REDIRECT_URI": REDIRECT_URI,
            "OIDC_SHOP_CLIENT_ID": SHOP_CLIENT_ID,
            "OIDC_SHOP_CLIENT_SECRET": SHOP_CLIENT_SECRET,
            "OIDC_PASSWORD": PASSWORD,
            "OIDC_ACCESS_TOKEN_TTL": str(access_token_ttl),
        },
    )
    try:
        wait_until(
            lambda: _READY_LINE in process.stdout(),
            timeout=timeout,
            what="the OIDC server's ready line",
            process=process,
        )
        yield OidcServer(
            issuer=f"http://{LOOPBACK}:{port}/realms/{realm}",
            port=port,
            realm=realm,
            process=process,
        )
    finally:
        process.stop()


def _api_auth(server: OidcServer) -> httpx.BasicAuth:
    return httpx.BasicAuth(server.api_client_id, server.api_client_secret)


def _json(response: httpx.Response, what: str) -> dict[str, Any]:
    if response.status_code != 200:
        raise OidcFlowError(f"{what}: HTTP {response.status_code}: {response.text[:500]}")
    body: dict[str, Any] = response.json()
    return body


def _token_set(body: Mapping[str, Any]) -> TokenSet:
    return TokenSet(
        access_token=body["access_token"],
        id_token=body.get("id_token"),
        refresh_token=body.get("refresh_token"),
        expires_in=int(body.get("expires_in", 0)),
        scope=body.get("scope"),
    )


def client_credentials_token(
    server: OidcServer, resource: str | None = None, scope: str | None = None
) -> str:
    """A service-account access token for the confidential client (JWT unless ``resource``)."""
    data = {"grant_type": "client_credentials", "resource": resource or API_RESOURCE}
    if scope:
        data["scope"] = scope
    response = httpx.post(server.token_endpoint, data=data, auth=_api_auth(server), timeout=10)
    return str(_json(response, "client_credentials")["access_token"])


def _pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


_FORM_ACTION = re.compile(r'<form[^>]*\baction="([^"]+)"', re.IGNORECASE)
_PROMPT = re.compile(r'name="prompt"\s+value="([^"]+)"', re.IGNORECASE)


def authorization_code(
    server: OidcServer,
    username: str,
    password: str = PASSWORD,
    *,
    code_challenge: str,
    resource: str = API_RESOURCE,
    scope: str = DEFAULT_SCOPE,
    state: str | None = None,
) -> str:
    """Drive the browser part of the code flow (login + consent forms); return the ``code``.

    The redirect to ``redirect_uri`` is captured, not followed.
    """
    state = state or secrets.token_urlsafe(16)
    params = {
        "client_id": server.web_client_id,
        "response_type": "code",
        "redirect_uri": server.redirect_uri,
        "scope": scope,
        "state": state,
        "nonce": secrets.token_urlsafe(16),
        "code_challenge": code_challenge,
        "code_challenge_method": "S256",
        "resource": resource,
    }
    with httpx.Client(follow_redirects=False, timeout=10) as browser:
        response = browser.get(server.authorization_endpoint, params=params)
        for _ in range(12):
            if response.is_redirect:
                location = urljoin(str(response.url), response.headers["location"])
                if location.startswith(server.redirect_uri):
                    query = parse_qs(urlsplit(location).query)
                    if "error" in query:
                        raise OidcFlowError(f"authorization failed: {query}")
                    if query.get("state") != [state]:
                        raise OidcFlowError(f"state mismatch in redirect: {location}")
                    return query["code"][0]
                response = browser.get(location)
                continue
            action, prompt = _FORM_ACTION.search(response.text), _PROMPT.search(response.text)
            if response.status_code != 200 or action is None or prompt is None:
                raise OidcFlowError(
                    f"unexpected page at {response.url}: HTTP {response.status_code}: "
                    f"{response.text[:500]}"
                )
            form: dict[str, str] = {"prompt": prompt.group(1)}
            if form["prompt"] == "login":
                form |= {"login": username, "password": password}
            response = browser.post(
                urljoin(str(response.url), html.unescape(action.group(1))), data=form
            )
            if response.status_code == 401:
                raise OidcFlowError(f"login refused for {username!r}: {response.text[:200]}")
    raise OidcFlowError("the authorization flow did not reach the redirect_uri")


def browse_login(
    browser: httpx.Client,
    url: str,
    username: str,
    password: str = PASSWORD,
    *,
    until: str,
    max_steps: int = 12,
) -> str:
    """Play the person at the issuer from ``url`` (an app's authorization or end-session
    URL): follow redirects, fill the login form, accept consent and confirm sign-out,
    until a redirect goes to a URL starting with ``until`` (the app); return that URL.

    ``browser`` keeps the issuer's cookies, so a second call sees the single sign-on
    session (or that it has ended).
    """
    response = browser.get(url)
    for _ in range(max_steps):
        if response.is_redirect:
            location = urljoin(str(response.url), response.headers["location"])
            if location.startswith(until):
                return location
            response = browser.get(location)
            continue
        if response.status_code != 200:
            raise OidcFlowError(
                f"unexpected page at {response.url}: HTTP {response.status_code}: "
                f"{response.text[:500]}"
            )
        if 'name="logout"' in response.text:  # RP-initiated logout: "Yes, sign me out"
            logout = _LOGOUT_FORM.search(response.text)
            if logout is None:
                raise OidcFlowError(f"no logout form at {response.url}")
            fields = dict(_HIDDEN.findall(logout.group(2)))
            response = browser.post(
                urljoin(str(response.url), html.unescape(logout.group(1))),
                data={**fields, "logout": "yes"},
            )
            continue
        action, prompt = _FORM_ACTION.search(response.text), _PROMPT.search(response.text)
        if action is None or prompt is None:
            raise OidcFlowError(f"no form at {response.url}: {response.text[:500]}")
        form: dict[str, str] = {"prompt": prompt.group(1)}
        if form["prompt"] == "login":
            form |= {"login": username, "password": password}
        response = browser.post(
            urljoin(str(response.url), html.unescape(action.group(1))), data=form
        )
        if response.status_code == 401:
            raise OidcFlowError(f"login refused for {username!r}: {response.text[:200]}")
    raise OidcFlowError(f"the flow did not reach {until}")


_LOGOUT_FORM = re.compile(
    r'<form[^>]*id="op\.logoutForm"[^>]*action="([^"]+)"[^>]*>(.*?)</form>',
    re.IGNORECASE | re.DOTALL,
)
_HIDDEN = re.compile(r'<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"', re.I)


def login_with_pkce(
    server: OidcServer,
    username: str,
    password: str = PASSWORD,
    *,
    resource: str = API_RESOURCE,
    scope: str = DEFAULT_SCOPE,
) -> TokenSet:
    """Log ``username`` in through the real authorization-code + PKCE (S256) flow."""
    verifier, challenge = _pkce_pair()
    code = authorization_code(
        server, username, password, code_challenge=challenge, resource=resource, scope=scope
    )
    response = httpx.post(
        server.token_endpoint,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": server.redirect_uri,
            "client_id": server.web_client_id,
            "code_verifier": verifier,
        },
        timeout=10,
    )
    return _token_set(_json(response, "authorization_code exchange"))


def refresh(server: OidcServer, refresh_token: str) -> TokenSet:
    """Use a refresh token of the public web client."""
    response = httpx.post(
        server.token_endpoint,
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": server.web_client_id,
        },
        timeout=10,
    )
    return _token_set(_json(response, "refresh_token"))


def opaque_token(server: OidcServer, username: str | None = None, password: str = PASSWORD) -> str:
    """An opaque access token: a service account's, or ``username``'s via the PKCE flow."""
    if username is None:
        return client_credentials_token(server, resource=OPAQUE_RESOURCE)
    return login_with_pkce(server, username, password, resource=OPAQUE_RESOURCE).access_token


def introspect(server: OidcServer, token: str) -> dict[str, Any]:
    """RFC 7662 introspection as the confidential API client (works for JWT and opaque)."""
    response = httpx.post(
        server.introspection_endpoint, data={"token": token}, auth=_api_auth(server), timeout=10
    )
    return _json(response, "introspection")


def revoke(server: OidcServer, token: str) -> None:
    """RFC 7009 revocation as the confidential API client (JWTs: their ``jti`` is remembered)."""
    response = httpx.post(
        server.revocation_endpoint, data={"token": token}, auth=_api_auth(server), timeout=10
    )
    if response.status_code != 200:
        raise OidcFlowError(f"revocation: HTTP {response.status_code}: {response.text[:500]}")


def decode_unverified(jwt: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, payload) of a compact JWS, without checking anything: for assertions only."""
    header, payload, _signature = jwt.split(".")
    return _b64json(header), _b64json(payload)


def _b64json(segment: str) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    )
    return decoded
