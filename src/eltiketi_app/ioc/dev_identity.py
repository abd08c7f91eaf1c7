"""Embedded only: the dev token issuer (registered only when no OIDC issuer is configured)."""

from __future__ import annotations

from dishka import Provider, Scope, provide

from eltiketi_adapters.devauth import DevTokenIssuer
from eltiketi_app.settings import Settings
from eltiketi_app.web.auth import DevTokens


class DevIssuerProvider(Provider):
    """``POST /dev/token`` mints with the data folder's key, as ``eltiketi dev-token`` does."""

    scope = Scope.APP

    @provide
    def issuer(self, settings: Settings) -> DevTokenIssuer:
        return DevTokenIssuer(settings.data_dir)

    @provide
    def dev_tokens(self, issuer: DevTokenIssuer) -> DevTokens:
        """The sign-in form's view of the issuer (the web layer names no adapter)."""
        return issuer
