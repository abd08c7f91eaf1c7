"""``OPTIONS`` answers with every method of the path (a Litestar 2 bug worked around).

Litestar 2 builds a path's automatic ``OPTIONS`` handler when the path's first
handler is registered; handlers registered later for the same path (``POST`` next
to ``GET /v1/events``) are missing from its ``Allow`` header (litestar-org/litestar
#4169, fixed in Litestar 3). Once the app is built, :func:`complete_allow_headers`
gives each automatic handler the methods its route really has.
"""

from __future__ import annotations

from collections.abc import Callable

from litestar import Litestar, Response
from litestar.enums import MediaType
from litestar.routes import HTTPRoute
from litestar.status_codes import HTTP_204_NO_CONTENT
from litestar.types import Scope


def _options(allow: str) -> Callable[[Scope], Response[None]]:
    def options_handler(scope: Scope) -> Response[None]:
        return Response(
            content=None,
            status_code=HTTP_204_NO_CONTENT,
            headers={"Allow": allow},
            media_type=MediaType.TEXT,
        )

    return options_handler


def complete_allow_headers(app: Litestar) -> None:
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            automatic = handler.http_methods == {"OPTIONS"} and handler.handler_name == (
                "options_handler"
            )
            if automatic:
                handler._fn = _options(", ".join(sorted(route.methods)))  # type: ignore[assignment]
