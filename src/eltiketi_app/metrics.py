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
        self.loop_errors = Counter(
            "eltiketi_background_errors_total",
            "Failures of a background loop iteration (retried on the next tick).",
            ["loop"],
            registry=self.registry,
        )
        self.dead_letters = Gauge(
            "eltiketi_dead_letters",
            "Events a handler gave up on (in-process bus), since start.",
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
