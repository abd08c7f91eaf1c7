"""The operator settings added for issue 8: pool, OIDC caches, SMS sender, notification
retries and the Kafka/worker tuning, each parsed, validated and wired to what it tunes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from uuid import UUID

import pytest

from eltiketi_adapters.kafka import ConsumerTuning, KafkaConfig, RetryPolicy
from eltiketi_adapters.memory.factories import EventFactory
from eltiketi_adapters.notify import HttpSmsNotifier
from eltiketi_app.background.config import RelayTimings, worker_config
from eltiketi_app.background.roles import VARIABLES
from eltiketi_app.background.runner import Intervals
from eltiketi_app.http.availability_cache import build_event_view_cache
from eltiketi_app.ioc import channels
from eltiketi_app.ioc.stores import memory_persistence, sqlalchemy_persistence
from eltiketi_app.settings import Settings, SettingsError
from eltiketi_core.usecases.catalog import EventView
from eltiketi_core.usecases.policy import Policy

EVENT_ID = UUID("0190a5a0-0000-7000-8000-000000000001")
SMS = {
    "ELTIKETI_SMS_URL": "https://api.twilio.com",
    "ELTIKETI_SMS_USER": "AC123",
    "ELTIKETI_SMS_TOKEN": "tok",
}


def test_unset_variables_give_the_documented_defaults() -> None:
    settings = Settings.from_env({})

    assert settings.database_pool_size == 15
    assert settings.database_max_overflow == 0
    assert settings.database_pool_timeout == 30.0
    assert settings.database_statement_timeout_ms is None
    assert settings.oidc_cache_seconds == 30.0
    assert settings.oidc_jwks_min_refetch_seconds == 30.0
    assert settings.sms_from is None
    assert settings.availability_cache_ms == 500
    assert settings.notification_retry_interval_seconds == 5.0
    assert Intervals.from_settings(settings) == Intervals()
    # The notification knobs default to the core's own policy, so nothing moves unset.
    assert settings.policy() == Policy(
        hold_ttl=timedelta(seconds=900), max_tickets_per_buyer=10, cancel_cutoff=timedelta(hours=24)
    )
    config = worker_config(Settings.from_env({"ELTIKETI_KAFKA_BOOTSTRAP": "k:9092"}))
    assert config.kafka == KafkaConfig(bootstrap="k:9092")
    assert config.relay == RelayTimings()
    assert config.graceful_timeout == 30.0


def test_every_new_variable_is_read_and_reaches_what_it_tunes() -> None:
    settings = Settings.from_env(
        {
            "ELTIKETI_DATABASE_POOL_SIZE": "20",
            "ELTIKETI_DATABASE_MAX_OVERFLOW": "4",
            "ELTIKETI_DATABASE_POOL_TIMEOUT": "2.5",
            "ELTIKETI_DATABASE_STATEMENT_TIMEOUT_MS": "1500",
            "ELTIKETI_OIDC_CACHE_SECONDS": "5",
            "ELTIKETI_OIDC_JWKS_MIN_REFETCH_SECONDS": "0",
            "ELTIKETI_RESEND_INTERVAL_SECONDS": "90",
            "ELTIKETI_NOTIFICATION_MAX_ATTEMPTS": "3",
            "ELTIKETI_NOTIFICATION_BACKOFF_SECONDS": "2",
            "ELTIKETI_NOTIFICATION_LEASE_SECONDS": "45",
            "ELTIKETI_NOTIFICATION_RETRY_INTERVAL_SECONDS": "0.5",
            "ELTIKETI_PAYMENT_PROBLEM_NOTICES_PER_BOOKING": "0",
            "ELTIKETI_REFUND_NOTICES_PER_BOOKING": "5",
            "ELTIKETI_AVAILABILITY_CACHE_MS": "250",
            "ELTIKETI_KAFKA_BOOTSTRAP": "k1:9092,k2:9092",
            "ELTIKETI_KAFKA_TOPIC_PREFIX": "staging.",
            "ELTIKETI_KAFKA_GROUP_PREFIX": "stg-",
            "ELTIKETI_KAFKA_PARTITIONS": "24",
            "ELTIKETI_KAFKA_REPLICATION_FACTOR": "3",
            "ELTIKETI_KAFKA_REQUEST_TIMEOUT_MS": "5000",
            "ELTIKETI_KAFKA_SESSION_TIMEOUT_MS": "1500",
            "ELTIKETI_KAFKA_HEARTBEAT_INTERVAL_MS": "300",
            "ELTIKETI_KAFKA_RETRY_ATTEMPTS": "2",
            "ELTIKETI_KAFKA_RETRY_BASE_SECONDS": "0.1",
            "ELTIKETI_KAFKA_RETRY_MAX_SECONDS": "4",
            "ELTIKETI_KAFKA_CONCURRENCY": "3",
            "ELTIKETI_KAFKA_FETCH_MAX_WAIT_MS": "40",
            "ELTIKETI_RELAY_POLL_SECONDS": "0.2",
            "ELTIKETI_RELAY_MAX_BACKOFF_SECONDS": "8",
            "ELTIKETI_WORKER_GRACEFUL_SECONDS": "12",
        }
    )

    assert (settings.database_pool_size, settings.database_max_overflow) == (20, 4)
    assert settings.database_pool_timeout == 2.5
    assert settings.database_statement_timeout_ms == 1500
    assert settings.oidc_cache_seconds == 5
    assert settings.oidc_jwks_min_refetch_seconds == 0
    policy = settings.policy()
    assert policy.resend_interval == timedelta(seconds=90)
    assert policy.notification_max_attempts == 3
    assert policy.notification_backoff == timedelta(seconds=2)
    assert policy.notification_lease == timedelta(seconds=45)
    assert policy.payment_problem_notices_per_booking == 0
    assert policy.refund_notices_per_booking == 5
    assert settings.availability_cache_ms == 250
    intervals = Intervals.from_settings(settings)
    assert intervals.notification_retry == 0.5
    assert intervals.sweep == settings.sweep_interval_seconds
    config = worker_config(settings)
    assert config.kafka == KafkaConfig(
        bootstrap="k1:9092,k2:9092",
        topic_prefix="staging.",
        group_prefix="stg-",
        partitions=24,
        replication_factor=3,
        request_timeout_ms=5000,
        retry=RetryPolicy(attempts=2, base_delay=0.1, max_delay=4.0),
        consumer=ConsumerTuning(
            session_timeout_ms=1500, heartbeat_interval_ms=300, fetch_max_wait_ms=40
        ),
        graceful_timeout=12.0,
        concurrency=3,
    )
    assert config.relay == RelayTimings(poll_interval=0.2, max_backoff=8.0)
    assert config.graceful_timeout == 12.0


def test_a_statement_timeout_of_zero_means_no_limit() -> None:
    settings = Settings.from_env({"ELTIKETI_DATABASE_STATEMENT_TIMEOUT_MS": "0"})

    assert settings.database_statement_timeout_ms is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ELTIKETI_DATABASE_POOL_SIZE", "0"),
        ("ELTIKETI_DATABASE_POOL_SIZE", "ten"),
        ("ELTIKETI_DATABASE_MAX_OVERFLOW", "-1"),
        ("ELTIKETI_DATABASE_MAX_OVERFLOW", "1.5"),
        ("ELTIKETI_DATABASE_POOL_TIMEOUT", "0"),
        ("ELTIKETI_DATABASE_POOL_TIMEOUT", "nan"),
        ("ELTIKETI_DATABASE_STATEMENT_TIMEOUT_MS", "-5"),
        ("ELTIKETI_DATABASE_STATEMENT_TIMEOUT_MS", "5s"),
        ("ELTIKETI_OIDC_CACHE_SECONDS", "-1"),
        ("ELTIKETI_OIDC_CACHE_SECONDS", "inf"),
        ("ELTIKETI_OIDC_JWKS_MIN_REFETCH_SECONDS", "soon"),
        ("ELTIKETI_RESEND_INTERVAL_SECONDS", "-1"),
        ("ELTIKETI_NOTIFICATION_MAX_ATTEMPTS", "0"),
        ("ELTIKETI_NOTIFICATION_BACKOFF_SECONDS", "0"),
        ("ELTIKETI_NOTIFICATION_LEASE_SECONDS", "0.5"),
        ("ELTIKETI_NOTIFICATION_RETRY_INTERVAL_SECONDS", "0"),
        ("ELTIKETI_NOTIFICATION_RETRY_INTERVAL_SECONDS", "-1"),
        ("ELTIKETI_NOTIFICATION_RETRY_INTERVAL_SECONDS", "often"),
        ("ELTIKETI_AVAILABILITY_CACHE_MS", "-1"),
        ("ELTIKETI_AVAILABILITY_CACHE_MS", "0.5"),
        ("ELTIKETI_AVAILABILITY_CACHE_MS", "fast"),
        ("ELTIKETI_KAFKA_PARTITIONS", "0"),
        ("ELTIKETI_KAFKA_REPLICATION_FACTOR", "two"),
        ("ELTIKETI_KAFKA_REQUEST_TIMEOUT_MS", "10"),
        ("ELTIKETI_KAFKA_SESSION_TIMEOUT_MS", "1.5"),
        ("ELTIKETI_KAFKA_HEARTBEAT_INTERVAL_MS", "0"),
        ("ELTIKETI_KAFKA_RETRY_ATTEMPTS", "0"),
        ("ELTIKETI_KAFKA_RETRY_BASE_SECONDS", "-0.1"),
        ("ELTIKETI_KAFKA_RETRY_MAX_SECONDS", "x"),
        ("ELTIKETI_KAFKA_CONCURRENCY", "0"),
        ("ELTIKETI_KAFKA_CONCURRENCY", "many"),
        ("ELTIKETI_KAFKA_FETCH_MAX_WAIT_MS", "0"),
        ("ELTIKETI_RELAY_POLL_SECONDS", "0"),
        ("ELTIKETI_RELAY_MAX_BACKOFF_SECONDS", "0"),
        ("ELTIKETI_WORKER_GRACEFUL_SECONDS", "-1"),
    ],
)
def test_a_bad_value_names_its_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({name: value})

    assert [problem for problem in caught.value.problems if problem.startswith(name + ":")]


async def test_the_availability_cache_ttl_reaches_the_cache_and_zero_turns_it_off() -> None:
    persistence = memory_persistence()
    now = [100.0]
    event = EventFactory.build(id=EVENT_ID)

    async def load() -> EventView:
        return EventView(event=event, ticket_types=())

    off = build_event_view_cache(
        Settings.from_env({"ELTIKETI_AVAILABILITY_CACHE_MS": "0"}),
        persistence,
        clock=lambda: now[0],
    )
    await off.get(EVENT_ID, load)
    await off.get(EVENT_ID, load)
    assert (off.enabled, off.stats.loads, off.stats.hits) == (False, 2, 0)

    two_seconds = build_event_view_cache(
        Settings.from_env({"ELTIKETI_AVAILABILITY_CACHE_MS": "2000"}),
        persistence,
        clock=lambda: now[0],
    )
    await two_seconds.get(EVENT_ID, load)
    now[0] += 1.999
    await two_seconds.get(EVENT_ID, load)
    assert (two_seconds.stats.loads, two_seconds.stats.hits) == (1, 1)
    now[0] += 0.001
    await two_seconds.get(EVENT_ID, load)
    assert (two_seconds.stats.loads, two_seconds.stats.hits) == (2, 1)


def test_a_heartbeat_not_below_the_session_timeout_is_refused() -> None:
    with pytest.raises(SettingsError, match="ELTIKETI_KAFKA_HEARTBEAT_INTERVAL_MS"):
        Settings.from_env(
            {
                "ELTIKETI_KAFKA_SESSION_TIMEOUT_MS": "3000",
                "ELTIKETI_KAFKA_HEARTBEAT_INTERVAL_MS": "3000",
            }
        )


def test_worker_tuning_can_be_reread_from_another_mapping() -> None:
    settings = Settings(kafka_bootstrap="k:9092", kafka_partitions=6)

    assert worker_config(settings).kafka == KafkaConfig(bootstrap="k:9092", partitions=6)
    retuned = worker_config(settings, {"ELTIKETI_KAFKA_RETRY_ATTEMPTS": "3"})
    assert retuned.kafka == KafkaConfig(bootstrap="k:9092", retry=RetryPolicy(attempts=3))
    with pytest.raises(SettingsError) as caught:
        worker_config(
            settings, {"ELTIKETI_KAFKA_PARTITIONS": "0", "ELTIKETI_RELAY_POLL_SECONDS": "-"}
        )
    assert len(caught.value.problems) == 2


def test_the_pool_settings_reach_the_engine(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        database_url="postgresql+asyncpg://eltiketi@127.0.0.1:1/unused",
        database_pool_size=7,
        database_max_overflow=2,
        database_pool_timeout=3.0,
    )

    db = sqlalchemy_persistence(settings)  # nothing connects until first use

    pool = db.engine.pool
    assert pool.size() == 7  # type: ignore[attr-defined]
    assert pool.timeout() == 3.0  # type: ignore[attr-defined]
    assert pool._max_overflow == 2  # type: ignore[attr-defined]
    assert pool._pre_ping is False


# -- SMS sender -----------------------------------------------------------------------------


async def _sms_sender(settings: Settings) -> str:
    async with channels.open_notifiers(settings) as notifiers:
        (sms,) = [n for n in notifiers.channels if isinstance(n, HttpSmsNotifier)]
        return sms.config.sender


async def test_sms_from_is_the_sender(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {**SMS, "ELTIKETI_SMS_FROM": "+15005550006", "ELTIKETI_DATA_DIR": str(tmp_path)}
    )

    assert await _sms_sender(settings) == "+15005550006"


async def test_a_sender_in_the_sms_url_still_works(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            **SMS,
            "ELTIKETI_SMS_URL": "https://api.twilio.com?from=%2B15005550007",
            "ELTIKETI_DATA_DIR": str(tmp_path),
        }
    )

    assert settings.sms_from is None
    assert await _sms_sender(settings) == "+15005550007"


async def test_sms_from_wins_over_the_url(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            **SMS,
            "ELTIKETI_SMS_URL": "https://api.twilio.com?from=%2B15005550007",
            "ELTIKETI_SMS_FROM": "MG0123456789abcdef0123456789abcdef",
            "ELTIKETI_DATA_DIR": str(tmp_path),
        }
    )

    assert await _sms_sender(settings) == "MG0123456789abcdef0123456789abcdef"


def test_an_sms_provider_without_a_sender_is_refused_naming_sms_from() -> None:
    with pytest.raises(SettingsError, match="ELTIKETI_SMS_FROM"):
        Settings.from_env(SMS)


def test_the_worker_help_shows_the_defaults_the_process_really_uses() -> None:
    shown = {name: default for name, (_, default) in VARIABLES.items()}

    assert shown["ELTIKETI_KAFKA_PARTITIONS"] == "12"
    assert shown["ELTIKETI_KAFKA_RETRY_MAX_SECONDS"] == "30"
    assert shown["ELTIKETI_NOTIFICATION_RETRY_INTERVAL_SECONDS"] == "5"
    # Every listed variable is read, and setting it to the default shown changes nothing.
    assert Settings.from_env({name: value for name, value in shown.items() if value}) == Settings()
    for name in shown:
        if name.endswith("_PREFIX"):
            continue
        with pytest.raises(SettingsError, match=name):
            Settings.from_env({name: "not-a-number"})
