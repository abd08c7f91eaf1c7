"""Probes and metrics for operators: liveness, readiness, Prometheus."""

from __future__ import annotations

from typing import Any

from dishka.integrations.litestar import FromDishka, inject
from litestar import Response, Router, get

from eltiketi_app.background.runner import Runner
from eltiketi_app.http.metrics_access import metrics_token_guard
from eltiketi_app.http.openapi import can_answer
from eltiketi_app.http.problems import problem
from eltiketi_app.ioc.types import Persistence
from eltiketi_app.metrics import CONTENT_TYPE_LATEST, Metrics


@get("/health/live", summary="Liveness: the process answers", include_in_schema=True)
async def live() -> dict[str, str]:
    return {"status": "ok"}


@can_answer("not_ready")
@get("/health/ready", summary="Readiness: storage reachable and background work running")
@inject
async def ready(
    persistence: FromDishka[Persistence], runtime: FromDishka[Runner]
) -> Response[dict[str, Any]]:
    checks: dict[str, str] = {}
    try:
        await persistence.ping()
        checks["storage"] = "ok"
    except Exception as exc:
        checks["storage"] = f"failing: {type(exc).__name__}"
    checks["background"] = runtime.health()
    if all(value == "ok" for value in checks.values()):
        return Response({"status": "ok", "checks": checks}, status_code=200)
    return problem(503, "not_ready", "the service cannot take traffic yet", checks=checks)


@get(
    "/metrics",
    summary="Prometheus metrics",
    description="With `ELTIKETI_METRICS_TOKEN` set, needs `Authorization: Bearer <that token>`; "
    "with `ELTIKETI_METRICS_PORT` set, it is served on that port instead of this one.",
    media_type=CONTENT_TYPE_LATEST,
    guards=[metrics_token_guard],
)
@inject
async def metrics(metrics: FromDishka[Metrics]) -> Response[bytes]:
    return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)


router = Router(path="/", tags=["operations"], route_handlers=[live, ready])
#: ``GET /metrics`` on the API's port (absent when ``ELTIKETI_METRICS_PORT`` is set).
metrics_router = Router(path="/", tags=["operations"], route_handlers=[metrics])
