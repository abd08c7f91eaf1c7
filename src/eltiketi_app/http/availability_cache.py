"""A short-lived, per-process cache of the public event view (``GET /v1/events/{id}``).

An on-sale page is read far more often than stock changes, and an uncached read
costs a database transaction (six round trips). This cache keeps the public
view of an event (event, ticket types, ``available``) in memory for a short
time, and lets concurrent readers of the same event share one database read.

What it promises (availability must never show stock that has been gone for
more than a second):

* **Never served past the TTL.** An entry's age counts from the moment its
  database read *started*, so a view is never older than ``ttl_ms`` when it is
  served; a read that took longer than the TTL is handed to its waiters but not
  stored. ``ttl_ms=0`` turns the cache off: every call loads.
* **Single flight.** Concurrent misses for one key run one load; the other
  callers await it. A caller that goes away (a client disconnects) does not
  cancel the load the others are waiting for.
* **Read your own writes in this process.** :meth:`invalidate` and
  :meth:`clear` drop entries *and* detach loads in flight, so a read that
  started before a commit can never be stored after it. The app calls
  :meth:`clear` from the persistence adapter's commit hook (see
  :func:`build_event_view_cache`). Changes made by other processes show within the TTL.
* **Bounded.** At most ``max_entries`` entries, least recently used evicted
  first; failed loads are never stored, so unknown ids cannot fill it.
* **Public views only.** The cache stores what its caller loads; the route
  loads the anonymous view (drafts answer *not found* and are not cached), which
  is the same for every caller, so nobody sees another user's view.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from uuid import UUID

from eltiketi_app.ioc.types import Persistence
from eltiketi_app.settings import Settings, default_of
from eltiketi_core.domain.identity import Principal
from eltiketi_core.errors import NotFound
from eltiketi_core.usecases.catalog import Catalog, EventView

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

#: Default time to live of an entry (the ``ELTIKETI_AVAILABILITY_CACHE_MS`` default).
DEFAULT_TTL_MS: int = default_of("availability_cache_ms")
#: Default bound on the number of events kept.
DEFAULT_MAX_ENTRIES = 4096

MonotonicClock = Callable[[], float]
"""Seconds on a clock that never goes back (``time.monotonic``); tests inject their own."""


@dataclass(slots=True)
class _Entry(Generic[V]):
    value: V
    expires_at: float


@dataclass(slots=True)
class _Flight(Generic[V]):
    """One load in progress; identity tells whether it was detached by an invalidation."""

    started_at: float
    task: asyncio.Future[V] | None = None


@dataclass(frozen=True, slots=True)
class CacheStats:
    """Counters since the cache was built: answers from memory, loads started, entries."""

    hits: int
    loads: int
    size: int


class ReadCache(Generic[K, V]):
    """TTL + single-flight + LRU-bounded cache of async loads (see the module docstring).

    Args:
        ttl_ms: how long a loaded value may be served, counted from the start of
            its load; ``0`` disables caching (every call loads, nothing is shared).
        max_entries: the most entries kept; the least recently used go first.
        clock: monotonic seconds; ``time.monotonic`` unless a test injects one.

    Raises:
        ValueError: a negative ``ttl_ms`` or a ``max_entries`` below 1.
    """

    def __init__(
        self,
        *,
        ttl_ms: int = DEFAULT_TTL_MS,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        clock: MonotonicClock = time.monotonic,
    ) -> None:
        if ttl_ms < 0:
            raise ValueError(f"ttl_ms must be 0 (off) or more, not {ttl_ms}")
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, not {max_entries}")
        self._ttl = ttl_ms / 1000
        self._max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[K, _Entry[V]] = OrderedDict()
        self._flights: dict[K, _Flight[V]] = {}
        self._hits = 0
        self._loads = 0

    @property
    def enabled(self) -> bool:
        return self._ttl > 0

    @property
    def stats(self) -> CacheStats:
        return CacheStats(hits=self._hits, loads=self._loads, size=len(self._entries))

    async def get(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        """The value for ``key``: from memory while fresh, else from one shared ``load()``.

        ``load``'s exceptions reach every caller waiting on that load and are
        never stored.
        """
        if self._ttl <= 0:
            self._loads += 1
            return await load()
        now = self._clock()
        entry = self._entries.get(key)
        if entry is not None:
            if now < entry.expires_at:
                self._entries.move_to_end(key)
                self._hits += 1
                return entry.value
            del self._entries[key]
        flight = self._flights.get(key) or self._start(key, load, now)
        assert flight.task is not None
        # shield: one caller going away must not cancel the load the others await.
        return await asyncio.shield(flight.task)

    def invalidate(self, key: K) -> None:
        """Forget ``key``: its entry, and any load in flight (which then stores nothing)."""
        self._entries.pop(key, None)
        self._flights.pop(key, None)

    def clear(self) -> None:
        """Forget everything, loads in flight included (the commit hook calls this)."""
        self._entries.clear()
        self._flights.clear()

    def _start(self, key: K, load: Callable[[], Awaitable[V]], now: float) -> _Flight[V]:
        flight: _Flight[V] = _Flight(started_at=now)
        self._flights[key] = flight
        self._loads += 1
        task = asyncio.ensure_future(self._fill(key, load, flight))
        task.add_done_callback(_retrieve_exception)
        flight.task = task
        return flight

    async def _fill(self, key: K, load: Callable[[], Awaitable[V]], flight: _Flight[V]) -> V:
        try:
            value = await load()
        except BaseException:
            if self._flights.get(key) is flight:
                del self._flights[key]
            raise
        if self._flights.get(key) is not flight:
            return value  # invalidated while loading: hand it out, never keep it
        del self._flights[key]
        expires_at = flight.started_at + self._ttl
        if self._clock() < expires_at:
            self._entries[key] = _Entry(value=value, expires_at=expires_at)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
        return value


def _retrieve_exception(task: asyncio.Future[Any]) -> None:
    """Mark a failed load's error as seen when every waiter has gone (no asyncio warning)."""
    if not task.cancelled():
        task.exception()


