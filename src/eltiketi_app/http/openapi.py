"""The OpenAPI document: one problem-details schema, and per route the codes it can answer.

Every error this API answers is an RFC 9457 problem (:class:`Problem`, media type
``application/problem+json``). A route declares the codes it can answer with
:func:`can_answer`; guards declare theirs (a ``problem_codes`` attribute, see
:func:`answers_with`), and a JSON or form body adds the body's codes. When the app
is built, :func:`document_problems` turns that into one response per status, with
the problem schema, the codes in the description and one example per code (keyed by
the code), and drops Litestar's default ``400`` body, which the API never sends.

Declaring codes::

    @can_answer("sold_out", "quantity_above_limit", *STORAGE)
    @post("/")
    async def create_booking(...): ...

A code must be in :mod:`eltiketi_app.http.problem_catalog` (and so in
``docs/rest.md``); an unknown code fails at import.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from importlib.metadata import PackageNotFoundError, version
from typing import Any, TypeVar

import msgspec
from litestar import Litestar
from litestar._openapi.schema_generation.plugins.struct import (  # Litestar 2 keeps it private
    StructSchemaPlugin,
)
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.openapi.spec import Components, Example, Operation, Schema, SecurityScheme
from litestar.routes import HTTPRoute
from litestar.typing import FieldDefinition

from eltiketi_app.http.apidocs import LocalSwaggerUI
from eltiketi_app.http.problem_catalog import FORM_BODY, JSON_BODY, by_status, catalogued
from eltiketi_app.http.problems import PROBLEM_JSON, PROBLEM_TYPE_PREFIX
from eltiketi_app.http.strict import body_kind

#: ``opt`` key under which :func:`can_answer` keeps a handler's declared codes.
PROBLEM_CODES_OPT = "problem_codes"
#: Attribute of a guard naming the codes it can answer (see :func:`answers_with`).
GUARD_CODES_ATTRIBUTE = "problem_codes"

H = TypeVar("H", bound=HTTPRouteHandler)
F = TypeVar("F", bound=Callable[..., Any])


# --- the problem-details schema ------------------------------------------------------------


class ProblemFieldError(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One reason a request was malformed."""

    message: str
    key: str | None = None
    source: str | None = None


class Problem(msgspec.Struct, kw_only=True, omit_defaults=True):
    """An RFC 9457 problem: switch on ``code``; ``detail`` is for people and may change.

    Some codes carry more members (named in their description); others may be added
    later, so clients must ignore members they do not know.
    """

    type: str
    title: str
    status: int
    detail: str
    code: str
    request_id: str | None = None
    errors: list[ProblemFieldError] | None = None
    limit: int | None = None
    retry_after: int | None = None
    first_checked_in_at: datetime | None = None
    reason: str | None = None
    checks: dict[str, str] | None = None


# --- declaring codes -----------------------------------------------------------------------


def can_answer(*codes: str) -> Callable[[H], H]:
    """Decorator (above ``@get``/``@post``…): the route can answer these problem codes.

    Stack it or repeat codes freely; the union is documented. Unknown codes raise
    ``KeyError`` at import, so the catalogue and ``docs/rest.md`` stay complete.
    """
    for code in codes:
        catalogued(code)

    def declare(handler: H) -> H:
        if not isinstance(handler, HTTPRouteHandler):
            raise TypeError("@can_answer goes above the route decorator (@get, @post …)")
        known = tuple(handler.opt.get(PROBLEM_CODES_OPT, ()))
        handler.opt[PROBLEM_CODES_OPT] = (*known, *codes)
        return handler

    return declare


def answers_with(*codes: str) -> Callable[[F], F]:
    """Decorator for a guard: every route it protects can answer these codes."""
    for code in codes:
        catalogued(code)

    def declare(guard: F) -> F:
        known = tuple(getattr(guard, GUARD_CODES_ATTRIBUTE, ()))
        setattr(guard, GUARD_CODES_ATTRIBUTE, (*known, *codes))
        return guard

    return declare


