"""JWT access-token validation shared by the OIDC verifier and the embedded dev issuer.

One code path decides whether a signed token is acceptable, whatever holds the keys: the OIDC
verifier resolves keys from the issuer's JWKS (:class:`~eltiketi_adapters.oidc.jwks.JwksCache`),
the dev issuer from its own static key set (:class:`StaticKeys`).

The checks run cheapest and least trusting first, so a forged or foreign token is refused
before it can cause any network traffic:

1. shape: three base64url parts, JSON objects, at most :data:`MAX_TOKEN_LENGTH` characters;
2. ``alg`` in the allow-list (never ``none``, never HS*: a public key is not a shared secret);
3. ``typ`` header is ``JWT`` or ``at+jwt`` (``application/`` prefix and case ignored);
   a token without ``typ`` is refused — Keycloak always sets ``JWT``, RFC 9068 ``at+jwt``;
4. ``iss`` equals the configured issuer (read before the signature is checked, only to refuse
   early: a token from another issuer never triggers a JWKS refetch);
5. the key named by ``kid`` exists, its ``kty`` (and curve) fit ``alg``, its ``use``/``alg``
   members (if any) allow it;
6. the signature verifies (joserfc);
7. claims: ``sub`` present, ``iss`` exact, ``aud`` contains the audience (or ``azp`` equals it
   when ``accept_azp``), ``exp`` present and not passed, ``nbf`` and ``iat`` not in the future —
   all with ``leeway_seconds``; Keycloak's payload ``typ``, when present, must be ``Bearer`` (so
   ID and refresh tokens are refused as bearer tokens).
"""

from __future__ import annotations

import base64
import binascii
import json
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Protocol

import msgspec
from joserfc import jws
from joserfc.errors import BadSignatureError, JoseError, SecurityWarning
from joserfc.jwk import JWKRegistry, Key
from joserfc.jws import JWSRegistry

from eltiketi_adapters.oidc.errors import (
    BAD_SIGNATURE,
    INVALID_TOKEN,
    MALFORMED_TOKEN,
    TOKEN_EXPIRED,
    TOKEN_NOT_YET_VALID,
    UNKNOWN_KEY,
    UNSUPPORTED_ALGORITHM,
    WRONG_AUDIENCE,
    WRONG_ISSUER,
    WRONG_TOKEN_TYPE,
    refused,
)
from eltiketi_adapters.system import SystemClock
from eltiketi_core.ports.clock import Clock

MAX_TOKEN_LENGTH: Final = 64 * 1024
"""Longer bearer tokens are refused unparsed (Keycloak tokens with many roles stay far below)."""

DEFAULT_ALGORITHMS: Final[tuple[str, ...]] = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "ES256",
    "ES384",
    "EdDSA",
    "Ed25519",
)
"""Asymmetric algorithms accepted by default. ``Ed25519`` is RFC 9864's name for EdDSA/Ed25519."""

DEFAULT_TOKEN_TYPES: Final = frozenset({"jwt", "at+jwt"})
"""Accepted ``typ`` header values, lower case, without the ``application/`` prefix."""

KEYCLOAK_BEARER_TYPE: Final = "bearer"

# alg -> (required kty, allowed curves or None for "no curve")
_KEY_REQUIREMENTS: Final[Mapping[str, tuple[str, frozenset[str] | None]]] = {
    "RS256": ("RSA", None),
    "RS384": ("RSA", None),
    "RS512": ("RSA", None),
    "PS256": ("RSA", None),
    "PS384": ("RSA", None),
    "PS512": ("RSA", None),
    "ES256": ("EC", frozenset({"P-256"})),
    "ES384": ("EC", frozenset({"P-384"})),
    "ES512": ("EC", frozenset({"P-521"})),
    "EdDSA": ("OKP", frozenset({"Ed25519", "Ed448"})),
    "Ed25519": ("OKP", frozenset({"Ed25519"})),
    "Ed448": ("OKP", frozenset({"Ed448"})),
}
SUPPORTED_ALGORITHMS: Final = frozenset(_KEY_REQUIREMENTS)
"""Every algorithm that may appear in an allow-list: asymmetric signatures only."""


