"""Embedded-only parts: the fake payment gateway and the dev token issuer.

This module is imported, and its provider registered, only in embedded mode
(see :mod:`eltiketi_app.ioc.container`): in production these types are not in
the container at all.
"""

from __future__ import annotations

from dishka import Provider, Scope, alias, provide

from eltiketi_adapters.devauth import DevTokenIssuer
from eltiketi_adapters.memory import FakePaymentGateway
from eltiketi_app.settings import Settings
from eltiketi_core.ports.payments import PaymentGateway

PAY_PAGE_PATH = "/dev/pay"


class DevIssuerProvider(Provider):
    """``POST /dev/token`` and ``eltiketi dev-token`` mint with the data folder's key."""

    scope = Scope.APP

    @provide
    def issuer(self, settings: Settings) -> DevTokenIssuer:
        return DevTokenIssuer(settings.data_dir)


class FakeGatewayProvider(Provider):
    """Payments on a local page (``/dev/pay/{reference}``) instead of a provider."""

    scope = Scope.APP

    @provide
    def fake_gateway(self, settings: Settings) -> FakePaymentGateway:
        return FakePaymentGateway(
            checkout_url_base=f"{settings.effective_public_url}{PAY_PAGE_PATH}/"
        )

    gateway = alias(source=FakePaymentGateway, provides=PaymentGateway)
