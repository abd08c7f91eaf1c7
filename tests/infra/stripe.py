"""Stripe for tests: ``localstripe``, a stateful fake of Stripe's API, in its own process.

localstripe is GPL, so it runs only as a subprocess (``localstripe_launcher.py``) and is never
imported here or under ``src/``. Drive it with the real ``stripe`` SDK via :func:`stripe_client`.

What works and what is missing (see /work/shared/TEST_INFRA.md): PaymentIntents (create with
``payment_method="pm_card_visa"``, ``confirm(id)`` with no params, retrieve, cancel, manual
capture), refunds, 3-D Secure / declined test cards, signed webhooks ~1 s after the event.
Missing: Checkout Sessions, Prices, ``webhook_endpoints``, idempotency keys, ``charge.refunded``.
Webhook registrations are global to the server and cannot be removed: give each test its own
``webhook_id`` (re-registering an id replaces it).
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from tests.infra.ports import LOOPBACK, ComponentProcess, free_port, start_process, wait_for_port
from tests.infra.requirement import ComponentUnavailable

if TYPE_CHECKING:
    import stripe as stripe_sdk

COMPONENT = "stripe (localstripe)"
LAUNCHER = Path(__file__).parent / "localstripe_launcher.py"
DEFAULT_API_KEY = "sk_test_eltiketi"


@dataclass(frozen=True)
class StripeServer:
    """A running localstripe; point the SDK's ``api`` base address at ``api_base``."""

    api_base: str
    api_key: str = DEFAULT_API_KEY
    process: ComponentProcess | None = field(default=None, repr=False, compare=False)


@contextlib.contextmanager
def start_stripe_server(port: int | None = None, timeout: float = 20.0) -> Iterator[StripeServer]:
    """Run localstripe on ``127.0.0.1:port`` (memory only) until the block exits."""
    if importlib.util.find_spec("localstripe") is None:
        raise ComponentUnavailable(COMPONENT, "the localstripe package is not installed")
    port = port or free_port()
    process = start_process("localstripe", [sys.executable, LAUNCHER, str(port)])
    try:
        wait_for_port(LOOPBACK, port, timeout=timeout, process=process)
        yield StripeServer(api_base=f"http://{LOOPBACK}:{port}", process=process)
    finally:
        process.stop()


def stripe_client(server: StripeServer) -> stripe_sdk.StripeClient:
    """A real ``stripe.StripeClient`` (sync and ``*_async`` methods) talking to ``server``."""
    import stripe as stripe_sdk

    return stripe_sdk.StripeClient(
        server.api_key,
        base_addresses={"api": server.api_base},
        http_client=stripe_sdk.HTTPXClient(allow_sync_methods=True),
        max_network_retries=0,
    )


def register_webhook(
    server: StripeServer,
    url: str,
    secret: str,
    events: Sequence[str] | None = None,
    webhook_id: str | None = None,
) -> str:
    """Deliver (signed with ``secret``) the ``events`` (all if None) to ``url``; return the id."""
    webhook_id = webhook_id or f"wh_{uuid.uuid4().hex[:16]}"
    data: dict[str, str | list[str]] = {"url": url, "secret": secret}
    if events is not None:
        data["events[]"] = list(events)
    response = httpx.post(
        f"{server.api_base}/_config/webhooks/{webhook_id}",
        data=data,
        headers={"Authorization": f"Bearer {server.api_key}"},
        timeout=10,
    )
    response.raise_for_status()
    return webhook_id


def reset_data(server: StripeServer) -> None:
    """Forget every object (customers, payment intents, ...); webhooks stay registered."""
    response = httpx.delete(
        f"{server.api_base}/_config/data",
        headers={"Authorization": f"Bearer {server.api_key}"},
        timeout=10,
    )
    response.raise_for_status()


STRIPE_JS_SERVER = Path(__file__).parent / "stripe_js" / "server.py"
STRIPE_JS_PUBLISHABLE_KEY = "pk_test_eltiketi"


@dataclass(frozen=True)
class StripeJs:
    """Our Stripe.js stand-in (``stripe_js/``), paying on ``server``: load ``script_url`` in
    the page where Stripe.js would be (``ELTIKETI_STRIPE_JS_URL``), with any ``pk_`` key."""

    script_url: str
    publishable_key: str = STRIPE_JS_PUBLISHABLE_KEY
    process: ComponentProcess | None = field(default=None, repr=False, compare=False)


@contextlib.contextmanager
def start_stripe_js(
    server: StripeServer, port: int | None = None, timeout: float = 20.0
) -> Iterator[StripeJs]:
    """Run the Stripe.js stand-in's server for ``server`` until the block exits.

    The real Payment Element cannot run here (it loads from js.stripe.com and talks to
    api.stripe.com); the stand-in offers the same calls the hold page makes and confirms
    through localstripe's REST API (see ``stripe_js/server.py``).
    """
    port = port or free_port()
    process = start_process(
        "stripe-js",
        [sys.executable, STRIPE_JS_SERVER, str(port), server.api_base, server.api_key],
    )
    try:
        wait_for_port(LOOPBACK, port, timeout=timeout, process=process)
        yield StripeJs(script_url=f"http://{LOOPBACK}:{port}/v3/", process=process)
    finally:
        process.stop()
