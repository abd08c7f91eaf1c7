"""What every page handler shares: rendering with the layout's context, and the catalogue
views the pages read (through the API's event-view cache)."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.response import Template

from eltiketi_app.web.auth import Visitor
from eltiketi_app.web.i18n import Lang
from eltiketi_app.web.messages import problem_text

NO_STORE = {"Cache-Control": "no-store"}


def here(request: Request[Any, Any, Any]) -> str:
    """This page's path and query (where the language switch and the login come back to)."""
    query = request.scope.get("query_string", b"").decode("latin-1")
    return request.url.path + (f"?{query}" if query else "")


def page(
    template: str,
    request: Request[Any, Any, Any],
    lang: Lang,
    visitor: Visitor,
    *,
    status: int = 200,
    title: str = "",
    private: bool = True,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> Template:
    """A full page in the layout. ``private`` pages (anything of a signed-in buyer) are
    never stored by a browser or proxy cache."""
    all_headers = {**(NO_STORE if private or visitor.principal else {}), **(headers or {})}
    return Template(
        template_name=template,
        context={
            "lang": lang,
            "visitor": visitor,
            "title": title,
            "here": here(request),
            "problem": lambda code: problem_text(code, lang),
            **context,
        },
        status_code=status,
        headers=all_headers,
        media_type="text/html",
    )
