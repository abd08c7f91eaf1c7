"""Prometheus metrics, in a registry of their own per app (tests build many apps)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]


class Metrics:
    """Every series the service exports at ``/metrics``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "eltiketi_http_requests_total",
            "HTTP requests answered, by route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "eltiketi_http_request_duration_seconds",
            "Time to answer an HTTP request.",
            ["method", "route"],
            registry=self.registry,
        )
        self.relayed = Counter(
            "eltiketi_outbox_events_relayed_total",
            "Domain events published from the outbox to the bus.",
            registry=self.registry,
        )
        self.holds_expired = Counter(
            "eltiketi_holds_expired_total",
            "Holds released by the expiry sweeper.",
            registry=self.registry,
        )
        self.notifications_retried = Counter(
            "eltiketi_notifications_retried_total",
            "Notifications sent by the retry loop.",
            registry=self.registry,
        )
        self.job_batches = Counter(
            "eltiketi_job_batches_total",
            "Batches of background jobs (event cancellations) done by this process.",
            registry=self.registry,
        )
        self.loop_errors = Counter(
            "eltiketi_background_errors_total",
            "Failures of a background loop iteration (retried on the next tick).",
            ["loop"],
            registry=self.registry,
        )
        self.loop_lag = Histogram(
            "eltiketi_event_loop_lag_seconds",
            "How late the event loop ran a timer: what every request in flight waited.",
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "eltiketi_rate_limited_total",
            "Requests refused with 429 rate_limited, by limited action and bucket.",
            ["action", "bucket"],
            registry=self.registry,
        )
        self.rate_limit_errors = Counter(
            "eltiketi_rate_limit_storage_errors_total",
            "Requests let through unlimited because the rate-limit storage failed.",
            registry=self.registry,
        )
        self.hold_batch_size = Histogram(
            "eltiketi_hold_batch_size",
            "Reservations per group-committed batch (one transaction each).",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128),
            registry=self.registry,
        )
        self.dead_letters = Gauge(
            "eltiketi_dead_letters",
            "Events a handler gave up on (in-process bus), since start.",
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
