"""Friendly error pages for the web routes: 404, 403 (CSRF), expired links, rate limits…

Each is a page in the layout with a sentence for the buyer (from
:mod:`eltiketi_app.web.messages`) and the problem ``code`` in small print for support.
A page that needs a login sends the browser to sign in and back again instead.
The REST API keeps its problem+json answers; :func:`wants_page` tells the two apart
for requests that matched no route.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import structlog
from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.response import Redirect, Template
from litestar.types import ExceptionHandlersMap

from eltiketi_app.http.problems import STATUS_BY_KIND
from eltiketi_app.web.auth import VISITOR_STATE, LoginRequired, Visitor, safe_return_path
from eltiketi_app.web.i18n import Languages, language_of
from eltiketi_core.errors import DomainError

log = structlog.get_logger("eltiketi.web")

#: Paths that belong to the API or operations, never to the pages.
NOT_PAGES = ("/v1/", "/dev/token", "/health", "/metrics", "/schema")


def wants_page(request: Request[Any, Any, Any]) -> bool:
    """A browser asking for a page (not an API client, not the API's own paths)."""
    if request.url.path.startswith(NOT_PAGES):
        return False
    return "text/html" in request.headers.get("accept", "")


def error_page(request: Request[Any, Any, Any], code: str, status: int) -> Template:
    lang = language_of(request, Languages())
    visitor = request.state.get(VISITOR_STATE) or Visitor(principal=None)
    from eltiketi_app.web.messages import problem_text

    return Template(
        template_name="error.html",
        context={
            "lang": lang,
            "visitor": visitor,
            "title": problem_text(code, lang)[0],
            "here": request.url.path,
            "problem": lambda c: problem_text(c, lang),
            "code": code,
        },
        status_code=status,
        headers={"Cache-Control": "no-store"},
        media_type=MediaType.HTML,
    )


def _login_required(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    assert isinstance(exc, LoginRequired)
    target = "/login?next=" + quote(safe_return_path(exc.return_to), safe="/")
    if request.headers.get("hx-request") == "true":
        # an htmx poll (a live dashboard) whose session ended: the whole page goes to the
        # login, not a login form swapped into the figures
        return Response(b"", status_code=204, headers={"HX-Redirect": target})
    return Redirect(target, status_code=303)


def _domain_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    assert isinstance(exc, DomainError)
    status = STATUS_BY_KIND.get(exc.kind, 422)
    headers = {}
    if status == 429 and "retry_after" in exc.extra:
        headers["Retry-After"] = str(exc.extra["retry_after"])
    page = error_page(request, exc.code, status)
    page.headers.update(headers)
    return page


def _not_found(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return error_page(request, "not_found", 404)


def _forbidden(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    # On the pages only the CSRF check raises this (roles arrive as DomainErrors).
    return error_page(request, "csrf_failed", 403)


def _malformed(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return error_page(request, "not_found", 404 if request.method == "GET" else 400)


def _http(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    assert isinstance(exc, HTTPException)
    if exc.status_code >= 500:
        return _internal(request, exc)
    codes = {404: "not_found", 403: "forbidden", 429: "rate_limited"}
    return error_page(request, codes.get(exc.status_code, "malformed_request"), exc.status_code)


def _internal(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.error(
        "unhandled error on a page",
        request_id=request.scope.get("state", {}).get("request_id"),
        path=request.url.path,
        exc_info=exc,
    )
    return error_page(request, "internal_error", 500)


def page_exception_handlers() -> ExceptionHandlersMap:
    return {
        LoginRequired: _login_required,
        DomainError: _domain_error,
        NotFoundException: _not_found,
        PermissionDeniedException: _forbidden,
        ValidationException: _malformed,
        HTTPException: _http,
        Exception: _internal,
    }


def not_found_page_or(
    api_handler: Any,
) -> Any:
    """The app's 404 handler: a page for browsers on page paths, the API's problem otherwise."""

    def handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        if wants_page(request):
            return error_page(request, "not_found", 404)
        return api_handler(request, exc)  # type: ignore[no-any-return]

    return handler
