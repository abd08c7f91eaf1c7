"""Business policy knobs, set by the operator (``ELTIKETI_*``) and passed to the use cases."""

from __future__ import annotations

from datetime import timedelta

import msgspec


class Policy(msgspec.Struct, frozen=True, kw_only=True):
    hold_ttl: timedelta = timedelta(minutes=15)
    max_tickets_per_buyer: int = 10
    cancel_cutoff: timedelta = timedelta(hours=24)
    sweep_batch: int = 200
    resend_interval: timedelta = timedelta(minutes=1)
    notification_max_attempts: int = 8
    notification_backoff: timedelta = timedelta(seconds=5)
    notification_lease: timedelta = timedelta(minutes=2)
    payment_start_stale_after: timedelta = timedelta(minutes=2)