def check_algorithm_allow_list(algorithms: Iterable[str]) -> tuple[str, ...]:
    """Return ``algorithms`` as a tuple, or raise ``ValueError`` for ``none``, HS* or unknowns.

    Configuration errors are programming/operator errors, so they are ``ValueError`` at start-up,
    not 401s at request time.
    """
    chosen = tuple(algorithms)
    if not chosen:
        raise ValueError("allowed_algorithms must not be empty")
    bad = [alg for alg in chosen if alg not in SUPPORTED_ALGORITHMS]
    if bad:
        raise ValueError(
            f"algorithms {bad} are not allowed: only asymmetric signatures "
            f"({', '.join(sorted(SUPPORTED_ALGORITHMS))}); never 'none' or HS*"
        )
    return chosen


class JwtPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """What an acceptable access token looks like, independent of where the keys come from."""

    issuer: str
    audience: str
    accept_azp: bool = False
    """Also accept tokens whose ``azp`` equals ``audience`` (Keycloak tokens without an audience
    mapper carry ``aud: account`` and the client id in ``azp``)."""
    algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS
    leeway_seconds: float = 30.0
    token_types: frozenset[str] = DEFAULT_TOKEN_TYPES

    def __post_init__(self) -> None:
        if not self.issuer:
            raise ValueError("issuer must not be empty")
        if not self.audience:
            raise ValueError("audience must not be empty")
        check_algorithm_allow_list(self.algorithms)
        if self.leeway_seconds < 0:
            raise ValueError("leeway_seconds must not be negative")


class KeyResolver(Protocol):
    """Where the validator finds the public key for a ``kid``."""

    async def key_for(self, kid: str) -> Key:
        """Return the key, or raise ``Unauthenticated("unknown_key")``.

        May raise ``GatewayUnavailable`` when the key list cannot be fetched.
        """
        ...


def import_signing_keys(jwks: Mapping[str, Any]) -> dict[str, Key]:
    """Public signing keys of a JWK set, by ``kid``.

    Skipped: keys without ``kid``, encryption keys (``use: enc``), symmetric keys, keys joserfc
    cannot import. Private members, should an issuer publish them, are dropped.
    """
    keys: dict[str, Key] = {}
    entries = jwks.get("keys")
    if not isinstance(entries, list):
        raise ValueError("a JWK set needs a 'keys' list")
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        kid, kty = entry.get("kid"), entry.get("kty")
        if not isinstance(kid, str) or not kid or entry.get("use", "sig") != "sig":
            continue
        if kty not in {"RSA", "EC", "OKP"}:
            continue
        try:
            key = JWKRegistry.import_key(entry)
            if key.is_private:
                key = JWKRegistry.import_key(key.as_dict(private=False))
        except (JoseError, ValueError, TypeError):
            continue
        keys[kid] = key
    return keys


class StaticKeys:
    """A fixed key set (the dev issuer's, or a test's): no network, nothing to refetch."""

    def __init__(self, jwks: Mapping[str, Any]) -> None:
        self._keys = import_signing_keys(jwks)

    async def key_for(self, kid: str) -> Key:
        key = self._keys.get(kid)
        if key is None:
            raise refused(UNKNOWN_KEY, "no key with this kid")
        return key


@dataclass(frozen=True, slots=True)
class UnverifiedJwt:
    """A parsed compact JWS whose signature has NOT been checked yet."""

    header: dict[str, Any]
    claims: dict[str, Any]


def looks_like_jwt(token: str) -> bool:
    """True for the compact JWS shape: three dot-separated parts.

    Anything else is an opaque token (introspection) or refused as malformed. A three-part
    token that does not decode is refused as a malformed JWT, never sent to introspection.
    """
    return token.count(".") == 2


