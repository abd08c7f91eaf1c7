"""Money from integer minor units and dates at the venue, in the visitor's language."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from eltiketi_app.web.i18n import Languages, choose_language
from eltiketi_core.domain.money import Money

START = datetime(2026, 3, 14, 19, 0, tzinfo=UTC)  # 20:00 in Amsterdam (CET)


@pytest.mark.parametrize(
    ("header", "money", "expected"),
    [
        ("en-GB", Money(3500, "EUR"), "€35.00"),
        ("nl", Money(3500, "EUR"), "€\xa035,00"),
        ("nl", Money(123456, "EUR"), "€\xa01.234,56"),
        ("en-US", Money(1200, "JPY"), "¥1,200"),
        ("en-GB", Money(1500, "BHD"), "BHD1.500"),
        ("en-GB", Money(0, "EUR"), "€0.00"),
    ],
)
def test_money_from_minor_units(header: str, money: Money, expected: str) -> None:
    lang = Languages().for_request(None, header)

    assert lang.money(money) == expected


def test_dates_are_at_the_venue_in_the_visitors_language() -> None:
    english = Languages().for_request(None, "en-GB,en;q=0.8")
    dutch = Languages().for_request(None, "nl-NL,nl;q=0.9,en;q=0.5")
    american = Languages().for_request(None, "en-US")

    assert english.date(START, "Europe/Amsterdam") == "Saturday, 14 March 2026"
    assert english.time(START, "Europe/Amsterdam") == "20:00"
    assert dutch.date(START, "Europe/Amsterdam") == "zaterdag 14 maart 2026"
    assert dutch.time(START, "America/New_York") == "15:00"
    assert american.date(START, "Europe/Amsterdam") == "Saturday, March 14, 2026"
    assert american.time(START, "Europe/Amsterdam") == "8:00\u202fPM"


@pytest.mark.parametrize(
    ("cookie", "header", "language", "locale"),
    [
        (None, None, "en", "en_GB"),
        (None, "nl-BE,nl;q=0.9", "nl", "nl_BE"),
        (None, "de-DE,de;q=0.9,nl;q=0.5", "nl", "nl_NL"),
        (None, "fr, en-US;q=0.7", "en", "en_US"),
        ("nl", "en-US", "nl", "nl_NL"),
        ("xx", "nl", "nl", "nl_NL"),
        (None, "en;q=0, nl;q=0.1", "nl", "nl_NL"),
        (None, "garbage;;q=abc,,", "en", "en_GB"),
    ],
)
def test_the_language_is_the_choice_then_the_browser(
    cookie: str | None, header: str | None, language: str, locale: str
) -> None:
    chosen, babel_locale = choose_language(cookie, header)

    assert (chosen, str(babel_locale)) == (language, locale)
