"""Time and identity sources, so tests control them and the database never decides "now"."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from uuid import UUID


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware (UTC)."""
        ...


class IdGenerator(Protocol):
    def new_id(self) -> UUID:
        """A fresh unique id; time-ordered ids keep database indexes compact."""
        ...
