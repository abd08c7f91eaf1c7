"""Assembling the container: providers chosen by the settings, overrides last."""

from __future__ import annotations

from collections.abc import Sequence

from dishka import AsyncContainer, Provider, make_async_container

from eltiketi_app.ioc.adapters import (
    BasicsProvider,
    IdentityProvider,
    NotifiersProvider,
    StripeProvider,
    TicketsProvider,
)
from eltiketi_app.ioc.background import InProcessBusProvider, KafkaApiProvider
from eltiketi_app.ioc.core import CoreProvider
from eltiketi_app.ioc.persistence import PersistenceProvider
from eltiketi_app.ioc.rate_limits import RateLimitProvider
from eltiketi_app.ioc.request import RequestProvider
from eltiketi_app.ioc.usecases import UseCaseProvider
from eltiketi_app.ioc.web import DevLoginProvider, OidcLoginProvider, WebProvider
from eltiketi_app.metrics import Metrics
from eltiketi_app.settings import Settings


def providers_for(settings: Settings) -> list[Provider]:
    """The providers this configuration needs, in override order (later wins)."""
    chosen: list[Provider] = [
        BasicsProvider(),
        PersistenceProvider(),
        TicketsProvider(),
        NotifiersProvider(),
        IdentityProvider(),
        CoreProvider(),
        UseCaseProvider(),
        RateLimitProvider(),
        RequestProvider(),
        WebProvider(),
    ]
    if settings.kafka_bootstrap is not None:
        # The handlers, relay and sweeper run in `eltiketi worker` processes.
        chosen.append(KafkaApiProvider())
    else:
        chosen.append(InProcessBusProvider())
    if settings.is_embedded:
        if settings.uses_dev_issuer:
            from eltiketi_app.ioc.dev_identity import DevIssuerProvider

            chosen.append(DevIssuerProvider())
            chosen.append(DevLoginProvider())
        if settings.uses_fake_gateway:
            from eltiketi_app.ioc.dev_payments import FakeGatewayProvider

            chosen.append(FakeGatewayProvider())
    if settings.uses_web_oidc_login:
        chosen.append(OidcLoginProvider())
    if settings.stripe_api_key is not None:
        chosen.append(StripeProvider())
    return chosen


def make_container(
    settings: Settings, overrides: Sequence[Provider] = (), *, metrics: Metrics | None = None
) -> AsyncContainer:
    """The app's container; ``overrides`` (tests) replace whatever they provide."""
    return make_async_container(
        *providers_for(settings),
        *overrides,
        context={Settings: settings, Metrics: metrics or Metrics()},
    )
