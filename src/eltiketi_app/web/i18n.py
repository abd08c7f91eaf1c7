"""Languages of the pages: Babel catalogs, the visitor's choice, dates and money.

* **Catalogs** are the ``.po`` files in ``translations/``, compiled in memory when
  the app starts (a few milliseconds): no compiled ``.mo`` file is kept in the
  repository that could fall behind its ``.po``. ``tests/unit/web`` fails when a
  template or page string is missing from a catalog.
* **Which language**: the visitor's explicit choice (the language switch on every
  page, kept in the :data:`LANGUAGE_COOKIE`), else the best match of the browser's
  ``Accept-Language``, else English. The region of ``Accept-Language`` chooses the
  formats when it matches the language (``en-US`` writes March 14 and 8:00 PM).
* **Dates** are shown in the event's own timezone (the time printed on the
  ticket), **money** with Babel's currency formats from integer minor units,
  honouring currencies without (JPY) or with three (BHD) decimals.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import cache, cached_property
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import (
    format_date,
    format_datetime,
    format_time,
    get_datetime_format,
    get_timezone_location,
)
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal, get_currency_precision
from babel.support import NullTranslations, Translations

from eltiketi_core.domain.money import Money

#: The languages of the pages, the default first.
LANGUAGES: tuple[str, ...] = ("en", "nl")
DEFAULT_LANGUAGE = "en"
LANGUAGE_COOKIE = "eltiketi_lang"
#: The names of the languages in themselves (the switch shows these).
LANGUAGE_NAMES = {"en": "English", "nl": "Nederlands"}
#: Formats of a language when the browser names no region of it.
_DEFAULT_REGION = {"en": "en_GB", "nl": "nl_NL"}
MAX_ACCEPT_LANGUAGE = 512


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for marked strings
    """Marks a string for the catalog where it is defined; it is translated where shown."""
    return message


@cache
def load_catalogs() -> dict[str, NullTranslations]:
    """Every language's translations, compiled from its ``.po`` file (once per process)."""
    catalogs: dict[str, NullTranslations] = {DEFAULT_LANGUAGE: NullTranslations()}
    root = resources.files("eltiketi_app.web") / "translations"
    for language in LANGUAGES:
        if language == DEFAULT_LANGUAGE:
            continue
        po = root / language / "LC_MESSAGES" / "messages.po"
        with po.open("rb") as source:
            catalog = read_po(source, locale=language)
        compiled = io.BytesIO()
        write_mo(compiled, catalog, use_fuzzy=False)
        compiled.seek(0)
        catalogs[language] = Translations(compiled, domain="messages")
    return catalogs


def choose_language(cookie: str | None, accept_language: str | None) -> tuple[str, Locale]:
    """The page language and the locale its formats follow (see the module docstring)."""
    wanted = _parse_accept_language(accept_language)
    if cookie in LANGUAGES:
        language = cookie
    else:
        language = next(
            (tag.split("_")[0] for tag in wanted if tag.split("_")[0] in LANGUAGES),
            DEFAULT_LANGUAGE,
        )
    region = next((tag for tag in wanted if tag.split("_")[0] == language and "_" in tag), None)
    for candidate in (region, _DEFAULT_REGION[language]):
        if candidate is None:
            continue
        try:
            return language, Locale.parse(candidate)
        except (UnknownLocaleError, ValueError):
            continue
    return language, Locale.parse(language)  # pragma: no cover - the defaults parse


def preferred_language(header: str | None) -> str | None:
    """The language tag the browser prefers most (``nl-BE``), or None: what a booking made
    without an explicit ``locale`` stores for its e-tickets."""
    wanted = _parse_accept_language(header)
    return wanted[0].replace("_", "-") if wanted else None


def _parse_accept_language(header: str | None) -> list[str]:
    """Tags of ``Accept-Language`` by preference, as Babel writes them (``en_US``)."""
    if not header:
        return []
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header[:MAX_ACCEPT_LANGUAGE].split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        tag = tag.strip().replace("-", "_")
        if not tag or tag == "*" or quality <= 0:
            continue
        language, _, region = tag.partition("_")
        tag = f"{language.lower()}_{region.upper()}" if region else language.lower()
        ranked.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(ranked)]


@dataclass(frozen=True)
class Lang:
    """One request's language: translations and the formats of its locale."""

    code: str
    locale: Locale
    translations: NullTranslations = field(repr=False)

    def gettext(self, message: str) -> str:
        return self.translations.gettext(message)

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        return self.translations.ngettext(singular, plural, count)

    @cached_property
    def tag(self) -> str:
        """The ``lang`` attribute of the page (``en-GB``)."""
        return str(self.locale).replace("_", "-")

    def money(self, money: Money) -> str:
        """``€35.00`` (en), ``€ 35,00`` (nl), ``¥1,200`` (JPY has no minor unit)."""
        digits = get_currency_precision(money.currency)
        amount = Decimal(money.amount).scaleb(-digits)
        return format_currency(amount, money.currency, locale=self.locale)

    def number(self, value: int) -> str:
        return format_decimal(value, locale=self.locale)

    def date(self, moment: datetime, timezone: str) -> str:
        """``Saturday, 14 March 2026`` at the venue."""
        return format_date(moment.astimezone(ZoneInfo(timezone)), "full", locale=self.locale)

    def short_date(self, moment: datetime, timezone: str) -> str:
        """``14 Mar 2026`` at the venue."""
        return format_date(moment.astimezone(ZoneInfo(timezone)), "medium", locale=self.locale)

    def time(self, moment: datetime, timezone: str) -> str:
        """``20:00`` (``8:00 PM`` in en-US) at the venue."""
        return format_time(moment, "short", tzinfo=ZoneInfo(timezone), locale=self.locale)

    def moment(self, moment: datetime, timezone: str) -> str:
        """``14 Mar 2026, 20:00`` at the venue: :meth:`datetime` without the seconds, for
        lists of orders, payments and check-ins."""
        pattern = str(get_datetime_format("medium", locale=self.locale))
        return pattern.replace("{1}", self.short_date(moment, timezone)).replace(
            "{0}", self.time(moment, timezone)
        )

    def datetime(self, moment: datetime, timezone: str) -> str:
        """``14 Mar 2026, 20:00`` at the venue."""
        return format_datetime(moment, "medium", tzinfo=ZoneInfo(timezone), locale=self.locale)

    def zone(self, timezone: str) -> str:
        """``Netherlands Time``: whose clock the times are on."""
        return get_timezone_location(ZoneInfo(timezone), locale=self.locale)


class Languages:
    """Every catalog, loaded once; hands out a :class:`Lang` per request."""

    def __init__(self) -> None:
        self._catalogs = load_catalogs()
        self._cache: dict[tuple[str | None, str | None], Lang] = {}

    def for_request(self, cookie: str | None, accept_language: str | None) -> Lang:
        key = (cookie, accept_language)
        found = self._cache.get(key)
        if found is None:
            code, locale = choose_language(cookie, accept_language)
            found = Lang(code=code, locale=locale, translations=self._catalogs[code])
            if len(self._cache) < 1024:  # browsers send few distinct headers
                self._cache[key] = found
        return found


def language_of(request: Any, languages: Languages) -> Lang:
    """The language of a Litestar request: the switch's cookie, then ``Accept-Language``."""
    return languages.for_request(
        request.cookies.get(LANGUAGE_COOKIE), request.headers.get("accept-language")
    )
