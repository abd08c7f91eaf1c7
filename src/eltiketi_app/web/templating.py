"""The pages' Jinja2 environment: packaged templates, autoescaping, Babel's i18n extension.

Templates are compiled once and kept (``auto_reload=False``, a large cache): a
page render is a call into compiled Python, never a parse. ``{% trans %}`` and
``_()`` translate through the request's :class:`~eltiketi_app.web.i18n.Lang`,
which every page puts in its context as ``lang``; templates never decide
business rules, they only show what the page handler prepared.
"""

from __future__ import annotations

from typing import Any

import jinja2
from jinja2.runtime import Context
from litestar.plugins.jinja import JinjaTemplateEngine
from markupsafe import Markup

from eltiketi_app.web.i18n import LANGUAGE_NAMES, LANGUAGES
from eltiketi_core.domain.identity import Role


@jinja2.pass_context
def _gettext(context: Context, message: str) -> str:
    return str(context["lang"].gettext(message))


@jinja2.pass_context
def _ngettext(context: Context, singular: str, plural: str, count: int) -> str:
    return str(context["lang"].ngettext(singular, plural, count))


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("eltiketi_app.web", "templates"),
        autoescape=jinja2.select_autoescape(["html", "svg"], default_for_string=True),
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        auto_reload=False,
        cache_size=400,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=_gettext, ngettext=_ngettext, newstyle=True
    )
    env.globals["LANGUAGES"] = [(code, LANGUAGE_NAMES[code]) for code in LANGUAGES]
    env.filters["svg"] = _trusted_svg
    env.globals["may_organize"] = _may_organize
    return env


def _may_organize(visitor: Any) -> bool:
    """Whether the header offers the back office: to organizers and admins (door members,
    who hold no realm role, find it in the footer and in their invitation)."""
    principal = getattr(visitor, "principal", None)
    return bool(principal is not None and principal.has_role(Role.ORGANIZER))


def _trusted_svg(markup: Any) -> Markup:
    """An SVG we rendered ourselves (a QR code from segno), placed inline as markup."""
    return Markup(markup)


def template_engine() -> JinjaTemplateEngine:
    return JinjaTemplateEngine.from_environment(environment())
