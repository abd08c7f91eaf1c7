"""Embedded only: the dev token issuer (registered only when no OIDC issuer is configured)."""

from __future__ import annotations

from dishka import Provider, Scope, provide

from eltiketi_adapters.devauth import DevTokenIssuer
from eltiketi_app.settings import Settings


class DevIssuerProvider(Provider):
    """``POST /dev/token`` mints with the data folder's key, as ``eltiketi dev-token`` does."""

    scope = Scope.APP

    @provide
    def issuer(self, settings: Settings) -> DevTokenIssuer:
        return DevTokenIssuer(settings.data_dir)
