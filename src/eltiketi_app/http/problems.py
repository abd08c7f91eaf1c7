"""RFC 9457 problem details for every error the API answers.

Domain errors map to a status by their family (``DomainError.kind``); the code they
carry becomes the problem's stable ``code`` (and its ``type`` URN). Framework errors
(bad JSON, unknown route, wrong method) get codes of their own, and anything
unexpected is logged with the request id and answered as ``internal_error``.

``detail`` never carries another system's words: a 5xx, or a domain error raised
*from* a library's exception (a driver's constraint name, a payment SDK's connection
error), is answered with a plain sentence for its status, and the original detail
and cause are logged with the request id. A client that went away before its body
arrived is logged as a client abort (``499 client_closed_request``), not a bug.
"""

from __future__ import annotations

import sys
from http import HTTPStatus
from typing import Any

import structlog
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotFoundException,
    ValidationException,
)
from litestar.types import ExceptionHandlersMap

from eltiketi_core.errors import DomainError

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:eltiketi:problem:"

#: Status recorded for a request whose client disconnected before it was answered (nginx's).
CLIENT_CLOSED_REQUEST = 499
#: Scope-state flag set by the request-context layer when the client disconnected.
CLIENT_GONE_STATE = "client_disconnected"

#: What a client reads instead of another system's message, by status.
PLAIN_DETAIL: dict[int, str] = {
    400: "the request could not be used",
    401: "the token was refused",
    402: "the payment was not completed",
    404: "not found",
    409: "the request conflicts with the current state; read it again and retry",
    422: "the request breaks a rule",
    503: "a system we depend on did not answer; retry shortly (quote the request id if it "
    "persists)",
}
#: Extra members that stay when the detail is replaced (they are ours, not the library's).
KEPT_EXTRA = frozenset({"retry_after", "limit"})

log = structlog.get_logger("eltiketi.http")

_OWN_PACKAGES = frozenset({"builtins", "eltiketi_core", "eltiketi_adapters", "eltiketi_app"})

#: ``DomainError.kind`` → HTTP status. Every family the core defines is here.
STATUS_BY_KIND: dict[str, int] = {
    "invalid": 422,
    "unprocessable": 422,
    "bad_request": 400,
    "not_found": 404,
    "forbidden": 403,
    "unauthenticated": 401,
    "conflict": 409,
    "payment_required": 402,
    "gone": 410,
    "rate_limited": 429,
    "unavailable": 503,
}

#: Codes for framework-level errors that carry no domain code.
CODE_BY_STATUS: dict[int, str] = {
    400: "malformed_request",
    401: "invalid_token",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "request_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response[dict[str, Any]]:
    """A problem-details response with a stable ``code``."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_PREFIX + code,
        "title": _title(status),
        "status": status,
        "detail": detail,
        "code": code,
    }
    body.update({k: v for k, v in extra.items() if k not in body})
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _remember(request: Request[Any, Any, Any], code: str) -> None:
    """The access-log line of this request reports the problem's code."""
    request.scope.setdefault("state", {})["problem_code"] = code  # type: ignore[typeddict-unknown-key]


def _title(status: int) -> str:
    if status == CLIENT_CLOSED_REQUEST:
        return "Client Closed Request"
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"


def _request_id(request: Request[Any, Any, Any]) -> str:
    return str(request.scope.get("state", {}).get("request_id") or "unknown")


def _from_library(exc: BaseException) -> bool:
    """Raised from a third-party library's exception, so its detail may quote that library.

    A cause from the standard library (``ValueError``, ``ZoneInfoNotFoundError``) or
    from our own packages is not: our messages about those are written for people.
    """
    cause = exc.__cause__
    while cause is not None:
        package = type(cause).__module__.partition(".")[0]
        if package not in _OWN_PACKAGES and package not in sys.stdlib_module_names:
            return True
        cause = cause.__cause__
    return False


def _client_gone(request: Request[Any, Any, Any]) -> bool:
    return bool(request.scope.get("state", {}).get(CLIENT_GONE_STATE))


def domain_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    assert isinstance(exc, DomainError)
    _remember(request, exc.code)
    status = STATUS_BY_KIND.get(exc.kind, 422)
    detail, extra = exc.detail, _jsonable(exc.extra)
    if status >= 500 or _from_library(exc):
        log.warning(
            "request failed in another system" if status >= 500 else "request refused",
            request_id=_request_id(request),
            path=request.url.path,
            method=request.method,
            code=exc.code,
            detail=exc.detail,
            extra=extra or None,
            cause=repr(exc.__cause__) if exc.__cause__ is not None else None,
        )
        detail = PLAIN_DETAIL.get(status, _title(status).lower())
        extra = {key: value for key, value in extra.items() if key in KEPT_EXTRA}
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = (
            f'Bearer error="invalid_token", error_description="{exc.code}"'
        )
    if status == 429 and "retry_after" in exc.extra:
        headers["Retry-After"] = str(exc.extra["retry_after"])
    return problem(status, exc.code, detail, headers=headers or None, **extra)


def validation_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Malformed JSON, wrong types or missing fields: 400 ``malformed_request``."""
    assert isinstance(exc, ValidationException)
    _remember(request, "malformed_request")
    errors = exc.extra if isinstance(exc.extra, list) else []
    detail = str(exc.detail) or "the request body or parameters are malformed"
    return problem(400, "malformed_request", detail, errors=_jsonable_list(errors))


def not_found_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    _remember(request, "not_found")
    return problem(404, "not_found", f"nothing at {request.url.path}")


def method_not_allowed_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    assert isinstance(exc, MethodNotAllowedException)
    _remember(request, "method_not_allowed")
    return problem(
        405,
        "method_not_allowed",
        f"{request.method} is not allowed on {request.url.path}",
        headers=exc.headers,
    )


def http_exception_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    if status >= 500:
        return internal_error_handler(request, exc)
    code = CODE_BY_STATUS.get(status, "http_error")
    _remember(request, code)
    headers = dict(exc.headers or {})
    if status == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer error="invalid_token"')
    return problem(status, code, str(exc.detail), headers=headers or None)


def client_gone_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """The client disconnected before its body arrived: nobody reads the answer, no bug."""
    _remember(request, "client_closed_request")
    log.info(
        "client aborted the request",
        request_id=_request_id(request),
        path=request.url.path,
        method=request.method,
    )
    return problem(
        CLIENT_CLOSED_REQUEST, "client_closed_request", "the client closed the connection"
    )


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """The last resort: log everything with the request id, tell the client only the id."""
    if _client_gone(request):
        return client_gone_handler(request, exc)
    request_id = _request_id(request)
    _remember(request, "internal_error")
    log.error(
        "unhandled error",
        request_id=request_id,
        path=request.url.path,
        method=request.method,
        exc_info=exc,
    )
    return problem(
        500,
        "internal_error",
        "something went wrong on our side; quote the request id when reporting it",
        request_id=request_id,
    )


def exception_handlers() -> ExceptionHandlersMap:
    return {
        DomainError: domain_error_handler,
        ValidationException: validation_handler,
        NotFoundException: not_found_handler,
        MethodNotAllowedException: method_not_allowed_handler,
        HTTPException: http_exception_handler,
        Exception: internal_error_handler,
    }


def _jsonable(extra: dict[str, Any]) -> dict[str, Any]:
    return {k: _plain(v) for k, v in extra.items()}


def _jsonable_list(items: list[Any]) -> list[Any]:
    return [_plain(v) for v in items]


def _plain(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return str(value)
