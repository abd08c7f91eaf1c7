"""The web app's parts, assembled for :func:`eltiketi_app.app.create_app`.

One :class:`~litestar.Router` holds every page; only it runs the session and CSRF
middleware, so the REST API under ``/v1`` is untouched by cookies. Static files
(htmx, the stylesheet, the page script) are served from the package.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from litestar import Router
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import CacheControlHeader
from litestar.middleware.base import DefineMiddleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.static_files import create_static_files_router
from litestar.stores.base import Store
from litestar.template.config import TemplateConfig
from litestar.types import ControllerRouterHandler

from eltiketi_app.settings import Settings
from eltiketi_app.web.errors import page_exception_handlers
from eltiketi_app.web.keys import derived_key, web_secret
from eltiketi_app.web.pages import account, bookings, invitations, manage, orders, shop, tickets
from eltiketi_app.web.security import page_headers
from eltiketi_app.web.session import STORE_NAME, session_config, session_store
from eltiketi_app.web.templating import template_engine

STATIC_DIR = Path(__file__).parent / "static"
CSRF_COOKIE = "eltiketi_csrf"


@dataclass(frozen=True)
class Web:
    routes: list[ControllerRouterHandler]
    template_config: TemplateConfig  # type: ignore[type-arg]
    stores: dict[str, Store]


def build_web(settings: Settings) -> Web:
    """The pages for ``settings`` (the dev login only where dev tokens exist)."""
    https = settings.effective_public_url.startswith("https://")
    csrf = CSRFConfig(
        secret=derived_key(web_secret(settings), "csrf").hex(),
        cookie_name=CSRF_COOKIE,
        cookie_secure=https,
        cookie_httponly=True,
        cookie_samesite="lax",
    )
    if settings.uses_web_oidc_login:
        login = [account.oidc_login, account.oidc_callback]
    elif settings.uses_dev_issuer:
        login = [account.login_form, account.login_submit]
    else:
        login = [account.login_unavailable]
    pages = Router(
        path="/",
        route_handlers=[
            shop.home,
            shop.event_page,
            shop.availability,
            shop.reserve,
            bookings.booking_page,
            bookings.change_contact,
            bookings.pay,
            bookings.card_page,
            bookings.release,
            orders.orders_page,
            orders.order_page,
            orders.resend,
            orders.cancel_terms,
            orders.cancel,
            orders.calendar_file,
            tickets.ticket_link,
            *invitations.ROUTES,
            *manage.ROUTES,
            *login,
            account.logout,
            account.choose_language,
        ],
        middleware=[
            session_config(settings).middleware,
            DefineMiddleware(CSRFMiddleware, config=csrf),
        ],
        exception_handlers=page_exception_handlers(),
        response_headers=page_headers(settings),
        include_in_schema=False,
    )
    static = create_static_files_router(
        path="/static",
        directories=[STATIC_DIR],
        name="static",
        cache_control=CacheControlHeader(max_age=3600, public=True),
        include_in_schema=False,
    )
    return Web(
        routes=[pages, static],
        template_config=TemplateConfig(engine=template_engine()),
        stores={STORE_NAME: session_store(settings)},
    )
