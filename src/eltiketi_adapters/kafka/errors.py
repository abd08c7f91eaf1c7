"""Kafka client errors in domain terms: an unreachable bus is ``GatewayUnavailable``."""

from __future__ import annotations

from eltiketi_core.errors import GatewayUnavailable


def bus_unavailable(error: BaseException) -> GatewayUnavailable:
    """The domain error for a Kafka failure the caller should retry later."""
    return GatewayUnavailable("event_bus_unavailable", f"{type(error).__name__}: {error}")
