"""The operator's contract: every ``ELTIKETI_*`` variable, declared once, read once.

Twelve-factor: the environment is the only source. Each variable is one field of
:class:`Settings` — its type, its default, and a :class:`Var` with its bounds,
group, secrecy and one line of documentation; the variable's name is the field's
name in capitals after ``ELTIKETI_``. :meth:`Settings.from_env` reads them all,
reports every bad value at once in a :class:`SettingsError` that names the
variable, and ``ELTIKETI_MODE=production`` refuses to start while any part would
fall back to an embedded-only choice. ``docs/configuration.md``'s tables are
generated from these declarations (``python -m eltiketi_app.settings``).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, urlsplit

import msgspec

from eltiketi_app.settings.checks import (
    MEMORY_DATABASE_URL,
    RATE_LIMIT_OFF,
    country,
    database_url,
    jwk_set,
    log_level,
    long_secret,
    mask_url_password,
    metrics_token,
    networks,
    rate,
    session_store,
    url,
    zero_means_none,
)
from eltiketi_app.settings.declaration import (
    PREFIX,
    Group,
    Secret,
    SettingsError,
    Var,
    declarations,
    read,
)
from eltiketi_core.usecases.policy import Policy

__all__ = [
    "DEFAULT_PORT",
    "LOOPBACK_HOSTS",
    "MEMORY_DATABASE_URL",
    "PREFIX",
    "RATE_LIMIT_OFF",
    "WORKER_TUNING",
    "Group",
    "Introspection",
    "LogFormat",
    "Mode",
    "Settings",
    "SettingsError",
    "StripeMode",
    "default_of",
]

DEFAULT_PORT = 8000
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
#: Per account and route (``limits`` notation); far above what a person does.
DEFAULT_ACCOUNT_LIMIT = "30/minute;300/hour"

#: The groups ``eltiketi worker`` may re-read from another mapping (see
#: :meth:`Settings.with_worker_tuning_from`) and lists in its ``--help``.
WORKER_TUNING = frozenset({Group.KAFKA, Group.WORKERS})


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


_SERVER = Group.SERVER
_DATABASE = Group.DATABASE
_IDENTITY = Group.IDENTITY
_PAYMENTS = Group.PAYMENTS
_MAIL = Group.MAIL
_SMS = Group.SMS
_TICKETS = Group.TICKETS
_WEB = Group.WEB
_POLICY = Group.POLICY
_RATE_LIMITS = Group.RATE_LIMITS
_NOTIFICATIONS = Group.NOTIFICATIONS
_EVENT_BUS = Group.EVENT_BUS
_KAFKA = Group.KAFKA
_WORKERS = Group.WORKERS


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Every knob of the service. Unset optional values mean "the embedded choice".

    Build it with :meth:`from_env` in a process, or directly in tests.
    """

    # -- server ---------------------------------------------------------------------
    mode: Annotated[
        Mode,
        Var(
            "`embedded` (everything in one process, nothing to configure) or `production` "
            "(every external part must be configured)",
            _SERVER,
            production="`production`",
        ),
    ] = Mode.EMBEDDED
    data_dir: Annotated[
        Path,
        Var(
            "folder for embedded state: SQLite file, dev-token key, ticket keys, `outbox/` "
            "with `.eml` and SMS `.txt` files",
            _SERVER,
            embedded="`./.eltiketi`",
            production="unused unless a part is embedded",
        ),
    ] = Path(".eltiketi")
    public_url: Annotated[
        str | None,
        Var(
            "base URL for links in e-mails and payment return URLs",
            _SERVER,
            parse=url("http", "https"),
            embedded="`http://127.0.0.1:<port>`",
            production="required",
        ),
    ] = None
    host: Annotated[
        str,
        Var(
            "where `eltiketi serve` listens (`--host` wins); embedded mode refuses a "
            "non-loopback address without `--allow-remote`",
            _SERVER,
            production="e.g. `0.0.0.0`",
        ),
    ] = "127.0.0.1"
    port: Annotated[
        int, Var("where `eltiketi serve` listens (`--port` wins)", _SERVER, ge=0, le=65535)
    ] = DEFAULT_PORT
    metrics_port: Annotated[
        int | None,
        Var(
            "serve `/metrics` on this port (same host as the API) instead of the API's, for a "
            "network where only Prometheus reaches it; must differ from `ELTIKETI_PORT` "
            "([operations](operations.md#metrics-and-who-may-read-them))",
            _SERVER,
            ge=1,
            le=65535,
            embedded="`/metrics` on the API's port",
            production="this or `ELTIKETI_METRICS_TOKEN`",
        ),
    ] = None
    metrics_token: Annotated[
        str | None,
        Var(
            "a random string of 16+ characters: `/metrics` then needs "
            "`Authorization: Bearer <it>` (on either port)",
            _SERVER,
            secret=Secret.WHOLE,
            parse=metrics_token,
            embedded="no token",
            production="this or `ELTIKETI_METRICS_PORT`",
        ),
    ] = None
    log_level: Annotated[
        str, Var("`DEBUG`, `INFO`, `WARNING` or `ERROR`", _SERVER, parse=log_level)
    ] = "INFO"
    log_format: Annotated[
        LogFormat,
        Var("`json` (one JSON object per line) or `console`", _SERVER, production="`json`"),
    ] = LogFormat.JSON
    availability_cache_ms: Annotated[
        int,
        Var(
            "how long each API process may serve an event's public view (`GET "
            "/v1/events/{id}`, with `available`) from memory; another process's changes show "
            "within this time, this process's at once "
            "([details](rest.md#caching-of-get-v1eventsid)); `0` = no cache",
            _SERVER,
            ge=0,
        ),
    ] = 500

    # -- database -------------------------------------------------------------------
    database_url: Annotated[
        str | None,
        Var(
            "SQLAlchemy URL: `postgresql+asyncpg://user:pass@host/db` (plain `postgresql://` "
            "works too), `sqlite+aiosqlite:///path`, or `memory://` (in-memory stores, gone "
            "at exit)",
            _DATABASE,
            secret=Secret.URL_PASSWORD,
            parse=database_url,
            embedded="SQLite file `<data dir>/eltiketi.db` (WAL, busy timeout), migrated on start",
            production="required (PostgreSQL)",
        ),
    ] = None
    database_pool_size: Annotated[
        int,
        Var(
            "PostgreSQL connections each process keeps open ([pool](#database-connection-pool))",
            _DATABASE,
            ge=1,
            le=1000,
        ),
    ] = 15
    database_max_overflow: Annotated[
        int,
        Var(
            "extra connections a process may open under load, closed again when returned",
            _DATABASE,
            ge=0,
            le=1000,
        ),
    ] = 0
    database_pool_timeout: Annotated[
        float,
        Var(
            "seconds a request waits for a free connection before it fails with 503",
            _DATABASE,
            ge=0.1,
        ),
    ] = 30.0
    database_statement_timeout_ms: Annotated[
        int | None,
        Var(
            "PostgreSQL `statement_timeout` for every connection (a statement running longer "
            "is cancelled: 503); `0` = no limit",
            _DATABASE,
            ge=0,
            parse=zero_means_none,
            embedded="no limit",
            production="recommended",
        ),
    ] = None

    # -- identity -------------------------------------------------------------------
    oidc_issuer: Annotated[
        str | None,
        Var(
            "the Keycloak realm URL exactly as in tokens' `iss`",
            _IDENTITY,
            parse=url("http", "https"),
            embedded="dev issuer",
            production="required",
        ),
    ] = None
    oidc_audience: Annotated[
        str | None,
        Var(
            "the audience this API expects (`aud`, or Keycloak `azp`)",
            _IDENTITY,
            production="required",
        ),
    ] = None
    oidc_introspection: Annotated[
        Introspection,
        Var(
            "RFC 7662 introspection: `off`, `always`, `opaque-only`",
            _IDENTITY,
            production="optional",
        ),
    ] = Introspection.OFF
    oidc_client_id: Annotated[
        str | None,
        Var(
            "the confidential client that calls the introspection endpoint",
            _IDENTITY,
            production="required unless introspection is `off`",
        ),
    ] = None
    oidc_client_secret: Annotated[
        str | None,
        Var(
            "that client's secret",
            _IDENTITY,
            secret=Secret.WHOLE,
            production="required unless introspection is `off`",
        ),
    ] = None
    oidc_web_client_id: Annotated[
        str | None,
        Var(
            "the web pages' own OIDC client: the shop signs buyers in with the authorization "
            "code flow + PKCE and keeps the tokens in its server-side sessions "
            "([web](web.md#signing-in-with-keycloak)); a client of its own, not the "
            "introspection client",
            _IDENTITY,
            embedded="the dev login page (with the dev issuer), else no sign-in",
            production="required",
        ),
    ] = None
    oidc_web_client_secret: Annotated[
        str | None,
        Var(
            "that client's secret: set for a confidential client (recommended: the token "
            "requests then prove they come from this server); unset for a public client "
            "(PKCE only)",
            _IDENTITY,
            secret=Secret.WHOLE,
            production="recommended",
        ),
    ] = None
    oidc_web_scopes: Annotated[
        str,
        Var(
            "the scopes the pages ask for at sign-in (`openid` is needed; `email` and `phone` "
            "fill in where tickets go)",
            _IDENTITY,
        ),
    ] = "openid profile email phone"
    oidc_cache_seconds: Annotated[
        float,
        Var(
            "how long a positive introspection answer is reused (never past the token's "
            "`exp`): the longest a revoked token keeps working; `0` = ask every time",
            _IDENTITY,
            ge=0,
        ),
    ] = 30.0
    oidc_jwks_min_refetch_seconds: Annotated[
        float,
        Var(
            "at most one JWKS fetch per this many seconds when tokens name an unknown key "
            "(`kid`), so forged kids cannot hammer the issuer; a key rotated in at the issuer "
            "is picked up after at most this long",
            _IDENTITY,
            ge=0,
        ),
    ] = 30.0

    # -- payments -------------------------------------------------------------------
    stripe_api_key: Annotated[
        str | None,
        Var(
            "Stripe secret or restricted key",
            _PAYMENTS,
            secret=Secret.WHOLE,
            embedded="fake gateway with a local pay page",
            production="required",
        ),
    ] = None
    stripe_webhook_secret: Annotated[
        str | None,
        Var(
            "the webhook endpoint's signing secret (`whsec_…`)",
            _PAYMENTS,
            secret=Secret.WHOLE,
            production="required",
        ),
    ] = None
    stripe_mode: Annotated[
        StripeMode,
        Var(
            "`payment_intent` (client secret for a card form) or `checkout` (hosted page URL)",
            _PAYMENTS,
            production="optional",
        ),
    ] = StripeMode.PAYMENT_INTENT
    stripe_api_base: Annotated[
        str | None,
        Var(
            "another API address (tests against localstripe only)",
            _PAYMENTS,
            parse=url("http", "https"),
            embedded="Stripe",
            production="—",
        ),
    ] = None

    stripe_publishable_key: Annotated[
        str | None,
        Var(
            "the publishable key (`pk_…`) Stripe.js uses on the hold page in `payment_intent` "
            "mode (the Payment Element); without it the pages cannot take card payments",
            _PAYMENTS,
            production="required in `payment_intent` mode",
        ),
    ] = None
    stripe_js_url: Annotated[
        str,
        Var(
            "where the hold page loads Stripe.js from; the pages' Content-Security-Policy "
            "allows this origin (and Stripe's API and frames) only when Stripe is configured. "
            "Tests point it at a stand-in",
            _PAYMENTS,
            parse=url("http", "https"),
        ),
    ] = "https://js.stripe.com/v3/"

    # -- mail -----------------------------------------------------------------------
    smtp_url: Annotated[
        str | None,
        Var(
            "`smtp://user:pass@host:port`, `smtps://…`, `?starttls=true`",
            _MAIL,
            secret=Secret.URL_PASSWORD,
            parse=url("smtp", "smtps"),
            embedded="`.eml` files in `<data dir>/outbox/`",
            production="required",
        ),
    ] = None
    mail_from: Annotated[
        str | None,
        Var(
            "`From` of every e-mail, e.g. `elTiketi <tickets@example.com>`",
            _MAIL,
            embedded="`elTiketi <tickets@eltiketi.localhost>`",
            production="required",
        ),
    ] = None

    # -- sms ------------------------------------------------------------------------
    sms_url: Annotated[
        str | None,
        Var(
            "HTTP SMS provider (Twilio's API shape)",
            _SMS,
            secret=Secret.URL_PASSWORD,
            parse=url("http", "https"),
            embedded="text files in `<data dir>/outbox/`",
            production="optional",
        ),
    ] = None
    sms_user: Annotated[
        str | None, Var("the SMS provider's account", _SMS, production="with `ELTIKETI_SMS_URL`")
    ] = None
    sms_token: Annotated[
        str | None,
        Var(
            "the SMS provider's token",
            _SMS,
            secret=Secret.WHOLE,
            production="with `ELTIKETI_SMS_URL`",
        ),
    ] = None
    sms_from: Annotated[
        str | None,
        Var(
            "the SMS sender: an E.164 number, an alphanumeric sender id, or a Twilio messaging "
            "service id (`MG…`). The older form, `?from=%2B1500…` in `ELTIKETI_SMS_URL`, "
            "still works; this wins when both are set",
            _SMS,
            production="required with `ELTIKETI_SMS_URL` (or `?from=`)",
        ),
    ] = None

    # -- tickets --------------------------------------------------------------------
    ticket_keys: Annotated[
        str | None,
        Var(
            "the ticket-signing JWK set (Ed25519; current key first, retired keys kept so old "
            "tickets still verify), shared by every replica",
            _TICKETS,
            secret=Secret.WHOLE,
            parse=jwk_set,
            embedded="generated once in the data folder",
            production="required",
        ),
    ] = None

    # -- web pages ------------------------------------------------------------------
    web_secret: Annotated[
        str | None,
        Var(
            "the web pages' secret (at least 32 characters): signs the ticket links in e-mails "
            "and SMS, invitation links and the forms' CSRF tokens, each with a key derived from it; every replica "
            "needs the same one ([web](web.md#signed-ticket-links))",
            _WEB,
            secret=Secret.WHOLE,
            parse=long_secret,
            embedded="generated once in `<data dir>/web-secret`",
            production="required",
        ),
    ] = None
    web_session_store: Annotated[
        str,
        Var(
            "where the pages' server-side sessions live: `memory` (this process), `file` "
            "(`<data dir>/web-sessions`) or a `redis://` / `rediss://` URL shared by every "
            "replica ([web](web.md#sessions))",
            _WEB,
            secret=Secret.URL_PASSWORD,
            parse=session_store,
            production="a `redis://` URL (required)",
        ),
    ] = "memory"

    # -- policy ---------------------------------------------------------------------
    hold_ttl_seconds: Annotated[int, Var("how long a hold lasts", _POLICY, ge=1)] = 900
    sweep_interval_seconds: Annotated[
        float, Var("seconds between runs of the hold-expiry sweeper", _POLICY, ge=0.05)
    ] = 5.0
    cancel_cutoff_hours: Annotated[
        float,
        Var(
            "customers may cancel an order until this many hours before the event",
            _POLICY,
            ge=0,
        ),
    ] = 24.0
    max_tickets_per_buyer: Annotated[
        int,
        Var("active tickets (held or bought) one account may have per event", _POLICY, ge=1),
    ] = 10
    rehold_limit: Annotated[
        int,
        Var(
            "holds one account may end unpaid (release or let expire) for one event within "
            "`ELTIKETI_REHOLD_WINDOW_SECONDS` before it must wait to hold that event again "
            "(`429 hold_cooldown`); `0` = off",
            _POLICY,
            ge=0,
        ),
    ] = 2
    rehold_window_seconds: Annotated[
        float, Var("how far back ended holds count for the re-hold cool-down", _POLICY, ge=1)
    ] = 3600.0
    rehold_cooldown_seconds: Annotated[
        float,
        Var(
            "the re-hold cool-down: the wait after the last of those holds ended",
            _POLICY,
            ge=0,
        ),
    ] = 900.0
    phone_region: Annotated[
        str | None,
        Var(
            "two-letter country (`DE`) whose national numbers a contact phone may be written "
            "in (`030 1234567`); unset, phone numbers need `+` and the country code",
            _POLICY,
            parse=country,
            embedded="unset: international numbers only",
            production="optional",
        ),
    ] = None

    invitation_ttl_hours: Annotated[
        float,
        Var(
            "how long an invitation to an organization (and the link in its e-mail) can be "
            "accepted ([organizers](organizers.md#invitations))",
            _POLICY,
            ge=0.01,
            le=24 * 90,
        ),
    ] = 168.0

    # -- rate limits ----------------------------------------------------------------
    rate_limit_enabled: Annotated[
        bool,
        Var(
            "the per-account and per-address rate limits of hold, release, payment and "
            "resend ([rest](rest.md#rate-limits))",
            _RATE_LIMITS,
        ),
    ] = True
    rate_limit_redis_url: Annotated[
        str | None,
        Var(
            "`redis://[:password@]host:port/db` or `rediss://…`: where the rate-limit "
            "counters live, shared by every API replica",
            _RATE_LIMITS,
            secret=Secret.URL_PASSWORD,
            parse=url("redis", "rediss"),
            embedded="counters in the process's memory",
            production="required while the rate limits are on",
        ),
    ] = None
    rate_limit_key_prefix: Annotated[
        str,
        Var("prefix of every rate-limit key in Redis (several installations on one)", _RATE_LIMITS),
    ] = "eltiketi"
    rate_limit_hold: Annotated[
        str,
        Var(
            "`POST /v1/bookings` per account: rates in `limits` notation, `;`-separated, all "
            "enforced (`30/minute;300/hour`); `off` = none",
            _RATE_LIMITS,
            parse=rate,
        ),
    ] = DEFAULT_ACCOUNT_LIMIT
    rate_limit_release: Annotated[
        str, Var("`DELETE /v1/bookings/{id}` per account", _RATE_LIMITS, parse=rate)
    ] = DEFAULT_ACCOUNT_LIMIT
    rate_limit_payment: Annotated[
        str, Var("`POST /v1/bookings/{id}/payment` per account", _RATE_LIMITS, parse=rate)
    ] = DEFAULT_ACCOUNT_LIMIT
    rate_limit_resend: Annotated[
        str,
        Var(
            "`POST /v1/orders/{id}/resend` per account, all its orders together (each order "
            "also waits `ELTIKETI_RESEND_INTERVAL_SECONDS`)",
            _RATE_LIMITS,
            parse=rate,
        ),
    ] = "5/minute;30/hour"
    rate_limit_per_address: Annotated[
        str,
        Var(
            "each of those four routes per client address, all accounts behind it together "
            "(IPv6 per `/64`); raise it if many real buyers share one address; `off` = none",
            _RATE_LIMITS,
            parse=rate,
        ),
    ] = "600/minute"
    trusted_proxies: Annotated[
        tuple[str, ...],
        Var(
            "comma-separated addresses or CIDR networks of your load balancers; only from "
            "these is `X-Forwarded-For` believed (the right-most address not theirs is the "
            "client)",
            _RATE_LIMITS,
            parse=networks,
            embedded="none: the TCP peer is the client",
            production="your balancers, e.g. `10.0.0.0/8`",
        ),
    ] = ()

    # -- notifications --------------------------------------------------------------
    resend_interval_seconds: Annotated[
        float,
        Var(
            "`POST /v1/orders/{id}/resend` answers 429 if the same order's e-tickets were "
            "sent, or asked for again, less than this long ago (or are being sent right now)",
            _NOTIFICATIONS,
            ge=0,
        ),
    ] = 60.0
    notification_max_attempts: Annotated[
        int,
        Var(
            "tries of one e-mail or SMS before it is given up (and logged)",
            _NOTIFICATIONS,
            ge=1,
        ),
    ] = 8
    notification_backoff_seconds: Annotated[
        float,
        Var(
            "wait after the first failed send; doubles after each further failure",
            _NOTIFICATIONS,
            ge=0.1,
        ),
    ] = 5.0
    notification_lease_seconds: Annotated[
        float,
        Var(
            "the lease on an e-mail or SMS being sent: its sender renews it every third of "
            "this while the send runs (however long the mail server takes), so it is how soon "
            "the messages of a crashed process are retried by another "
            "([operations](operations.md#notification-leases-crashes-and-duplicates))",
            _NOTIFICATIONS,
            ge=1,
        ),
    ] = 15.0
    payment_problem_notices_per_booking: Annotated[
        int,
        Var(
            'at most this many "your payment did not go through" messages per booking and '
            "channel; the ones over it are recorded as `suppressed`, not sent. `0`: none",
            _NOTIFICATIONS,
            ge=0,
        ),
    ] = 1
    refund_notices_per_booking: Annotated[
        int,
        Var("the same cap for refund notices", _NOTIFICATIONS, ge=0),
    ] = 3

    # -- event bus ------------------------------------------------------------------
    kafka_bootstrap: Annotated[
        str | None,
        Var(
            "Kafka bootstrap servers (the API then leaves relay, handlers and sweeper to "
            "`eltiketi worker`)",
            _EVENT_BUS,
            embedded="in-process bus, handlers and loops in the server",
            production="required",
        ),
    ] = None

    # -- kafka tuning ---------------------------------------------------------------
    kafka_topic_prefix: Annotated[
        str, Var("prefix of every topic name (one cluster, many stages)", _KAFKA)
    ] = ""
    kafka_group_prefix: Annotated[str, Var("prefix of every consumer group", _KAFKA)] = "eltiketi-"
    kafka_partitions: Annotated[
        int, Var("partitions of each event topic when a worker creates it", _KAFKA, ge=1)
    ] = 12
    kafka_replication_factor: Annotated[
        int,
        Var("copies of each partition when created (3 on a production cluster)", _KAFKA, ge=1),
    ] = 1
    kafka_request_timeout_ms: Annotated[
        int, Var("Kafka client request timeout", _KAFKA, ge=100)
    ] = 30_000
    kafka_session_timeout_ms: Annotated[
        int,
        Var(
            "consumer group session timeout (real Kafka refuses less than 6000 by default)",
            _KAFKA,
            ge=100,
        ),
    ] = 10_000
    kafka_heartbeat_interval_ms: Annotated[
        int,
        Var("consumer heartbeat interval; must be below the session timeout", _KAFKA, ge=50),
    ] = 3_000
    kafka_retry_attempts: Annotated[
        int, Var("tries of a failing message before it is dead-lettered", _KAFKA, ge=1)
    ] = 5
    kafka_retry_base_seconds: Annotated[
        float, Var("first retry delay (doubles, capped)", _KAFKA, ge=0)
    ] = 0.5
    kafka_retry_max_seconds: Annotated[float, Var("longest retry delay", _KAFKA, ge=0)] = 30.0
    kafka_concurrency: Annotated[
        int,
        Var(
            "purchases one consumer handles at once; one purchase's events always run one "
            "after another, in order. Each may hold a database connection while it runs: "
            "with several consumer roles in one process, the pool is shared",
            _KAFKA,
            ge=1,
            le=1000,
        ),
    ] = 16
    kafka_fetch_max_wait_ms: Annotated[
        int,
        Var(
            "longest time the broker holds a consumer's fetch that found nothing. Kafka "
            "answers as soon as a record arrives; brokers that wait the whole time (tansu) "
            "add up to this to every event's delay",
            _KAFKA,
            ge=1,
            le=60_000,
        ),
    ] = 100

    # -- relay and workers ----------------------------------------------------------
    relay_poll_seconds: Annotated[
        float,
        Var(
            "relay: longest pause while the outbox stays empty. After a batch that was not "
            "full it looks again after 50 ms (after a full one, at once), doubling the pause "
            "on every empty look up to this",
            _WORKERS,
            ge=0.01,
        ),
    ] = 0.5
    relay_max_backoff_seconds: Annotated[
        float, Var("relay: longest pause while Kafka is away", _WORKERS, ge=0.1)
    ] = 30.0
    worker_graceful_seconds: Annotated[
        float,
        Var(
            "how long a shutdown waits for the background work in hand (a worker's, and the "
            "embedded server's loops) before it cancels it",
            _WORKERS,
            ge=0,
        ),
    ] = 30.0
    notification_retry_interval_seconds: Annotated[
        float,
        Var(
            "seconds between runs of the notification retry loop (the embedded server's, or "
            "`eltiketi worker notifications`), which sends the e-mails and SMS whose backoff "
            "has passed",
            _WORKERS,
            gt=0,
        ),
    ] = 5.0
    job_interval_seconds: Annotated[
        float,
        Var(
            "jobs: how often an idle job loop (the embedded server's, or `eltiketi worker "
            "jobs`) looks for a due [background job](operations.md#background-jobs); a "
            "cancellation request wakes the embedded loop at once",
            _WORKERS,
            gt=0,
        ),
    ] = 1.0
    job_batch_size: Annotated[
        int,
        Var(
            "jobs: holds released or orders refunded per transaction of a background job "
            "(an event's cancellation)",
            _WORKERS,
            ge=1,
            le=10_000,
        ),
    ] = 100
    job_lease_seconds: Annotated[
        float,
        Var(
            "jobs: a runner holds a job this long without renewing it (every batch renews); "
            "a crashed runner's job is taken over this long after its last batch. Keep it "
            "well above the longest batch",
            _WORKERS,
            ge=1,
        ),
    ] = 30.0
    job_max_failures: Annotated[
        int,
        Var(
            "jobs: failed batches in a row (retried after 5 s, 10 s, 20 s …) before a job "
            "is marked `failed`; cancelling the event again resumes it",
            _WORKERS,
            ge=1,
        ),
    ] = 5

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read ``ELTIKETI_*`` from ``env`` (default ``os.environ``); raise :class:`SettingsError`.

        Empty values count as unset. Every bad variable is reported at once.
        """
        values, problems = read(cls, os.environ if env is None else env)
        if problems:
            raise SettingsError(problems)
        settings = cls(**values)
        settings.check()
        return settings

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
    def web_sessions_shared(self) -> bool:
        """The pages' sessions live where every replica sees them (Redis)."""
        return urlsplit(self.web_session_store).scheme in {"redis", "rediss", "unix"}

    @property
    def uses_web_oidc_login(self) -> bool:
        """The pages sign buyers in at the OIDC issuer (backend-for-frontend)."""
        return self.oidc_issuer is not None and self.oidc_web_client_id is not None

    @property
    def outbox_dir(self) -> Path:
        """Where embedded e-mails (``.eml``) and SMS (``.txt``) are written."""
        return self.data_dir / "outbox"

    @property
    def is_exposed(self) -> bool:
        """Whether ``host`` is reachable from other machines (anything but loopback)."""
        if self.host in LOOPBACK_HOSTS:
            return False
        try:
            return not ipaddress.ip_address(self.host.strip("[]")).is_loopback
        except ValueError:
            return True  # a name other than localhost

    @property
    def uses_https(self) -> bool:
        """Links (and so browsers) reach the service over https: answers carry HSTS."""
        return self.effective_public_url.startswith("https://")

    @property
    def serves_metrics_apart(self) -> bool:
        """``/metrics`` is on its own port (``ELTIKETI_METRICS_PORT``), not the API's."""
        return self.metrics_port is not None

    def policy(self) -> Policy:
        """The core's business knobs: holds, limits, cancellation, notification retries,
        background jobs."""
        return Policy(
            hold_ttl=timedelta(seconds=self.hold_ttl_seconds),
            max_tickets_per_buyer=self.max_tickets_per_buyer,
            cancel_cutoff=timedelta(hours=self.cancel_cutoff_hours),
            resend_interval=timedelta(seconds=self.resend_interval_seconds),
            notification_max_attempts=self.notification_max_attempts,
            notification_backoff=timedelta(seconds=self.notification_backoff_seconds),
            notification_lease=timedelta(seconds=self.notification_lease_seconds),
            payment_problem_notices_per_booking=self.payment_problem_notices_per_booking,
            refund_notices_per_booking=self.refund_notices_per_booking,
            job_batch_size=self.job_batch_size,
            job_lease=timedelta(seconds=self.job_lease_seconds),
            job_max_failures=self.job_max_failures,
            rehold_limit=self.rehold_limit,
            rehold_window=timedelta(seconds=self.rehold_window_seconds),
            rehold_cooldown=timedelta(seconds=self.rehold_cooldown_seconds),
            invitation_ttl=timedelta(hours=self.invitation_ttl_hours),
        )

    def with_worker_tuning_from(self, env: Mapping[str, str]) -> Settings:
        """These settings with the Kafka, relay and worker tuning re-read from ``env``.

        For callers (tests, tools) that hold a :class:`Settings` and want to try other
        tuning values without rebuilding everything; raises :class:`SettingsError`.
        """
        tuning, problems = read(Settings, env, groups=WORKER_TUNING)
        if problems:
            raise SettingsError(problems)
        defaults = {
            d.field: d.default for d in declarations(Settings) if d.var.group in WORKER_TUNING
        }
        tuned = msgspec.structs.replace(self, **{**defaults, **tuning})
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
        if self.web_secret is None:
            missing.append("web pages: ELTIKETI_WEB_SECRET (signs ticket links and forms)")
        if self.rate_limit_enabled and self.rate_limit_redis_url is None:
            missing.append(
                "rate limits shared by the replicas: ELTIKETI_RATE_LIMIT_REDIS_URL "
                "(or ELTIKETI_RATE_LIMIT_ENABLED=false)"
            )
        if self.oidc_web_client_id is None:
            missing.append("web sign-in: ELTIKETI_OIDC_WEB_CLIENT_ID (the pages' OIDC client)")
        if not self.web_sessions_shared:
            missing.append(
                "web sessions shared by replicas: ELTIKETI_WEB_SESSION_STORE (a redis:// URL)"
            )
        if self.stripe_mode is StripeMode.PAYMENT_INTENT and self.stripe_publishable_key is None:
            missing.append(
                "card payments on the hold page: ELTIKETI_STRIPE_PUBLISHABLE_KEY "
                "(or ELTIKETI_STRIPE_MODE=checkout)"
            )
        return missing

    def check(self) -> None:
        """Raise :class:`SettingsError` if this configuration must not start."""
        problems = _cross_checks(self)
        if self.mode is Mode.PRODUCTION:
            problems += [
                f"ELTIKETI_MODE=production but {part} is not set"
                for part in self.embedded_only_parts()
            ]
            problems += _production_checks(self)
        if problems:
            raise SettingsError(problems)

    def redacted(self) -> dict[str, Any]:
        """The settings as a dict with every secret masked (for the start-up log line)."""
        raw: dict[str, Any] = msgspec.to_builtins(self, enc_hook=str)
        for declared in declarations(Settings):
            value = raw.get(declared.field)
            if not value:
                continue
            if declared.var.secret is Secret.WHOLE:
                raw[declared.field] = "***"
            elif declared.var.secret is Secret.URL_PASSWORD:
                raw[declared.field] = mask_url_password(value)
        return raw


