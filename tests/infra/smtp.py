"""SMTP for tests: an in-process ``aiosmtpd`` server (its own thread and loop) that keeps mail.

Starts in about 10 ms, so a fresh server per test is fine. Optional AUTH (over plain TCP, as
``auth_require_tls=False``), delayed start ("SMTP down at first, up later") and a delayed
answer (the message is kept at once, the ``250`` comes ``reply_delay`` seconds later, so a
client killed meanwhile has delivered a message it never heard was accepted) are supported.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.infra.ports import LOOPBACK, free_port


@dataclass(frozen=True)
class ReceivedEnvelope:
    """The SMTP envelope of one received message (who the client said it is from/to)."""

    mail_from: str
    rcpt_tos: tuple[str, ...]


class _CollectingHandler:
    def __init__(
        self,
        messages: list[EmailMessage],
        envelopes: list[ReceivedEnvelope],
        received_at: list[float],
        reply_delay: float = 0.0,
    ) -> None:
        self._messages = messages
        self._envelopes = envelopes
        self._received_at = received_at
        self._reply_delay = reply_delay
        self._lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content or b""
        raw = content if isinstance(content, bytes) else content.encode()
        message = email.message_from_bytes(raw, policy=email.policy.default)
        with self._lock:
            self._envelopes.append(
                ReceivedEnvelope(str(envelope.mail_from), tuple(map(str, envelope.rcpt_tos)))
            )
            self._messages.append(message)
            self._received_at.append(time.monotonic())
        if self._reply_delay:
            await asyncio.sleep(self._reply_delay)
        return "250 Message accepted for delivery"


def _authenticator(credentials: Mapping[str, str]) -> Callable[..., AuthResult]:
    def authenticate(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and credentials.get(auth_data.login.decode()) == auth_data.password.decode()
        )
        return AuthResult(success=ok, handled=False)

    return authenticate


class _Runner:
    """Owns the (re)startable aiosmtpd controller behind a frozen :class:`SmtpServer`."""

    def __init__(self, handler: _CollectingHandler, port: int, auth: Mapping[str, str] | None):
        self.handler = handler
        self.port = port
        self.auth = auth
        self.controller: Controller | None = None

    def start(self) -> None:
        if self.controller is not None:
            return
        kwargs: dict[str, Any] = {}
        if self.auth is not None:
            kwargs = {
                "auth_required": True,
                "auth_require_tls": False,
                "authenticator": _authenticator(self.auth),
            }
        controller = Controller(self.handler, hostname=LOOPBACK, port=self.port, **kwargs)
        controller.start()
        self.controller = controller

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@dataclass(frozen=True, kw_only=True)
class SmtpServer:
    """An SMTP server on ``host:port``; received mail lands in ``messages`` (in order), the
    ``time.monotonic()`` of each arrival in ``received_at``."""

    host: str
    port: int
    messages: list[EmailMessage]
    envelopes: list[ReceivedEnvelope]
    received_at: list[float]
    _runner: _Runner = field(repr=False, compare=False)
    username: str | None = None
    password: str | None = None

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._runner.controller is not None

    def start(self) -> None:
        """Start accepting connections (no-op if running)."""
        self._runner.start()

    def stop(self) -> None:
        """Stop accepting connections (received messages are kept)."""
        self._runner.stop()

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[EmailMessage]:  # noqa: ASYNC109 - a test helper's deadline, not a cancellation API
        """Wait (without blocking the event loop) until ``count`` messages have arrived."""
        try:
            async with asyncio.timeout(timeout):
                while len(self.messages) < count:  # noqa: ASYNC110 - mail arrives on the SMTP thread
                    await asyncio.sleep(0.01)
        except TimeoutError:
            raise TimeoutError(self._timeout_message(count, timeout)) from None
        return list(self.messages)

    def wait_for_blocking(self, count: int, timeout: float = 5.0) -> list[EmailMessage]:
        """:meth:`wait_for` for synchronous tests (blocks the calling thread)."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(self._timeout_message(count, timeout))
            time.sleep(0.01)
        return list(self.messages)

    def _timeout_message(self, count: int, timeout: float) -> str:
        subjects = [m["Subject"] for m in self.messages]
        return f"expected {count} message(s) within {timeout}s, got {subjects}"


def make_smtp_server(
    port: int | None = None,
    *,
    start: bool = True,
    username: str | None = None,
    password: str | None = None,
    reply_delay: float = 0.0,
) -> SmtpServer:
    """Build (and by default start) a server; with ``username``/``password`` AUTH is required.

    With ``start=False`` the port is chosen now but nothing listens until ``server.start()``.
    With ``reply_delay`` each message is kept on arrival and answered that much later.
    The caller must ``server.stop()`` it (the fixtures do).
    """
    messages: list[EmailMessage] = []
    envelopes: list[ReceivedEnvelope] = []
    received_at: list[float] = []
    auth = {username: password or ""} if username is not None else None
    handler = _CollectingHandler(messages, envelopes, received_at, reply_delay)
    runner = _Runner(handler, port or free_port(), auth)
    server = SmtpServer(
        host=LOOPBACK,
        port=runner.port,
        messages=messages,
        envelopes=envelopes,
        received_at=received_at,
        username=username,
        password=password,
        _runner=runner,
    )
    if start:
        server.start()
    return server


@contextlib.contextmanager
def start_smtp_server(
    port: int | None = None, *, username: str | None = None, password: str | None = None
) -> Iterator[SmtpServer]:
    """Run an SMTP server until the block exits."""
    server = make_smtp_server(port, username=username, password=password)
    try:
        yield server
    finally:
        server.stop()
