"""An event's dashboard: capacity, held, sold and available per ticket type, money, check-ins
and a small chart of orders per hour — live while a sale runs (htmx polls the figures every
two seconds; the page works without JavaScript, it just does not move).

One read use case (:meth:`~eltiketi_core.usecases.dashboard.Dashboards.for_event`, the same as
``GET /v1/events/{id}/dashboard``): no lock, no write, so an open dashboard never makes a
buyer wait. The chart is an SVG drawn here, no chart library.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from dishka.integrations.litestar import FromDishka, inject
from litestar import get
from litestar.params import FromPath
from litestar.response import Template

from eltiketi_app.web.i18n import Lang
from eltiketi_app.web.pages.manage.common import (
    PHASE_BADGES,
    PHASE_NAMES,
    ManageScreen,
)
from eltiketi_core.domain.catalog import EventPhase
from eltiketi_core.usecases.dashboard import Dashboards, EventDashboard, HourCount

#: Hours the chart covers (the API's default window).
CHART_HOURS = 24
#: Seconds between looks at the figures.
POLL_SECONDS = 2
#: The chart's drawing box (the SVG scales to its container).
CHART_WIDTH = 480
CHART_HEIGHT = 100
#: A label under every this many hours.
LABEL_EVERY = 6


class Bar(msgspec.Struct, frozen=True, kw_only=True):
    """One hour of the chart, already laid out: position, height and what it says."""

    x: float
    y: float
    width: float
    height: float
    orders: int
    at: str
    label: str


def chart(hours: tuple[HourCount, ...], timezone: str, lang: Lang) -> list[Bar]:
    """The bars of the orders-per-hour chart, scaled to the busiest hour. The SVG holds the
    bars only (it stretches to its box); the hours under it are HTML (:func:`ticks`)."""
    busiest = max((h.orders for h in hours), default=0) or 1
    slot = CHART_WIDTH / max(len(hours), 1)
    bars = []
    for index, hour in enumerate(hours):
        height = round(hour.orders / busiest * (CHART_HEIGHT - 4), 1)
        at = lang.time(hour.hour, timezone)
        orders = lang.ngettext("%(num)d order", "%(num)d orders", hour.orders)
        bars.append(
            Bar(
                x=round(index * slot + slot * 0.15, 1),
                y=round(CHART_HEIGHT - height, 1),
                width=round(slot * 0.7, 1),
                height=height,
                orders=hour.orders,
                at=at,
                label=f"{orders % {'num': hour.orders}} · {at}",
            )
        )
    return bars


def ticks(bars: list[Bar]) -> list[str]:
    """The hours written under the chart, evenly spread: every :data:`LABEL_EVERY` hours
    from the first, and the current hour at the right edge."""
    if not bars:
        return []
    return [bar.at for bar in bars[:-1:LABEL_EVERY]] + [bars[-1].at]


def dashboard_context(dashboard: EventDashboard, lang: Lang) -> dict[str, Any]:
    event = dashboard.event
    bars = chart(dashboard.orders_per_hour, event.timezone, lang)
    return {
        "dashboard": dashboard,
        "phase_name": lang.gettext(PHASE_NAMES[dashboard.phase]),
        "badge": PHASE_BADGES[dashboard.phase],
        "gross": lang.money(dashboard.gross),
        "refunded": lang.money(dashboard.refunded),
        "net": lang.money(dashboard.net),
        "bars": bars,
        "ticks": ticks(bars),
        "chart_width": CHART_WIDTH,
        "chart_height": CHART_HEIGHT,
        "as_of": lang.time(dashboard.as_of, event.timezone),
        "poll_seconds": POLL_SECONDS,
        "total_orders_chart": sum(h.orders for h in dashboard.orders_per_hour),
        "busiest_label": lang.gettext("Busiest hour: %(num)s")
        % {"num": lang.number(max((h.orders for h in dashboard.orders_per_hour), default=0))},
        # a cancelled event or a draft does not move; a past one does (check-ins)
        "live": dashboard.phase not in {EventPhase.DRAFT, EventPhase.CANCELLED},
    }


@get("/manage/events/{event_id:uuid}/dashboard", name="manage:dashboard")
@inject
async def dashboard_page(
    *,
    event_id: FromPath[UUID],
    dashboards: FromDishka[Dashboards],
    screen: FromDishka[ManageScreen],
) -> Template:
    principal = screen.principal()
    place = await screen.place(event_id)
    dashboard = await dashboards.for_event(principal, event_id, hours=CHART_HOURS)
    return screen.render(
        "manage/dashboard.html",
        title=screen.lang.gettext("Dashboard"),
        place=place,
        tab="dashboard",
        **dashboard_context(dashboard, screen.lang),
    )


@get("/manage/events/{event_id:uuid}/dashboard/live", name="manage:dashboard-live")
@inject
async def dashboard_live(
    *,
    event_id: FromPath[UUID],
    dashboards: FromDishka[Dashboards],
    screen: FromDishka[ManageScreen],
) -> Template:
    """The figures alone, for htmx to swap in every :data:`POLL_SECONDS` seconds."""
    principal = screen.principal(f"/manage/events/{event_id}/dashboard")
    dashboard = await dashboards.for_event(principal, event_id, hours=CHART_HOURS)
    return screen.fragment("manage/_dashboard.html", **dashboard_context(dashboard, screen.lang))


ROUTES = [dashboard_page, dashboard_live]
