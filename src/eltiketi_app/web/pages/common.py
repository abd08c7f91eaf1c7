"""What every page handler shares: rendering with the layout's context, and the catalogue
views the pages read (through the API's event-view cache).

No ``from __future__ import annotations`` here: the page classes built on :class:`Screen`
in other modules inherit its fields, and the container reads their types from the
generated ``__init__``, which has to hold the classes themselves, not their names."""

from collections.abc import Sequence, Sized
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from litestar import Request
from litestar.params import QueryParameter
from litestar.response import Template

from eltiketi_app.web.auth import Visitor, require
from eltiketi_app.web.i18n import Lang
from eltiketi_app.web.messages import problem_text
from eltiketi_core.domain.identity import Principal

NO_STORE = {"Cache-Control": "no-store"}

T = TypeVar("T")

PageNumber = Annotated[int, QueryParameter(name="page", ge=1, le=10_000)]
"""A list page's ``?page=``, from 1."""


@dataclass(frozen=True, slots=True)
class Paging:
    """One page of a list. The use case is asked for one row more than the page shows:
    that row, never shown, says whether there is a next page."""

    number: int
    size: int

    @property
    def limit(self) -> int:
        return self.size + 1

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    def shown(self, found: Sequence[T]) -> Sequence[T]:
        return found[: self.size]

    def context(self, found: Sized) -> dict[str, Any]:
        """What the pager of the template reads (``page_number``, ``has_next``)."""
        return {"page_number": self.number, "has_next": len(found) > self.size}


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


@dataclass(frozen=True, slots=True)
class Screen:
    """What every page of one request is drawn with: the request, its language and the
    visitor (the container builds it), so that a route's signature lists the use cases it
    calls and not these three again."""

    request: Request  # type: ignore[type-arg]  # dishka keys it without parameters
    lang: Lang
    visitor: Visitor

    def principal(self, return_to: str | None = None) -> Principal:
        """The signed-in visitor, else to the login and back to ``return_to`` (by default
        this page)."""
        return require(self.visitor, here(self.request) if return_to is None else return_to)

    def render(self, template: str, **context: Any) -> Template:
        """:func:`page` for this request."""
        return page(template, self.request, self.lang, self.visitor, **context)

    def fragment(self, template: str, **context: Any) -> Template:
        """:func:`fragment` in this request's language."""
        return fragment(template, self.lang, **context)


def fragment(template: str, lang: Lang, **context: Any) -> Template:
    """A piece of a page for htmx to swap in (availability, live figures, a job's
    progress): no layout, and never stored by a cache, since it is polled for fresh news."""
    return Template(
        template_name=template,
        context={"lang": lang, **context},
        headers=NO_STORE,
        media_type="text/html",
    )
