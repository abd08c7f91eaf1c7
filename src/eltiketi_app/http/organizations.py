"""Organizations, their members and invitations (``/v1/organizations``, ``/v1/invitations``).

Every rule is the core's (:class:`~eltiketi_core.usecases.organizations.Organizations`):
an organization that is not yours answers ``404 organization_not_found``; a role
that is not enough, ``403 missing_role``. Memberships are read on every request,
so a removed member is refused on their next one.
"""

from __future__ import annotations

from uuid import UUID

from dishka.integrations.litestar import FromDishka, inject
from litestar import Router, delete, get, patch, post
from litestar.params import FromPath, JSONBody

from eltiketi_app.http.auth import BEARER, authenticated
from eltiketi_app.http.openapi import can_answer
from eltiketi_app.http.paging import Limit, Offset
from eltiketi_app.http.problem_catalog import STORAGE, WRITES
from eltiketi_app.http.schemas import (
    EventListOut,
    InvitationListOut,
    InvitationOut,
    InvitationPreviewOut,
    MemberListOut,
    MemberOut,
    MemberRoleIn,
    NewInvitationIn,
    NewMemberIn,
    NewOrganizationIn,
    OrganizationListOut,
    OrganizationOut,
    event_view_out,
    invitation_out,
    invitation_preview_out,
    member_out,
    organization_out,
)
from eltiketi_app.web.links import InvitationLinks, invitation_id_of
from eltiketi_core.domain.identity import Principal
from eltiketi_core.ports.clock import Clock
from eltiketi_core.usecases.catalog import Catalog
from eltiketi_core.usecases.organizations import Organizations

GUARDS = [authenticated]


@can_answer("missing_role", "invalid_name", *WRITES)
@post(
    "/",
    summary="Create an organization (organizer)",
    description="You become its owner. Needs the realm role `organizer` (403 `missing_role`).",
)
@inject
async def create_organization(
    data: JSONBody[NewOrganizationIn],
    organizations: FromDishka[Organizations],
    principal: FromDishka[Principal],
) -> OrganizationOut:
    return organization_out(await organizations.create(principal, data.name))


@can_answer(*STORAGE)
@get("/", summary="The organizations you belong to, with your role in each")
@inject
async def my_organizations(
    organizations: FromDishka[Organizations], principal: FromDishka[Principal]
) -> OrganizationListOut:
    views = await organizations.mine(principal)
    return OrganizationListOut(items=[organization_out(v) for v in views])


@can_answer("organization_not_found", *STORAGE)
@get("/{organization_id:uuid}", summary="One of your organizations (any role)")
@inject
async def get_organization(
    organization_id: FromPath[UUID],
    organizations: FromDishka[Organizations],
    principal: FromDishka[Principal],
) -> OrganizationOut:
    return organization_out(await organizations.get(principal, organization_id))


@can_answer("organization_not_found", "malformed_request", *STORAGE)
@get(
    "/{organization_id:uuid}/events",
    summary="The organization's events, every status (any member)",
    description="By start, with ticket types and live `available`; drafts and cancelled "
    "events included. Any member may read it (`door` members need to know where they work); "
    "sales figures are in `GET /v1/events/managed` (owners and managers).",
)
@inject
async def organization_events(
    organization_id: FromPath[UUID],
    catalog: FromDishka[Catalog],
    principal: FromDishka[Principal],
    limit: Limit = 50,
    offset: Offset = 0,
) -> EventListOut:
    views = await catalog.of_organization(principal, organization_id, limit=limit, offset=offset)
    return EventListOut(items=[event_view_out(v) for v in views], limit=limit, offset=offset)


@can_answer("organization_not_found", "missing_role", *STORAGE)
@get("/{organization_id:uuid}/members", summary="Members and their roles (owner or manager)")
@inject
async def list_members(
    organization_id: FromPath[UUID],
    organizations: FromDishka[Organizations],
    principal: FromDishka[Principal],
) -> MemberListOut:
    members = await organizations.members(principal, organization_id)
    return MemberListOut(items=[member_out(m) for m in members])


@can_answer(
    "organization_not_found",
    "missing_role",
    "already_member",
    "invalid_subject",
    "invalid_email",
    *WRITES,
)
@post(
    "/{organization_id:uuid}/members",
    summary="Add a member by subject (owner)",
    description="`subject` is the identity provider's user id (the token's `sub`); to bring "
    "in someone by e-mail address, invite them. 409 `already_member`.",
)
@inject
async def add_member(
    organization_id: FromPath[UUID],
    data: JSONBody[NewMemberIn],
    organizations: FromDishka[Organizations],
    principal: FromDishka[Principal],
) -> MemberOut:
    membership = await organizations.add_member(
        principal, organization_id, data.subject, data.role, email=data.email
    )
    return member_out(membership)


@can_answer("organization_not_found", "missing_role", "member_not_found", "last_owner", *WRITES)
@patch(
    "/{organization_id:uuid}/members/{subject:str}",
    summary="Change a member's role (owner)",
    description="404 `member_not_found`; 409 `last_owner` when it would leave no owner.",
)
@inject
async def change_role(
    organization_id: FromPath[UUID],
    subject: FromPath[str],
    data: JSONBody[MemberRoleIn],
    organizations: FromDishka[Organizations],
    principal: FromDishka[Principal],
) -> MemberOut:
    membership = await organizations.change_role(principal, organization_id, subject, data.role)
    return member_out(membership)


