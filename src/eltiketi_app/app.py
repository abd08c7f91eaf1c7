"""``create_app(settings)``: the Litestar application, its container and its lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version

import structlog
from dishka import AsyncContainer, Provider
from dishka.integrations.litestar import setup_dishka
from litestar import Litestar
from litestar.exceptions import NotFoundException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.types import ControllerRouterHandler, LifespanHook

from eltiketi_app.http import (
    bookings,
    buyer,
    checkins,
    events,
    jobs,
    ops,
    orders,
    payments,
    stock,
    tickets,
)
from eltiketi_app.http.middleware import RequestContext
from eltiketi_app.http.problems import exception_handlers
from eltiketi_app.http.rate_limits import RateLimiter
from eltiketi_app.http.strict import strict_json_body
from eltiketi_app.ioc.container import make_container
from eltiketi_app.ioc.types import Notifiers, Persistence
from eltiketi_app.metrics import Metrics
from eltiketi_app.runtime.collector import freeze_startup_objects
from eltiketi_app.runtime.lag import LoopLagMonitor
from eltiketi_app.runtime.loops import Runtime
from eltiketi_app.settings import Settings
from eltiketi_app.web.assembly import Web, build_web
from eltiketi_app.web.errors import not_found_page_or
from eltiketi_core.ports.identity import TokenVerifier
from eltiketi_core.ports.payments import PaymentGateway
from eltiketi_core.ports.tickets import TicketSigner

log = structlog.get_logger("eltiketi.app")

MAX_BODY_BYTES = 256 * 1024


def _version() -> str:
    try:
        return version("eltiketi")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.0.0"


def _openapi() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="elTiketi",
        version=_version(),
        description="Ticketing that does not oversell. Errors are RFC 9457 problem details "
        "with a stable `code`; money is `{amount, currency}` in minor units.",
        path="/schema",
        components=Components(
            security_schemes={
                "bearer": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")
            }
        ),
    )


def _routes(settings: Settings, web: Web) -> list[ControllerRouterHandler]:
    routes: list[ControllerRouterHandler] = [
        events.router,
        stock.router,
        bookings.router,
        buyer.router,
        orders.router,
        tickets.router,
        checkins.router,
        jobs.router,
        payments.router,
        ops.router,
    ]
    routes += web.routes
    if settings.is_embedded:
        if settings.uses_dev_issuer:
            from eltiketi_app.dev import token

            routes.append(token.router)
        if settings.uses_fake_gateway:
            from eltiketi_app.dev import pay

            routes.append(pay.router)
    return routes


async def _start(container: AsyncContainer, settings: Settings, background: bool) -> Runtime:
    """Build every application-scoped part now, so a misconfiguration fails at start-up."""
    persistence = await container.get(Persistence)
    for part in (TokenVerifier, PaymentGateway, TicketSigner, Notifiers, RateLimiter):
        await container.get(part)  # type: ignore[call-overload]
    runtime = await container.get(Runtime)
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
        background: run the relay, sweeper, retry and pruning loops in this process.
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
        runtime: Runtime | None = None
        lag = LoopLagMonitor(metrics)
        try:
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
        openapi_config=_openapi(),
        lifespan=[lifespan],
        on_startup=list(on_startup),
        logging_config=None,
        request_max_body_size=MAX_BODY_BYTES,
        debug=False,
    )
    setup_dishka(container, app)
    app.state.settings = settings
    app.state.container = container
    app.asgi_handler = RequestContext(app.asgi_handler, metrics)
    return app
