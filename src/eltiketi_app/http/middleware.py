"""The outermost ASGI layer: request id, one access-log line per request, HTTP metrics.

It wraps the whole Litestar app (not one route), so unknown routes and wrong
methods are counted and logged too. It also notes when the client disconnects
before it was answered, so that is logged and counted as a client abort (499),
never as a server error.
"""

from __future__ import annotations

import re
import time
import uuid

import structlog
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send

from eltiketi_app.http.problems import CLIENT_CLOSED_REQUEST, CLIENT_GONE_STATE
from eltiketi_app.metrics import Metrics

REQUEST_ID_HEADER = b"x-request-id"
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")

log = structlog.get_logger("eltiketi.access")


class RequestContext:
    """Gives every request an id (``X-Request-ID`` in and out) and records what it answered."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self._app = app
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self._app(scope, receive, send)
            return
        request_id = _incoming_id(scope) or uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = request_id  # type: ignore[typeddict-unknown-key]
        status: int | None = None
        started = time.perf_counter()

        async def receive_watching() -> ReceiveMessage:
            message = await receive()
            if message["type"] == "http.disconnect" and status is None:
                state[CLIENT_GONE_STATE] = True  # type: ignore[literal-required]
            return message

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER, request_id.encode()))
                message["headers"] = headers
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self._app(scope, receive_watching, send_with_id)
            finally:
                if status is None:
                    status = CLIENT_CLOSED_REQUEST if state.get(CLIENT_GONE_STATE) else 500
                elapsed = time.perf_counter() - started
                route = scope.get("path_template") or "<unmatched>"
                method = str(scope.get("method", "?"))
                self._metrics.requests.labels(method=method, route=route, status=str(status)).inc()
                self._metrics.latency.labels(method=method, route=route).observe(elapsed)
                if route not in {"/health/live", "/health/ready", "/metrics"}:
                    log.info(
                        "request",
                        method=method,
                        path=scope["path"],
                        route=route,
                        status=status,
                        duration_ms=round(elapsed * 1000, 2),
                        subject=scope.get("state", {}).get("subject"),
                        code=scope.get("state", {}).get("problem_code"),
                    )


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == REQUEST_ID_HEADER:
            text = value.decode("latin-1")
            return text if _SAFE_ID.match(text) else None
    return None
