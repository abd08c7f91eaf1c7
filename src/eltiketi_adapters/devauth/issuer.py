"""The embedded dev token issuer and its verifier (``POST /dev/token``, ``eltiketi dev-token``).

Tokens look like Keycloak access tokens (``realm_access.roles``, ``preferred_username``,
``azp``, ``aud``, payload ``typ: Bearer``, header ``typ: JWT``) and are checked by the very same
:class:`~eltiketi_adapters.oidc.JwtValidator` as production tokens, only with a static key
set instead of a JWKS URL. Their issuer is :data:`DEV_ISSUER`, deliberately not a URL: no real
OIDC issuer can have it, so an :class:`~eltiketi_adapters.oidc.OidcTokenVerifier` refuses
dev tokens (``wrong_issuer``) even before looking at the key.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

from joserfc import jwt

from eltiketi_adapters.devauth.keyfile import DEV_ALGORITHM, load_or_create_signing_key
from eltiketi_adapters.oidc import (
    JwtPolicy,
    JwtValidator,
    RoleMapping,
    StaticKeys,
    principal_from_claims,
)
from eltiketi_adapters.oidc.token_cache import VerifiedTokenCache
from eltiketi_adapters.system import SystemClock
from eltiketi_core.domain.identity import Principal, Role
from eltiketi_core.ports.clock import Clock

DEV_ISSUER: Final = "eltiketi-dev"
"""``iss`` of dev tokens. Not a URL on purpose: it can never be a real OIDC issuer."""
DEV_AUDIENCE: Final = "eltiketi-api"
"""``aud`` of dev tokens: the same audience the Keycloak example realm gives the API."""
DEV_CLIENT_ID: Final = "eltiketi-dev"
"""``azp`` of dev tokens (the party the token was issued to)."""
DEFAULT_TTL: Final = timedelta(hours=12)

_ROLES: Final = frozenset(role.value for role in Role)


class DevTokenIssuer:
    """Mint Keycloak-shaped access tokens with a local ES256 key (embedded mode only).

    The key is generated on first use and stored in ``data_dir`` (see
    :func:`~eltiketi_adapters.devauth.keyfile.load_or_create_signing_key`), so tokens survive
    restarts and every process of one installation agrees on them.

    Args:
        data_dir: The embedded data folder (``ELTIKETI_DATA_DIR``).
        issuer: ``iss`` of minted tokens.
        audience: ``aud`` of minted tokens.
        clock: Time source for ``iat``/``exp``.
    """

    def __init__(
        self,
        data_dir: Path | str,
        *,
        issuer: str = DEV_ISSUER,
        audience: str = DEV_AUDIENCE,
        clock: Clock | None = None,
    ) -> None:
        self._key = load_or_create_signing_key(Path(data_dir))
        self._issuer = issuer
        self._audience = audience
        self._clock = clock or SystemClock()

    @property
    def issuer(self) -> str:
        return self._issuer

    @property
    def audience(self) -> str:
        return self._audience

    @property
    def kid(self) -> str:
        return str(self._key.kid)  # the key file is refused without a kid

    def mint(
        self,
        sub: str,
        roles: Iterable[str | Role] = (),
        email: str | None = None,
        phone: str | None = None,
        ttl: timedelta = DEFAULT_TTL,
        *,
        username: str | None = None,
        email_verified: bool | None = None,
    ) -> str:
        """Return a signed access token for ``sub`` with realm ``roles``.

        A token with an ``email`` says it is verified (``email_verified: true``, as
        Keycloak does for a confirmed address) unless ``email_verified=False``: a dev
        user can then accept invitations sent to that address.

        Raises:
            ValueError: empty ``sub``, non-positive ``ttl``, or a role elTiketi does not know
                (a typo such as ``organiser`` would otherwise silently grant nothing).
        """
        if not sub:
            raise ValueError("sub must not be empty")
        if ttl <= timedelta(0):
            raise ValueError("ttl must be positive")
        role_names = sorted({str(role) for role in roles})
        unknown = [role for role in role_names if role not in _ROLES]
        if unknown:
            raise ValueError(f"unknown roles {unknown}; known: {sorted(_ROLES)}")
        issued_at = int(self._clock.now().timestamp())
        claims: dict[str, Any] = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": sub,
            "azp": DEV_CLIENT_ID,
            "typ": "Bearer",
            "jti": secrets.token_urlsafe(16),
            "iat": issued_at,
            "exp": issued_at + int(ttl.total_seconds()),
            "scope": "openid profile email",
            "preferred_username": username or sub,
            "realm_access": {"roles": role_names},
        }
        if email is not None:
            claims["email"] = email
            claims["email_verified"] = True if email_verified is None else email_verified
        if phone is not None:
            claims["phone_number"] = phone
        header = {"alg": DEV_ALGORITHM, "typ": "JWT", "kid": self.kid}
        return jwt.encode(header, claims, self._key, algorithms=[DEV_ALGORITHM])

    def jwks(self) -> dict[str, Any]:
        """The public key set (``{"keys": [...]}``) that verifies this issuer's tokens."""
        return {"keys": [self._key.as_dict(private=False)]}

    def verifier(self, *, leeway_seconds: float = 30.0) -> DevTokenVerifier:
        """A :class:`DevTokenVerifier` for this issuer's tokens, sharing its clock."""
        return DevTokenVerifier(
            self.jwks(),
            issuer=self._issuer,
            audience=self._audience,
            clock=self._clock,
            leeway_seconds=leeway_seconds,
        )


class DevTokenVerifier:
    """``TokenVerifier`` for dev tokens: the shared JWT validation over a static key set.

    Needs only the public ``jwks``, so it can verify tokens minted by another process of the
    same installation. Refusals raise ``Unauthenticated`` with the same codes as the OIDC
    verifier (``token_expired``, ``bad_signature``, ``wrong_issuer`` ...).
    """

    def __init__(
        self,
        jwks: Mapping[str, Any],
        *,
        issuer: str = DEV_ISSUER,
        audience: str = DEV_AUDIENCE,
        clock: Clock | None = None,
        leeway_seconds: float = 30.0,
    ) -> None:
        policy = JwtPolicy(
            issuer=issuer,
            audience=audience,
            algorithms=(DEV_ALGORITHM,),
            leeway_seconds=leeway_seconds,
        )
        keys = StaticKeys(jwks)
        self._validator = JwtValidator(policy, keys, clock)
        self._known = VerifiedTokenCache(keys, clock or SystemClock())
        self._roles = RoleMapping()

    async def verify(self, token: str) -> Principal:
        """Return the caller, or raise ``Unauthenticated`` (code names the failed check)."""
        principal = await self._known.principal(token)
        if principal is None:
            verified = await self._validator.validate_signed(token)
            principal = principal_from_claims(verified.claims, self._roles)
            self._known.remember(token, principal, verified)
        return principal