@can_answer("organization_not_found", "missing_role", "member_not_found", "last_owner", *WRITES)
@delete(
    "/{organization_id:uuid}/members/{subject:str}",
    summary="Remove a member (owner), or leave (yourself)",
    description="Takes effect on the member's next request. 404 `member_not_found`; "
    "409 `last_owner` for the only owner.",
)
@inject
async def remove_member(
    organization_id: FromPath[UUID],
    subject: FromPath[str],
    organizations: FromDishka[Organizations],
    principal: FromDishka[Principal],
) -> None:
    await organizations.remove_member(principal, organization_id, subject)


@can_answer("organization_not_found", "missing_role", "invalid_email", *WRITES)
@post(
    "/{organization_id:uuid}/invitations",
    summary="Invite an e-mail address (owner)",
    description="The address gets an e-mail with a signed link that works once, until "
    "`expires_at` (`ELTIKETI_INVITATION_TTL_HOURS`). Only someone signed in with that "
    "address, verified by the identity provider, can accept it.",
)
@inject
async def invite(
    organization_id: FromPath[UUID],
    data: JSONBody[NewInvitationIn],
    organizations: FromDishka[Organizations],
    principal: FromDishka[Principal],
    clock: FromDishka[Clock],
) -> InvitationOut:
    invitation = await organizations.invite(principal, organization_id, data.email, data.role)
    return invitation_out(invitation, clock.now())


@can_answer("organization_not_found", "missing_role", *STORAGE)
@get("/{organization_id:uuid}/invitations", summary="Invitations, newest first (owner)")
@inject
async def list_invitations(
    organization_id: FromPath[UUID],
    organizations: FromDishka[Organizations],
    principal: FromDishka[Principal],
    clock: FromDishka[Clock],
) -> InvitationListOut:
    found = await organizations.invitations(principal, organization_id)
    now = clock.now()
    return InvitationListOut(items=[invitation_out(i, now) for i in found])


@can_answer(
    "organization_not_found",
    "missing_role",
    "invitation_not_found",
    "invitation_used",
    *WRITES,
)
@delete(
    "/{organization_id:uuid}/invitations/{invitation_id:uuid}",
    summary="Revoke an invitation (owner)",
    description="Its link stops working. Revoking twice is fine; 409 `invitation_used` "
    "once it was accepted.",
)
@inject
async def revoke_invitation(
    organization_id: FromPath[UUID],
    invitation_id: FromPath[UUID],
    organizations: FromDishka[Organizations],
    principal: FromDishka[Principal],
) -> None:
    await organizations.revoke(principal, organization_id, invitation_id)


@can_answer("invitation_not_found", "invitation_expired", *STORAGE)
@get(
    "/{token:str}",
    summary="Read an invitation from its link (before accepting it)",
    description="`token` is the last part of the link in the invitation e-mail: the "
    "organization, the role, who invited and whether it can still be accepted (`status`). "
    "404 `invitation_not_found` (unknown or tampered), 410 `invitation_expired` once the "
    "link's own time is up. Any signed-in caller holding the link may read it; only the "
    "invited address may accept it.",
)
@inject
async def read_invitation(
    token: FromPath[str],
    organizations: FromDishka[Organizations],
    links: FromDishka[InvitationLinks],
    clock: FromDishka[Clock],
) -> InvitationPreviewOut:
    preview = await organizations.preview(invitation_id_of(token, links, clock.now()))
    return invitation_preview_out(preview)


@can_answer(
    "invitation_not_found",
    "invitation_expired",
    "invitation_revoked",
    "invitation_used",
    "already_member",
    "invitation_email_mismatch",
    "email_not_verified",
    *WRITES,
)
@post(
    "/{token:str}/accept",
    status_code=200,
    summary="Accept an invitation (the invited address, verified)",
    description="`token` is the last part of the link in the invitation e-mail. 404 "
    "`invitation_not_found` (unknown or tampered); 410 `invitation_expired` or "
    "`invitation_revoked`; 409 `invitation_used` (single use) or `already_member`; 403 "
    "`invitation_email_mismatch` (signed in with another address) or `email_not_verified`.",
)
@inject
async def accept_invitation(
    token: FromPath[str],
    organizations: FromDishka[Organizations],
    principal: FromDishka[Principal],
    links: FromDishka[InvitationLinks],
    clock: FromDishka[Clock],
) -> OrganizationOut:
    invitation_id = invitation_id_of(token, links, clock.now())
    membership = await organizations.accept(principal, invitation_id)
    return organization_out(await organizations.get(principal, membership.organization_id))


router = Router(
    path="/v1/organizations",
    tags=["organizations"],
    guards=GUARDS,
    security=BEARER,
    route_handlers=[
        create_organization,
        my_organizations,
        get_organization,
        organization_events,
        list_members,
        add_member,
        change_role,
        remove_member,
        invite,
        list_invitations,
        revoke_invitation,
    ],
)
invitations_router = Router(
    path="/v1/invitations",
    tags=["organizations"],
    guards=GUARDS,
    security=BEARER,
    route_handlers=[read_invitation, accept_invitation],
)
