"""Stable refusal codes and the two domain errors the identity adapters raise.

Every refused token raises :class:`~eltiketi_core.errors.Unauthenticated` (HTTP 401) whose
``code`` names the failed check, so clients and logs can tell an expired token from a forged
one. Failures of the issuer itself (discovery, JWKS, introspection unreachable or answering
nonsense) raise :class:`~eltiketi_core.errors.GatewayUnavailable` (HTTP 503): the token may be
fine, retrying later may succeed.
"""

from __future__ import annotations

from typing import Final

from eltiketi_core.errors import GatewayUnavailable, Unauthenticated

INVALID_TOKEN: Final = "invalid_token"
"""Generic refusal (e.g. a required claim such as ``sub`` or ``exp`` is missing)."""
MALFORMED_TOKEN: Final = "malformed_token"
"""Not a compact JWS we can parse (or an opaque token while introspection is off)."""
UNSUPPORTED_ALGORITHM: Final = "unsupported_algorithm"
"""``alg`` outside the allow-list (``none``, HS*), or the key cannot be used with it."""
WRONG_TOKEN_TYPE: Final = "wrong_token_type"
"""``typ`` header missing or not an access token type (or Keycloak's payload ``typ`` is not Bearer)."""
UNKNOWN_KEY: Final = "unknown_key"
"""No key with the token's ``kid`` in the issuer's JWKS (after the rate-limited refetch)."""
BAD_SIGNATURE: Final = "bad_signature"
"""The signature does not verify with the issuer's key."""
WRONG_ISSUER: Final = "wrong_issuer"
WRONG_AUDIENCE: Final = "wrong_audience"
TOKEN_EXPIRED: Final = "token_expired"
TOKEN_NOT_YET_VALID: Final = "token_not_yet_valid"
"""``nbf`` (or ``iat``) is later than now plus the leeway."""
TOKEN_INACTIVE: Final = "token_inactive"
"""Introspection answered ``active: false`` (revoked, expired or unknown to the issuer)."""
ISSUER_UNAVAILABLE: Final = "identity_provider_unavailable"
"""Code of the :class:`GatewayUnavailable` raised when the issuer cannot be asked."""


def refused(code: str, detail: str) -> Unauthenticated:
    """A 401 with a stable ``code``; ``detail`` is for logs and developers, never secret."""
    return Unauthenticated(code, detail)


def issuer_unavailable(detail: str) -> GatewayUnavailable:
    """A 503: the identity provider could not be asked (down, slow, or misconfigured)."""
    return GatewayUnavailable(ISSUER_UNAVAILABLE, detail)
