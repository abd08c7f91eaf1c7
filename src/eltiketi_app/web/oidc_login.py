"""Signing in at the OIDC issuer (Keycloak): the pages as a backend-for-frontend.

``/login`` starts an authorization-code + PKCE login (:class:`OidcRelyingParty`) and keeps
what it must remember — ``state``, ``nonce``, the PKCE verifier and where to return — in the
visitor's server-side session; ``/login/callback`` checks the ``state``, exchanges the code
and keeps the tokens in the session (the browser only ever holds the session id, which is
renewed at that moment). Every request then asks :meth:`OidcLogin.access_token` for the
access token, refreshed a little before it expires; ``/logout`` ends the local session and
sends the browser to the issuer's end-session endpoint, so the single sign-on ends too.

Refreshing is single-flight: requests of the same session that find the token expired at
the same time (a page and its htmx poll) share one call to the issuer, and a request that
read the session just before another one refreshed it gets the new tokens too (the result
is kept for :data:`RECENT_SECONDS`, keyed by the refresh token it replaced). That holds
within one process; two replicas refreshing the same session at the same instant is left
to the issuer (Keycloak accepts the reuse unless "Revoke Refresh Token" is on with no
reuse allowed — see docs/keycloak.md).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Final

import msgspec

from eltiketi_app.ioc.login import LoginTokens, OidcRelyingParty, PendingLogin
from eltiketi_app.web.auth import AUTH_KEY, SessionLogin
from eltiketi_core.errors import GatewayUnavailable, Unauthenticated

#: Session key of the logins under way: ``{state: {nonce, code_verifier, next, at}}``.
PENDING_KEY: Final = "oidc_pending"
#: At most this many logins under way per session (tabs); the oldest is forgotten first.
MAX_PENDING: Final = 5
#: A login must come back from the issuer within this long.
PENDING_SECONDS: Final = 15 * 60
#: Refresh this long before the access token expires (clock skew, request time).
REFRESH_MARGIN_SECONDS: Final = 30.0
#: How long a refresh result serves requests that still carry the replaced refresh token.
RECENT_SECONDS: Final = 60.0
CALLBACK_PATH: Final = "/login/callback"


class OidcLogin(SessionLogin):
    """The pages' :class:`~eltiketi_app.web.auth.WebLogin` at an OIDC issuer."""

    available = True

    def __init__(
        self, party: OidcRelyingParty, *, public_url: str, recent_seconds: float = RECENT_SECONDS
    ) -> None:
        self.party = party
        self._public_url = public_url.rstrip("/")
        self._recent_seconds = recent_seconds
        self._flights: dict[str, asyncio.Future[LoginTokens]] = {}
        self._recent: dict[str, tuple[float, LoginTokens]] = {}

    @property
    def redirect_uri(self) -> str:
        """Where the issuer sends the browser back (registered at the issuer)."""
        return self._public_url + CALLBACK_PATH

    @property
    def post_logout_redirect_uri(self) -> str:
        """Where the issuer sends the browser after signing out (registered too)."""
        return self._public_url + "/"

    # -- the login itself ------------------------------------------------------------------

    async def begin(self, session: dict[str, Any], return_to: str) -> str:
        """Start a login that ends on ``return_to`` (a checked path); the issuer's URL."""
        url, pending = await self.party.start(self.redirect_uri)
        waiting = _pending(session)
        waiting[pending.state] = {
            "nonce": pending.nonce,
            "code_verifier": pending.code_verifier,
            "next": return_to,
            "at": time.time(),
        }
        while len(waiting) > MAX_PENDING:
            waiting.pop(min(waiting, key=lambda state: waiting[state]["at"]))
        session[PENDING_KEY] = waiting
        return url

    async def complete(self, session: dict[str, Any], *, state: str, code: str) -> str:
        """Finish the login ``state`` names with ``code``; where to go next.

        Raises :class:`LoginExpired` for a ``state`` this session did not start (or
        started too long ago), ``Unauthenticated`` when the issuer refuses the code.
        """
        waiting = _pending(session)
        found = waiting.pop(state, None)
        session[PENDING_KEY] = waiting
        if not waiting:
            session.pop(PENDING_KEY, None)
        if not isinstance(found, dict) or time.time() - float(found["at"]) > PENDING_SECONDS:
            raise LoginExpired(state)
        pending = PendingLogin(
            state=state, nonce=str(found["nonce"]), code_verifier=str(found["code_verifier"])
        )
        tokens = await self.party.finish(pending, code=code, redirect_uri=self.redirect_uri)
        session[AUTH_KEY] = _stored(tokens)
        return str(found["next"])

    def forget(self, session: dict[str, Any], state: str) -> str | None:
        """Drop the login ``state`` (the issuer answered an error); where it was going."""
        waiting = _pending(session)
        found = waiting.pop(state, None)
        if waiting:
            session[PENDING_KEY] = waiting
        else:
            session.pop(PENDING_KEY, None)
        return str(found["next"]) if isinstance(found, dict) else None

    # -- WebLogin --------------------------------------------------------------------------

    async def access_token(self, session: dict[str, Any]) -> str | None:
        auth = session.get(AUTH_KEY)
        if not isinstance(auth, dict) or not isinstance(auth.get("access_token"), str):
            return None
        if float(auth.get("expires_at") or 0) - REFRESH_MARGIN_SECONDS > time.time():
            return str(auth["access_token"])
        refresh_token = auth.get("refresh_token")
        if not isinstance(refresh_token, str):
            return str(auth["access_token"])  # the verifier decides; expired means signed out
        try:
            tokens = await self._refreshed(refresh_token)
        except Unauthenticated:  # the session ended at the issuer
            session.pop(AUTH_KEY, None)
            return None
        except GatewayUnavailable:  # try again on the next request, still signed in then
            if float(auth.get("expires_at") or 0) > time.time():
                return str(auth["access_token"])
            return None
        session[AUTH_KEY] = _stored(tokens, previous=auth)
        return tokens.access_token

    async def logout_url(self, session: dict[str, Any]) -> str:
        auth = session.get(AUTH_KEY)
        id_token = auth.get("id_token") if isinstance(auth, dict) else None
        try:
            url = await self.party.logout_url(
                id_token=id_token if isinstance(id_token, str) else None,
                post_logout_redirect_uri=self.post_logout_redirect_uri,
            )
        except GatewayUnavailable:
            url = None  # the local session ends anyway
        return url or "/"

    # -- single-flight refresh -------------------------------------------------------------

    async def _refreshed(self, refresh_token: str) -> LoginTokens:
        now = time.monotonic()
        recent = self._recent.get(refresh_token)
        if recent is not None and now - recent[0] < self._recent_seconds:
            return recent[1]
        flight = self._flights.get(refresh_token)
        if flight is None:
            flight = asyncio.ensure_future(self.party.refresh(refresh_token))
            self._flights[refresh_token] = flight
            flight.add_done_callback(lambda done: self._landed(refresh_token, done))
        return await asyncio.shield(flight)

    def _landed(self, refresh_token: str, flight: asyncio.Future[LoginTokens]) -> None:
        self._flights.pop(refresh_token, None)
        now = time.monotonic()
        for old in [k for k, (at, _) in self._recent.items() if now - at >= self._recent_seconds]:
            del self._recent[old]
        if not flight.cancelled() and flight.exception() is None:
            self._recent[refresh_token] = (now, flight.result())


class LoginExpired(Exception):
    """The browser came back with a ``state`` this session is not waiting for."""


def _pending(session: dict[str, Any]) -> dict[str, Any]:
    found = session.get(PENDING_KEY)
    return dict(found) if isinstance(found, dict) else {}


def _stored(tokens: LoginTokens, previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """The session's ``auth`` entry; a refresh keeps the name and ID token it does not renew."""
    stored = msgspec.to_builtins(tokens)
    if previous is not None:
        stored["name"] = tokens.name or previous.get("name")
        stored["id_token"] = tokens.id_token or previous.get("id_token")
    return {key: value for key, value in stored.items() if value is not None}
