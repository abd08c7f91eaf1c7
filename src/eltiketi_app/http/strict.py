"""Strict JSON bodies: ``"quantity": "2"`` is a wrong type (400), not a quantity of two.

Litestar converts request data leniently (strings to numbers and the like), which
suits query strings but not JSON bodies. This ``before_request`` hook decodes a
JSON body strictly against the handler's declared ``data`` type first; a body
that fails is a ``400 malformed_request`` before the handler runs.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ValidationException
from litestar.handlers import HTTPRouteHandler

_OPT_KEY = "eltiketi_strict_body"


def _body_type(handler: HTTPRouteHandler) -> type[msgspec.Struct] | None:
    """The handler's ``data`` struct type, worked out once and kept in its ``opt``."""
    if _OPT_KEY not in handler.opt:
        field = handler.parsed_fn_signature.parameters.get("data")
        annotation = field.annotation if field is not None else None
        is_struct = isinstance(annotation, type) and issubclass(annotation, msgspec.Struct)
        handler.opt[_OPT_KEY] = annotation if is_struct else None
    found: type[msgspec.Struct] | None = handler.opt[_OPT_KEY]
    return found


async def strict_json_body(request: Request[Any, Any, Any]) -> None:
    handler = request.route_handler
    if not isinstance(handler, HTTPRouteHandler):
        return
    body_type = _body_type(handler)
    if body_type is None or request.content_type[0] != "application/json":
        return
    body = await request.body()
    try:
        msgspec.json.decode(body, type=body_type, strict=True)
    except msgspec.ValidationError as exc:
        raise ValidationException(
            detail=f"Validation failed for {request.method} {request.url.path}",
            extra=[{"message": str(exc), "source": "body"}],
        ) from exc
    except msgspec.DecodeError as exc:
        raise ValidationException(detail=f"JSON is malformed: {exc}") from exc
