"""The web pages' parts: languages, ticket links, the login in use, and per request the
visitor and their language."""

from __future__ import annotations

from dishka import Provider, Scope, provide
from litestar import Request

from eltiketi_app.settings import Settings
from eltiketi_app.web.auth import VISITOR_STATE, NoLogin, Visitor, WebLogin, visitor_of
from eltiketi_app.web.i18n import Lang, Languages, language_of
from eltiketi_app.web.keys import ticket_links
from eltiketi_app.web.links import TicketLinks
from eltiketi_core.ports.identity import TokenVerifier


class WebProvider(Provider):
    scope = Scope.APP

    @provide
    def languages(self) -> Languages:
        return Languages()

    @provide
    def links(self, settings: Settings) -> TicketLinks:
        return ticket_links(settings)

    @provide
    def login(self) -> WebLogin:
        """No sign-in unless a login provider below replaces this (embedded: the dev login)."""
        return NoLogin()

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


class DevLoginProvider(Provider):
    """Embedded mode with the dev issuer: the ``/login`` form that mints dev tokens."""

    scope = Scope.APP

    @provide
    def login(self) -> WebLogin:
        from eltiketi_app.web.auth import DevLogin

        return DevLogin()
