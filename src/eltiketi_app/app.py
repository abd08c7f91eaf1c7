"""``create_app(settings)``: the Litestar application, its container and its lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import structlog
from dishka import AsyncContainer, Provider
from dishka.integrations.litestar import setup_dishka
from litestar import Litestar
from litestar.exceptions import NotFoundException
from litestar.types import ControllerRouterHandler, LifespanHook

from eltiketi_app.background.runner import Runner
from eltiketi_app.http import (
    bookings,
    buyer,
    checkins,
    event_admin,
    event_orders,
    event_reports,
    events,
    jobs,
    ops,
    orders,
    organizations,
    payments,
    stock,
    tickets,
)
from eltiketi_app.http.metrics_access import MetricsServer
from eltiketi_app.http.middleware import RequestContext
from eltiketi_app.http.openapi import (
    StrictStructSchemaPlugin,
    document_problems,
    openapi_config,
)
from eltiketi_app.http.options import complete_allow_headers
from eltiketi_app.http.problems import exception_handlers
from eltiketi_app.http.rate_limits import RateLimiter
from eltiketi_app.http.security import SecurityHeaders
from eltiketi_app.http.strict import strict_json_body
from eltiketi_app.ioc.container import make_container
from eltiketi_app.ioc.types import Notifiers, Persistence
from eltiketi_app.metrics import Metrics
from eltiketi_app.runtime.collector import freeze_startup_objects
from eltiketi_app.runtime.lag import LoopLagMonitor
from eltiketi_app.settings import Settings
from eltiketi_app.web.assembly import Web, build_web
from eltiketi_app.web.errors import not_found_page_or
from eltiketi_core.ports.identity import TokenVerifier
from eltiketi_core.ports.payments import PaymentGateway
from eltiketi_core.ports.tickets import TicketSigner

log = structlog.get_logger("eltiketi.app")

MAX_BODY_BYTES = 256 * 1024


def _routes(settings: Settings, web: Web) -> list[ControllerRouterHandler]:
    routes: list[ControllerRouterHandler] = [
        events.router,
        stock.router,
        event_admin.router,
        event_reports.router,
        event_orders.router,
        bookings.router,
        buyer.router,
        orders.router,
        tickets.router,
        tickets.links_router,
        checkins.router,
        jobs.router,
        organizations.router,
        organizations.invitations_router,
        payments.router,
        ops.router,
    ]
    routes += web.routes
    if not settings.serves_metrics_apart:
        routes.append(ops.metrics_router)
    if settings.is_embedded:
        if settings.uses_dev_issuer:
            from eltiketi_app.dev import token

            routes.append(token.router)
        if settings.uses_fake_gateway:
            from eltiketi_app.dev import pay

            routes.append(pay.router)
    return routes


async def _start(container: AsyncContainer, settings: Settings, background: bool) -> Runner:
    """Build every application-scoped part now, so a misconfiguration fails at start-up."""
    persistence = await container.get(Persistence)
    for part in (TokenVerifier, PaymentGateway, TicketSigner, Notifiers, RateLimiter):
        await container.get(part)  # type: ignore[call-overload]
    runtime = await container.get(Runner)
    if background:
        await runtime.start()
    log.info(
        "elTiketi started",
        mode=settings.mode.value,
        storage=persistence.kind,
        public_url=settings.effective_public_url,
        background=background and runtime.enabled,
    )
    return runtime


def create_app(
    settings: Settings,
    *,
    overrides: Sequence[Provider] = (),
    background: bool = True,
    on_startup: Sequence[LifespanHook] = (),
    freeze_gc: bool = False,
) -> Litestar:
    """The REST app for ``settings``.

    Args:
        settings: the configuration (see :class:`~eltiketi_app.settings.Settings`).
        overrides: dishka providers that replace the ones the settings choose (tests
            swap a gateway or a verifier this way instead of patching).
        background: start the background runner's loops in this process (relay, sweeper,
            notification retry, jobs, pruning); without it ``app.state.runtime.flush()``
            still relays on demand.
        on_startup: hooks run once the container is up (``serve --demo`` seeds with one).
        freeze_gc: once started, move the objects alive then out of the garbage
            collector's reach (:mod:`eltiketi_app.runtime.collector`); for server
            processes, not for tests that build many apps (frozen objects stay).
    """
    settings.check()
    metrics = Metrics()
    container = make_container(settings, overrides, metrics=metrics)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        runtime: Runner | None = None
        lag = LoopLagMonitor(metrics)
        metrics_server: MetricsServer | None = None
        try:
            if settings.metrics_port is not None:
                metrics_server = MetricsServer(
                    metrics, settings.host, settings.metrics_port, settings.metrics_token
                )
                metrics_server.start()
                app.state.metrics_server = metrics_server
            runtime = await _start(container, settings, background)
            app.state.runtime = runtime
            if freeze_gc:
                freeze_startup_objects()
            lag.start()
            yield
        finally:
            await lag.stop()
            if runtime is not None:
                await runtime.stop()
            await container.close()
            if metrics_server is not None:
                metrics_server.stop()
            log.info("elTiketi stopped")

    web = build_web(settings)
    handlers = exception_handlers()
    handlers[NotFoundException] = not_found_page_or(handlers[NotFoundException])
    app = Litestar(
        route_handlers=_routes(settings, web),
        exception_handlers=handlers,
        template_config=web.template_config,
        stores=web.stores,
        before_request=strict_json_body,
        openapi_config=openapi_config(),
        plugins=[StrictStructSchemaPlugin()],
        lifespan=[lifespan],
        on_startup=list(on_startup),
        logging_config=None,
        request_max_body_size=MAX_BODY_BYTES,
        debug=False,
    )
    setup_dishka(container, app)
    document_problems(app)
    complete_allow_headers(app)
    app.state.settings = settings
    app.state.container = container
    app.asgi_handler = RequestContext(
        SecurityHeaders(app.asgi_handler, https=settings.uses_https), metrics
    )
    return app
