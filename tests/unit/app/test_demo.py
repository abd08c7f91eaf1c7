"""``serve --demo`` seeds one published event with two ticket types, however often it runs."""

from __future__ import annotations

from eltiketi_adapters.memory import InMemoryTicketing
from eltiketi_app.demo import DEMO_ORGANIZER, seed_demo
from eltiketi_core.domain.catalog import EventStatus


async def test_seeding_twice_keeps_one_published_event() -> None:
    kit = InMemoryTicketing()

    first = await seed_demo(kit.core)
    second = await seed_demo(kit.core)

    assert second.event.id == first.event.id
    assert second.event.status is EventStatus.PUBLISHED
    assert [t.name for t in second.ticket_types] == ["Standing", "Balcony (seated)"]
    assert [v.event.id for v in await kit.core.catalog.list_published()] == [first.event.id]


async def test_a_cancelled_demo_event_is_replaced() -> None:
    kit = InMemoryTicketing()
    first = await seed_demo(kit.core)
    await kit.core.cancellation.cancel(DEMO_ORGANIZER, first.event.id)

    again = await seed_demo(kit.core)

    assert again.event.id != first.event.id  # a cancelled demo is replaced, not reused
    assert again.event.status is EventStatus.PUBLISHED
    assert len(again.ticket_types) == 2


async def test_an_interrupted_seed_is_completed_not_duplicated() -> None:
    from datetime import timedelta

    from eltiketi_app.demo import DEMO_EVENT_NAME
    from eltiketi_core.usecases import NewEvent

    kit = InMemoryTicketing()
    draft = await kit.core.catalog.create_event(  # a seed that stopped after its first step
        DEMO_ORGANIZER,
        NewEvent(
            name=DEMO_EVENT_NAME,
            venue="Paradiso",
            starts_at=kit.clock.now() + timedelta(days=30),
            timezone="Europe/Amsterdam",
        ),
    )

    seeded = await seed_demo(kit.core)

    assert seeded.event.id == draft.id
    assert seeded.event.status is EventStatus.PUBLISHED
    assert len(seeded.ticket_types) == 2
