"""Token forgery kit for the identity tests: sign anything, with any header, with any key.

Used by the unit tests (local keys) and the integration tests (the real issuer's ``iss``/``aud``
and ``kid``, but the wrong properties). It deliberately bypasses every safety net joserfc has.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import warnings
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from joserfc import jws
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, Key, OKPKey, RSAKey
from joserfc.jws import JWSRegistry


class MovableClock:
    """A ``Clock`` the test moves by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime.now(UTC).replace(microsecond=0)

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


class Ticker:
    """A monotonic time source the test moves by hand."""

    def __init__(self) -> None:
        self.value = 1000.0

    def __call__(self) -> float:
        return self.value

    def advance(self, seconds: float) -> None:
        self.value += seconds


def rsa_key(kid: str | None = None) -> RSAKey:
    return RSAKey.generate_key(
        2048, parameters={"kid": kid or f"rsa-{secrets.token_hex(4)}"}, private=True
    )


def ec_key(curve: str = "P-256", kid: str | None = None) -> ECKey:
    return ECKey.generate_key(
        curve, parameters={"kid": kid or f"ec-{secrets.token_hex(4)}"}, private=True
    )


def ed_key(kid: str | None = None) -> OKPKey:
    return OKPKey.generate_key(
        "Ed25519", parameters={"kid": kid or f"ed-{secrets.token_hex(4)}"}, private=True
    )


def public_jwks(*keys: Key) -> dict[str, Any]:
    return {"keys": [key.as_dict(private=False) for key in keys]}


def claims_for(
    issuer: str, audience: str, now: datetime | None = None, **overrides: Any
) -> dict[str, Any]:
    """Keycloak-shaped access-token claims, valid for 5 minutes; ``None`` overrides delete."""
    issued = int((now or datetime.now(UTC)).timestamp())
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "sub": "5b0e0c6e-0000-4000-8000-000000000001",
        "azp": "eltiketi-web",
        "typ": "Bearer",
        "iat": issued,
        "exp": issued + 300,
        "jti": secrets.token_urlsafe(8),
        "preferred_username": "mallory",
        "email": "mallory@example.test",
        "realm_access": {"roles": ["customer"]},
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def sign(
    key: Key,
    claims: Mapping[str, Any],
    *,
    alg: str = "RS256",
    kid: str | None = "<key>",
    typ: str | None = "JWT",
    header: Mapping[str, Any] | None = None,
) -> str:
    """A compact JWS over ``claims``; ``kid="<key>"`` means the key's own kid, ``None`` omits it."""
    protected: dict[str, Any] = {"alg": alg}
    if typ is not None:
        protected["typ"] = typ
    if kid == "<key>":
        kid = key.kid
    if kid is not None:
        protected["kid"] = kid
    protected.update(header or {})
    registry = JWSRegistry(algorithms=[alg], strict_check_header=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)  # "EdDSA is deprecated" (RFC 9864)
        return jws.serialize_compact(protected, json.dumps(claims), key, registry=registry)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64_json(value: Mapping[str, Any]) -> str:
    return b64(json.dumps(value).encode())


def unsigned(claims: Mapping[str, Any], *, kid: str | None = None, typ: str = "JWT") -> str:
    """``alg: none`` with an empty signature (the classic downgrade)."""
    header = {"alg": "none", "typ": typ} | ({"kid": kid} if kid else {})
    return f"{b64_json(header)}.{b64_json(claims)}."


def hs256_with_public_key(public_key: RSAKey, claims: Mapping[str, Any], *, kid: str | None) -> str:
    """HS256 MAC keyed with the issuer's PUBLIC key PEM (the algorithm-confusion attack)."""
    header = {"alg": "HS256", "typ": "JWT"} | ({"kid": kid} if kid else {})
    signing_input = f"{b64_json(header)}.{b64_json(claims)}"
    secret = public_key.as_pem(private=False)
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


def with_header(token: str, **changes: Any) -> str:
    """The same payload and signature under a modified header (the signature no longer fits)."""
    header_segment, payload, signature = token.split(".")
    header = json.loads(base64.urlsafe_b64decode(header_segment + "=" * (-len(header_segment) % 4)))
    header.update(changes)
    return f"{b64_json(header)}.{payload}.{signature}"
