"""The ASGI factory the bench's uvicorn processes load: ``eltiketi_bench.server:app_from_env``.

It is ``eltiketi serve``'s app, built the same way (settings from ``ELTIKETI_*``,
the same logging and container): with ``ELTIKETI_KAFKA_BOOTSTRAP`` set the API
only commits to the outbox, and ``eltiketi worker`` processes do the rest.
"""

from __future__ import annotations

import os

from litestar import Litestar

from eltiketi_app.app import create_app
from eltiketi_app.logs import configure_logging
from eltiketi_app.settings import Settings
from eltiketi_core.usecases import Ticketing
from eltiketi_core.usecases.reservation import Batching

#: ``off``: every reservation in a transaction of its own, as before the group commit
#: (scenario h; the bench's own switch, not a setting of the product).
GROUPING = "EBENCH_HOLD_GROUPING"


def app_from_env() -> Litestar:
    """Build the app from ``ELTIKETI_*`` (uvicorn ``--factory``)."""
    settings = Settings.from_env()
    configure_logging(settings.log_level, settings.log_format)
    app = create_app(settings, freeze_gc=True)
    if os.environ.get(GROUPING) == "off":
        app.on_startup.append(_one_hold_per_transaction)
    return app


async def _one_hold_per_transaction(app: Litestar) -> None:
    ticketing = await app.state.dishka_container.get(Ticketing)
    # as many transactions at once as there are requests (the pool is the limit)
    ticketing.bookings.batcher.batching = Batching(max_size=1, max_in_flight=1_000_000)