def declared_codes(handler: HTTPRouteHandler) -> list[str]:
    """What ``handler`` can answer: its own and its routers' codes, its guards', its body's."""
    codes: list[str] = []
    for layer in handler.ownership_layers:
        codes.extend((getattr(layer, "opt", None) or {}).get(PROBLEM_CODES_OPT, ()))
        for guard in getattr(layer, "guards", None) or ():
            codes.extend(getattr(guard, GUARD_CODES_ATTRIBUTE, ()))
    kind = body_kind(handler)
    if kind == "json":
        codes.extend(JSON_BODY)
    elif kind == "form":
        codes.extend(FORM_BODY)
    return list(dict.fromkeys(codes))


# --- turning declarations into responses ---------------------------------------------------


def problem_example(code: str) -> dict[str, Any]:
    entry = catalogued(code)
    return {
        "type": PROBLEM_TYPE_PREFIX + code,
        "title": HTTPStatus(entry.status).phrase,
        "status": entry.status,
        "detail": entry.when,
        "code": code,
    }


def problem_responses(codes: Iterable[str]) -> dict[int, ResponseSpec]:
    """One ``ResponseSpec`` per status: the problem schema, its codes, an example per code."""
    responses: dict[int, ResponseSpec] = {}
    for status, entries in by_status(codes).items():
        lines = "\n".join(f"- `{entry.code}`: {entry.when}" for entry in entries)
        responses[status] = ResponseSpec(
            data_container=Problem,
            media_type=PROBLEM_JSON,
            generate_examples=False,
            description=f"{HTTPStatus(status).phrase}. `code` is one of:\n\n{lines}",
            examples=[
                Example(id=entry.code, summary=entry.when, value=problem_example(entry.code))
                for entry in entries
            ],
        )
    return responses


@dataclass
class ProblemOperation(Operation):
    """An operation whose error responses are all problem details.

    Litestar documents a ``400`` with its own default body on every route with
    parameters; the API never sends that body, so it is dropped here (a route that
    really answers 400 declares ``malformed_request``, documented as a problem).
    Litestar also writes an example's ``id`` (its key) into the example object,
    which OpenAPI does not allow; the key stays, the member goes.
    """

    def __post_init__(self) -> None:
        if not self.responses:
            return
        for status in list(self.responses):
            response = self.responses[status]
            content = getattr(response, "content", None) or {}
            if int(status) >= 400 and PROBLEM_JSON not in content:
                del self.responses[status]
                continue
            for media in content.values():
                for example in (media.examples or {}).values():
                    if isinstance(example, Example):
                        example.id = None


def document_problems(app: Litestar) -> None:
    """Give every documented route its problem responses (call once the app is built)."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if not handler.resolve_include_in_schema():
                continue
            codes = declared_codes(handler)
            if "{" in route.path:
                codes.append("not_found")  # a path parameter of the wrong shape finds no route
            handler.responses = {**(handler.responses or {}), **problem_responses(codes)}
            handler.operation_class = ProblemOperation


# --- the document --------------------------------------------------------------------------


class StrictStructSchemaPlugin(StructSchemaPlugin):
    """Request structs that refuse unknown fields say so: ``additionalProperties: false``.

    Litestar documents every struct as open, so a generator (or a client) would take a
    body with an extra member as valid, and the API answers it ``400``.
    """

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: Any) -> Schema:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        config = getattr(field_definition.type_, "__struct_config__", None)
        if config is not None and config.forbid_unknown_fields:
            schema.additional_properties = False
        return schema


def _version() -> str:
    try:
        return version("eltiketi")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.0.0"


def operation_id(handler: HTTPRouteHandler, method: Any, path: list[str | Any]) -> str:
    """``confirmOrder`` for ``confirm_order``: generated clients get readable names."""
    first, *rest = handler.handler_name.split("_")
    return first + "".join(word.capitalize() for word in rest)


def openapi_config() -> OpenAPIConfig:
    """The document at ``/schema/openapi.json`` and the docs page at ``/schema``."""
    return OpenAPIConfig(
        title="elTiketi",
        version=_version(),
        description="Ticketing that does not oversell. Errors are RFC 9457 problem details "
        "(`application/problem+json`) with a stable `code`; each operation lists the codes it "
        "can answer. Money is `{amount, currency}` in minor units.",
        path="/schema",
        operation_id_creator=operation_id,
        render_plugins=[LocalSwaggerUI(schema_path="/schema")],
        components=Components(
            security_schemes={
                "bearer": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")
            }
        ),
    )
