"""Id sources: time-ordered random ids for running, predictable ones for tests."""

from __future__ import annotations

import os
import threading
import time
from uuid import UUID


class TimeOrderedIds:
    """UUIDv7-shaped ids (48-bit millisecond time + random), so new rows sort last and
    database indexes stay compact."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = 0

    def new_id(self) -> UUID:
        with self._lock:
            millis = max(time.time_ns() // 1_000_000, self._last)
            self._last = millis
        rand = int.from_bytes(os.urandom(10), "big")
        value = (millis & (2**48 - 1)) << 80 | 0x7 << 76 | (rand >> 4) & (2**76 - 1)
        value = value & ~(0x3 << 62) | 0x2 << 62  # RFC 4122 variant
        return UUID(int=value)


class SequentialIds:
    """``00000000-0000-0000-0000-000000000001``, ``…002`` … — readable in test failures."""

    def __init__(self, start: int = 1) -> None:
        self._next = start

    def new_id(self) -> UUID:
        value = self._next
        self._next += 1
        return UUID(int=value)
