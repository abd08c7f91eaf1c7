"""Dates at the venue in the buyer's locale (CLDR, as the shop); money with its currency's
minor unit."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from eltiketi_adapters.notify.formatting import (
    format_local_date,
    format_local_datetime,
    format_money,
)
from eltiketi_core.domain.money import Money

WINTER = datetime(2026, 3, 14, 18, 30, tzinfo=UTC)  # a Saturday
SUMMER = datetime(2026, 7, 4, 18, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "timezone", "locale", "expected"),
    [
        (WINTER, "Europe/Berlin", "de-DE", "Samstag, 14. März 2026, 19:30 CET"),
        (SUMMER, "Europe/Berlin", "de", "Samstag, 4. Juli 2026, 20:05 CEST"),
        (WINTER, "Europe/London", "en-GB", "Saturday, 14 March 2026, 18:30 GMT"),
        (WINTER, "America/New_York", "en-US", "Saturday, March 14, 2026, 2:30\u202fPM EDT"),
        (WINTER, "Europe/Paris", "fr_FR.UTF-8", "samedi 14 mars 2026, 19:30 CET"),
        (WINTER, "Africa/Nairobi", "sw-KE", "Jumamosi, 14 Machi 2026 21:30 EAT"),
        (WINTER, "America/Sao_Paulo", "pt-BR", "sábado, 14 de março de 2026 15:30 UTC-03:00"),
        (WINTER, "Europe/Amsterdam", "nl", "zaterdag 14 maart 2026, 19:30 CET"),
        (WINTER, "Europe/Rome", "it-IT", "sabato 14 marzo 2026 19:30 CET"),
        # any locale CLDR knows, not only those with templates
        (WINTER, "Asia/Tokyo", "ja-JP", "2026年3月15日日曜日 3:30 JST"),
        # unknown: British English, the shop's English
        (WINTER, "Asia/Tokyo", "xx-YY", "Sunday, 15 March 2026, 03:30 JST"),
        (WINTER, "Europe/London", "en-XX", "Saturday, 14 March 2026, 18:30 GMT"),
    ],
)
def test_event_start_is_wall_clock_time_at_the_venue(
    moment: datetime, timezone: str, locale: str, expected: str
) -> None:
    assert format_local_datetime(moment, timezone, locale) == expected


def test_midnight_and_noon_on_a_twelve_hour_clock() -> None:
    midnight = datetime(2026, 1, 1, 5, 0, tzinfo=UTC)
    noon = datetime(2026, 1, 1, 17, 0, tzinfo=UTC)

    assert "12:00\u202fAM" in format_local_datetime(midnight, "America/New_York", "en-US")
    assert "12:00\u202fPM" in format_local_datetime(noon, "America/New_York", "en-US")


def test_date_only_is_the_local_date() -> None:
    assert format_local_date(WINTER, "Pacific/Auckland", "en") == "15 March 2026"
    assert format_local_date(WINTER, "Europe/Madrid", "es") == "14 de marzo de 2026"


@pytest.mark.parametrize(
    ("money", "locale", "expected"),
    [
        (Money(123450, "EUR"), "en", "€1,234.50"),
        (Money(123450, "EUR"), "de-DE", "1.234,50\u00a0€"),
        (Money(123450, "EUR"), "de-AT", "€\u00a01.234,50"),
        (Money(13800, "EUR"), "nl", "€\u00a0138,00"),
        (Money(5, "USD"), "en-US", "$0.05"),
        (Money(1200, "JPY"), "en", "JP¥1,200"),
        (Money(1500, "KWD"), "en", "KWD1.500"),
        (Money(99900, "KES"), "sw-KE", "Ksh\u00a0999.00"),
        (Money(99900, "CHF"), "de", "999,00\u00a0CHF"),
        (Money(-250, "GBP"), "en", "-£2.50"),
    ],
)
def test_money_in_the_locale(money: Money, locale: str, expected: str) -> None:
    assert format_money(money, locale) == expected
