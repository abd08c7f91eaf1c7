"""The back office's small pieces: reading typed prices, dates and numbers, and the chart's
layout — presentation only, every rule stays the core's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from eltiketi_app.web.i18n import Languages
from eltiketi_app.web.pages.manage.dashboard import CHART_HEIGHT, chart, ticks
from eltiketi_app.web.pages.manage.forms import Form, local_input, price_input
from eltiketi_core.domain.money import Money
from eltiketi_core.usecases.dashboard import HourCount

EN = Languages().for_request("en", "en-GB")
NL = Languages().for_request("nl", None)


def read_price(typed: str, currency: str = "EUR") -> tuple[Money | None, list[str]]:
    form = Form({"price": typed}, EN)
    return form.money("price", currency), [e.text for e in form.errors]


def test_prices_are_read_as_people_type_them_in_minor_units() -> None:
    assert read_price("12.50") == (Money(1250, "EUR"), [])
    assert read_price("12,5") == (Money(1250, "EUR"), [])
    assert read_price(" 0 ", "JPY") == (Money(0, "JPY"), [])
    wrong = ["Enter a price such as 12.50, without the currency sign"]
    assert read_price("1,234.50") == (None, wrong)  # no grouping separators: not guessed
    assert read_price("3.999") == (None, wrong)  # a tenth of a cent
    assert read_price("") == (None, ["Enter a price, 0 for free tickets"])


def test_a_price_is_shown_back_in_the_visitors_decimal_separator() -> None:
    assert price_input(Money(2950, "EUR"), EN) == "29.50"
    assert price_input(Money(2950, "EUR"), NL) == "29,50"
    assert price_input(Money(1200, "JPY"), EN) == "1200"


def test_a_local_date_and_time_is_read_at_the_venue() -> None:
    zone = ZoneInfo("Europe/Amsterdam")
    form = Form({"at": "2031-06-01T19:30", "bad": "tomorrow", "none": ""}, EN)

    at = form.moment("at", zone, required=True)

    assert at is not None and at.astimezone(UTC) == datetime(2031, 6, 1, 17, 30, tzinfo=UTC)
    assert local_input(at, "Europe/Amsterdam") == "2031-06-01T19:30"
    assert form.moment("none", zone, required=False) is None
    assert form.moment("bad", zone, required=False) is None
    assert [e.field for e in form.errors] == ["bad"]


def test_the_chart_scales_to_the_busiest_hour_and_labels_every_six_hours() -> None:
    start = datetime(2031, 6, 1, 0, tzinfo=UTC)
    hours = tuple(HourCount(hour=start + timedelta(hours=n), orders=n % 5) for n in range(24))

    bars = chart(hours, "UTC", EN)

    assert len(bars) == 24
    tallest = max(bars, key=lambda b: b.height)
    assert tallest.orders == 4 and tallest.y + tallest.height == CHART_HEIGHT
    assert all(b.height == 0 for b in bars if b.orders == 0)
    assert bars[3].label == "3 orders · 03:00"
    assert ticks(bars) == ["00:00", "06:00", "12:00", "18:00", "23:00"]
    assert chart((), "UTC", EN) == [] and ticks([]) == []
