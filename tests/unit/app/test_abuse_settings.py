"""The abuse-limit settings: contacts, the re-hold cool-down, rate limits, trusted proxies."""

from __future__ import annotations

from datetime import timedelta

import pytest
from limits import parse_many

from eltiketi_app.http.rate_limits import Action, RateLimits
from eltiketi_app.settings import Settings, SettingsError
from tests.unit.app.test_settings import PRODUCTION


def test_the_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.phone_region is None
    assert (settings.rehold_limit, settings.rehold_window_seconds) == (2, 3600)
    assert settings.rehold_cooldown_seconds == 900
    assert settings.rate_limit_redis_url is None
    assert settings.rate_limit_enabled
    assert settings.rate_limit_key_prefix == "eltiketi"
    limits = RateLimits.from_settings(settings)
    for action in (Action.HOLD, Action.RELEASE, Action.PAYMENT):
        assert limits.per_account[action] == tuple(parse_many("30/minute;300/hour"))
    assert limits.per_account[Action.RESEND] == tuple(parse_many("5/minute;30/hour"))
    assert limits.per_address == tuple(parse_many("600/minute"))
    assert settings.trusted_proxies == ()


def test_every_variable_is_read_and_reaches_what_it_sets() -> None:
    settings = Settings.from_env(
        {
            "ELTIKETI_PHONE_REGION": "de",
            "ELTIKETI_REHOLD_LIMIT": "3",
            "ELTIKETI_REHOLD_WINDOW_SECONDS": "7200",
            "ELTIKETI_REHOLD_COOLDOWN_SECONDS": "600",
            "ELTIKETI_RATE_LIMIT_REDIS_URL": "rediss://:pw@redis.internal:6380/2",
            "ELTIKETI_RATE_LIMIT_ENABLED": "true",
            "ELTIKETI_RATE_LIMIT_KEY_PREFIX": "shop-a",
            "ELTIKETI_RATE_LIMIT_HOLD": "5/minute",
            "ELTIKETI_RATE_LIMIT_RELEASE": "6/minute",
            "ELTIKETI_RATE_LIMIT_PAYMENT": "off",
            "ELTIKETI_RATE_LIMIT_RESEND": "1/minute;2/hour",
            "ELTIKETI_RATE_LIMIT_PER_ADDRESS": "OFF",
            "ELTIKETI_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.1 ,2001:db8::/32,",
        }
    )
    assert settings.phone_region == "DE"
    policy = settings.policy()
    assert (policy.rehold_limit, policy.rehold_window, policy.rehold_cooldown) == (
        3,
        timedelta(hours=2),
        timedelta(minutes=10),
    )
    assert settings.rate_limit_redis_url == "rediss://:pw@redis.internal:6380/2"
    assert settings.rate_limit_key_prefix == "shop-a"
    limits = RateLimits.from_settings(settings)
    assert limits.per_account == {
        Action.HOLD: tuple(parse_many("5/minute")),
        Action.RELEASE: tuple(parse_many("6/minute")),
        Action.PAYMENT: (),
        Action.RESEND: tuple(parse_many("1/minute;2/hour")),
    }
    assert limits.per_address == ()
    assert settings.trusted_proxies == ("10.0.0.0/8", "192.0.2.1/32", "2001:db8::/32")
    assert ":pw@" not in str(settings.redacted())


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ELTIKETI_PHONE_REGION", "Germany"),
        ("ELTIKETI_REHOLD_LIMIT", "-1"),
        ("ELTIKETI_REHOLD_WINDOW_SECONDS", "0"),
        ("ELTIKETI_RATE_LIMIT_REDIS_URL", "http://redis:6379"),
        ("ELTIKETI_RATE_LIMIT_ENABLED", "sometimes"),
        ("ELTIKETI_RATE_LIMIT_HOLD", "lots"),
        ("ELTIKETI_RATE_LIMIT_PER_ADDRESS", "10 per fortnight"),
        ("ELTIKETI_TRUSTED_PROXIES", "10.0.0.0/8, the-balancer"),
    ],
)
def test_a_bad_value_names_its_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({name: value})
    assert name in str(caught.value)


def test_production_needs_redis_for_limits_shared_by_replicas() -> None:
    without_redis = {k: v for k, v in PRODUCTION.items() if k != "ELTIKETI_RATE_LIMIT_REDIS_URL"}
    with pytest.raises(SettingsError, match="ELTIKETI_RATE_LIMIT_REDIS_URL"):
        Settings.from_env(without_redis)
    settings = Settings.from_env({**without_redis, "ELTIKETI_RATE_LIMIT_ENABLED": "false"})
    assert not settings.rate_limit_enabled
    assert RateLimits.from_settings(settings) == RateLimits()
