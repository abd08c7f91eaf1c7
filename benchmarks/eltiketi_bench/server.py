"""The ASGI factory the bench's uvicorn processes load: ``eltiketi_bench.server:app_from_env``.

It is ``eltiketi serve``'s app, built the same way (settings from ``ELTIKETI_*``,
the same logging and container): with ``ELTIKETI_KAFKA_BOOTSTRAP`` set the API
only commits to the outbox, and ``eltiketi worker`` processes do the rest.
"""

from __future__ import annotations

from litestar import Litestar

from eltiketi_app.app import create_app
from eltiketi_app.logs import configure_logging
from eltiketi_app.settings import Settings


def app_from_env() -> Litestar:
    """Build the app from ``ELTIKETI_*`` (uvicorn ``--factory``)."""
    settings = Settings.from_env()
    configure_logging(settings.log_level, settings.log_format)
    return create_app(settings, freeze_gc=True)
