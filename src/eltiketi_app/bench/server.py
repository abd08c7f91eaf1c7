"""The ASGI factory the bench's uvicorn processes load: ``eltiketi_app.bench.server:app_from_env``.

It is ``eltiketi serve``'s app (same settings, same logging), with one
difference: when ``ELTIKETI_KAFKA_BOOTSTRAP`` is set it registers
:class:`~eltiketi_app.workers.api.KafkaApiProvider` — the API then only commits
to the outbox and ``eltiketi worker`` processes do the rest. (The app's own
container refuses Kafka mode for now; see ``docs/benchmarks.md``.)
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
    overrides = []
    if settings.kafka_bootstrap is not None:
        from eltiketi_app.workers.api import KafkaApiProvider

        overrides.append(KafkaApiProvider())
    return create_app(settings, overrides=overrides)
