"""Server-side sessions for the pages: Litestar's backend, made thrifty and rotatable.

The browser keeps only a random session id (cookie ``eltiketi_session``:
``HttpOnly``, ``SameSite=Lax``, ``Secure`` when the public URL is https); the
data — the access token above all — stays in a :class:`~litestar.stores.base.Store`:

* ``memory``: in this process (embedded mode, one server);
* ``file``: files under ``<data dir>/web-sessions`` (survive a restart);
* ``redis://…``: Redis, shared by every replica (production; round 2's OIDC login
  requires it there).

Compared with Litestar's own server-side backend, this one

* writes nothing for a visitor without session data (no store entry and no
  cookie per anonymous page view, so browsing costs no store write),
* writes only when the data changed,
* never adopts an id the store does not know (a planted cookie is ignored), and
* gives a **new id** when :func:`rotate` was called (at login and logout), deleting
  the old entry, so an id fixed before login is worthless after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.middleware.session.server_side import (
    ServerSideSessionBackend,
    ServerSideSessionConfig,
)
from litestar.stores.base import Store
from litestar.types import Empty, Message, ScopeSession

from eltiketi_app.settings import Settings

SESSION_COOKIE = "eltiketi_session"
STORE_NAME = "web-sessions"
#: A session ends this long after it was last written (a login lasts a working day).
SESSION_MAX_AGE_SECONDS = 12 * 3600
_LOADED = "eltiketi_session_loaded"
_ROTATE = "eltiketi_session_rotate"


def rotate(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """Give this session a new id when the response is sent (the old one stops working)."""
    connection.scope.setdefault("state", {})[_ROTATE] = True  # type: ignore[typeddict-unknown-key]


class WebSessionBackend(ServerSideSessionBackend):
    """See the module docstring."""

    async def load_from_connection(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> dict[str, Any]:
        state = connection.scope.setdefault("state", {})
        session_id = connection.cookies.get(self.config.key)
        data = None
        if session_id and session_id != "null":
            store = self.config.get_store_from_app(connection.scope["app"])
            data = await self.get(session_id, store=store)
        state[_LOADED] = data  # type: ignore[typeddict-unknown-key]
        return self.deserialize_data(data) if data is not None else {}

    def get_session_id(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str:
        return connection.cookies.get(self.config.key) or ""

    async def store_in_message(
        self,
        scope_session: ScopeSession,
        message: Message,
        connection: ASGIConnection[Any, Any, Any, Any],
    ) -> None:
        scope = connection.scope
        state = scope.setdefault("state", {})
        loaded: bytes | None = state.get(_LOADED)  # type: ignore[assignment]
        known_id = connection.cookies.get(self.config.key) if loaded is not None else None
        store = self.config.get_store_from_app(scope["app"])
        headers = MutableScopeHeaders.from_message(message)
        if scope_session is Empty or not scope_session:
            if known_id:
                await self.delete(known_id, store=store)
                headers.add("Set-Cookie", self._cookie("null", expires=0))
            return
        data = self.serialize_data(scope_session, scope)
        rotating = bool(state.get(_ROTATE))
        if known_id and not rotating and data == loaded:
            return
        session_id = known_id if known_id and not rotating else self.generate_session_id()
        if rotating and known_id:
            await self.delete(known_id, store=store)
        await self.set(session_id, data, store=store)
        headers.add("Set-Cookie", self._cookie(session_id))

    def _cookie(self, value: str, **extra: Any) -> str:
        return Cookie(
            key=self.config.key,
            value=value,
            path=self.config.path,
            secure=self.config.secure,
            httponly=True,
            samesite=self.config.samesite,
            max_age=None if extra else self.config.max_age,
            **extra,
        ).to_header(header="")


@dataclass
class WebSessionConfig(ServerSideSessionConfig):
    _backend_class = WebSessionBackend


def session_config(settings: Settings) -> WebSessionConfig:
    return WebSessionConfig(
        key=SESSION_COOKIE,
        store=STORE_NAME,
        max_age=SESSION_MAX_AGE_SECONDS,
        secure=settings.effective_public_url.startswith("https://"),
        httponly=True,
        samesite="lax",
        renew_on_access=False,
    )


def session_store(settings: Settings) -> Store:
    """The store ``ELTIKETI_WEB_SESSION_STORE`` names (see the module docstring)."""
    choice = settings.web_session_store
    if choice == "memory":
        from litestar.stores.memory import MemoryStore

        return MemoryStore()
    if choice == "file":
        from litestar.stores.file import FileStore

        return FileStore(Path(settings.data_dir) / "web-sessions", create_directories=True)
    from litestar.stores.redis import RedisStore

    return RedisStore.with_client(url=choice, namespace="eltiketi:web-sessions")
