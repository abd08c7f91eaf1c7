"""OIDC (Keycloak) identity: JWT validation via JWKS, RFC 7662 introspection, Keycloak roles.

Public API::

    config = OidcConfig(issuer="https://sso.example.com/realms/eltiketi", audience="eltiketi-api")
    verifier = OidcTokenVerifier(config)          # one per app (dishka APP scope)
    principal = await verifier.verify(token)      # Unauthenticated / GatewayUnavailable
    await verifier.aclose()

    # the web pages' sign-in (authorization code + PKCE, refresh, RP-initiated logout)
    party = OidcRelyingParty(WebClientConfig(issuer=..., client_id="eltiketi-shop"))

The JWT checks live in :mod:`eltiketi_adapters.oidc.jwt_validation` and are shared with the
embedded dev issuer (``eltiketi_adapters.devauth``) through :class:`JwtValidator`,
:class:`JwtPolicy` and :class:`StaticKeys`. Needs the ``[oidc]`` extra (or its alias ``[keycloak]``: joserfc, httpx, authlib).
"""

from eltiketi_adapters.oidc.config import IntrospectionMode, OidcConfig, RoleMapping
from eltiketi_adapters.oidc.errors import (
    BAD_SIGNATURE,
    INVALID_TOKEN,
    ISSUER_UNAVAILABLE,
    MALFORMED_TOKEN,
    TOKEN_EXPIRED,
    TOKEN_INACTIVE,
    TOKEN_NOT_YET_VALID,
    UNKNOWN_KEY,
    UNSUPPORTED_ALGORITHM,
    WRONG_AUDIENCE,
    WRONG_ISSUER,
    WRONG_TOKEN_TYPE,
)
from eltiketi_adapters.oidc.jwks import JwksCache
from eltiketi_adapters.oidc.jwt_validation import (
    DEFAULT_ALGORITHMS,
    DEFAULT_TOKEN_TYPES,
    JwtPolicy,
    JwtValidator,
    KeyResolver,
    StaticKeys,
)
from eltiketi_adapters.oidc.login import (
    LOGIN_REFUSED,
    LoginTokens,
    OidcRelyingParty,
    PendingLogin,
    WebClientConfig,
)
from eltiketi_adapters.oidc.principal import principal_from_claims
from eltiketi_adapters.oidc.verifier import OidcTokenVerifier

__all__ = [
    "BAD_SIGNATURE",
    "DEFAULT_ALGORITHMS",
    "DEFAULT_TOKEN_TYPES",
    "INVALID_TOKEN",
    "ISSUER_UNAVAILABLE",
    "LOGIN_REFUSED",
    "MALFORMED_TOKEN",
    "TOKEN_EXPIRED",
    "TOKEN_INACTIVE",
    "TOKEN_NOT_YET_VALID",
    "UNKNOWN_KEY",
    "UNSUPPORTED_ALGORITHM",
    "WRONG_AUDIENCE",
    "WRONG_ISSUER",
    "WRONG_TOKEN_TYPE",
    "IntrospectionMode",
    "JwksCache",
    "JwtPolicy",
    "JwtValidator",
    "KeyResolver",
    "LoginTokens",
    "OidcConfig",
    "OidcRelyingParty",
    "OidcTokenVerifier",
    "PendingLogin",
    "RoleMapping",
    "StaticKeys",
    "WebClientConfig",
    "principal_from_claims",
]