def parse_unverified(token: str) -> UnverifiedJwt:
    """Split and decode a compact JWS without trusting it; refuse anything that is not one."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise refused(MALFORMED_TOKEN, "empty or oversized token")
    parts = token.split(".")
    if len(parts) != 3 or not parts[0] or not parts[1]:
        # An empty signature is left to the algorithm check: "alg: none" is named as such.
        raise refused(MALFORMED_TOKEN, "not a compact JWS (three dot-separated parts)")
    try:
        header, claims = _b64_json(parts[0]), _b64_json(parts[1])
    except ValueError as exc:
        raise refused(MALFORMED_TOKEN, f"undecodable token: {exc}") from exc
    return UnverifiedJwt(header=header, claims=claims)


def _b64_json(segment: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise ValueError("a segment is not base64url-encoded JSON") from exc
    if not isinstance(value, dict):
        raise ValueError("a segment is not a JSON object")
    return value


def check_algorithm(header: Mapping[str, Any], policy: JwtPolicy) -> str:
    """The token's ``alg`` if the policy allows it."""
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in policy.algorithms:
        raise refused(UNSUPPORTED_ALGORITHM, f"alg {alg!r} is not accepted")
    return alg


def check_token_type(header: Mapping[str, Any], policy: JwtPolicy) -> None:
    typ = header.get("typ")
    if not isinstance(typ, str):
        raise refused(WRONG_TOKEN_TYPE, "the token header has no typ")
    normalised = typ.lower().removeprefix("application/")
    if normalised not in policy.token_types:
        raise refused(WRONG_TOKEN_TYPE, f"typ {typ!r} is not an access token type")


def check_issuer(claims: Mapping[str, Any], policy: JwtPolicy, *, required: bool = True) -> None:
    issuer = claims.get("iss")
    if issuer is None and not required:
        return
    if issuer != policy.issuer:
        raise refused(WRONG_ISSUER, f"iss {issuer!r} is not {policy.issuer!r}")


def check_key_fits(key: Key, alg: str) -> None:
    """The key's type, curve and declared use/alg must allow ``alg`` (no RSA key as HMAC secret)."""
    kty, curves = _KEY_REQUIREMENTS[alg]
    if key.key_type != kty:
        raise refused(UNSUPPORTED_ALGORITHM, f"alg {alg} cannot be used with a {key.key_type} key")
    if curves is not None and getattr(key, "curve_name", None) not in curves:
        raise refused(UNSUPPORTED_ALGORITHM, f"alg {alg} does not fit the key's curve")
    declared_alg, use = key.get("alg"), key.get("use")
    if (declared_alg and declared_alg != alg) or (use and use != "sig"):
        raise refused(UNSUPPORTED_ALGORITHM, f"the key is not meant for {alg} signatures")


