"""Business policy knobs, set by the operator (``ELTIKETI_*``) and passed to the use cases."""

from __future__ import annotations

from datetime import timedelta

import msgspec


class Policy(msgspec.Struct, frozen=True, kw_only=True):
    """The knobs, with the defaults an operator gets when setting nothing.

    The re-hold throttle: a buyer with ``rehold_limit`` holds for one event that ended
    unpaid (released or expired) within ``rehold_window`` may hold that event again only
    ``rehold_cooldown`` after the last of them ended, so the stock they gave back goes to
    other buyers first. ``rehold_limit = 0`` turns it off.

    Notifications: ``notification_lease`` is how long a sender holds a message without
    renewing (it renews every third of it while it sends), so it is also how soon the
    messages of a crashed sender are retried. ``payment_problem_notices_per_booking``
    and ``refund_notices_per_booking`` cap the messages that are not the tickets
    themselves, per booking and channel (0: none at all); the ones over the cap are
    recorded as ``suppressed``, not sent.
    """

    hold_ttl: timedelta = timedelta(minutes=15)
    max_tickets_per_buyer: int = 10
    rehold_limit: int = 2
    rehold_window: timedelta = timedelta(hours=1)
    rehold_cooldown: timedelta = timedelta(minutes=15)
    cancel_cutoff: timedelta = timedelta(hours=24)
    sweep_batch: int = 200
    resend_interval: timedelta = timedelta(minutes=1)
    notification_max_attempts: int = 8
    notification_backoff: timedelta = timedelta(seconds=5)
    notification_lease: timedelta = timedelta(seconds=15)
    payment_problem_notices_per_booking: int = 1
    refund_notices_per_booking: int = 3
    payment_start_stale_after: timedelta = timedelta(minutes=2)
    job_batch_size: int = 100
    """Holds released or orders refunded per transaction of a background job."""
    job_lease: timedelta = timedelta(seconds=30)
    """How long a runner holds a job without renewing (every batch renews): a dead
    runner's job is taken over this long after its last batch."""
    job_batches_per_claim: int = 20
    """Batches a runner does before it hands the job back to every runner."""
    job_max_failures: int = 5
    """Failed batches in a row before a job is marked ``failed``."""
    job_backoff: timedelta = timedelta(seconds=5)
    """Wait after a failed batch; doubles with each further failure."""
    invitation_ttl: timedelta = timedelta(days=7)
    """How long an invitation to an organization (and its e-mailed link) can be accepted."""
