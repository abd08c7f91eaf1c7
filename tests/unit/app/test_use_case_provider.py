"""Routes ask the container for one use case; it is the facade's own instance."""

from __future__ import annotations

from pathlib import Path

from eltiketi_app.ioc.container import make_container
from eltiketi_app.settings import Settings
from eltiketi_core.usecases.booking import Bookings
from eltiketi_core.usecases.facade import Ticketing
from eltiketi_core.usecases.settlement import Settlement


async def test_a_use_case_from_the_container_is_the_facades_own(tmp_path: Path) -> None:
    container = make_container(Settings(data_dir=tmp_path, database_url="memory://"))
    try:
        core = await container.get(Ticketing)
        assert await container.get(Bookings) is core.bookings
        assert await container.get(Settlement) is core.settlement
    finally:
        await container.close()
