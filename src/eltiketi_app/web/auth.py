"""Who is looking at a page: the session's access token, verified like an API bearer token.

The pages act as the :class:`~eltiketi_core.domain.identity.Principal` that the
app's one :class:`~eltiketi_core.ports.identity.TokenVerifier` makes of the token
kept in the server-side session — the same roles and the same "another buyer's
booking is a 404" rule as the REST API. The token never reaches the browser.

How a token gets into the session is a :class:`WebLogin`: embedded mode's
:class:`DevLogin` (a form minting a dev token), or the OIDC backend-for-frontend
(:class:`~eltiketi_app.web.oidc_login.OidcLogin`: authorization code + PKCE at the
issuer, refresh, RP-initiated logout) behind the same three methods.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

import msgspec

from eltiketi_core.domain.identity import Principal
from eltiketi_core.errors import Unauthenticated
from eltiketi_core.ports.identity import TokenVerifier

AUTH_KEY = "auth"
#: ``request.state`` key of the request's visitor, once known (error pages read it).
VISITOR_STATE = "web_visitor"
MAX_RETURN_PATH = 2048


class Visitor(msgspec.Struct, frozen=True):
    """The signed-in principal of this request, or None for an anonymous visitor."""

    principal: Principal | None
    name: str | None = None


class LoginRequired(Exception):
    """The page needs a signed-in buyer: send the browser to log in, then back to ``return_to``."""

    def __init__(self, return_to: str) -> None:
        super().__init__(return_to)
        self.return_to = return_to


class WebLogin(Protocol):
    """How visitors sign in to the pages (the token stays in the server-side session)."""

    def login_url(self, return_to: str) -> str:
        """Where the browser goes to sign in, coming back to ``return_to`` (a checked path)."""
        ...

    async def access_token(self, session: dict[str, Any]) -> str | None:
        """The session's current access token (refreshed here when it is about to expire)."""
        ...

    async def logout_url(self, session: dict[str, Any]) -> str:
        """Where the browser goes once the local session ended (the IdP's end-session URL)."""
        ...


class DevTokens(Protocol):
    """Mints dev access tokens: embedded mode's sign-in form (the dev issuer adapter)."""

    def mint(
        self,
        sub: str,
        roles: Iterable[str] = (),
        email: str | None = None,
        phone: str | None = None,
    ) -> str:
        """A signed access token for ``sub`` with realm ``roles`` and the contact given."""
        ...


class SessionLogin:
    """The part every login shares: a token in the session under :data:`AUTH_KEY`."""

    def login_url(self, return_to: str) -> str:
        return "/login?next=" + quote(safe_return_path(return_to), safe="/")

    async def access_token(self, session: dict[str, Any]) -> str | None:
        auth = session.get(AUTH_KEY)
        if not isinstance(auth, dict):
            return None
        token = auth.get("access_token")
        return token if isinstance(token, str) else None

    async def logout_url(self, session: dict[str, Any]) -> str:
        return "/"


class DevLogin(SessionLogin):
    """Embedded mode: the ``/login`` form mints a dev token (see ``pages/login.py``)."""

    available = True


class NoLogin(SessionLogin):
    """No way to sign in configured (an issuer without ``ELTIKETI_OIDC_WEB_CLIENT_ID``)."""

    available = False


async def visitor_of(session: dict[str, Any], login: WebLogin, verifier: TokenVerifier) -> Visitor:
    """The verified visitor; a token the verifier refuses (expired…) ends the session's login."""
    token = await login.access_token(session)
    if token is None:
        return Visitor(principal=None)
    try:
        principal = await verifier.verify(token)
    except Unauthenticated:
        session.pop(AUTH_KEY, None)
        return Visitor(principal=None)
    auth = session.get(AUTH_KEY) or {}
    return Visitor(principal=principal, name=auth.get("name") or principal.username)


def safe_return_path(raw: str | None, default: str = "/") -> str:
    """``raw`` if it is a path on this site, else ``default``: no open redirect.

    Only a single leading ``/`` is allowed: ``//host``, ``/\\host``, schemes,
    hosts, backslashes and control characters are all refused, as browsers
    treat some of them as another site.
    """
    if not raw or len(raw) > MAX_RETURN_PATH or not raw.startswith("/"):
        return default
    if raw.startswith(("//", "/\\")) or "\\" in raw:
        return default
    if any(ord(char) < 33 or ord(char) == 127 for char in raw):
        return default
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc:
        return default
    return raw


def require(visitor: Visitor, return_to: str) -> Principal:
    """The signed-in principal, or :class:`LoginRequired` (back to ``return_to`` after)."""
    if visitor.principal is None:
        raise LoginRequired(return_to)
    return visitor.principal
