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

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from dishka.integrations.litestar import FromDishka, inject
from litestar import Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from eltiketi_app.web.auth import WebLogin
from eltiketi_app.web.links import InvitationLinks, invitation_id_of
from eltiketi_app.web.pages.common import Screen
from eltiketi_app.web.pages.manage.common import (
    ROLE_MEANINGS,
    ROLE_NAMES,
    inline,
    status_of,
)
from eltiketi_core.errors import DomainError
from eltiketi_core.ports.clock import Clock
from eltiketi_core.usecases.organizations import Organizations

HEADERS = {"Referrer-Policy": "no-referrer"}  # the token is in the path


@dataclass(frozen=True, slots=True)
class InvitationPage(Screen):
    """The invitation's page of one request, with what it is drawn from: the page itself
    and the acceptance, which shows it again, saying why, when refused."""

    organizations: Organizations
    links: InvitationLinks
    login: WebLogin
    clock: Clock

    def invitation_id(self, token: str) -> UUID:
        """The invitation the signed link names (the friendly 404 page when it is not one)."""
        return invitation_id_of(token, self.links, self.clock.now())

    async def show(
        self, token: str, invitation_id: UUID, *, notice: str | None = None, status: int = 200
    ) -> Template:
        lang = self.lang
        preview = await self.organizations.preview(invitation_id)
        invitation = preview.invitation
        return self.render(
            "invitation.html",
            status=status,
            title=lang.gettext("Join %(name)s") % {"name": preview.organization_name},
            headers=HEADERS,
            preview=preview,
            invitation=invitation,
            role_name=lang.gettext(ROLE_NAMES[invitation.role]),
            role_meaning=lang.gettext(ROLE_MEANINGS[invitation.role]),
            state="expired" if preview.expired else invitation.status.value,
            until=lang.moment(invitation.expires_at, "UTC"),
            login_url=self.login.login_url(f"/invitations/{token}"),
            action=f"/invitations/{token}",
            notice=notice,
        )


@get("/invitations/{token:str}", name="web:invitation")
@inject
async def invitation_page(
    *, token: FromPath[str], invitation: FromDishka[InvitationPage]
) -> Template:
    return await invitation.show(token, invitation.invitation_id(token))


@post("/invitations/{token:str}", name="web:invitation-accept")
@inject
async def accept_invitation(
    *, token: FromPath[str], invitation: FromDishka[InvitationPage]
) -> Response[Any] | Template:
    principal = invitation.principal(f"/invitations/{token}")
    invitation_id = invitation.invitation_id(token)
    try:
        membership = await invitation.organizations.accept(principal, invitation_id)
    except DomainError as problem:
        if not inline(problem) and problem.kind != "forbidden":
            raise
        return await invitation.show(
            token, invitation_id, notice=problem.code, status=status_of(problem)
        )
    return Redirect(
        f"/manage/organizations/{membership.organization_id}?done=joined", status_code=303
    )


ROUTES = [invitation_page, accept_invitation]
