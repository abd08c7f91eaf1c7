"""Production mode: every part configured, no dev issuer, no fake gateway, no /dev routes.

The external parts are test doubles given as providers (in-memory stores, the
fake gateway as a stand-in for Stripe, recording notifiers, the in-process bus);
the token verifier is the real OIDC verifier, which must refuse dev tokens.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from dishka import Provider, Scope, provide

from eltiketi_adapters.devauth import DevTokenIssuer
from eltiketi_adapters.memory import FakePaymentGateway
from eltiketi_adapters.tickets import generate_key_set
from eltiketi_app.app import create_app
from eltiketi_app.ioc.background import InProcessBusProvider
from eltiketi_app.ioc.stores import memory_persistence
from eltiketi_app.ioc.types import Persistence
from eltiketi_app.settings import Mode, Settings, SettingsError
from eltiketi_core.ports.payments import PaymentGateway
from tests.api.conftest import Api, problem


class ExternalDoubles(Provider):
    """Stand-ins for PostgreSQL and Stripe; Kafka's place is taken by the in-process bus."""

    scope = Scope.APP

    @provide
    async def persistence(self) -> AsyncIterator[Persistence]:
        yield memory_persistence()

    @provide
    def gateway(self) -> PaymentGateway:
        return FakePaymentGateway(public_url="https://tickets.example.com")


METRICS_TOKEN = "metrics-token-for-tests-0123456789"


def production_settings(data_dir: Path) -> Settings:
    settings = Settings(
        mode=Mode.PRODUCTION,
        data_dir=data_dir,
        public_url="https://tickets.example.com",
        database_url="postgresql+asyncpg://eltiketi@127.0.0.1:1/unused",
        kafka_bootstrap="127.0.0.1:1",
        oidc_issuer="https://sso.example.invalid/realms/eltiketi",
        oidc_audience="eltiketi-api",
        stripe_api_key="sk_test_unused",
        stripe_webhook_secret="whsec_unused",
        smtp_url="smtp://127.0.0.1:1",
        mail_from="elTiketi <tickets@example.com>",
        ticket_keys=generate_key_set(),
        web_secret="production-web-secret-of-forty-characters",
        metrics_token=METRICS_TOKEN,
        rate_limit_redis_url="redis://127.0.0.1:1/0",
        oidc_web_client_id="eltiketi-shop",
        web_session_store="redis://127.0.0.1:6379/15",
        stripe_publishable_key="pk_test_unused",
    )
    settings.check()
    return settings


@pytest.fixture
async def production(start_app: Any, tmp_path: Path) -> AsyncIterator[Api]:
    overrides = [ExternalDoubles(), InProcessBusProvider()]
    async with start_app(production_settings(tmp_path), overrides) as api:
        yield api


async def test_a_dev_token_is_refused_in_production(production: Api, tmp_path: Path) -> None:
    dev_token = DevTokenIssuer(tmp_path / "dev").mint("mallory", ["admin"])
    headers = {"Authorization": f"Bearer {dev_token}"}

    for method, path in (
        ("GET", "/v1/orders"),
        ("POST", "/v1/bookings"),
        ("POST", "/v1/events"),
        ("POST", "/v1/check-ins"),
    ):
        answer = await production.client.request(method, path, json={}, headers=headers)
        problem(answer, 401, "wrong_issuer")
        assert answer.headers["www-authenticate"].startswith("Bearer")


async def test_the_dev_routes_do_not_exist_in_production(production: Api) -> None:
    problem(await production.client.post("/dev/token", json={"sub": "x"}), 404, "not_found")
    problem(await production.client.get("/dev/pay/fake_pay_1"), 404, "not_found")
    problem(
        await production.client.post("/dev/pay/fake_pay_1", data={"outcome": "pay"}),
        404,
        "not_found",
    )
    schema = (await production.client.get("/schema/openapi.json")).json()
    assert not [path for path in schema["paths"] if path.startswith("/dev")]


async def test_public_routes_answer_in_production(production: Api) -> None:
    assert (await production.client.get("/v1/events")).json()["items"] == []
    keys = (await production.client.get("/v1/tickets/keys")).json()["keys"]
    assert len(keys) == 1
    assert (await production.client.get("/health/ready")).status_code == 200


def test_production_without_its_parts_refuses_to_build(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as caught:
        create_app(Settings(mode=Mode.PRODUCTION, data_dir=tmp_path))

    for variable in (
        "ELTIKETI_DATABASE_URL",
        "ELTIKETI_KAFKA_BOOTSTRAP",
        "ELTIKETI_OIDC_ISSUER",
        "ELTIKETI_STRIPE_API_KEY",
        "ELTIKETI_SMTP_URL",
        "ELTIKETI_TICKET_KEYS",
    ):
        assert variable in str(caught.value)


async def test_with_kafka_the_api_leaves_background_work_to_workers(start_app: Any) -> None:
    async with start_app(kafka_bootstrap="127.0.0.1:1") as api:
        assert not api.runtime.enabled
        ready = await api.client.get("/health/ready")
        event_id, standing = await api.sale()
        held = await api.hold(api.customer("alice"), event_id, standing)

    assert ready.status_code == 200
    assert held.status_code == 201  # bookings commit; the outbox waits for `worker relay`


async def test_metrics_need_their_token_in_production(production: Api) -> None:
    problem(await production.client.get("/metrics"), 401, "metrics_token_required")
    scraped = await production.client.get(
        "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    )
    assert scraped.status_code == 200


def test_production_refuses_sqlite(tmp_path: Path) -> None:
    settings = msgspec.structs.replace(
        production_settings(tmp_path), database_url=f"sqlite+aiosqlite:///{tmp_path}/x.db"
    )

    with pytest.raises(SettingsError, match="needs PostgreSQL"):
        create_app(settings)
