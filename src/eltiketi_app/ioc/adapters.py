"""Providers of the ports whose adapter depends on the settings.

Every adapter package is imported inside the factory that uses it, so an
embedded process never imports Stripe or the OIDC client, and a missing
optional dependency is reported for the part that needs it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from dishka import Provider, Scope, from_context, provide

from eltiketi_app.ioc.types import Notifiers, QrRenderer
from eltiketi_app.metrics import Metrics
from eltiketi_app.settings import Settings
from eltiketi_core.ports.clock import Clock, IdGenerator
from eltiketi_core.ports.identity import TokenVerifier
from eltiketi_core.ports.payments import PaymentGateway
from eltiketi_core.ports.tickets import TicketSigner


class BasicsProvider(Provider):
    """Settings, time, ids and metrics: the same in every mode."""

    scope = Scope.APP

    settings = from_context(provides=Settings, scope=Scope.APP)
    metrics = from_context(provides=Metrics, scope=Scope.APP)

    @provide
    def clock(self) -> Clock:
        from eltiketi_adapters.system import SystemClock

        return SystemClock()

    @provide
    def ids(self) -> IdGenerator:
        from eltiketi_adapters.memory import TimeOrderedIds

        return TimeOrderedIds()


class TicketsProvider(Provider):
    """Ticket signing keys (configured, or generated once in the data folder) and QR images."""

    scope = Scope.APP

    @provide
    def signer(self, settings: Settings) -> TicketSigner:
        from eltiketi_adapters.tickets import JoseTicketSigner, TicketKeySet

        if settings.ticket_keys is not None:
            keys = TicketKeySet.from_json(settings.ticket_keys)
        else:
            keys = TicketKeySet.load_or_create(settings.data_dir)
        return JoseTicketSigner(keys)

    @provide
    def qr(self) -> QrRenderer:
        from eltiketi_adapters.tickets import render_qr_png, render_qr_svg

        return QrRenderer(png=render_qr_png, svg=render_qr_svg)


class NotifiersProvider(Provider):
    """E-mail and SMS: real providers when configured, files in the data folder otherwise."""

    scope = Scope.APP

    @provide
    async def notifiers(self, settings: Settings, qr: QrRenderer) -> AsyncIterator[Notifiers]:
        from eltiketi_app.ioc import channels

        async with channels.open_notifiers(settings) as notifiers:
            yield notifiers


class IdentityProvider(Provider):
    """Bearer tokens: the OIDC issuer when configured, else the embedded dev issuer."""

    scope = Scope.APP

    @provide
    async def verifier(self, settings: Settings) -> AsyncIterator[TokenVerifier]:
        if settings.oidc_issuer is None:
            from eltiketi_adapters.devauth import DevTokenIssuer

            yield DevTokenIssuer(settings.data_dir).verifier()
            return
        from eltiketi_adapters.oidc import IntrospectionMode, OidcConfig, OidcTokenVerifier
        from eltiketi_app.ioc import identity

        config = OidcConfig(
            issuer=settings.oidc_issuer,
            audience=settings.oidc_audience or "",
            introspection=IntrospectionMode(settings.oidc_introspection.value),
            client_id=settings.oidc_client_id,
            client_secret=settings.oidc_client_secret,
            introspection_cache_ttl_seconds=settings.oidc_cache_seconds,
            jwks_min_refetch_interval_seconds=settings.oidc_jwks_min_refetch_seconds,
        )
        verifier = OidcTokenVerifier(config)
        try:
            async with identity.prefetched(verifier, settings):
                yield verifier
        finally:
            await verifier.aclose()


class StripeProvider(Provider):
    """Stripe, when ``ELTIKETI_STRIPE_API_KEY`` is set."""

    scope = Scope.APP

    @provide
    async def gateway(self, settings: Settings) -> AsyncIterator[PaymentGateway]:
        from eltiketi_adapters.stripe import StripeConfig, StripePaymentGateway

        config = StripeConfig(
            api_key=settings.stripe_api_key or "",
            webhook_secret=settings.stripe_webhook_secret or "",
            mode=settings.stripe_mode.value,
            public_url=settings.effective_public_url,
            api_base=settings.stripe_api_base,
        )
        gateway = StripePaymentGateway(config)
        try:
            yield gateway
        finally:
            await gateway.aclose()
