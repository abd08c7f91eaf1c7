"""``GET /v1/events/{id}`` from the per-process cache: right after this process's own
changes, never an organizer's draft to anyone else, and another process's changes
within the TTL.

The cache here runs on a clock the test moves (a provider replaces the app's
``EventViewCache``, as tests swap any collaborator). With the clock frozen, only an
invalidation can make an answer change, so these tests tell invalidation apart from
expiry.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest
from dishka import Provider, Scope, provide

from eltiketi_adapters.system import SystemClock
from eltiketi_app.http.availability_cache import (
    DEFAULT_TTL_MS,
    EventViewCache,
    build_event_view_cache,
)
from eltiketi_app.ioc.types import Persistence
from eltiketi_app.settings import Settings
from eltiketi_core.usecases import Ticketing
from tests.api.conftest import (
    Api,
    ClockProvider,
    Headers,
    embedded_settings,
    problem,
    running_app,
)

EVENT_KEYS = {
    "id",
    "name",
    "venue",
    "starts_at",
    "timezone",
    "locale",
    "currency",
    "status",
    "owner",
    "organization_id",
    "ticket_types",
    "description",
}
TICKET_TYPE_KEYS = {
    "id",
    "name",
    "price",
    "capacity",
    "max_per_booking",
    "available",
    "sales_start",
    "sales_end",
}


class TestClock:
    """Monotonic seconds in whole milliseconds; frozen unless the test advances it."""

    __test__ = False

    def __init__(self) -> None:
        self.ms = 1_000_000

    def __call__(self) -> float:
        return self.ms / 1000

    def advance(self, ms: int) -> None:
        self.ms += ms


class ViewsOnClock(Provider):
    """The app's event-view cache, built as the app builds it but on the test's clock."""

    scope = Scope.APP

    def __init__(self, clock: TestClock) -> None:
        super().__init__()
        self._clock = clock

    @provide
    def event_views(self, settings: Settings, persistence: Persistence) -> EventViewCache:
        return build_event_view_cache(settings, persistence, clock=self._clock)


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    """The conftest's app, with its event-view cache on a frozen clock."""
    overrides = [ClockProvider(SystemClock()), ViewsOnClock(TestClock())]
    async with running_app(embedded_settings(tmp_path), overrides) as running:
        yield running


async def cache_of(api: Api) -> EventViewCache:
    """The cache the app's ``GET /v1/events/{id}`` uses."""
    cache = await api.get(EventViewCache)
    assert isinstance(cache, EventViewCache)
    return cache


async def public(api: Api, event_id: str, who: Headers | None = None) -> dict[str, Any]:
    response = await api.client.get(f"/v1/events/{event_id}", headers=who or {})
    assert response.status_code == 200, response.text
    return dict(response.json())


def available(view: dict[str, Any]) -> list[int]:
    return [t["available"] for t in view["ticket_types"]]


async def test_availability_after_a_hold_and_a_release_in_this_process_is_exact(
    api: Api,
) -> None:
    cache = await cache_of(api)
    event_id, standing = await api.sale(capacity=10)
    buyer = api.customer("alice")
    assert available(await public(api, event_id)) == [10]
    assert available(await public(api, event_id)) == [10]
    assert cache.stats.hits >= 1  # the second read came from memory

    held = await api.hold(buyer, event_id, standing, 3)
    assert held.status_code == 201, held.text
    assert available(await public(api, event_id)) == [7]
    assert available(await public(api, event_id, buyer)) == [7]

    released = await api.client.delete(f"/v1/bookings/{held.json()['id']}", headers=buyer)
    assert released.status_code == 200, released.text
    assert available(await public(api, event_id)) == [10]


async def test_a_cached_answer_has_exactly_the_uncached_shape_and_values(api: Api) -> None:
    olga = api.auth("olga", "organizer")
    event = await api.create_event(olga)
    await api.add_type(olga, event["id"], capacity=40)
    published = await api.client.post(f"/v1/events/{event['id']}/publish", headers=olga)
    assert published.status_code == 200, published.text

    first, second = await public(api, event["id"]), await public(api, event["id"])
    assert first == second == published.json()
    assert set(second) == EVENT_KEYS
    assert [set(t) for t in second["ticket_types"]] == [TICKET_TYPE_KEYS]


