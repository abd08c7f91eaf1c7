"""The back office's start and its organizations: ``/manage`` (to the visitor's first
organization, or creating one), creating an organization, and the team — members and
their roles, removing them (the last owner stays: said in a sentence), inviting by e-mail
and revoking invitations.

The same use cases as ``/v1/organizations…``; a removal takes effect on the member's very
next request, since every page reads memberships anew.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from dishka.integrations.litestar import FromDishka, inject
from litestar import Response, get, post
from litestar.exceptions import ValidationException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from eltiketi_app.web.i18n import N_, Lang
from eltiketi_app.web.pages.manage.common import (
    ROLE_MEANINGS,
    ROLE_NAMES,
    ManageScreen,
    inline,
    manage_page,
    notice_of,
    status_of,
)
from eltiketi_app.web.pages.manage.forms import CODE_MESSAGES, FieldError
from eltiketi_core.domain.identity import Principal, Role
from eltiketi_core.domain.organization import InvitationStatus, MemberRole
from eltiketi_core.errors import DomainError
from eltiketi_core.ports.clock import Clock
from eltiketi_core.usecases.organizations import Organizations, OrganizationView

ORGANIZATION_NAME = N_("Enter a name of at most 200 characters")
INVITATION_STATUS = {
    InvitationStatus.PENDING: N_("Waiting for an answer"),
    InvitationStatus.ACCEPTED: N_("Accepted"),
    InvitationStatus.REVOKED: N_("Withdrawn"),
}
TEAM_NOTICES = frozenset({"role_changed", "member_removed", "invited", "invitation_revoked_done"})


@get("/manage", name="manage:home")
@inject
async def manage_home(
    *, organizations: FromDishka[Organizations], screen: FromDishka[ManageScreen]
) -> Response[Any] | Template:
    """To the visitor's first organization; with none, how to get one."""
    principal = screen.principal()
    mine = await organizations.mine(principal)
    if mine:
        return Redirect(f"/manage/organizations/{mine[0].organization.id}", status_code=303)
    return _organization_form(screen, principal, "manage/welcome.html")


@get("/manage/organizations/new", name="manage:organization-new")
@inject
async def new_organization_form(*, screen: FromDishka[ManageScreen]) -> Template:
    return _organization_form(screen, screen.principal(), "manage/organization_form.html")


@post("/manage/organizations", name="manage:organization-create")
@inject
async def create_organization(
    *, organizations: FromDishka[Organizations], screen: FromDishka[ManageScreen]
) -> Response[Any] | Template:
    principal = screen.principal("/manage/organizations/new")
    form = await screen.form()
    if not form.required("name") or len(form["name"]) > 200:
        form.refuse("name", ORGANIZATION_NAME)
    else:
        try:
            created = await organizations.create(principal, form["name"])
        except DomainError as problem:
            if problem.code != "invalid_name":
                raise
            form.refuse("name", ORGANIZATION_NAME)
        else:
            return Redirect(
                f"/manage/organizations/{created.organization.id}?done=organization_created",
                status_code=303,
            )
    return _organization_form(
        screen,
        principal,
        "manage/organization_form.html",
        values=form.values,
        errors=form.errors,
        status=422,
    )


def _organization_form(
    screen: ManageScreen,
    principal: Principal,
    template: str,
    *,
    values: dict[str, str] | None = None,
    errors: list[FieldError] | None = None,
    status: int = 200,
) -> Template:
    welcome = template == "manage/welcome.html"
    lang = screen.lang
    return screen.render(
        template,
        status=status,
        title=lang.gettext("Back office") if welcome else lang.gettext("New organization"),
        may_create=principal.has_role(Role.ORGANIZER),
        form=values or {},
        errors=errors or [],
    )


