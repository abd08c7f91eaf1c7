"""An in-process issuer behind ``httpx.MockTransport``, for unit tests only.

The integration tests use the real OIDC server (``oidc_server`` fixture); this stand-in lets the
unit tests script failures (down, 500s, wrong discovery) and count requests precisely.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from typing import Any
from urllib.parse import parse_qs, unquote

import httpx
from joserfc.jwk import Key

from tests.unit.adapters.oidc.forge import public_jwks

ISSUER = "https://sso.example.test/realms/eltiketi"
CLIENT_ID = "eltiketi-api"
CLIENT_SECRET = "s3cret:with/odd+chars"


class LocalIssuer:
    """Discovery, JWKS and introspection for ``ISSUER``; every request is counted by path."""

    def __init__(self, *keys: Key) -> None:
        self.keys = list(keys)
        self.down = False
        self.status = 200
        self.discovery_issuer = ISSUER
        self.active: dict[str, dict[str, Any]] = {}
        """Opaque (or JWT) token -> introspection answer; anything else is ``active: false``."""
        self.requests: Counter[str] = Counter()
        self.introspection_credentials: list[tuple[str, str]] = []

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._handle)

    def count(self, name: str) -> int:
        return self.requests[name]

    def _handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        name = path.rsplit("/", 1)[-1]
        self.requests[name] += 1
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        if self.status != 200:
            return httpx.Response(self.status, text="oops")
        if path == "/realms/eltiketi/.well-known/openid-configuration":
            return httpx.Response(
                200,
                json={
                    "issuer": self.discovery_issuer,
                    "jwks_uri": f"{ISSUER}/protocol/openid-connect/certs",
                    "introspection_endpoint": f"{ISSUER}/protocol/openid-connect/token/introspect",
                },
            )
        if path == "/realms/eltiketi/protocol/openid-connect/certs":
            return httpx.Response(200, json=public_jwks(*self.keys))
        if path == "/realms/eltiketi/protocol/openid-connect/token/introspect":
            return self._introspect(request)
        return httpx.Response(404, json={"error": "not_found"})

    def _introspect(self, request: httpx.Request) -> httpx.Response:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        user, _, password = base64.b64decode(encoded).decode().partition(":")
        self.introspection_credentials.append((unquote(user), unquote(password)))
        if scheme != "Basic" or (unquote(user), unquote(password)) != (CLIENT_ID, CLIENT_SECRET):
            return httpx.Response(401, json={"error": "invalid_client"})
        token = parse_qs(request.content.decode())["token"][0]
        answer = self.active.get(token)
        body = {"active": True, **answer} if answer is not None else {"active": False}
        return httpx.Response(
            200, content=json.dumps(body), headers={"content-type": "application/json"}
        )
