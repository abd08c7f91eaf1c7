"""The operator's contract: every ``ELTIKETI_*`` variable, parsed once, validated at start-up.

Twelve-factor: the environment is the only source. :meth:`Settings.from_env` turns it
into one immutable :class:`Settings`; a bad value stops the process with a
:class:`SettingsError` that names the variable, and ``ELTIKETI_MODE=production``
refuses to start while any part would fall back to an embedded-only choice.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import msgspec

from eltiketi_core.usecases.policy import Policy

PREFIX = "ELTIKETI_"
MEMORY_DATABASE_URL = "memory://"
DEFAULT_PORT = 8000
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

T = TypeVar("T")


class SettingsError(ValueError):
    """A configuration the service cannot run with; the message names every culprit."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid configuration:\n  - " + "\n  - ".join(problems))


class Mode(StrEnum):
    EMBEDDED = "embedded"
    PRODUCTION = "production"


class Introspection(StrEnum):
    OFF = "off"
    ALWAYS = "always"
    OPAQUE_ONLY = "opaque-only"


class StripeMode(StrEnum):
    PAYMENT_INTENT = "payment_intent"
    CHECKOUT = "checkout"


class LogFormat(StrEnum):
    JSON = "json"
    CONSOLE = "console"


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Every knob of the service. Unset optional values mean "the embedded choice".

    Build it with :meth:`from_env` in a process, or directly in tests.
    """

    mode: Mode = Mode.EMBEDDED
    data_dir: Path = Path(".eltiketi")
    public_url: str | None = None
    database_url: str | None = None
    database_pool_size: int = 15
    database_max_overflow: int = 0
    database_pool_timeout: float = 30.0
    database_statement_timeout_ms: int | None = None
    kafka_bootstrap: str | None = None
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_introspection: Introspection = Introspection.OFF
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    oidc_cache_seconds: float = 30.0
    oidc_jwks_min_refetch_seconds: float = 30.0
    stripe_api_key: str | None = None
    stripe_webhook_secret: str | None = None
    stripe_mode: StripeMode = StripeMode.PAYMENT_INTENT
    stripe_api_base: str | None = None
    smtp_url: str | None = None
    mail_from: str | None = None
    sms_url: str | None = None
    sms_user: str | None = None
    sms_token: str | None = None
    sms_from: str | None = None
    ticket_keys: str | None = None
    hold_ttl_seconds: int = 900
    sweep_interval_seconds: float = 5.0
    cancel_cutoff_hours: float = 24.0
    max_tickets_per_buyer: int = 10
    resend_interval_seconds: float = 60.0
    notification_max_attempts: int = 8
    notification_backoff_seconds: float = 5.0
    notification_lease_seconds: float = 120.0
    notification_retry_interval_seconds: float = 5.0
    availability_cache_ms: int = 500
    kafka_topic_prefix: str = ""
    kafka_group_prefix: str = "eltiketi-"
    kafka_partitions: int = 12
    kafka_replication_factor: int = 1
    kafka_request_timeout_ms: int = 30_000
    kafka_session_timeout_ms: int = 10_000
    kafka_heartbeat_interval_ms: int = 3_000
    kafka_retry_attempts: int = 5
    kafka_retry_base_seconds: float = 0.5
    kafka_retry_max_seconds: float = 30.0
    kafka_concurrency: int = 16
    kafka_fetch_max_wait_ms: int = 100
    relay_poll_seconds: float = 0.5
    relay_max_backoff_seconds: float = 30.0
    worker_graceful_seconds: float = 30.0
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    log_level: str = "INFO"
    log_format: LogFormat = LogFormat.JSON

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read ``ELTIKETI_*`` from ``env`` (default ``os.environ``); raise :class:`SettingsError`.

        Empty values count as unset. Every bad variable is reported at once.
        """
        return _EnvReader(os.environ if env is None else env).settings()

    # -- derived values -------------------------------------------------------------

    @property
    def is_embedded(self) -> bool:
        return self.mode is Mode.EMBEDDED

    @property
    def effective_public_url(self) -> str:
        """Base URL for links (mails, payment pages); defaults to where ``serve`` listens."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in {"0.0.0.0", "::", ""} else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def uses_memory_database(self) -> bool:
        return self.database_url == MEMORY_DATABASE_URL

    @property
    def uses_dev_issuer(self) -> bool:
        """Dev tokens are accepted only in embedded mode with no OIDC issuer configured."""
        return self.is_embedded and self.oidc_issuer is None

    @property
    def uses_fake_gateway(self) -> bool:
        return self.is_embedded and self.stripe_api_key is None

    @property
    def outbox_dir(self) -> Path:
        """Where embedded e-mails (``.eml``) and SMS (``.txt``) are written."""
        return self.data_dir / "outbox"

    @property
    def is_exposed(self) -> bool:
        return self.host not in LOOPBACK_HOSTS

    def policy(self) -> Policy:
        """The core's business knobs: holds, limits, cancellation, notification retries."""
        return Policy(
            hold_ttl=timedelta(seconds=self.hold_ttl_seconds),
            max_tickets_per_buyer=self.max_tickets_per_buyer,
            cancel_cutoff=timedelta(hours=self.cancel_cutoff_hours),
            resend_interval=timedelta(seconds=self.resend_interval_seconds),
            notification_max_attempts=self.notification_max_attempts,
            notification_backoff=timedelta(seconds=self.notification_backoff_seconds),
            notification_lease=timedelta(seconds=self.notification_lease_seconds),
        )

    def with_worker_tuning_from(self, env: Mapping[str, str]) -> Settings:
        """These settings with the Kafka, relay and worker tuning re-read from ``env``.

        For callers (tests, tools) that hold a :class:`Settings` and want to try other
        tuning values without rebuilding everything; raises :class:`SettingsError`.
        """
        reader = _EnvReader(env)
        tuning = reader.worker_tuning(Settings())
        reader.raise_problems()
        tuned = msgspec.structs.replace(self, **tuning)
        tuned.check()
        return tuned

    def embedded_only_parts(self) -> list[str]:
        """What would still run on an embedded stand-in, as ``"part (VARIABLE)"`` lines."""
        missing: list[str] = []
        if self.database_url is None or self.uses_memory_database:
            missing.append("database: ELTIKETI_DATABASE_URL (a postgresql+asyncpg:// URL)")
        if self.kafka_bootstrap is None:
            missing.append("event bus: ELTIKETI_KAFKA_BOOTSTRAP")
        if self.oidc_issuer is None:
            missing.append("identity: ELTIKETI_OIDC_ISSUER")
        if self.oidc_audience is None:
            missing.append("identity: ELTIKETI_OIDC_AUDIENCE")
        if self.stripe_api_key is None:
            missing.append("payments: ELTIKETI_STRIPE_API_KEY")
        if self.stripe_webhook_secret is None:
            missing.append("payments: ELTIKETI_STRIPE_WEBHOOK_SECRET")
        if self.smtp_url is None:
            missing.append("mail: ELTIKETI_SMTP_URL")
        if self.mail_from is None:
            missing.append("mail: ELTIKETI_MAIL_FROM")
        if self.ticket_keys is None:
            missing.append("ticket signing: ELTIKETI_TICKET_KEYS")
        if self.public_url is None:
            missing.append("links: ELTIKETI_PUBLIC_URL")
        return missing

    def check(self) -> None:
        """Raise :class:`SettingsError` if this configuration must not start."""
        problems = _cross_checks(self)
        if self.mode is Mode.PRODUCTION:
            problems += [
                f"ELTIKETI_MODE=production but {part} is not set"
                for part in self.embedded_only_parts()
            ]
        if problems:
            raise SettingsError(problems)

    def redacted(self) -> dict[str, Any]:
        """The settings as a dict with every secret masked (for the start-up log line)."""
        raw = msgspec.to_builtins(self, enc_hook=str)
        for name in ("oidc_client_secret", "stripe_api_key", "stripe_webhook_secret", "sms_token"):
            if raw.get(name):
                raw[name] = "***"
        if raw.get("ticket_keys"):
            raw["ticket_keys"] = "*** (configured)"
        for name in ("smtp_url", "database_url", "sms_url"):
            if raw.get(name):
                raw[name] = _mask_url_password(raw[name])
        return dict(raw)