# -- the team -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TeamPage(ManageScreen):
    """An organization's team page of one request, with what it is drawn from (the
    container builds it for the page and for the changes that show it again)."""

    organizations: Organizations
    clock: Clock

    async def show_refusal(self, problem: DomainError, organization_id: UUID) -> Template:
        """The team page again, saying why the change was refused (``problem`` goes on up
        when the page cannot say it)."""
        if not inline(problem):
            raise problem
        assert self.visitor.principal is not None
        organization = await self.organizations.get(self.visitor.principal, organization_id)
        return await self.show(organization, notice=problem.code, status=status_of(problem))

    async def apply(
        self, organization_id: UUID, change: Awaitable[object], done: str, *, then: str = ""
    ) -> Response[Any] | Template:
        """Make ``change`` and go back to the team page saying ``done`` (or to ``then``),
        or show the page again saying why the change was refused."""
        try:
            await change
        except DomainError as problem:
            return await self.show_refusal(problem, organization_id)
        back = then or f"/manage/organizations/{organization_id}/team?done={done}"
        return Redirect(back, status_code=303)

    async def show(
        self,
        organization: OrganizationView,
        *,
        notice: str | None = None,
        invite_form: dict[str, str] | None = None,
        errors: list[FieldError] | None = None,
        status: int = 200,
    ) -> Template:
        """Members (owners and managers may see them; a door member gets the 403 page) and,
        for owners, the invitations and the forms that change the team."""
        lang = self.lang
        principal = self.visitor.principal
        assert principal is not None
        organization_id = organization.organization.id
        members = await self.organizations.members(principal, organization_id)
        owner = organization.role is MemberRole.OWNER
        invitations = (
            await self.organizations.invitations(principal, organization_id) if owner else []
        )
        now = self.clock.now()
        zone = "UTC"  # an organization has no time zone of its own; dates only
        roles = [(r.value, lang.gettext(ROLE_NAMES[r])) for r in MemberRole]
        return manage_page(
            "manage/team.html",
            self.request,
            lang,
            self.visitor,
            status=status,
            title=lang.gettext("Team"),
            organization=organization,
            tab="team",
            members=[
                {
                    "member": m,
                    "me": m.subject == principal.subject,
                    "role_name": lang.gettext(ROLE_NAMES[m.role]),
                    "since": lang.short_date(m.added_at, zone),
                }
                for m in members
            ],
            invitations=[
                {
                    "invitation": i,
                    "pending": i.status is InvitationStatus.PENDING and not i.expired(now),
                    "status_name": _invitation_status(i.status, i.expired(now), lang),
                    "role_name": lang.gettext(ROLE_NAMES[i.role]),
                    "until": lang.short_date(i.expires_at, zone),
                }
                for i in invitations
            ],
            roles=roles,
            meanings=[
                (lang.gettext(ROLE_NAMES[r]), lang.gettext(ROLE_MEANINGS[r])) for r in MemberRole
            ],
            invite_form=invite_form or {"role": MemberRole.DOOR.value},
            errors=errors or [],
            notice=notice,
        )


@get("/manage/organizations/{organization_id:uuid}/team", name="manage:team")
@inject
async def team_page(*, organization_id: FromPath[UUID], team: FromDishka[TeamPage]) -> Template:
    organization = await team.organizations.get(team.principal(), organization_id)
    return await team.show(organization, notice=notice_of(team.request, TEAM_NOTICES))


@post("/manage/organizations/{organization_id:uuid}/members/role", name="manage:member-role")
@inject
async def change_role(
    *, organization_id: FromPath[UUID], team: FromDishka[TeamPage]
) -> Response[Any] | Template:
    principal = team.principal(f"/manage/organizations/{organization_id}/team")
    form = await team.form()
    role = _role(form["role"])
    if role is None:  # the form offers the three roles only: this was made up
        raise ValidationException("not a role")
    change = team.organizations.change_role(principal, organization_id, form["subject"], role)
    return await team.apply(organization_id, change, "role_changed")


@post("/manage/organizations/{organization_id:uuid}/members/remove", name="manage:member-remove")
@inject
async def remove_member(
    *, organization_id: FromPath[UUID], team: FromDishka[TeamPage]
) -> Response[Any] | Template:
    principal = team.principal(f"/manage/organizations/{organization_id}/team")
    form = await team.form()
    change = team.organizations.remove_member(principal, organization_id, form["subject"])
    leaving = form["subject"] == principal.subject  # left the organization: no team page
    return await team.apply(
        organization_id, change, "member_removed", then="/manage" if leaving else ""
    )


@post("/manage/organizations/{organization_id:uuid}/invitations", name="manage:invite")
@inject
async def invite(
    *, organization_id: FromPath[UUID], team: FromDishka[TeamPage]
) -> Response[Any] | Template:
    principal = team.principal(f"/manage/organizations/{organization_id}/team")
    form = await team.form()
    role = _role(form["role"])
    if role is None:
        form.refuse("role")
    if form.required("email") and len(form["email"]) > 320:
        form.refuse("email")
    if not form.errors and role is not None:
        try:
            await team.organizations.invite(principal, organization_id, form["email"], role)
        except DomainError as problem:
            if problem.code != "invalid_email":
                raise
            form.refuse("email", CODE_MESSAGES["invalid_email"])
        else:
            return Redirect(
                f"/manage/organizations/{organization_id}/team?done=invited", status_code=303
            )
    organization = await team.organizations.get(principal, organization_id)
    return await team.show(organization, invite_form=form.values, errors=form.errors, status=422)


@post(
    "/manage/organizations/{organization_id:uuid}/invitations/{invitation_id:uuid}/revoke",
    name="manage:revoke",
)
@inject
async def revoke(
    *, organization_id: FromPath[UUID], invitation_id: FromPath[UUID], team: FromDishka[TeamPage]
) -> Response[Any] | Template:
    principal = team.principal(f"/manage/organizations/{organization_id}/team")
    change = team.organizations.revoke(principal, organization_id, invitation_id)
    return await team.apply(organization_id, change, "invitation_revoked_done")


def _role(raw: str) -> MemberRole | None:
    return MemberRole(raw) if raw in {r.value for r in MemberRole} else None


def _invitation_status(status: InvitationStatus, expired: bool, lang: Lang) -> str:
    return lang.gettext("Expired") if expired else lang.gettext(INVITATION_STATUS[status])


ROUTES = [
    manage_home,
    new_organization_form,
    create_organization,
    team_page,
    change_role,
    remove_member,
    invite,
    revoke,
]
