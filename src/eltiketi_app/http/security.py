"""Security headers on every answer, and ``Cache-Control: no-store`` on authenticated ones.

One place decides them, as an ASGI layer around the whole app (so 404s, 405s and
the docs page get them too):

* ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer`` and
  ``X-Frame-Options: DENY`` everywhere;
* a ``Content-Security-Policy``: :data:`API_POLICY` (nothing may load) for JSON,
  images and everything else, :data:`PAGE_POLICY` for HTML. A route that serves a
  page needing more names its policy with :func:`page_policy`; pages extend
  :data:`PAGE_POLICY`, never replace it, and no policy here allows inline scripts;
* ``Strict-Transport-Security`` when ``ELTIKETI_PUBLIC_URL`` is ``https://``;
* ``Cache-Control: no-store`` when the request carried credentials, so signed
  ticket tokens and orders never land in a shared or browser cache.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

#: ``opt`` key of a route handler that serves a page with its own policy.
CSP_OPT = "content_security_policy"

HSTS_MAX_AGE_SECONDS = 365 * 24 * 3600


@dataclass(frozen=True)
class ContentSecurityPolicy:
    """A Content-Security-Policy as directives → sources; build new ones with :meth:`extend`."""

    directives: tuple[tuple[str, tuple[str, ...]], ...]

    @classmethod
    def of(cls, **directives: Iterable[str]) -> ContentSecurityPolicy:
        """``of(default_src=["'none'"], frame_ancestors=["'none'"])``: ``_`` becomes ``-``."""
        return cls(tuple((_name(k), tuple(v)) for k, v in directives.items()))

    def sources(self, directive: str) -> tuple[str, ...]:
        return dict(self.directives).get(directive, ())

    def extend(self, **directives: Iterable[str]) -> ContentSecurityPolicy:
        """This policy with more sources for some directives (added, never replacing).

        Inline scripts stay forbidden: ``'unsafe-inline'`` and ``'unsafe-eval'`` in
        ``script-src`` raise, so a page that needs a script ships it as a file.
        """
        merged: dict[str, tuple[str, ...]] = dict(self.directives)
        for key, sources in directives.items():
            name = _name(key)
            added = tuple(sources)
            if name.startswith("script-src") and {"'unsafe-inline'", "'unsafe-eval'"} & set(added):
                raise ValueError(f"{name}: no inline or eval'd scripts; serve the script as a file")
            merged[name] = tuple(dict.fromkeys((*merged.get(name, ()), *added)))
        return ContentSecurityPolicy(tuple(merged.items()))

    def header(self) -> str:
        return "; ".join(f"{name} {' '.join(sources)}" for name, sources in self.directives)


def _name(key: str) -> str:
    return key.replace("_", "-")


#: JSON, images, problems: a browser opening one of these may load and run nothing.
API_POLICY = ContentSecurityPolicy.of(
    default_src=["'none'"], frame_ancestors=["'none'"], base_uri=["'none'"], form_action=["'none'"]
)

#: HTML pages: scripts, styles, images and fonts from this origin only; forms post back here.
PAGE_POLICY = ContentSecurityPolicy.of(
    default_src=["'none'"],
    script_src=["'self'"],
    style_src=["'self'"],
    img_src=["'self'", "data:"],
    font_src=["'self'"],
    connect_src=["'self'"],
    form_action=["'self'"],
    base_uri=["'none'"],
    frame_ancestors=["'none'"],
)


def page_policy(policy: ContentSecurityPolicy) -> dict[str, Any]:
    """``opt=`` of a route handler whose page needs ``policy`` (an extension of PAGE_POLICY)."""
    return {CSP_OPT: policy}


class SecurityHeaders:
    """ASGI layer adding the headers this module describes to every HTTP answer."""

    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self._app = app
        self._fixed: list[tuple[bytes, bytes]] = [
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"x-frame-options", b"DENY"),
        ]
        if https:
            self._fixed.append(
                (b"strict-transport-security", f"max-age={HSTS_MAX_AGE_SECONDS}".encode())
            )
        self._api_policy = API_POLICY.header().encode()
        self._page_policy = PAGE_POLICY.header().encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self._app(scope, receive, send)
            return
        authenticated = any(name == b"authorization" for name, _ in scope["headers"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = self._secured(scope, list(message.get("headers", [])))
                message["headers"] = _no_store(headers) if authenticated else headers
            await send(message)

        await self._app(scope, receive, send_with_headers)

    def _secured(
        self, scope: Scope, headers: list[tuple[bytes, bytes]]
    ) -> list[tuple[bytes, bytes]]:
        present = {name.lower() for name, _ in headers}
        headers.extend(item for item in self._fixed if item[0] not in present)
        if b"content-security-policy" not in present:
            headers.append((b"content-security-policy", self._policy_for(scope, headers)))
        return headers

    def _policy_for(self, scope: Scope, headers: list[tuple[bytes, bytes]]) -> bytes:
        handler = scope.get("route_handler")
        chosen = getattr(handler, "opt", {}).get(CSP_OPT) if handler is not None else None
        if isinstance(chosen, ContentSecurityPolicy):
            return chosen.header().encode()
        content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
        return self._page_policy if content_type.startswith(b"text/html") else self._api_policy


def _no_store(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """``Cache-Control: no-store`` unless the answer already says so (e.g. ``private, no-store``)."""
    kept = [
        (name, value)
        for name, value in headers
        if name.lower() != b"cache-control" or b"no-store" in value.lower()
    ]
    if not any(name.lower() == b"cache-control" for name, _ in kept):
        kept.append((b"cache-control", b"no-store"))
    return kept
