"""Accepting an invitation: the page behind the link in the invitation e-mail
(``/invitations/<token>``, see :class:`~eltiketi_app.web.links.InvitationLinks`).

``GET`` shows what the invitation is (the organization, the role, who invited, for
which address) to whoever holds the signed link, and asks to sign in first when
needed (coming back here after). ``POST`` (with the form's CSRF token) accepts it
through the same use case as ``POST /v1/invitations/{token}/accept``; every refusal —
another address, an unverified one, expired, withdrawn or used — is said in a sentence
on this page.
"""

from __future__ import annotations

from typing import Any

from dishka.integrations.litestar import FromDishka, inject
from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from eltiketi_app.web.auth import Visitor, WebLogin, require
from eltiketi_app.web.i18n import Lang
from eltiketi_app.web.links import InvitationLinks, invitation_id_of
from eltiketi_app.web.pages.common import page
from eltiketi_app.web.pages.manage.common import (
    ROLE_MEANINGS,
    ROLE_NAMES,
    inline,
    status_of,
)
from eltiketi_core.errors import DomainError
from eltiketi_core.ports.clock import Clock
from eltiketi_core.usecases.organizations import InvitationPreview, Organizations

HEADERS = {"Referrer-Policy": "no-referrer"}  # the token is in the path


@get("/invitations/{token:str}", name="web:invitation")
@inject
async def invitation_page(
    *,
    token: FromPath[str],
    request: Request[Any, Any, Any],
    organizations: FromDishka[Organizations],
    links: FromDishka[InvitationLinks],
    login: FromDishka[WebLogin],
    clock: FromDishka[Clock],
    lang: FromDishka[Lang],
    visitor: FromDishka[Visitor],
) -> Template:
    preview = await organizations.preview(invitation_id_of(token, links, clock.now()))
    return _render(request, token, preview, login, lang, visitor)


@post("/invitations/{token:str}", name="web:invitation-accept")
@inject
async def accept_invitation(
    *,
    token: FromPath[str],
    request: Request[Any, Any, Any],
    organizations: FromDishka[Organizations],
    links: FromDishka[InvitationLinks],
    login: FromDishka[WebLogin],
    clock: FromDishka[Clock],
    lang: FromDishka[Lang],
    visitor: FromDishka[Visitor],
) -> Response[Any] | Template:
    principal = require(visitor, f"/invitations/{token}")
    invitation_id = invitation_id_of(token, links, clock.now())
    try:
        membership = await organizations.accept(principal, invitation_id)
    except DomainError as problem:
        if not inline(problem) and problem.kind != "forbidden":
            raise
        preview = await organizations.preview(invitation_id)
        return _render(
            request,
            token,
            preview,
            login,
            lang,
            visitor,
            notice=problem.code,
            status=status_of(problem),
        )
    return Redirect(
        f"/manage/organizations/{membership.organization_id}?done=joined", status_code=303
    )


def _render(  # noqa: PLR0917 - the page's parts, then its options
    request: Request[Any, Any, Any],
    token: str,
    preview: InvitationPreview,
    login: WebLogin,
    lang: Lang,
    visitor: Visitor,
    *,
    notice: str | None = None,
    status: int = 200,
) -> Template:
    invitation = preview.invitation
    state = "expired" if preview.expired else invitation.status.value
    return page(
        "invitation.html",
        request,
        lang,
        visitor,
        status=status,
        title=lang.gettext("Join %(name)s") % {"name": preview.organization_name},
        headers=HEADERS,
        preview=preview,
        invitation=invitation,
        role_name=lang.gettext(ROLE_NAMES[invitation.role]),
        role_meaning=lang.gettext(ROLE_MEANINGS[invitation.role]),
        state=state,
        until=lang.moment(invitation.expires_at, "UTC"),
        login_url=login.login_url(f"/invitations/{token}"),
        action=f"/invitations/{token}",
        notice=notice,
    )


ROUTES = [invitation_page, accept_invitation]
