"""Strict JSON bodies: ``"quantity": "2"`` is a wrong type (400), not a quantity of two.

Litestar converts request data leniently (strings to numbers and the like), which
suits query strings but not JSON bodies. This ``before_request`` hook decodes a
JSON body strictly against the handler's declared ``data`` type first; a body
that fails is a ``400 malformed_request`` before the handler runs, and a body sent
as anything but JSON (``text/plain``, a form, no ``Content-Type``) is a
``415 unsupported_media_type``: Litestar would otherwise parse it leniently.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.exceptions import HTTPException, ValidationException
from litestar.handlers import HTTPRouteHandler
from litestar.params import BodyKwarg

_OPT_KEY = "eltiketi_strict_body"

BodyKind = Literal["json", "form", "raw"]


class UnsupportedMediaType(HTTPException):
    status_code = 415


def _body_type(handler: HTTPRouteHandler) -> type[msgspec.Struct] | None:
    """The handler's JSON ``data`` struct type, worked out once and kept in its ``opt``."""
    if _OPT_KEY not in handler.opt:
        handler.opt[_OPT_KEY] = _json_struct(handler)
    found: type[msgspec.Struct] | None = handler.opt[_OPT_KEY]
    return found


def _json_struct(handler: HTTPRouteHandler) -> type[msgspec.Struct] | None:
    field = handler.parsed_fn_signature.parameters.get("data")
    if field is None or body_kind(handler) != "json":
        return None
    annotation = field.annotation
    is_struct = isinstance(annotation, type) and issubclass(annotation, msgspec.Struct)
    return annotation if is_struct else None


def body_kind(handler: HTTPRouteHandler) -> BodyKind | None:
    """How the handler's ``data`` body is encoded, or None when it takes no ``data``."""
    field = handler.parsed_fn_signature.parameters.get("data")
    if field is None:
        return None
    kwarg = field.kwarg_definition
    if isinstance(kwarg, BodyKwarg) and kwarg.media_type in (
        RequestEncodingType.URL_ENCODED,
        RequestEncodingType.MULTI_PART,
    ):
        return "form"
    return "json"


def is_json(media_type: str) -> bool:
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


async def strict_json_body(request: Request[Any, Any, Any]) -> None:
    handler = request.route_handler
    if not isinstance(handler, HTTPRouteHandler):
        return
    body_type = _body_type(handler)
    if body_type is None:
        return
    media_type = request.content_type[0]
    body = await request.body()
    if not is_json(media_type):
        if not body and not media_type:
            return  # no body at all: the handler's validation says what is missing
        shown = media_type or "no Content-Type"
        raise UnsupportedMediaType(f"this route takes application/json, not {shown}")
    try:
        msgspec.json.decode(body, type=body_type, strict=True)
    except msgspec.ValidationError as exc:
        raise ValidationException(
            detail=f"Validation failed for {request.method} {request.url.path}",
            extra=[{"message": str(exc), "source": "body"}],
        ) from exc
    except msgspec.DecodeError as exc:
        raise ValidationException(detail=f"JSON is malformed: {exc}") from exc
