"""The web pages' parts: languages, ticket links, the login in use, where an event sits
for the back office, and per request the visitor, their language and the order, hold and
team pages."""

from __future__ import annotations

from collections.abc import AsyncIterator

from dishka import Provider, Scope, provide
from litestar import Request

from eltiketi_app.settings import Settings
from eltiketi_app.web.auth import VISITOR_STATE, NoLogin, Visitor, WebLogin, visitor_of
from eltiketi_app.web.i18n import Lang, Languages, language_of
from eltiketi_app.web.keys import invitation_links, ticket_links
from eltiketi_app.web.links import InvitationLinks, TicketLinks
from eltiketi_app.web.oidc_login import OidcLogin
from eltiketi_app.web.pages.bookings import HoldPage
from eltiketi_app.web.pages.common import Screen
from eltiketi_app.web.pages.invitations import InvitationPage
from eltiketi_app.web.pages.manage.common import EventPlaces, ManageScreen
from eltiketi_app.web.pages.manage.team import TeamPage
from eltiketi_app.web.pages.orders import OrderPage
from eltiketi_app.web.pages.shop import EventPage
from eltiketi_app.web.payments import CardPayments, card_payments
from eltiketi_core.ports.identity import TokenVerifier
from eltiketi_core.usecases.catalog import Catalog
from eltiketi_core.usecases.organizations import Organizations


class WebProvider(Provider):
    scope = Scope.APP

    @provide
    def languages(self) -> Languages:
        return Languages()

    @provide
    def links(self, settings: Settings) -> TicketLinks:
        return ticket_links(settings)

    @provide
    def invitations(self, settings: Settings) -> InvitationLinks:
        return invitation_links(settings)

    @provide
    def login(self) -> WebLogin:
        """No sign-in unless a login provider below replaces this (embedded: the dev login)."""
        return NoLogin()

    @provide
    def places(self, catalog: Catalog, organizations: Organizations) -> EventPlaces:
        return EventPlaces(catalog, organizations)

    @provide
    def cards(self, settings: Settings) -> CardPayments:
        return card_payments(settings)

    @provide(scope=Scope.REQUEST)
    async def visitor(
        self,
        request: Request,  # type: ignore[type-arg]
        login: WebLogin,
        verifier: TokenVerifier,
    ) -> Visitor:
        if "session" not in request.scope:  # a route without the session middleware
            return Visitor(principal=None)
        visitor = await visitor_of(request.session, login, verifier)
        request.state[VISITOR_STATE] = visitor  # for the error pages (sync handlers)
        return visitor

    @provide(scope=Scope.REQUEST)
    def lang(self, request: Request, languages: Languages) -> Lang:  # type: ignore[type-arg]
        return language_of(request, languages)

    #: What every page is drawn with, and the pages that hold more (the event, order, hold
    #: and team pages), built from their fields, per request.
    screen = provide(Screen, scope=Scope.REQUEST)
    event_page = provide(EventPage, scope=Scope.REQUEST)
    order_page = provide(OrderPage, scope=Scope.REQUEST)
    invitation_page = provide(InvitationPage, scope=Scope.REQUEST)
    hold_page = provide(HoldPage, scope=Scope.REQUEST)
    team_page = provide(TeamPage, scope=Scope.REQUEST)
    manage_screen = provide(ManageScreen, scope=Scope.REQUEST)


class DevLoginProvider(Provider):
    """Embedded mode with the dev issuer: the ``/login`` form that mints dev tokens."""

    scope = Scope.APP

    @provide
    def login(self) -> WebLogin:
        from eltiketi_app.web.auth import DevLogin

        return DevLogin()


class OidcLoginProvider(Provider):
    """The pages sign buyers in at the OIDC issuer (``ELTIKETI_OIDC_WEB_CLIENT_ID``)."""

    scope = Scope.APP

    @provide
    async def oidc_login(self, settings: Settings) -> AsyncIterator[OidcLogin]:
        from eltiketi_adapters.oidc import OidcRelyingParty, WebClientConfig

        party = OidcRelyingParty(
            WebClientConfig(
                issuer=settings.oidc_issuer or "",
                client_id=settings.oidc_web_client_id or "",
                client_secret=settings.oidc_web_client_secret,
                scopes=settings.oidc_web_scopes,
            )
        )
        try:
            yield OidcLogin(party, public_url=settings.effective_public_url)
        finally:
            await party.aclose()

    @provide
    def login(self, oidc: OidcLogin) -> WebLogin:
        return oidc