async def test_a_draft_is_shown_to_its_owner_only_and_never_cached(api: Api) -> None:
    cache = await cache_of(api)
    olga = api.auth("olga", "organizer")
    event = await api.create_event(olga)
    await api.add_type(olga, event["id"])

    assert (await public(api, event["id"], olga))["status"] == "draft"
    assert (await public(api, event["id"], api.auth("root", "admin")))["status"] == "draft"
    for stranger in ({}, api.customer("alice"), api.auth("otto", "organizer")):
        response = await api.client.get(f"/v1/events/{event['id']}", headers=stranger)
        problem(response, 404, "event_not_found")
    assert cache.stats.size == 0

    await api.publish(olga, event["id"])
    assert (await public(api, event["id"]))["status"] == "published"


async def test_catalogue_changes_in_this_process_show_at_once(api: Api) -> None:
    olga = api.auth("olga", "organizer")
    event_id, _ = await api.sale(olga, capacity=5)
    assert available(await public(api, event_id)) == [5]

    await api.add_type(olga, event_id, name="Seated", capacity=8)
    assert available(await public(api, event_id)) == [5, 8]

    await api.cancel_event(olga, event_id)  # the event is cancelled when the request returns
    assert (await public(api, event_id))["status"] == "cancelled"


async def test_another_process_s_cancellation_and_holds_show_within_the_ttl(
    tmp_path: Path,
) -> None:
    """Two API processes on one database: A's cache hears nothing of B's commits.

    B also runs the cancellation job (A's job loop would look only in an hour), so
    no commit in A clears A's cache.
    """
    settings = Settings(data_dir=tmp_path)  # both on the same SQLite file and dev key
    a_settings = msgspec.structs.replace(settings, job_interval_seconds=3600)
    clock = TestClock()
    async with (
        running_app(a_settings, [ClockProvider(SystemClock()), ViewsOnClock(clock)]) as a,
        running_app(settings, [ClockProvider(SystemClock())], background=False) as b,
    ):
        olga = a.auth("olga", "organizer")
        event_id, standing = await a.sale(olga, capacity=10)
        assert available(await public(a, event_id)) == [10]

        held = await b.hold(b.customer("bob"), event_id, standing, 4)
        assert held.status_code == 201, held.text
        clock.advance(DEFAULT_TTL_MS)
        assert available(await public(a, event_id)) == [6]

        cancelled = await b.cancel_event(olga, event_id)
        assert await b.in_app((await b.get(Ticketing)).jobs.run_due) > 0
        assert (await b.finished_job(olga, cancelled.headers["location"]))["holds_released"] == 1
        clock.advance(DEFAULT_TTL_MS - 1)
        # Still inside the TTL of A's last read: the cache may show it on sale, and does.
        assert (await public(a, event_id))["status"] == "published"
        clock.advance(1)
        view = await public(a, event_id)
        assert view["status"] == "cancelled"
        assert available(view) == [10]  # the cancellation released bob's hold
        clock.advance(10 * DEFAULT_TTL_MS)
        assert (await public(a, event_id))["status"] == "cancelled"


async def test_the_app_s_own_cache_follows_eltiketi_availability_cache_ms(
    start_app: Callable[..., Any],
) -> None:
    """No override: the container's cache serves the route, with the settings' TTL.

    No background loops, so no commit of theirs clears the cache between two reads,
    and a TTL of a minute, so the wall clock cannot expire it either.
    """
    async with start_app(background=False, availability_cache_ms=0) as off:
        event_id, _ = await off.sale(capacity=3)
        await public(off, event_id)
        await public(off, event_id)
        cache = await cache_of(off)
        assert (cache.enabled, cache.stats.loads, cache.stats.hits) == (False, 2, 0)

    async with start_app(background=False, availability_cache_ms=60_000) as on:
        event_id, _ = await on.sale(capacity=3)
        await public(on, event_id)
        await public(on, event_id)
        cache = await cache_of(on)
        assert cache.enabled
        assert (cache.stats.loads, cache.stats.hits) == (1, 1)
