"""Id sources: time-ordered ids for running, random ones, and predictable ones for tests."""

from __future__ import annotations

import itertools
import os
import threading
import time
import uuid
from uuid import UUID

_RAND_A = (1 << 12) - 1
_RAND_B = (1 << 62) - 1


class TimeOrderedIds:
    """UUIDv7 ids (RFC 9562): 48-bit Unix milliseconds, then random bits
    (implements :class:`~eltiketi_core.ports.IdGenerator`).

    New rows sort last, which keeps database indexes compact. Ids are strictly
    increasing within one generator even within one millisecond or if the wall
    clock steps back (the random part is incremented instead, RFC 9562 method 3),
    so "created later" and "sorts later" agree. Thread-safe.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = (0, 0, 0)  # (millis, rand_a, rand_b)

    def new_id(self) -> UUID:
        now = time.time_ns() // 1_000_000
        with self._lock:
            millis, rand_a, rand_b = self._last
            if now > millis:
                fresh = int.from_bytes(os.urandom(10), "big")
                millis, rand_a, rand_b = now, (fresh >> 62) & _RAND_A, fresh & _RAND_B
            elif rand_b < _RAND_B:
                rand_b += 1
            elif rand_a < _RAND_A:
                rand_a, rand_b = rand_a + 1, 0
            else:
                millis, rand_a, rand_b = millis + 1, 0, 0
            self._last = (millis, rand_a, rand_b)
        value = (millis & ((1 << 48) - 1)) << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
        return UUID(int=value)


class RandomIds:
    """Random UUIDv4 ids (implements :class:`~eltiketi_core.ports.IdGenerator`)."""

    def new_id(self) -> UUID:
        return uuid.uuid4()


class SequentialIds:
    """``00000000-0000-0000-0000-000000000001``, ``…002`` … — readable in test
    failures and the same on every run (implements
    :class:`~eltiketi_core.ports.IdGenerator`).

    Args:
        start: the first id's integer value.
        prefix: a number put in the top 32 bits, so two generators in one test
            (say, one per kit) never hand out the same id.
    """

    def __init__(self, start: int = 1, *, prefix: int = 0) -> None:
        if not 0 <= prefix < 1 << 32:
            raise ValueError("prefix must fit in 32 bits")
        self._base = prefix << 96
        self._counter = itertools.count(start)

    def new_id(self) -> UUID:
        return UUID(int=self._base | next(self._counter))
