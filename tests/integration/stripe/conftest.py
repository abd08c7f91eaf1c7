"""Fixtures for the Stripe gateway tests: localstripe (from ``tests.infra``) and a gateway on it.

The root ``tests/conftest.py`` registers ``tests.infra.fixtures`` as a plugin; register it here
only when it has not (running this folder on its own), never twice.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from eltiketi_adapters.stripe import StripeConfig, StripePaymentGateway
from tests.infra.stripe import StripeServer

_PLUGIN = "tests.infra.fixtures"
WEBHOOK_SECRET = "whsec_eltiketi_gateway_tests"


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin(_PLUGIN):
        config.pluginmanager.import_plugin(_PLUGIN)


def localstripe_config(server: StripeServer, **overrides: object) -> StripeConfig:
    """A gateway configuration pointing at localstripe (``api_base`` is for tests only)."""
    settings: dict[str, object] = {
        "api_key": server.api_key,
        "webhook_secret": WEBHOOK_SECRET,
        "api_base": server.api_base,
        "public_url": "http://127.0.0.1:8000",
        "max_network_retries": 0,
        "timeout": 10.0,
        **overrides,
    }
    return StripeConfig(**settings)  # type: ignore[arg-type]


@pytest.fixture
async def gateway(stripe_server: StripeServer) -> AsyncIterator[StripePaymentGateway]:
    """The real gateway, with the real SDK, talking to localstripe."""
    async with StripePaymentGateway(localstripe_config(stripe_server)) as gateway:
        yield gateway
