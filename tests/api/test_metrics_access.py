"""``/metrics`` kept from the public: on a port of its own, or behind a bearer token."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import httpx

from tests.api.conftest import embedded_settings, problem

TOKEN = "scrape-token-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_metrics_token_is_required_when_set(start_app: Any, tmp_path: Path) -> None:
    async with start_app(embedded_settings(tmp_path, metrics_token=TOKEN)) as api:
        missing = await api.client.get("/metrics")
        wrong = await api.client.get("/metrics", headers={"Authorization": "Bearer nope"})
        right = await api.client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})

    problem(missing, 401, "metrics_token_required")
    assert missing.headers["www-authenticate"].startswith("Bearer")
    problem(wrong, 401, "metrics_token_required")
    assert right.status_code == 200
    assert "eltiketi_http_requests_total" in right.text


async def test_a_metrics_port_serves_them_apart(start_app: Any, tmp_path: Path) -> None:
    port = free_port()
    settings = embedded_settings(tmp_path, metrics_port=port, metrics_token=TOKEN)
    async with start_app(settings) as api:
        on_the_api_port = await api.client.get("/metrics")
        await api.client.get("/v1/events")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as scraper:
            refused = await scraper.get("/metrics")
            scraped = await scraper.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        schema = (await api.client.get("/schema/openapi.json")).json()

    problem(on_the_api_port, 404, "not_found")
    assert "/metrics" not in schema["paths"]
    assert refused.status_code == 401
    assert scraped.status_code == 200
    assert 'eltiketi_http_requests_total{method="GET",route="/v1/events",status="200"}' in (
        scraped.text
    )


async def test_the_metrics_port_is_closed_when_the_app_stops(
    start_app: Any, tmp_path: Path
) -> None:
    port = free_port()
    async with start_app(embedded_settings(tmp_path, metrics_port=port)) as api:
        async with httpx.AsyncClient(timeout=10) as scraper:
            assert (await scraper.get(f"http://127.0.0.1:{port}/metrics")).status_code == 200
        assert api.app.state.metrics_server.port == port

    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0  # nobody listens any more
