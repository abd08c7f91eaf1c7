"""``eltiketi serve`` in Kafka mode, for the process tests, until the app wires it itself.

The only difference from ``eltiketi serve``: ``create_app`` gets the Kafka-mode
provider (:class:`eltiketi_app.workers.api.KafkaApiProvider`) as an override — the
documented way to swap a provider. The deployment helper switches to the real
``eltiketi serve`` as soon as the app's container registers that provider.
"""

from __future__ import annotations

import uvicorn

from eltiketi_app.app import create_app
from eltiketi_app.logs import configure_logging
from eltiketi_app.settings import Settings
from eltiketi_app.workers.api import KafkaApiProvider


def main() -> None:
    settings = Settings.from_env()
    configure_logging(settings.log_level, settings.log_format)
    app = create_app(settings, overrides=[KafkaApiProvider()])
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        lifespan="on",
    )


if __name__ == "__main__":
    main()