def _cross_checks(settings: Settings) -> list[str]:
    problems: list[str] = []
    if settings.oidc_issuer is not None and settings.oidc_audience is None:
        problems.append("ELTIKETI_OIDC_AUDIENCE is required when ELTIKETI_OIDC_ISSUER is set")
    if settings.oidc_introspection is not Introspection.OFF and not (
        settings.oidc_client_id and settings.oidc_client_secret
    ):
        problems.append(
            "ELTIKETI_OIDC_INTROSPECTION="
            f"{settings.oidc_introspection.value} needs ELTIKETI_OIDC_CLIENT_ID and "
            "ELTIKETI_OIDC_CLIENT_SECRET"
        )
    if settings.stripe_api_key is not None and settings.stripe_webhook_secret is None:
        problems.append(
            "ELTIKETI_STRIPE_WEBHOOK_SECRET is required when ELTIKETI_STRIPE_API_KEY is set"
        )
    if settings.sms_url is not None and not (settings.sms_user and settings.sms_token):
        problems.append(
            "ELTIKETI_SMS_USER and ELTIKETI_SMS_TOKEN are required when ELTIKETI_SMS_URL is set"
        )
    if settings.sms_url is not None and not (settings.sms_from or _sender_in_url(settings.sms_url)):
        problems.append(
            "ELTIKETI_SMS_FROM (or a ?from= parameter in ELTIKETI_SMS_URL) is required when "
            "ELTIKETI_SMS_URL is set"
        )
    if settings.kafka_heartbeat_interval_ms >= settings.kafka_session_timeout_ms:
        problems.append(
            f"ELTIKETI_KAFKA_HEARTBEAT_INTERVAL_MS ({settings.kafka_heartbeat_interval_ms}) must be "
            f"lower than ELTIKETI_KAFKA_SESSION_TIMEOUT_MS ({settings.kafka_session_timeout_ms})"
        )
    return problems


