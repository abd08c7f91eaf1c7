"""The back office in the browser (``/manage``): organizations and their teams, events and
ticket types, the live dashboard, orders and refunds, attendees and their CSV.

Built on the shop's web layer (layout, sign-in, sessions, CSRF, languages) and on the
same use cases as the REST API, called in-process: the pages are not a second source of
rules. The door scanner is not here (a later piece of work).
"""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

from eltiketi_app.web.pages.manage import attendees, dashboard, events, orders, team

ROUTES: list[ControllerRouterHandler] = [
    *team.ROUTES,
    *events.ROUTES,
    *dashboard.ROUTES,
    *orders.ROUTES,
    *attendees.ROUTES,
]