def default_of(field: str) -> Any:
    """The declared default of a setting, without building a :class:`Settings`."""
    for declared in declarations(Settings):
        if declared.field == field:
            return declared.default
    raise KeyError(field)


def _production_checks(settings: Settings) -> list[str]:
    """What production refuses even when every part is set."""
    problems: list[str] = []
    url = settings.database_url
    if url is not None and not settings.uses_memory_database:
        scheme = urlsplit(url).scheme
        if not scheme.startswith("postgresql"):
            problems.append(
                f"ELTIKETI_MODE=production needs PostgreSQL, but ELTIKETI_DATABASE_URL is a "
                f"{scheme}:// URL: SQLite is for embedded mode only (one process on one machine; "
                "API replicas and workers cannot share it). Set a postgresql+asyncpg:// URL"
            )
    if settings.metrics_port is None and settings.metrics_token is None:
        problems.append(
            "ELTIKETI_MODE=production needs /metrics kept from the public: set "
            "ELTIKETI_METRICS_PORT (serve it on a port of its own) or ELTIKETI_METRICS_TOKEN "
            "(require Authorization: Bearer <token>)"
        )
    return problems


def _cross_checks(settings: Settings) -> list[str]:
    problems: list[str] = []
    if settings.metrics_port is not None and settings.metrics_port == settings.port:
        problems.append(
            f"ELTIKETI_METRICS_PORT ({settings.metrics_port}) must differ from ELTIKETI_PORT: "
            "it serves /metrics apart from the API"
        )
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
    if settings.oidc_web_client_id is not None and settings.oidc_issuer is None:
        problems.append("ELTIKETI_OIDC_WEB_CLIENT_ID needs ELTIKETI_OIDC_ISSUER (where to sign in)")
    if settings.oidc_web_client_secret is not None and settings.oidc_web_client_id is None:
        problems.append(
            "ELTIKETI_OIDC_WEB_CLIENT_SECRET is set without ELTIKETI_OIDC_WEB_CLIENT_ID"
        )
    if "openid" not in settings.oidc_web_scopes.split():
        problems.append("ELTIKETI_OIDC_WEB_SCOPES must include openid")
    if settings.kafka_heartbeat_interval_ms >= settings.kafka_session_timeout_ms:
        problems.append(
            f"ELTIKETI_KAFKA_HEARTBEAT_INTERVAL_MS ({settings.kafka_heartbeat_interval_ms}) must be "
            f"lower than ELTIKETI_KAFKA_SESSION_TIMEOUT_MS ({settings.kafka_session_timeout_ms})"
        )
    return problems


def _sender_in_url(value: str) -> bool:
    """Whether an SMS URL carries its sender as ``?from=…`` (the older way to configure it)."""
    return any(sender.strip() for sender in parse_qs(urlsplit(value).query).get("from", []))
