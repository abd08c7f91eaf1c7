"""A clock that tests move by hand (the app runs on :class:`eltiketi_adapters.system.SystemClock`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

#: Where a :class:`FixedClock` starts unless told otherwise: far enough ahead that
#: events created "30 days from now" are in the future for years to come.
DEFAULT_START = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


class FixedClock:
    """A clock that moves only when told to, so expiry is tested without sleeping
    (implements :class:`~eltiketi_core.ports.Clock`).

    >>> clock = FixedClock()
    >>> clock.advance(minutes=15)  # the default hold has just expired
    datetime.datetime(2030, 1, 1, 12, 15, tzinfo=datetime.timezone.utc)
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._now = _utc(start or DEFAULT_START)

    def now(self) -> datetime:
        return self._now

    def set(self, instant: datetime) -> datetime:
        """Jump to ``instant`` (timezone-aware; may go backwards). Returns it in UTC."""
        self._now = _utc(instant)
        return self._now

    def advance(self, by: timedelta | float = 0, **parts: float) -> datetime:
        """Move forward by a ``timedelta`` or a number of seconds, plus any
        ``timedelta`` keywords (``advance(minutes=16)``). Returns the new now."""
        step = by if isinstance(by, timedelta) else timedelta(seconds=by)
        step += timedelta(**parts)
        if step < timedelta(0):
            raise ValueError("a FixedClock advances forwards; use set() to go back")
        self._now += step
        return self._now

    def __repr__(self) -> str:
        return f"FixedClock({self._now.isoformat()})"


def _utc(instant: datetime) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("FixedClock needs a timezone-aware datetime")
    return instant.astimezone(UTC)
