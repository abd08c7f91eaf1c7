"""Embedded only: the fake payment gateway behind the local pay page (``/dev/pay/{ref}``).

Registered only when no Stripe key is configured in embedded mode; in
production these types are not in the container at all.
"""

from __future__ import annotations

from dishka import Provider, Scope, alias, provide

from eltiketi_adapters.memory import FakePaymentGateway
from eltiketi_app.settings import Settings
from eltiketi_core.ports.payments import PaymentGateway

PAY_PAGE_PATH = "/dev/pay"


class FakeGatewayProvider(Provider):
    scope = Scope.APP

    @provide
    def fake_gateway(self, settings: Settings) -> FakePaymentGateway:
        return FakePaymentGateway(
            checkout_url_base=f"{settings.effective_public_url}{PAY_PAGE_PATH}/"
        )

    gateway = alias(source=FakePaymentGateway, provides=PaymentGateway)
