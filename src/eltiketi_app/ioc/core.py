"""The core, wired: the ``Ticketing`` facade and the event-view cache (the bus and the
background runner are in :mod:`eltiketi_app.ioc.background`)."""

from __future__ import annotations

import os
import secrets
import socket

from dishka import Provider, Scope, provide

from eltiketi_app.http.availability_cache import (
    EventViewCache,
    PublicEvents,
    build_event_view_cache,
)
from eltiketi_app.ioc.types import Notifiers, Persistence
from eltiketi_app.metrics import Metrics
from eltiketi_app.settings import Settings
from eltiketi_core.ports.clock import Clock, IdGenerator
from eltiketi_core.ports.contact import ContactNormaliser
from eltiketi_core.ports.payments import PaymentGateway
from eltiketi_core.ports.tickets import TicketSigner
from eltiketi_core.usecases import Policy, Ticketing
from eltiketi_core.usecases.catalog import Catalog
from eltiketi_core.usecases.reservation import Batching


class CoreProvider(Provider):
    scope = Scope.APP

    @provide
    def policy(self, settings: Settings) -> Policy:
        return settings.policy()

    @provide
    def contacts(self, settings: Settings) -> ContactNormaliser:
        """email-validator and phonenumbers. Embedded mode also takes ``.test``
        addresses (RFC 6761) for local try-outs; production refuses them."""
        from eltiketi_adapters.contact import StrictContactNormaliser

        return StrictContactNormaliser(
            allow_test_domains=settings.is_embedded, default_region=settings.phone_region
        )

    @provide
    def ticketing(
        self,
        *,
        persistence: Persistence,
        clock: Clock,
        ids: IdGenerator,
        gateway: PaymentGateway,
        signer: TicketSigner,
        notifiers: Notifiers,
        policy: Policy,
        contacts: ContactNormaliser,
        metrics: Metrics,
    ) -> Ticketing:
        ticketing = Ticketing(
            uow=persistence.uow,
            clock=clock,
            ids=ids,
            gateway=gateway,
            signer=signer,
            notifiers=notifiers.channels,
            policy=policy,
            runner_name=runner_name(),
            contacts=contacts,
            batching=Batching(per_event=not persistence.serialises_writes),
        )
        ticketing.bookings.batcher.on_batch = metrics.hold_batch_size.observe
        return ticketing

    @provide
    def event_views(self, settings: Settings, persistence: Persistence) -> EventViewCache:
        """One cache of public event views per app, cleared by this process's commits."""
        return build_event_view_cache(settings, persistence)

    @provide
    def public_events(self, catalog: Catalog, cache: EventViewCache) -> PublicEvents:
        return PublicEvents(catalog, cache)


def runner_name() -> str:
    """This process's name in job leases: host, pid and a random part (several apps
    in one process, as in tests, are several runners)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
