"""The embedded dev token issuer: local ES256 key, Keycloak-shaped tokens, same JWT checks.

Embedded mode only (``POST /dev/token``, ``eltiketi dev-token``); production uses
``eltiketi_adapters.oidc``. Verification goes through the OIDC adapter's shared
:class:`~eltiketi_adapters.oidc.JwtValidator` with a static key set.
"""

from eltiketi_adapters.devauth.issuer import (
    DEFAULT_TTL,
    DEV_AUDIENCE,
    DEV_CLIENT_ID,
    DEV_ISSUER,
    DevTokenIssuer,
    DevTokenVerifier,
)
from eltiketi_adapters.devauth.keyfile import KEY_FILE_NAME, load_or_create_signing_key

__all__ = [
    "DEFAULT_TTL",
    "DEV_AUDIENCE",
    "DEV_CLIENT_ID",
    "DEV_ISSUER",
    "KEY_FILE_NAME",
    "DevTokenIssuer",
    "DevTokenVerifier",
    "load_or_create_signing_key",
]
