"""REQUEST scope: who is calling, resolved once per request."""

from __future__ import annotations

from dishka import Provider, Scope, from_context, provide
from litestar import Request

from eltiketi_app.http.auth import Caller, identify, require_principal
from eltiketi_app.http.event_admin import EventEdits
from eltiketi_app.http.tickets import TicketCodes
from eltiketi_core.domain.identity import Principal
from eltiketi_core.ports.identity import TokenVerifier


class RequestProvider(Provider):
    scope = Scope.REQUEST

    request = from_context(provides=Request, scope=Scope.REQUEST)

    @provide
    async def caller(self, request: Request, verifier: TokenVerifier) -> Caller:  # type: ignore[type-arg]
        return await identify(request, verifier)

    @provide
    def principal(self, caller: Caller) -> Principal:
        return require_principal(caller)

    #: How the event-changing routes answer (the caller's view of the changed event).
    event_edits = provide(EventEdits)
    #: The caller's tickets as QR images.
    ticket_codes = provide(TicketCodes)