def verify_signature(token: str, key: Key, alg: str) -> dict[str, Any]:
    """Check the signature with joserfc and return the claims exactly as signed."""
    registry = JWSRegistry(algorithms=[alg], strict_check_header=False)
    try:
        with warnings.catch_warnings():
            # joserfc warns that "EdDSA" is deprecated by RFC 9864; the allow-list decides.
            warnings.simplefilter("ignore", SecurityWarning)
            verified = jws.deserialize_compact(token, key, registry=registry)
    except BadSignatureError as exc:
        raise refused(BAD_SIGNATURE, "the signature does not verify") from exc
    except JoseError as exc:
        raise refused(MALFORMED_TOKEN, f"the token cannot be verified: {exc.error}") from exc
    try:
        claims = json.loads(verified.payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise refused(MALFORMED_TOKEN, "the payload is not JSON") from exc
    if not isinstance(claims, dict):
        raise refused(MALFORMED_TOKEN, "the payload is not a JSON object")
    return claims


def _numeric(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise refused(MALFORMED_TOKEN, f"claim {name} is not a number")
    return float(value)


def check_audience(claims: Mapping[str, Any], policy: JwtPolicy) -> None:
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience
    if isinstance(audiences, list) and policy.audience in audiences:
        return
    if policy.accept_azp and claims.get("azp") == policy.audience:
        return
    raise refused(WRONG_AUDIENCE, f"the token is not meant for {policy.audience!r}")


def check_claims(
    claims: Mapping[str, Any],
    policy: JwtPolicy,
    now: datetime,
    *,
    require_issuer: bool = True,
    require_expiry: bool = True,
) -> None:
    """Registered-claim checks shared by local JWT validation and introspection answers.

    Introspection answers may omit ``iss`` and ``exp`` (RFC 7662 makes them optional); when
    present they are checked exactly like a JWT's.
    """
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise refused(INVALID_TOKEN, "the token has no subject (sub)")
    check_issuer(claims, policy, required=require_issuer)
    check_audience(claims, policy)
    instant, leeway = now.timestamp(), policy.leeway_seconds
    expires = _numeric(claims, "exp")
    if expires is None:
        if require_expiry:
            raise refused(INVALID_TOKEN, "the token has no expiry (exp)")
    elif instant > expires + leeway:
        raise refused(TOKEN_EXPIRED, "the token has expired")
    not_before = _numeric(claims, "nbf")
    if not_before is not None and instant + leeway < not_before:
        raise refused(TOKEN_NOT_YET_VALID, "the token is not valid yet (nbf)")
    issued_at = _numeric(claims, "iat")
    if issued_at is not None and instant + leeway < issued_at:
        raise refused(TOKEN_NOT_YET_VALID, "the token was issued in the future (iat)")
    keycloak_type = claims.get("typ")
    if keycloak_type is not None and (
        not isinstance(keycloak_type, str) or keycloak_type.lower() != KEYCLOAK_BEARER_TYPE
    ):
        raise refused(WRONG_TOKEN_TYPE, f"a {keycloak_type!r} token is not an access token")


@dataclass(frozen=True, slots=True)
class VerifiedJwt:
    """A token whose signature and claims were checked, with the key that checked it.

    The key lets a cache of verified tokens notice a rotation (see
    :mod:`eltiketi_adapters.oidc.token_cache`).
    """

    claims: dict[str, Any]
    kid: str
    key: Key


class JwtValidator:
    """Validate compact JWS access tokens against a :class:`JwtPolicy` and a key source.

    Stateless apart from the key source: the verifiers remember verified tokens themselves
    (:class:`~eltiketi_adapters.oidc.token_cache.VerifiedTokenCache`). Safe to share
    between concurrent requests.
    """

    def __init__(self, policy: JwtPolicy, keys: KeyResolver, clock: Clock | None = None) -> None:
        self._policy = policy
        self._keys = keys
        self._clock = clock or SystemClock()

    @property
    def policy(self) -> JwtPolicy:
        return self._policy

    async def validate(self, token: str) -> dict[str, Any]:
        """Return the verified claims, or raise ``Unauthenticated`` with the failed check's code."""
        return (await self.validate_signed(token)).claims

    async def validate_signed(self, token: str) -> VerifiedJwt:
        """:meth:`validate`, also naming the key that checked the signature."""
        unverified = parse_unverified(token)
        alg = check_algorithm(unverified.header, self._policy)
        check_token_type(unverified.header, self._policy)
        check_issuer(unverified.claims, self._policy)
        kid = unverified.header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise refused(UNKNOWN_KEY, "the token header names no key (kid)")
        key = await self._keys.key_for(kid)
        check_key_fits(key, alg)
        claims = verify_signature(token, key, alg)
        check_claims(claims, self._policy, self._clock.now())
        return VerifiedJwt(claims=claims, kid=kid, key=key)
