"""What travels on the topics: an envelope around the core event, and dead letters.

The envelope repeats what a consumer or an operator needs without parsing the
payload (id, type, version, time, key, the ids of the aggregates involved) and
carries the core event itself, unchanged, as JSON in ``payload`` — the same
bytes :func:`eltiketi_core.domain.events.encode_event` writes, which
:func:`~eltiketi_core.domain.events.decode_event` reads back.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from eltiketi_core.domain.events import DomainEvent, decode_event, encode_event
from eltiketi_core.errors import ValidationFailed

ENVELOPE_VERSION = 1

#: Kafka headers set on every event message (for tools that do not parse bodies).
HEADER_TYPE = "eltiketi-type"
HEADER_EVENT_ID = "eltiketi-event-id"
HEADER_VERSION = "eltiketi-version"


class EventEnvelope(msgspec.Struct, frozen=True, kw_only=True):
    """One domain event as a Kafka message value.

    Attributes:
        event_id: The domain event's id: consumers' inbox key, unique per event.
        type: The event type (``OrderCreated``…); selects the payload's shape.
        version: The event type's schema version.
        occurred_at: When the fact was recorded (ISO 8601, UTC).
        key: The ordering key, also the Kafka message key: the booking id
            (the event id for ``EventCancelled``).
        aggregates: Ids of the aggregates the event is about, named as in the
            payload (``booking_id``, ``order_id``, ``payment_id``, ``refund_id``,
            ``event_id`` — the catalogue event).
        payload: The core event as JSON, tagged with its ``type``.
        envelope_version: Version of this envelope's own shape.
    """

    event_id: UUID
    type: str
    version: int
    occurred_at: datetime
    key: str
    aggregates: dict[str, UUID]
    payload: msgspec.Raw
    envelope_version: int = ENVELOPE_VERSION

    def event(self) -> DomainEvent:
        """The core event inside.

        Raises:
            ValidationFailed: the payload is not a known event.
        """
        try:
            return decode_event(bytes(self.payload))
        except msgspec.ValidationError as error:
            raise ValidationFailed("malformed_event", str(error)) from error

    def headers(self) -> dict[str, str]:
        return {
            HEADER_TYPE: self.type,
            HEADER_EVENT_ID: str(self.event_id),
            HEADER_VERSION: str(self.version),
        }


class DeadLetter(msgspec.Struct, frozen=True, kw_only=True):
    """A message a consumer gave up on, with everything needed to replay it.

    Attributes:
        handler: The core handler that failed (``inventory``…).
        group: Its consumer group.
        topic: Where the message came from (replay publishes it back there).
        partition: Its partition there.
        offset: Its offset there.
        key: Its Kafka key (the booking id), kept so a replay lands on the same partition.
        value: The original message value, byte for byte (base64 in JSON).
        error: The last error, ``Type: message``.
        attempts: How many times the handler tried it.
        failed_at: When it was given up.
        event_id: The event id, if the value was a readable envelope.
        event_type: The event type, if the value was a readable envelope.
    """

    handler: str
    group: str
    topic: str
    partition: int
    offset: int
    key: str | None
    value: bytes
    error: str
    attempts: int
    failed_at: datetime
    event_id: UUID | None = None
    event_type: str | None = None


_encoder = msgspec.json.Encoder()
_envelope_decoder = msgspec.json.Decoder(EventEnvelope)
_dead_letter_decoder = msgspec.json.Decoder(DeadLetter)


def aggregate_ids(event: DomainEvent) -> dict[str, UUID]:
    """Every ``*_id`` field of the event that holds an id (the event's own ``id`` excluded)."""
    found: dict[str, UUID] = {}
    for field in msgspec.structs.fields(event):
        value = getattr(event, field.name)
        if field.name.endswith("_id") and isinstance(value, UUID):
            found[field.name] = value
    return found


def envelope_for(event: DomainEvent) -> EventEnvelope:
    return EventEnvelope(
        event_id=event.id,
        type=event.type,
        version=event.version,
        occurred_at=event.occurred_at,
        key=event.key,
        aggregates=aggregate_ids(event),
        payload=msgspec.Raw(encode_event(event)),
    )


def encode_envelope(envelope: EventEnvelope) -> bytes:
    return _encoder.encode(envelope)


def decode_envelope(data: bytes) -> EventEnvelope:
    """Read an envelope.

    Raises:
        ValidationFailed: not an elTiketi envelope (a poison message).
    """
    try:
        return _envelope_decoder.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        raise ValidationFailed("malformed_envelope", str(error)) from error


def encode_dead_letter(letter: DeadLetter) -> bytes:
    return _encoder.encode(letter)


def decode_dead_letter(data: bytes) -> DeadLetter:
    """Read a dead letter.

    Raises:
        ValidationFailed: the bytes are not a dead letter.
    """
    try:
        return _dead_letter_decoder.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        raise ValidationFailed("malformed_dead_letter", str(error)) from error
