"""The pages' response headers: a Content-Security-Policy without inline scripts or styles.

Scripts and styles come only from ``/static`` (htmx is configured by a ``<meta>``
so it injects no inline style, and no page uses ``hx-on`` or inline handlers);
forms post only to this site (and the public URL's origin, where the fake
payment page lives); nothing may frame the pages.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from litestar.datastructures import ResponseHeader

from eltiketi_app.settings import Settings


def content_security_policy(settings: Settings) -> str:
    public = urlsplit(settings.effective_public_url)
    origin = f"{public.scheme}://{public.netloc}"
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "connect-src 'self'",
            f"form-action 'self' {origin}",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        )
    )


def page_headers(settings: Settings) -> list[ResponseHeader]:
    return [
        ResponseHeader(name="Content-Security-Policy", value=content_security_policy(settings)),
        ResponseHeader(name="X-Content-Type-Options", value="nosniff"),
        ResponseHeader(name="Referrer-Policy", value="same-origin"),
        ResponseHeader(name="X-Frame-Options", value="DENY"),
    ]
