"""``eltiketi serve`` with ELTIKETI_KAFKA_BOOTSTRAP: the app's own container runs Kafka mode.

The API then only commits (events go to the outbox) and leaves relay, handlers and
sweeper to ``eltiketi worker``; it starts and takes writes with no broker reachable.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from litestar.testing import AsyncTestClient

from eltiketi_adapters.devauth import DevTokenIssuer
from eltiketi_app.app import create_app
from eltiketi_app.ioc.background import InProcessBusProvider, KafkaApiProvider
from eltiketi_app.ioc.container import providers_for
from eltiketi_app.settings import Settings

NO_BROKER = "127.0.0.1:1"


def test_kafka_bootstrap_selects_the_kafka_api_provider_not_the_in_process_bus() -> None:
    chosen = providers_for(Settings(kafka_bootstrap=NO_BROKER))

    assert any(isinstance(p, KafkaApiProvider) for p in chosen)
    assert not any(isinstance(p, InProcessBusProvider) for p in chosen)


async def test_the_api_starts_and_commits_in_kafka_mode_without_a_broker(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "ELTIKETI_KAFKA_BOOTSTRAP": NO_BROKER,
            "ELTIKETI_DATABASE_URL": "memory://",
            "ELTIKETI_DATA_DIR": str(tmp_path),
        }
    )
    token = DevTokenIssuer(tmp_path).mint("org", ["organizer"])
    app = create_app(settings)

    async with AsyncTestClient(app=app, timeout=30) as client:
        ready = await client.get("/health/ready")
        created = await client.post(
            "/v1/events",
            json={
                "name": "Open Air",
                "venue": "Park",
                "starts_at": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
                "timezone": "Europe/Berlin",
                "locale": "de",
                "currency": "EUR",
            },
            headers={"Authorization": f"Bearer {token}"},
        )
        runtime = app.state.runtime

    assert ready.status_code == 200, ready.text
    assert created.status_code == 201, created.text
    assert runtime.enabled is False
