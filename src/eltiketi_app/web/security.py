"""The pages' response headers: a Content-Security-Policy without inline scripts or styles.

Scripts and styles come only from ``/static`` (htmx is configured by a ``<meta>``
so it injects no inline style, and no page uses ``hx-on`` or inline handlers);
forms post only to this site (and the public URL's origin, where the fake
payment page lives); nothing may frame the pages. The policy is the app's one
page policy (:data:`eltiketi_app.http.security.PAGE_POLICY`), extended with that
origin; the other security headers come from the app-wide layer, which keeps the
ones set here.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from litestar.datastructures import ResponseHeader

from eltiketi_app.http.security import PAGE_POLICY
from eltiketi_app.settings import Settings


def content_security_policy(settings: Settings) -> str:
    public = urlsplit(settings.effective_public_url)
    origin = f"{public.scheme}://{public.netloc}"
    return PAGE_POLICY.extend(form_action=[origin]).header()


def page_headers(settings: Settings) -> list[ResponseHeader]:
    return [
        ResponseHeader(name="Content-Security-Policy", value=content_security_policy(settings)),
        ResponseHeader(name="X-Content-Type-Options", value="nosniff"),
        ResponseHeader(name="Referrer-Policy", value="same-origin"),
        ResponseHeader(name="X-Frame-Options", value="DENY"),
    ]
