"""The wall clock."""

from __future__ import annotations

from datetime import UTC, datetime


class SystemClock:
    """The wall clock, in UTC (implements :class:`~eltiketi_core.ports.Clock`)."""

    def now(self) -> datetime:
        return datetime.now(UTC)
