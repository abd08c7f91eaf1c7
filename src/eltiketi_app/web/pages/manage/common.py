"""What every back-office page shares: the organization and event it is about, the
visitor's role there, and rendering in the layout with the back office's navigation.

Who may see a page is decided by the core on every request (memberships are read
each time, never cached): these helpers only ask it. A page about an event of an
organization the visitor is not a member of answers the friendly 404 page, as the
API answers ``404 event_not_found``.
"""

from collections import defaultdict
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import msgspec
from litestar import Request
from litestar.response import Template

from eltiketi_app.http.problems import STATUS_BY_KIND
from eltiketi_app.web.auth import Visitor
from eltiketi_app.web.i18n import N_, Lang
from eltiketi_app.web.pages.common import Screen, page
from eltiketi_app.web.pages.manage.forms import Form
from eltiketi_core.domain.catalog import EventPhase
from eltiketi_core.domain.identity import Principal, Role
from eltiketi_core.domain.organization import MemberRole
from eltiketi_core.errors import DomainError, NotFound
from eltiketi_core.ports.clock import Clock
from eltiketi_core.usecases.access import require_member_role
from eltiketi_core.usecases.catalog import Catalog, EventView
from eltiketi_core.usecases.organizations import Organizations, OrganizationView

ROLE_NAMES = {
    MemberRole.OWNER: N_("Owner"),
    MemberRole.MANAGER: N_("Manager"),
    MemberRole.DOOR: N_("Door"),
}
ROLE_MEANINGS = {
    MemberRole.OWNER: N_("Everything, including the team and invitations"),
    MemberRole.MANAGER: N_("Events, orders, refunds and reports"),
    MemberRole.DOOR: N_("Checking tickets in at the events; nothing else"),
}
PHASE_NAMES = {
    EventPhase.DRAFT: N_("Draft"),
    EventPhase.ON_SALE: N_("On sale"),
    EventPhase.SOLD_OUT: N_("Sold out"),
    EventPhase.PAST: N_("Past"),
    EventPhase.CANCELLED: N_("Cancelled"),
}
#: The badge style of each phase (see ``app.css``).
PHASE_BADGES = {
    EventPhase.DRAFT: "badge-muted",
    EventPhase.ON_SALE: "badge-ok",
    EventPhase.SOLD_OUT: "badge-out",
    EventPhase.PAST: "badge-muted",
    EventPhase.CANCELLED: "badge-out",
}


class EventPlace(msgspec.Struct, frozen=True, kw_only=True):
    """An event as a member of its organization sees it, with their role there."""

    view: EventView
    organization: OrganizationView

    @property
    def can_manage(self) -> bool:
        return self.organization.role.includes(MemberRole.MANAGER)


class EventPlaces:
    """Where an event sits for the visitor: the event and their role in its organization.

    The back office's event pages ask the container for this rather than for the two use
    cases it reads.
    """

    def __init__(self, catalog: Catalog, organizations: Organizations) -> None:
        self._catalog = catalog
        self._organizations = organizations

    async def of(self, principal: Principal, event_id: UUID) -> EventPlace:
        """``404 event_not_found`` for anyone who is not a member there (a published event
        is public, its back office not)."""
        view = await self._catalog.get(event_id, principal)
        try:
            organization = await self._organizations.get(principal, view.event.organization_id)
        except NotFound:
            raise NotFound("event_not_found", "no such event") from None
        return EventPlace(view=view, organization=organization)

    async def organization(self, principal: Principal, organization_id: UUID) -> OrganizationView:
        """The organization with the visitor's role there (``404`` for anyone else)."""
        return await self._organizations.get(principal, organization_id)


def phase_of(view: EventView, clock: Clock) -> EventPhase:
    """The event's phase from its public view (the core's rule, as the summaries use it)."""
    return view.event.phase(
        clock.now(),
        available=sum(t.available for t in view.ticket_types),
        ticket_types=len(view.ticket_types),
    )


def manage_page(
    template: str,
    request: Request[Any, Any, Any],
    lang: Lang,
    visitor: Visitor,
    *,
    title: str,
    organization: OrganizationView | None = None,
    place: EventPlace | None = None,
    tab: str = "",
    status: int = 200,
    **context: Any,
) -> Template:
    """A back-office page: always private (``no-store``), with the organization's and the
    event's navigation when it is about one."""
    organization = place.organization if place is not None else organization
    role = organization.role if organization is not None else None
    principal = visitor.principal
    context.setdefault("may_create", principal is not None and principal.has_role(Role.ORGANIZER))
    for name in FORM_VALUES:  # an empty field the form has not seen yet reads as ""
        if name in context:
            context[name] = defaultdict(str, context[name])
    return page(
        template,
        request,
        lang,
        visitor,
        status=status,
        title=title,
        private=True,
        organization=organization,
        event=place.view.event if place is not None else None,
        can_manage=bool(role and role.includes(MemberRole.MANAGER)),
        is_owner=role is MemberRole.OWNER,
        role_name=lang.gettext(ROLE_NAMES[role]) if role else "",
        tab=tab,
        **context,
    )


@dataclass(frozen=True, slots=True)
class ManageScreen(Screen):
    """A back-office page of one request: always private, in the back office's layout, its
    forms checked by :class:`Form`, and where its event sits for the visitor.

    No ``from __future__ import annotations`` in this module: see
    :mod:`eltiketi_app.web.pages.common`."""

    places: EventPlaces

    async def place(self, event_id: UUID, *, needs: MemberRole | None = None) -> EventPlace:
        """The event this page is about and the visitor's role there (``404`` when not a
        member; to the login first when signed out; ``403 missing_role`` below ``needs``)."""
        place = await self.places.of(self.principal(), event_id)
        if needs is not None:
            require_member_role(place.organization.role, needs)
        return place

    async def organization(
        self, organization_id: UUID, *, needs: MemberRole | None = None
    ) -> OrganizationView:
        """The organization this page is about and the visitor's role there (as
        :meth:`place`)."""
        organization = await self.places.organization(self.principal(), organization_id)
        if needs is not None:
            require_member_role(organization.role, needs)
        return organization

    async def form(self) -> Form:
        """The posted form, its errors said in the page's language."""
        return Form(await self.request.form(), self.lang)

    def render(self, template: str, **context: Any) -> Template:
        """:func:`manage_page` for this request."""
        return manage_page(template, self.request, self.lang, self.visitor, **context)


#: Context entries holding a form's values.
FORM_VALUES = ("form", "invite_form")

#: Refusals a page says in a sentence where the action was (the rest: the error page).
INLINE_KINDS = frozenset({"conflict", "unprocessable", "gone", "rate_limited"})


def inline(problem: DomainError) -> bool:
    """Whether the page that tried the action shows this refusal itself (a 409 such as
    ``ticket_used``), rather than the friendly error page (404, 403)."""
    return problem.kind in INLINE_KINDS


def status_of(problem: DomainError) -> int:
    """The HTTP status the API answers this refusal with; the page answers the same."""
    return STATUS_BY_KIND.get(problem.kind, 422)


def notice_of(request: Request[Any, Any, Any], known: frozenset[str]) -> str | None:
    """The ``?done=`` notice of a page reached after an action (only codes it knows)."""
    done = request.query_params.get("done") or ""
    return done if done in known else None
