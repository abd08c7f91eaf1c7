"""Embedded only: the fake payment gateway behind the local pay page (``/dev/pay/{ref}``).

Registered only when no Stripe key is configured in embedded mode; in
production these types are not in the container at all.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

from dishka import Provider, Scope, alias, provide

from eltiketi_adapters.fakepay import SharedFakePaymentGateway
from eltiketi_adapters.memory import FakePaymentGateway
from eltiketi_app.settings import Settings
from eltiketi_core.ports.payments import PaymentGateway

STATE_FILE = "fake-payments.json"


class FakeGatewayProvider(Provider):
    scope = Scope.APP

    @provide
    def fake_gateway(self, settings: Settings) -> Iterator[FakePaymentGateway]:
        """Payments survive a restart exactly when the database does (not with ``memory://``).

        The webhook secret is random per process: the pay page is the only sender.
        At shutdown the shared gateway is closed, which compacts its journal file.
        """
        public_url, secret = settings.effective_public_url, secrets.token_hex(16)
        if settings.uses_memory_database:
            yield FakePaymentGateway(public_url=public_url, webhook_secret=secret)
            return
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        with SharedFakePaymentGateway(
            state_file=settings.data_dir / STATE_FILE, public_url=public_url, webhook_secret=secret
        ) as gateway:
            yield gateway

    gateway = alias(source=FakePaymentGateway, provides=PaymentGateway)
