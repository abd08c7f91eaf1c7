"""Contract of the bus without a broker: routing, envelopes, AsyncAPI freshness, worker config."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import msgspec
import pytest

from eltiketi_adapters.kafka import (
    FAMILIES,
    KafkaConfig,
    RetryPolicy,
    TopicLayout,
    decode_envelope,
    encode_envelope,
    envelope_for,
)
from eltiketi_app.background.asyncapi import asyncapi_document
from eltiketi_app.background.config import worker_config
from eltiketi_app.background.roles import Role, parse_roles
from eltiketi_app.settings import Settings, SettingsError
from eltiketi_core.domain.booking import BookingItem, Contact
from eltiketi_core.domain.events import EVENT_TYPES, OrderCreated
from eltiketi_core.domain.money import Money
from eltiketi_core.errors import ValidationFailed
from eltiketi_core.usecases.handlers import (
    InventoryHandler,
    NotificationHandler,
    PaymentCanceller,
    RefundExecutor,
)

DOCS = Path(__file__).resolve().parents[3] / "docs"


def test_every_domain_event_has_exactly_one_topic() -> None:
    routed = [t.__name__ for types in FAMILIES.values() for t in types]
    assert sorted(routed) == sorted(EVENT_TYPES)


def test_each_handler_reads_its_ordered_pairs_from_one_topic() -> None:
    layout = TopicLayout("")
    assert layout.topics_for(InventoryHandler.handles) == ["eltiketi.orders"]
    assert layout.topics_for(PaymentCanceller.handles) == ["eltiketi.bookings"]
    assert layout.topics_for(RefundExecutor.handles) == ["eltiketi.refunds"]
    assert layout.topics_for(NotificationHandler.handles) == [
        "eltiketi.orders",
        "eltiketi.payments",
        "eltiketi.refunds",
    ]
    assert TopicLayout("staging.").dead_letters == "staging.eltiketi.dead-letters"


def test_the_envelope_carries_the_core_event_unchanged() -> None:
    now = datetime(2031, 5, 4, 18, 0, tzinfo=UTC)
    event = OrderCreated(
        id=uuid4(),
        occurred_at=now,
        booking_id=uuid4(),
        order_id=uuid4(),
        event_id=uuid4(),
        buyer="alice",
        contact=Contact(email="alice@example.test"),
        items=(BookingItem(ticket_type_id=uuid4(), quantity=2, unit_price=Money(100, "EUR")),),
        total=Money(200, "EUR"),
        ticket_ids=(uuid4(), uuid4()),
    )
    envelope = decode_envelope(encode_envelope(envelope_for(event)))
    assert envelope.event() == event
    assert envelope.key == str(event.booking_id)
    assert envelope.type == "OrderCreated"
    assert envelope.aggregates == {
        "booking_id": event.booking_id,
        "order_id": event.order_id,
        "event_id": event.event_id,
    }
    raw = msgspec.json.decode(encode_envelope(envelope_for(event)))
    assert raw["payload"]["type"] == "OrderCreated"  # embedded JSON, not a string


@pytest.mark.parametrize("value", [b"", b"{}", b"[1]", b'{"event_id": 1}'])
def test_anything_else_is_a_malformed_envelope(value: bytes) -> None:
    with pytest.raises(ValidationFailed):
        decode_envelope(value)


def test_retry_delays_double_and_are_capped() -> None:
    policy = RetryPolicy(attempts=5, base_delay=0.5, max_delay=3)
    assert [policy.delay(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_the_committed_asyncapi_document_is_what_the_code_generates() -> None:
    committed = (DOCS / "asyncapi.json").read_text(encoding="utf-8")
    assert committed == asyncapi_document(), (
        "docs/asyncapi.json is stale: run python -m eltiketi_app.background.asyncapi "
        "--output docs/asyncapi.json"
    )


def test_the_asyncapi_document_covers_every_topic_and_group() -> None:
    document = msgspec.json.decode(asyncapi_document())
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert addresses == {f"eltiketi.{family}" for family in FAMILIES} | {"eltiketi.dead-letters"}
    receivers = {
        name.split(":")[0]
        for name, operation in document["operations"].items()
        if operation["action"] == "receive"
    }
    assert receivers == {
        "eltiketi-inventory",
        "eltiketi-notifications",
        "eltiketi-payments",
        "eltiketi-refunds",
    }
    assert '"OrderCreated"' in msgspec.json.encode(document).decode()


def test_roles_parse_in_canonical_order_and_all_means_all() -> None:
    assert parse_roles(["notifications", "relay"]) == [Role.RELAY, Role.NOTIFICATIONS]
    assert parse_roles(["all"]) == list(Role)
    with pytest.raises(SettingsError, match="unknown worker role"):
        parse_roles(["inventory", "billing"])


def test_worker_config_reads_its_variables_and_reports_every_bad_one() -> None:
    settings = Settings(kafka_bootstrap="k1:9092,k2:9092")
    config = worker_config(
        settings,
        {"ELTIKETI_KAFKA_PARTITIONS": "24", "ELTIKETI_KAFKA_RETRY_ATTEMPTS": "3"},
    )
    assert config.kafka == KafkaConfig(
        bootstrap="k1:9092,k2:9092",
        partitions=24,
        retry=RetryPolicy(attempts=3),
    )
    assert worker_config(Settings(), {}).kafka is None
    with pytest.raises(SettingsError) as caught:
        worker_config(
            settings, {"ELTIKETI_KAFKA_PARTITIONS": "0", "ELTIKETI_RELAY_POLL_SECONDS": "soon"}
        )
    assert len(caught.value.problems) == 2
