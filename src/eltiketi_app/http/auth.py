"""Bearer authentication (seed step 4): the configured ``TokenVerifier`` decides who calls.

The dishka request scope resolves a :class:`Caller` once per request. Routes
that need a signed-in user carry the :func:`authenticated` or :func:`requires`
guard, which runs before the body is read (so a missing token is a 401 whatever
the body), and ask for :class:`~eltiketi_core.domain.identity.Principal`.
Public routes that show more to the owner ask for :class:`Caller`, whose
``principal`` may be ``None``. The use cases check roles and ownership again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, cast

import msgspec
from dishka import FromDishka
from dishka.integrations.base import wrap_injection
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Guard

from eltiketi_app.http.openapi import answers_with
from eltiketi_app.http.problem_catalog import TOKEN_REQUIRED
from eltiketi_core.domain.identity import Principal, Role
from eltiketi_core.errors import Unauthenticated
from eltiketi_core.ports.identity import TokenVerifier
from eltiketi_core.usecases.access import require_role

MAX_TOKEN_LENGTH = 16_384

#: OpenAPI: routes that need ``Authorization: Bearer`` (public routes leave it out).
BEARER: list[dict[str, list[str]]] = [{"bearer": []}]


class Caller(msgspec.Struct, frozen=True):
    """The verified caller of this request, or ``None`` when no token was sent."""

    principal: Principal | None


def bearer_token(request: Request[Any, Any, Any]) -> str | None:
    """The token of ``Authorization: Bearer <token>``; None without the header.

    A header in another scheme, or an empty or oversized token, is an error rather
    than anonymous access: a client that sends credentials wants them checked.
    """
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("invalid_token", "use the header Authorization: Bearer <token>")
    if len(token) > MAX_TOKEN_LENGTH:
        raise Unauthenticated("malformed_token", "the token is too long")
    return token


async def identify(request: Request[Any, Any, Any], verifier: TokenVerifier) -> Caller:
    token = bearer_token(request)
    if token is None:
        return Caller(principal=None)
    principal = await verifier.verify(token)
    request.scope.setdefault("state", {})["subject"] = principal.subject
    return Caller(principal=principal)


def require_principal(caller: Caller) -> Principal:
    if caller.principal is None:
        raise Unauthenticated("missing_token", "this needs Authorization: Bearer <token>")
    return caller.principal


def injected_guard(guard: Callable[..., Awaitable[None]]) -> Guard:
    """dishka's injection for a guard, as ``@inject`` is for a handler: after Litestar's
    ``(connection, handler)`` the guard names what it needs with ``FromDishka[...]``,
    resolved in the request's scope."""
    return cast(
        "Guard",
        wrap_injection(
            func=guard,
            is_async=True,
            container_getter=lambda args, _: args[0].state.dishka_container,
        ),
    )


@answers_with(*TOKEN_REQUIRED)
@injected_guard
async def authenticated(
    connection: ASGIConnection[Any, Any, Any, Any],
    handler: BaseRouteHandler,
    principal: FromDishka[Principal],
) -> None:
    """Guard: 401 before anything else (body parsing included) when there is no valid token
    (resolving the :class:`Principal` is the check)."""


def requires(role: Role) -> Guard:
    """Guard: 401 without a valid token, 403 without ``role`` (admins hold every role)."""

    @injected_guard
    async def guard(
        connection: ASGIConnection[Any, Any, Any, Any],
        handler: BaseRouteHandler,
        principal: FromDishka[Principal],
    ) -> None:
        require_role(principal, role)

    guard.__name__ = f"requires_{role.value}"
    return answers_with(*TOKEN_REQUIRED, "missing_role")(guard)
