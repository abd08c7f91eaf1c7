"""Pytest fixtures for the real components; registered by the root conftest as a plugin.

``pytest_plugins = ["tests.infra.fixtures"]``. Each fixture starts its component on a free
127.0.0.1 port, waits until it is ready and stops it at teardown. A missing prerequisite
skips the test locally and fails it under ``CI=true`` (:func:`tests.infra.requirement.require`).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TypeVar

import pytest

from tests.infra.kafka import KafkaBroker, start_kafka_broker
from tests.infra.oidc import OidcServer, start_oidc_server
from tests.infra.redis import RedisSpace, redis_space
from tests.infra.requirement import ComponentUnavailable, require
from tests.infra.smtp import SmtpServer, make_smtp_server
from tests.infra.stripe import StripeJs, StripeServer, start_stripe_js, start_stripe_server

__all__ = [
    "kafka_broker",
    "kafka_broker_factory",
    "oidc_server",
    "redis",
    "smtp_server",
    "smtp_server_factory",
    "stripe_js",
    "stripe_server",
]

T = TypeVar("T")
KafkaBrokerFactory = Callable[[], KafkaBroker]
SmtpServerFactory = Callable[..., SmtpServer]


def pytest_configure(config: pytest.Config) -> None:
    # The authenticating SMTP variant requires AUTH over plain TCP on purpose (loopback only).
    config.addinivalue_line(
        "filterwarnings", "ignore:Requiring AUTH while not requiring TLS:UserWarning:aiosmtpd"
    )


def _run(starter: contextlib.AbstractContextManager[T]) -> Iterator[T]:
    """Enter a ``start_*`` context manager, turning a missing prerequisite into require()."""
    with contextlib.ExitStack() as stack:
        try:
            value = stack.enter_context(starter)
        except ComponentUnavailable as exc:
            require(exc.component, exc.reason)
        yield value


@pytest.fixture
async def redis() -> AsyncIterator[RedisSpace]:
    """The machine's Redis with a key prefix of this test's own (deleted afterwards)."""
    try:
        async with redis_space() as space:
            yield space
    except ComponentUnavailable as exc:
        require(exc.component, exc.reason)


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[KafkaBroker]:
    """One tansu broker for the session. Use unique topic/group names (``unique_name``)."""
    yield from _run(start_kafka_broker())


@pytest.fixture
def kafka_broker_factory() -> Iterator[KafkaBrokerFactory]:
    """Start private brokers (e.g. for outage tests that pause one); stopped after the test."""
    with contextlib.ExitStack() as stack:

        def start() -> KafkaBroker:
            try:
                return stack.enter_context(start_kafka_broker())
            except ComponentUnavailable as exc:
                require(exc.component, exc.reason)

        yield start


@pytest.fixture(scope="session")
def oidc_server() -> Iterator[OidcServer]:
    """The Keycloak stand-in (realm ``eltiketi``) for the session."""
    yield from _run(start_oidc_server())


@pytest.fixture(scope="session")
def stripe_server() -> Iterator[StripeServer]:
    """localstripe for the session (state in memory; webhooks global, see tests.infra.stripe)."""
    yield from _run(start_stripe_server())


@pytest.fixture(scope="session")
def stripe_js(stripe_server: StripeServer) -> Iterator[StripeJs]:
    """Our Stripe.js stand-in (card fields in the page) paying on the session's localstripe."""
    yield from _run(start_stripe_js(stripe_server))


@pytest.fixture
def smtp_server_factory() -> Iterator[SmtpServerFactory]:
    """``factory(port=None, start=True, username=None, password=None, reply_delay=0.0)
    -> SmtpServer``.

    Every server it made is stopped after the test; ``start=False`` reserves the port for
    "SMTP down at first, up later" tests (call ``server.start()`` later); ``reply_delay``
    keeps each message waiting for its answer after it was received (sends in flight).
    """
    servers: list[SmtpServer] = []

    def factory(
        port: int | None = None,
        start: bool = True,
        username: str | None = None,
        password: str | None = None,
        reply_delay: float = 0.0,
    ) -> SmtpServer:
        server = make_smtp_server(
            port, start=start, username=username, password=password, reply_delay=reply_delay
        )
        servers.append(server)
        return server

    try:
        yield factory
    finally:
        for server in servers:
            server.stop()


@pytest.fixture
def smtp_server(smtp_server_factory: SmtpServerFactory) -> SmtpServer:
    """A fresh SMTP server for this test (no AUTH); received mail in ``.messages``."""
    return smtp_server_factory()