class EventViewCache(ReadCache[UUID, EventView]):
    """The public view of each event, keyed by event id (one per app, from the container)."""


class PublicEvents:
    """Events as the public reads them: from the cache, loaded by the catalog on a miss.

    ``GET /v1/events/{id}`` and the shop's pages read events this way. The cache only
    ever loads the anonymous view, which is the same for every caller once an event is
    published (or cancelled), so one caller's view is never served to another and a
    draft never reaches the cache.
    """

    def __init__(self, catalog: Catalog, cache: EventViewCache) -> None:
        self._catalog = catalog
        self._cache = cache

    async def get(self, event_id: UUID, principal: Principal | None = None) -> EventView:
        """The public view; else, uncached, the view ``principal`` may see (a draft, for its
        owner or an admin). Raises ``NotFound`` when neither exists."""
        try:
            return await self._cache.get(event_id, lambda: self._catalog.get(event_id))
        except NotFound:
            if principal is None:
                raise
            return await self._catalog.get(event_id, principal)

    async def find(self, event_id: UUID) -> EventView | None:
        """The public view, or None for an event the public cannot see."""
        try:
            return await self.get(event_id)
        except NotFound:
            return None


def build_event_view_cache(
    settings: Settings,
    persistence: Persistence,
    *,
    clock: MonotonicClock = time.monotonic,
    max_entries: int = DEFAULT_MAX_ENTRIES,
) -> EventViewCache:
    """The app's event-view cache, cleared after every commit this process makes.

    The adapters call their commit listeners after each commit that wrote
    domain events, and every change to stock or to an event's status does
    (``BookingCreated``, ``BookingCancelled``/``Expired``, ``OrderCreated`` after
    expiry, ``EventCancelled``). The listener carries no event id, so the whole
    cache is dropped: cheap, and right for read-your-own-writes. Catalogue
    changes that record no event (a new ticket type) are invalidated by their
    routes.

    The TTL is ``settings.availability_cache_ms`` (``ELTIKETI_AVAILABILITY_CACHE_MS``;
    ``0`` turns the cache off). The container builds one per app
    (``CoreProvider.event_views``); tests that need another clock provide their own.
    """
    cache = EventViewCache(
        ttl_ms=settings.availability_cache_ms, max_entries=max_entries, clock=clock
    )
    if persistence.subscribe_commits is not None:
        persistence.subscribe_commits(cache.clear)
    return cache
