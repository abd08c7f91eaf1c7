"""Server processes freeze what exists after start-up, so full garbage collections
walk only what requests create (see ``eltiketi_app.runtime.collector``)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from eltiketi_app.app import create_app
from eltiketi_app.runtime.collector import freeze_startup_objects
from eltiketi_app.settings import Settings


@pytest.fixture(autouse=True)
def nothing_frozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # frozen objects would never be freed in this test process


class Node:
    """A reference cycle: only the cyclic collector frees it."""

    def __init__(self) -> None:
        self.me = self


def test_freezing_takes_what_is_alive_and_leaves_later_objects_to_the_collector() -> None:
    from_start_up = Node()
    startup_ref = weakref.ref(from_start_up)

    frozen = freeze_startup_objects()
    later_ref = weakref.ref(Node())  # garbage at once
    del from_start_up  # garbage now, but frozen
    gc.collect()

    assert frozen == gc.get_freeze_count() > 0
    assert later_ref() is None  # the collector walks what came after
    assert startup_ref() is not None  # and no longer what was there at start-up


async def test_a_server_app_freezes_its_start_up_objects_once_started(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path), background=False, freeze_gc=True)
    assert gc.get_freeze_count() == 0

    async with AsyncTestClient(app=app) as client:
        assert gc.get_freeze_count() > 10_000  # modules, routes, container…
        assert (await client.get("/health/live")).status_code == 200


async def test_an_app_built_by_default_freezes_nothing(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path), background=False)

    async with AsyncTestClient(app=app) as client:
        assert (await client.get("/health/live")).status_code == 200
        assert gc.get_freeze_count() == 0