def _sender_in_url(url: str) -> bool:
    """Whether an SMS URL carries its sender as ``?from=…`` (the older way to configure it)."""
    return any(value.strip() for value in parse_qs(urlsplit(url).query).get("from", []))


def _mask_url_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


class _EnvReader:
    """Reads and converts variables, collecting every problem before it complains."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env
        self._problems: list[str] = []

    def settings(self) -> Settings:
        defaults = Settings()
        values: dict[str, Any] = {
            "mode": self._enum("MODE", Mode, defaults.mode),
            "data_dir": Path(self._raw("DATA_DIR") or defaults.data_dir),
            "public_url": self._url("PUBLIC_URL", ("http", "https")),
            "database_url": self._database_url(),
            "database_pool_size": self._number(
                "DATABASE_POOL_SIZE", int, defaults.database_pool_size, minimum=1, maximum=1000
            ),
            "database_max_overflow": self._number(
                "DATABASE_MAX_OVERFLOW",
                int,
                defaults.database_max_overflow,
                minimum=0,
                maximum=1000,
            ),
            "database_pool_timeout": self._number(
                "DATABASE_POOL_TIMEOUT", float, defaults.database_pool_timeout, minimum=0.1
            ),
            "database_statement_timeout_ms": self._statement_timeout(),
            "kafka_bootstrap": self._raw("KAFKA_BOOTSTRAP"),
            "oidc_issuer": self._url("OIDC_ISSUER", ("http", "https")),
            "oidc_audience": self._raw("OIDC_AUDIENCE"),
            "oidc_introspection": self._enum(
                "OIDC_INTROSPECTION", Introspection, defaults.oidc_introspection
            ),
            "oidc_client_id": self._raw("OIDC_CLIENT_ID"),
            "oidc_client_secret": self._raw("OIDC_CLIENT_SECRET"),
            "oidc_cache_seconds": self._number(
                "OIDC_CACHE_SECONDS", float, defaults.oidc_cache_seconds, minimum=0
            ),
            "oidc_jwks_min_refetch_seconds": self._number(
                "OIDC_JWKS_MIN_REFETCH_SECONDS",
                float,
                defaults.oidc_jwks_min_refetch_seconds,
                minimum=0,
            ),
            "stripe_api_key": self._raw("STRIPE_API_KEY"),
            "stripe_webhook_secret": self._raw("STRIPE_WEBHOOK_SECRET"),
            "stripe_mode": self._enum("STRIPE_MODE", StripeMode, defaults.stripe_mode),
            "stripe_api_base": self._url("STRIPE_API_BASE", ("http", "https")),
            "smtp_url": self._url("SMTP_URL", ("smtp", "smtps")),
            "mail_from": self._raw("MAIL_FROM"),
            "sms_url": self._url("SMS_URL", ("http", "https")),
            "sms_user": self._raw("SMS_USER"),
            "sms_token": self._raw("SMS_TOKEN"),
            "sms_from": self._raw("SMS_FROM"),
            "ticket_keys": self._json_object("TICKET_KEYS"),
            "hold_ttl_seconds": self._number(
                "HOLD_TTL_SECONDS", int, defaults.hold_ttl_seconds, minimum=1
            ),
            "sweep_interval_seconds": self._number(
                "SWEEP_INTERVAL_SECONDS", float, defaults.sweep_interval_seconds, minimum=0.05
            ),
            "cancel_cutoff_hours": self._number(
                "CANCEL_CUTOFF_HOURS", float, defaults.cancel_cutoff_hours, minimum=0
            ),
            "max_tickets_per_buyer": self._number(
                "MAX_TICKETS_PER_BUYER", int, defaults.max_tickets_per_buyer, minimum=1
            ),
            "resend_interval_seconds": self._number(
                "RESEND_INTERVAL_SECONDS", float, defaults.resend_interval_seconds, minimum=0
            ),
            "notification_max_attempts": self._number(
                "NOTIFICATION_MAX_ATTEMPTS", int, defaults.notification_max_attempts, minimum=1
            ),
            "notification_backoff_seconds": self._number(
                "NOTIFICATION_BACKOFF_SECONDS",
                float,
                defaults.notification_backoff_seconds,
                minimum=0.1,
            ),
            "notification_lease_seconds": self._number(
                "NOTIFICATION_LEASE_SECONDS", float, defaults.notification_lease_seconds, minimum=1
            ),
            "notification_retry_interval_seconds": self._number(
                "NOTIFICATION_RETRY_INTERVAL_SECONDS",
                float,
                defaults.notification_retry_interval_seconds,
                exclusive_minimum=0,
            ),
            "availability_cache_ms": self._number(
                "AVAILABILITY_CACHE_MS", int, defaults.availability_cache_ms, minimum=0
            ),
            **self.worker_tuning(defaults),
            "host": self._raw("HOST") or defaults.host,
            "port": self._number("PORT", int, defaults.port, minimum=0, maximum=65535),
            "log_level": self._log_level(defaults.log_level),
            "log_format": self._enum("LOG_FORMAT", LogFormat, defaults.log_format),
        }
        self.raise_problems()
        settings = Settings(**values)
        settings.check()
        return settings

    def worker_tuning(self, defaults: Settings) -> dict[str, Any]:
        """Kafka client, relay and worker shutdown knobs (read by every process)."""
        return {
            "kafka_topic_prefix": self._raw("KAFKA_TOPIC_PREFIX") or defaults.kafka_topic_prefix,
            "kafka_group_prefix": self._raw("KAFKA_GROUP_PREFIX") or defaults.kafka_group_prefix,
            "kafka_partitions": self._number(
                "KAFKA_PARTITIONS", int, defaults.kafka_partitions, minimum=1
            ),
            "kafka_replication_factor": self._number(
                "KAFKA_REPLICATION_FACTOR", int, defaults.kafka_replication_factor, minimum=1
            ),
            "kafka_request_timeout_ms": self._number(
                "KAFKA_REQUEST_TIMEOUT_MS", int, defaults.kafka_request_timeout_ms, minimum=100
            ),
            "kafka_session_timeout_ms": self._number(
                "KAFKA_SESSION_TIMEOUT_MS", int, defaults.kafka_session_timeout_ms, minimum=100
            ),
            "kafka_heartbeat_interval_ms": self._number(
                "KAFKA_HEARTBEAT_INTERVAL_MS", int, defaults.kafka_heartbeat_interval_ms, minimum=50
            ),
            "kafka_retry_attempts": self._number(
                "KAFKA_RETRY_ATTEMPTS", int, defaults.kafka_retry_attempts, minimum=1
            ),
            "kafka_retry_base_seconds": self._number(
                "KAFKA_RETRY_BASE_SECONDS", float, defaults.kafka_retry_base_seconds, minimum=0
            ),
            "kafka_retry_max_seconds": self._number(
                "KAFKA_RETRY_MAX_SECONDS", float, defaults.kafka_retry_max_seconds, minimum=0
            ),
            "kafka_concurrency": self._number(
                "KAFKA_CONCURRENCY", int, defaults.kafka_concurrency, minimum=1, maximum=1000
            ),
            "kafka_fetch_max_wait_ms": self._number(
                "KAFKA_FETCH_MAX_WAIT_MS",
                int,
                defaults.kafka_fetch_max_wait_ms,
                minimum=1,
                maximum=60_000,
            ),
            "relay_poll_seconds": self._number(
                "RELAY_POLL_SECONDS", float, defaults.relay_poll_seconds, minimum=0.01
            ),
            "relay_max_backoff_seconds": self._number(
                "RELAY_MAX_BACKOFF_SECONDS", float, defaults.relay_max_backoff_seconds, minimum=0.1
            ),
            "worker_graceful_seconds": self._number(
                "WORKER_GRACEFUL_SECONDS", float, defaults.worker_graceful_seconds, minimum=0
            ),
        }

    def raise_problems(self) -> None:
        if self._problems:
            raise SettingsError(self._problems)

    def _raw(self, name: str) -> str | None:
        value = self._env.get(PREFIX + name, "").strip()
        return value or None

    def _fail(self, name: str, message: str) -> None:
        self._problems.append(f"{PREFIX}{name}: {message}")

    def _enum(self, name: str, enum: type[StrEnum], default: T) -> T | StrEnum:
        raw = self._raw(name)
        if raw is None:
            return default
        try:
            return enum(raw.lower())
        except ValueError:
            choices = ", ".join(repr(m.value) for m in enum)
            self._fail(name, f"{raw!r} is not one of {choices}")
            return default

    def _number(
        self,
        name: str,
        kind: Callable[[str], T],
        default: T,
        *,
        minimum: float | None = None,
        exclusive_minimum: float | None = None,
        maximum: float | None = None,
    ) -> T:
        raw = self._raw(name)
        if raw is None:
            return default
        try:
            value = kind(raw)
        except ValueError:
            what = "a whole number" if kind is int else "a number"
            self._fail(name, f"{raw!r} is not {what}")
            return default
        number = float(value)  # type: ignore[arg-type]
        if not math.isfinite(number):
            self._fail(name, f"{raw!r} is not a finite number")
            return default
        if minimum is not None and number < minimum:
            self._fail(name, f"{raw} is below the minimum {minimum:g}")
        if exclusive_minimum is not None and number <= exclusive_minimum:
            self._fail(name, f"{raw} must be above {exclusive_minimum:g}")
        if maximum is not None and number > maximum:
            self._fail(name, f"{raw} is above the maximum {maximum:g}")
        return value

    def _statement_timeout(self) -> int | None:
        """``ELTIKETI_DATABASE_STATEMENT_TIMEOUT_MS``: unset or ``0`` means no limit."""
        timeout = self._number("DATABASE_STATEMENT_TIMEOUT_MS", int, 0, minimum=0)
        return timeout or None

    def _url(self, name: str, schemes: tuple[str, ...]) -> str | None:
        raw = self._raw(name)
        if raw is None:
            return None
        parts = urlsplit(raw)
        if parts.scheme not in schemes or not parts.netloc:
            wanted = " or ".join(f"{s}://" for s in schemes)
            self._fail(name, f"{_mask_url_password(raw)!r} is not a {wanted} URL")
        return raw

    def _database_url(self) -> str | None:
        raw = self._raw("DATABASE_URL")
        if raw is None or raw == MEMORY_DATABASE_URL:
            return raw
        scheme = urlsplit(raw).scheme
        if not scheme.startswith(("postgresql", "sqlite")):
            self._fail(
                "DATABASE_URL",
                f"{_mask_url_password(raw)!r} is neither a postgresql+asyncpg://, "
                f"a sqlite+aiosqlite:// nor the {MEMORY_DATABASE_URL} URL",
            )
        return raw

    def _json_object(self, name: str) -> str | None:
        raw = self._raw(name)
        if raw is None:
            return None
        try:
            parsed = json.loads(raw)
        except ValueError:
            self._fail(name, 'is not valid JSON (expected a JWK set: {"keys": [...]})')
            return None
        if not isinstance(parsed, dict) or not isinstance(parsed.get("keys"), list):
            self._fail(name, 'must be a JWK set: {"keys": [...]}')
        return raw

    def _log_level(self, default: str) -> str:
        raw = self._raw("LOG_LEVEL")
        if raw is None:
            return default
        level = raw.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            self._fail("LOG_LEVEL", f"{raw!r} is not one of DEBUG, INFO, WARNING, ERROR")
            return default
        return level
