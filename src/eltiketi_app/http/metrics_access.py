"""Who may read ``/metrics``: a port of its own, or a bearer token.

Metrics name routes, error rates and timings; in production they must not be
public. ``ELTIKETI_METRICS_PORT`` serves them on a separate port (and the API's
port no longer has ``/metrics``), for a network where only the monitoring
system reaches that port. ``ELTIKETI_METRICS_TOKEN`` requires
``Authorization: Bearer <token>`` wherever they are served. Production refuses
to start with neither (see :mod:`eltiketi_app.settings`).
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from prometheus_client import make_wsgi_app

from eltiketi_app.http.openapi import answers_with
from eltiketi_app.metrics import Metrics
from eltiketi_app.settings import Settings
from eltiketi_core.errors import Unauthenticated

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def token_matches(header: str | None, token: str) -> bool:
    """Constant-time check of an ``Authorization`` header against ``Bearer <token>``."""
    return hmac.compare_digest((header or "").encode(), f"Bearer {token}".encode())


@answers_with("metrics_token_required")
async def metrics_token_guard(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """Guard of ``GET /metrics``: with ``ELTIKETI_METRICS_TOKEN`` set, the token is required."""
    settings: Settings = connection.app.state.settings
    token = settings.metrics_token
    if token is not None and not token_matches(connection.headers.get("authorization"), token):
        raise Unauthenticated(
            "metrics_token_required", "/metrics needs Authorization: Bearer <metrics token>"
        )


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes every few seconds are not news."""


def _with_token(app: WsgiApp, token: str | None) -> WsgiApp:
    if token is None:
        return app

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if token_matches(environ.get("HTTP_AUTHORIZATION"), token):
            return app(environ, start_response)
        start_response(
            "401 Unauthorized",
            [("Content-Type", "text/plain; charset=utf-8"), ("WWW-Authenticate", "Bearer")],
        )
        return [b"/metrics needs Authorization: Bearer <metrics token>\n"]

    return guarded


class MetricsServer:
    """``/metrics`` (and only that) on ``host:port``, in a thread of the API process."""

    def __init__(self, metrics: Metrics, host: str, port: int, token: str | None) -> None:
        app = _with_token(make_wsgi_app(metrics.registry), token)
        self._server: WSGIServer = make_server(host, port, app, handler_class=_QuietHandler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="metrics-server", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
