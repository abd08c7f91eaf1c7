"""The OIDC adapter's login types, for the pages' sign-in (:mod:`eltiketi_app.web.oidc_login`).

The web layer reaches adapters only through ``ioc`` (an import-linter contract): the
container builds the relying party (:class:`~eltiketi_app.ioc.web.OidcLoginProvider`),
and the login keeps the adapter's records of a login under way and of its tokens.
"""

from eltiketi_adapters.oidc import LoginTokens, OidcRelyingParty, PendingLogin

__all__ = ["LoginTokens", "OidcRelyingParty", "PendingLogin"]
