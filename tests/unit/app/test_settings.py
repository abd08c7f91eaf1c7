"""The operator's contract: ELTIKETI_* parsing, defaults, and refusals that name the variable."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from eltiketi_app.settings import (
    Introspection,
    Mode,
    Settings,
    SettingsError,
    StripeMode,
)

PRODUCTION = {
    "ELTIKETI_MODE": "production",
    "ELTIKETI_PUBLIC_URL": "https://tickets.example.com",
    "ELTIKETI_DATABASE_URL": "postgresql+asyncpg://u:secret@db/eltiketi",
    "ELTIKETI_KAFKA_BOOTSTRAP": "kafka:9092",
    "ELTIKETI_OIDC_ISSUER": "https://sso.example.com/realms/eltiketi",
    "ELTIKETI_OIDC_AUDIENCE": "eltiketi-api",
    "ELTIKETI_STRIPE_API_KEY": "sk_test_123",
    "ELTIKETI_STRIPE_WEBHOOK_SECRET": "whsec_123",
    "ELTIKETI_SMTP_URL": "smtp://mailer:pw@smtp.example.com:587?starttls=true",
    "ELTIKETI_MAIL_FROM": "elTiketi <tickets@example.com>",
    "ELTIKETI_TICKET_KEYS": '{"keys": []}',
    "ELTIKETI_WEB_SECRET": "w" * 40,
    "ELTIKETI_METRICS_TOKEN": "a-long-random-metrics-token",
    "ELTIKETI_RATE_LIMIT_REDIS_URL": "redis://:r3dis@redis.internal:6379/0",
    "ELTIKETI_OIDC_WEB_CLIENT_ID": "eltiketi-shop",
    "ELTIKETI_WEB_SESSION_STORE": "redis://redis:6379/0",
    "ELTIKETI_STRIPE_PUBLISHABLE_KEY": "pk_test_123",
}


def test_no_configuration_means_embedded_defaults() -> None:
    settings = Settings.from_env({})

    assert settings.mode is Mode.EMBEDDED
    assert settings.data_dir == Path(".eltiketi")
    assert settings.host == "127.0.0.1"
    assert settings.effective_public_url == "http://127.0.0.1:8000"
    assert settings.uses_dev_issuer
    assert settings.uses_fake_gateway
    policy = settings.policy()
    assert policy.hold_ttl == timedelta(seconds=900)
    assert policy.max_tickets_per_buyer == 10
    assert policy.cancel_cutoff == timedelta(hours=24)
    assert settings.sweep_interval_seconds == 5


def test_every_variable_is_read() -> None:
    settings = Settings.from_env(
        {
            **PRODUCTION,
            "ELTIKETI_DATA_DIR": "/var/lib/eltiketi",
            "ELTIKETI_OIDC_INTROSPECTION": "opaque-only",
            "ELTIKETI_OIDC_CLIENT_ID": "api",
            "ELTIKETI_OIDC_CLIENT_SECRET": "s3cret",
            "ELTIKETI_STRIPE_MODE": "checkout",
            "ELTIKETI_STRIPE_API_BASE": "http://127.0.0.1:8420",
            "ELTIKETI_SMS_URL": "https://api.twilio.com?from=%2B15005550006",
            "ELTIKETI_SMS_USER": "AC123",
            "ELTIKETI_SMS_TOKEN": "tok",
            "ELTIKETI_HOLD_TTL_SECONDS": "600",
            "ELTIKETI_SWEEP_INTERVAL_SECONDS": "0.5",
            "ELTIKETI_CANCEL_CUTOFF_HOURS": "48",
            "ELTIKETI_MAX_TICKETS_PER_BUYER": "4",
            "ELTIKETI_HOST": "0.0.0.0",
            "ELTIKETI_PORT": "9000",
        }
    )

    assert settings.mode is Mode.PRODUCTION
    assert settings.data_dir == Path("/var/lib/eltiketi")
    assert settings.oidc_introspection is Introspection.OPAQUE_ONLY
    assert settings.stripe_mode is StripeMode.CHECKOUT
    assert settings.effective_public_url == "https://tickets.example.com"
    assert settings.policy().hold_ttl == timedelta(minutes=10)
    assert settings.policy().max_tickets_per_buyer == 4
    assert settings.policy().cancel_cutoff == timedelta(hours=48)
    assert settings.sweep_interval_seconds == 0.5
    assert settings.port == 9000
    assert settings.is_exposed
    assert not settings.uses_dev_issuer
    assert not settings.uses_fake_gateway


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ELTIKETI_MODE", "staging"),
        ("ELTIKETI_HOLD_TTL_SECONDS", "fifteen"),
        ("ELTIKETI_HOLD_TTL_SECONDS", "0"),
        ("ELTIKETI_SWEEP_INTERVAL_SECONDS", "-1"),
        ("ELTIKETI_MAX_TICKETS_PER_BUYER", "2.5"),
        ("ELTIKETI_PORT", "70000"),
        ("ELTIKETI_PUBLIC_URL", "tickets.example.com"),
        ("ELTIKETI_DATABASE_URL", "mysql://db/x"),
        ("ELTIKETI_OIDC_INTROSPECTION", "sometimes"),
        ("ELTIKETI_STRIPE_MODE", "invoice"),
        ("ELTIKETI_SMTP_URL", "http://mail"),
        ("ELTIKETI_TICKET_KEYS", "not json"),
        ("ELTIKETI_LOG_LEVEL", "chatty"),
    ],
)
def test_a_bad_value_names_its_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({name: value})

    assert name in str(caught.value)


def test_all_bad_values_are_reported_at_once() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"ELTIKETI_PORT": "x", "ELTIKETI_HOLD_TTL_SECONDS": "y"})

    assert len(caught.value.problems) == 2


def test_production_without_configuration_lists_every_missing_part() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"ELTIKETI_MODE": "production"})

    message = str(caught.value)
    for name in PRODUCTION:
        if name != "ELTIKETI_MODE":
            assert name in message, name


def test_production_refuses_the_in_memory_database() -> None:
    with pytest.raises(SettingsError, match="ELTIKETI_DATABASE_URL"):
        Settings.from_env({**PRODUCTION, "ELTIKETI_DATABASE_URL": "memory://"})


def test_production_with_everything_configured_starts() -> None:
    assert Settings.from_env(PRODUCTION).mode is Mode.PRODUCTION


def test_production_refuses_sessions_only_one_replica_sees() -> None:
    for store in ("memory", "file"):
        with pytest.raises(SettingsError, match="ELTIKETI_WEB_SESSION_STORE"):
            Settings.from_env({**PRODUCTION, "ELTIKETI_WEB_SESSION_STORE": store})


def test_production_needs_a_publishable_key_only_for_cards_on_the_hold_page() -> None:
    without_key = {k: v for k, v in PRODUCTION.items() if k != "ELTIKETI_STRIPE_PUBLISHABLE_KEY"}

    with pytest.raises(SettingsError, match="ELTIKETI_STRIPE_PUBLISHABLE_KEY"):
        Settings.from_env(without_key)
    assert Settings.from_env({**without_key, "ELTIKETI_STRIPE_MODE": "checkout"}).mode is (
        Mode.PRODUCTION
    )


def test_the_web_login_client_is_its_own_and_needs_an_issuer() -> None:
    settings = Settings.from_env(PRODUCTION)
    assert settings.uses_web_oidc_login
    assert settings.oidc_client_id is None  # introspection's client is another variable

    with pytest.raises(SettingsError, match="ELTIKETI_OIDC_WEB_CLIENT_ID needs"):
        Settings.from_env({"ELTIKETI_OIDC_WEB_CLIENT_ID": "shop"})
    with pytest.raises(SettingsError, match="ELTIKETI_OIDC_WEB_SCOPES must include openid"):
        Settings.from_env({**PRODUCTION, "ELTIKETI_OIDC_WEB_SCOPES": "profile email"})


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"ELTIKETI_OIDC_ISSUER": "https://sso.example.com/realms/x"}, "ELTIKETI_OIDC_AUDIENCE"),
        ({"ELTIKETI_OIDC_INTROSPECTION": "always"}, "ELTIKETI_OIDC_CLIENT_ID"),
        ({"ELTIKETI_STRIPE_API_KEY": "sk_test_1"}, "ELTIKETI_STRIPE_WEBHOOK_SECRET"),
        ({"ELTIKETI_SMS_URL": "https://sms.example.com"}, "ELTIKETI_SMS_TOKEN"),
    ],
)
def test_half_configured_parts_are_refused_in_embedded_mode_too(
    extra: dict[str, str], named: str
) -> None:
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(extra)


def test_empty_values_count_as_unset() -> None:
    settings = Settings.from_env({"ELTIKETI_DATABASE_URL": "", "ELTIKETI_OIDC_ISSUER": "  "})

    assert settings.database_url is None
    assert settings.uses_dev_issuer


def test_secrets_are_masked_in_the_redacted_view() -> None:
    shown = str(Settings.from_env(PRODUCTION).redacted())

    assert "sk_test_123" not in shown
    assert "whsec_123" not in shown
    assert ":secret@" not in shown
    assert ":pw@" not in shown
    assert ":r3dis@" not in shown


@pytest.mark.parametrize(
    "url", ["sqlite+aiosqlite:///var/lib/eltiketi/db.sqlite", "sqlite+aiosqlite:///:memory:"]
)
def test_production_refuses_sqlite_and_says_why(url: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({**PRODUCTION, "ELTIKETI_DATABASE_URL": url})

    message = str(caught.value)
    assert "ELTIKETI_DATABASE_URL" in message
    assert "PostgreSQL" in message
    assert "embedded mode only" in message
    assert "postgresql+asyncpg://" in message


def test_embedded_mode_keeps_sqlite() -> None:
    settings = Settings.from_env({"ELTIKETI_DATABASE_URL": "sqlite+aiosqlite:///x.db"})

    assert settings.database_url == "sqlite+aiosqlite:///x.db"


def test_production_keeps_metrics_from_the_public() -> None:
    without = {k: v for k, v in PRODUCTION.items() if k != "ELTIKETI_METRICS_TOKEN"}

    with pytest.raises(SettingsError) as caught:
        Settings.from_env(without)

    assert "ELTIKETI_METRICS_PORT" in str(caught.value)
    assert "ELTIKETI_METRICS_TOKEN" in str(caught.value)
    on_a_port = Settings.from_env({**without, "ELTIKETI_METRICS_PORT": "9464"})
    assert on_a_port.metrics_port == 9464
    assert on_a_port.serves_metrics_apart
    with_token = Settings.from_env(PRODUCTION)
    assert with_token.metrics_token == "a-long-random-metrics-token"
    assert not with_token.serves_metrics_apart


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"ELTIKETI_METRICS_PORT": "metrics"}, "ELTIKETI_METRICS_PORT"),
        ({"ELTIKETI_METRICS_PORT": "70000"}, "ELTIKETI_METRICS_PORT"),
        ({"ELTIKETI_METRICS_PORT": "8000"}, "ELTIKETI_METRICS_PORT"),
        ({"ELTIKETI_METRICS_TOKEN": "short"}, "ELTIKETI_METRICS_TOKEN"),
    ],
)
def test_bad_metrics_settings_name_their_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(env)


def test_the_metrics_token_is_masked() -> None:
    shown = str(Settings.from_env(PRODUCTION).redacted())

    assert "a-long-random-metrics-token" not in shown


@pytest.mark.parametrize(
    ("host", "exposed"),
    [
        ("127.0.0.1", False),
        ("localhost", False),
        ("::1", False),
        ("127.0.0.2", False),
        ("0.0.0.0", True),
        ("::", True),
        ("192.0.2.10", True),
        ("eltiketi.example.com", True),
    ],
)
def test_only_loopback_addresses_are_private(host: str, exposed: bool) -> None:
    assert Settings(host=host).is_exposed is exposed


def test_https_public_urls_are_known() -> None:
    assert Settings(public_url="https://tickets.example.com").uses_https
    assert not Settings().uses_https
