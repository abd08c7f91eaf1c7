"""Dates and money in the buyer's locale, with Babel's CLDR formats (as the shop pages).

Any locale CLDR knows is honoured (``de-AT``, ``en-US``, ``sw-KE``…); a tag it does not
know, or none, falls back to British English, the shop's English. A bare ``en`` also means
``en-GB`` (day before month, 24-hour clock), as in the shop; ``en-US`` writes the month
first and a 12-hour clock. The event's **timezone** is always honoured: the wall-clock time
at the venue, followed by the zone's abbreviation from the tz database (``CET``, ``EDT``),
short and readable whatever the language of the surrounding text.

The web pages format with the same Babel calls (``eltiketi_app.web.i18n.Lang``); they may
not import adapters, so each side keeps its few lines of Babel rather than sharing them.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Final
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time, get_datetime_format
from babel.numbers import format_currency, get_currency_precision

from eltiketi_core.domain.money import Money

#: The locale of a tag CLDR does not know, and the region of a bare ``en`` (as the shop).
FALLBACK_LOCALE: Final = "en_GB"


@cache
def babel_locale(tag: str) -> Locale:
    """``de-AT``, ``de_AT.UTF-8`` and ``DE`` all parse; a region CLDR does not know falls
    back to its language, an unknown language to :data:`FALLBACK_LOCALE`."""
    whole = tag.partition(".")[0].replace("-", "_")
    language, _, rest = whole.partition("_")
    language = language.lower()
    bare = FALLBACK_LOCALE if language == "en" else language
    region = rest.partition("_")[0].upper()
    for candidate in (whole, f"{language}_{region}", bare) if region else (bare,):
        try:
            return Locale.parse(candidate)
        except (UnknownLocaleError, ValueError):
            continue
    return Locale.parse(FALLBACK_LOCALE)


def _zone_label(moment: datetime) -> str:
    """``CET``, ``EDT``… or ``UTC+03:00`` where the zone has no letters (tzdata writes ``+03``)."""
    name = moment.tzname() or ""
    if name and name[0] not in "+-":
        return name
    offset = moment.strftime("%z")
    return f"UTC{offset[:3]}:{offset[3:]}" if offset else "UTC"


def format_local_datetime(moment: datetime, timezone: str, locale: str) -> str:
    """``Saturday, 14 March 2026, 19:30 CET``: the shop's full date and short time at the
    venue, joined by the locale's own pattern, and the zone."""
    local = moment.astimezone(ZoneInfo(timezone))
    language = babel_locale(locale)
    text = (
        str(get_datetime_format("full", locale=language))
        .replace("{1}", format_date(local, "full", locale=language))
        .replace("{0}", format_time(local, "short", locale=language))
    )
    return f"{text} {_zone_label(local)}"


def format_local_date(moment: datetime, timezone: str, locale: str) -> str:
    """``14 March 2026``: the date at the venue, for short texts (SMS)."""
    local = moment.astimezone(ZoneInfo(timezone))
    return format_date(local, "long", locale=babel_locale(locale))


def format_money(money: Money, locale: str) -> str:
    """``€12.50`` (en), ``12,50 €`` (de), ``¥1,200`` (JPY has no minor unit): from integer
    minor units, with the currency's own number of decimals."""
    amount = Decimal(money.amount).scaleb(-get_currency_precision(money.currency))
    return format_currency(amount, money.currency, locale=babel_locale(locale))
