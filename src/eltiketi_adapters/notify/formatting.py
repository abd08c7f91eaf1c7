"""Dates and money in the event's locale, without Babel.

A deliberately small table: the languages below get their own month and weekday names,
date order and separators; any other locale falls back to English. The event's **timezone**
is always honoured (the wall-clock time at the venue, with its abbreviation), whatever the
language. Adding a language is adding one ``_Language`` entry with what differs from the
defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

from eltiketi_core.domain.money import Money


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


@dataclass(frozen=True, slots=True)
class _Language:
    """A language's names and patterns; the defaults are the pattern most of continental
    Europe shares, so an entry states only what differs."""

    weekdays: tuple[str, ...]  # Monday first, as datetime.weekday()
    months: tuple[str, ...]
    #: ``str.format`` pattern over weekday, day, month, year, time
    date_time: str = "{weekday} {day} {month} {year}, {time}"
    date: str = "{day} {month} {year}"
    decimal: str = ","
    group: str = "."
    #: ``str.format`` pattern over amount and symbol
    money: str = "{amount}\u00a0{symbol}"


_EN: Final = _Language(
    weekdays=_words("Monday Tuesday Wednesday Thursday Friday Saturday Sunday"),
    months=_words(
        "January February March April May June July August September October November December"
    ),
    date_time="{weekday}, {day} {month} {year}, {time}",
    decimal=".",
    group=",",
    money="{symbol}{amount}",
)

_LANGUAGES: Final[dict[str, _Language]] = {
    "en": _EN,
    "de": _Language(
        weekdays=_words("Montag Dienstag Mittwoch Donnerstag Freitag Samstag Sonntag"),
        months=_words(
            "Januar Februar März April Mai Juni Juli August September Oktober November Dezember"
        ),
        date_time="{weekday}, {day}. {month} {year}, {time} Uhr",
        date="{day}. {month} {year}",
    ),
    "fr": _Language(
        weekdays=_words("lundi mardi mercredi jeudi vendredi samedi dimanche"),
        months=_words(
            "janvier février mars avril mai juin juillet août septembre octobre novembre décembre"
        ),
        date_time="{weekday} {day} {month} {year} à {time}",
        group="\u202f",
    ),
    "es": _Language(
        weekdays=_words("lunes martes miércoles jueves viernes sábado domingo"),
        months=_words(
            "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre"
        ),
        date_time="{weekday}, {day} de {month} de {year}, {time}",
        date="{day} de {month} de {year}",
    ),
    "it": _Language(
        weekdays=_words("lunedì martedì mercoledì giovedì venerdì sabato domenica"),
        months=_words(
            "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre"
        ),
        date_time="{weekday} {day} {month} {year}, ore {time}",
    ),
    "nl": _Language(
        weekdays=_words("maandag dinsdag woensdag donderdag vrijdag zaterdag zondag"),
        months=_words(
            "januari februari maart april mei juni juli augustus september oktober november december"
        ),
        money="{symbol}\u00a0{amount}",
    ),
    "pt": _Language(
        weekdays=_words(
            "segunda-feira terça-feira quarta-feira quinta-feira sexta-feira sábado domingo"
        ),
        months=_words(
            "janeiro fevereiro março abril maio junho julho agosto setembro outubro novembro dezembro"
        ),
        date_time="{weekday}, {day} de {month} de {year}, {time}",
        date="{day} de {month} de {year}",
    ),
    "sw": _Language(
        weekdays=_words("Jumatatu Jumanne Jumatano Alhamisi Ijumaa Jumamosi Jumapili"),
        months=_words(
            "Januari Februari Machi Aprili Mei Juni Julai Agosti Septemba Oktoba Novemba Desemba"
        ),
        date_time="{weekday}, {day} {month} {year}, {time}",
        decimal=".",
        group=",",
        money="{symbol}\u00a0{amount}",
    ),
}

#: US English: month before day and a 12-hour clock.
_EN_US: Final = _Language(
    weekdays=_EN.weekdays,
    months=_EN.months,
    date_time="{weekday}, {month} {day}, {year}, {time}",
    date="{month} {day}, {year}",
    decimal=".",
    group=",",
    money="{symbol}{amount}",
)

#: ISO 4217 currencies whose minor unit is not a hundredth.
_MINOR_DIGITS: Final = {
    **dict.fromkeys(_words("BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF"), 0),
    **dict.fromkeys(_words("BHD IQD JOD KWD LYD OMR TND"), 3),
}
_SYMBOLS: Final = {"EUR": "€", "GBP": "£", "USD": "$", "JPY": "¥", "INR": "₹"}


def _language(locale: str) -> _Language:
    """``de-AT``, ``de_AT.UTF-8`` and ``DE`` all mean German; unknown means English."""
    tag = locale.replace("_", "-").split(".")[0].lower()
    if tag in {"en-us", "en-ph"}:
        return _EN_US
    return _LANGUAGES.get(tag.split("-")[0], _EN)


def _clock(moment: datetime, language: _Language) -> str:
    if language is _EN_US:
        hour = moment.hour % 12 or 12
        return f"{hour}:{moment.minute:02d}\u202f{'AM' if moment.hour < 12 else 'PM'}"
    return f"{moment.hour:02d}:{moment.minute:02d}"


def _zone_label(moment: datetime) -> str:
    """``CET``, ``EDT``… or ``UTC+03:00`` where the zone has no letters (tzdata writes ``+03``)."""
    name = moment.tzname() or ""
    if name and name[0] not in "+-":
        return name
    offset = moment.strftime("%z")
    return f"UTC{offset[:3]}:{offset[3:]}" if offset else "UTC"


def format_local_datetime(moment: datetime, timezone: str, locale: str) -> str:
    """``Saturday, 14 March 2026, 19:30 CET``: wall-clock time at the venue, in its language."""
    local = moment.astimezone(ZoneInfo(timezone))
    language = _language(locale)
    text = language.date_time.format(
        weekday=language.weekdays[local.weekday()],
        day=local.day,
        month=language.months[local.month - 1],
        year=local.year,
        time=_clock(local, language),
    )
    return f"{text} {_zone_label(local)}"


def format_local_date(moment: datetime, timezone: str, locale: str) -> str:
    """``14 March 2026``: the date at the venue, for short texts (SMS)."""
    local = moment.astimezone(ZoneInfo(timezone))
    language = _language(locale)
    return language.date.format(
        day=local.day, month=language.months[local.month - 1], year=local.year
    )


def format_money(money: Money, locale: str) -> str:
    """``€12.50`` (en), ``12,50 €`` (de), ``¥1,200`` (en, JPY has no minor unit)."""
    language = _language(locale)
    digits = _MINOR_DIGITS.get(money.currency, 2)
    sign = "-" if money.amount < 0 else ""
    whole, minor = divmod(abs(money.amount), 10**digits)
    grouped = f"{whole:,}".replace(",", language.group)
    amount = f"{grouped}{language.decimal}{minor:0{digits}d}" if digits else grouped
    symbol = _SYMBOLS.get(money.currency)
    if symbol is not None:
        return sign + language.money.format(amount=amount, symbol=symbol)
    # An ISO code reads better with a space, whatever the language.
    if language.money.startswith("{symbol}"):
        return f"{sign}{money.currency}\u00a0{amount}"
    return f"{sign}{amount}\u00a0{money.currency}"
