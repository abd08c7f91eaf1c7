"""JSON Schemas of the messages, from the msgspec structs, in a form FastStream documents.

FastStream builds AsyncAPI payloads through pydantic, which cannot read msgspec
structs. The bodies travel as bytes anyway (we encode them ourselves), so each
publisher and subscriber declares ``Annotated[bytes, WithJsonSchema(...)]``
with the schema msgspec generates, inlined (pydantic rejects references to
definitions it did not create).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

import msgspec
from pydantic import WithJsonSchema

from eltiketi_adapters.kafka.envelope import DeadLetter, EventEnvelope
from eltiketi_core.domain.events import DomainEvent


def _inline(schema: Any, definitions: dict[str, Any]) -> Any:
    if isinstance(schema, dict):
        if "$ref" in schema:
            return _inline(definitions[schema["$ref"].rsplit("/", 1)[1]], definitions)
        return {key: _inline(value, definitions) for key, value in schema.items()}
    if isinstance(schema, list):
        return [_inline(value, definitions) for value in schema]
    return schema


def _inlined(*types: Any) -> list[dict[str, Any]]:
    schemas, definitions = msgspec.json.schema_components(types)
    return [_inline(schema, definitions) for schema in schemas]


def envelope_schema(event_types: Iterable[type[DomainEvent]], title: str) -> dict[str, Any]:
    """The envelope's schema with ``payload`` one of ``event_types`` (sorted by name)."""
    ordered = sorted(event_types, key=lambda event_type: event_type.__name__)
    envelope, *payloads = _inlined(EventEnvelope, *ordered)
    envelope["title"] = title
    envelope["description"] = (
        "An elTiketi domain event. The Kafka key is `key` (the booking id); "
        "`payload` is the core event, tagged by `type`."
    )
    envelope["properties"]["payload"] = payloads[0] if len(payloads) == 1 else {"oneOf": payloads}
    return dict(envelope)


def _title(event_types: Iterable[type[DomainEvent]]) -> str:
    return "Envelope[" + "|".join(sorted(t.__name__ for t in event_types)) + "]"


def envelope_payload(event_types: Iterable[type[DomainEvent]]) -> Any:
    """A publisher ``schema=``: bytes documented as an envelope of these event types."""
    types = list(event_types)
    return Annotated[bytes, WithJsonSchema(envelope_schema(types, _title(types)))]


def envelope_body(event_types: Iterable[type[DomainEvent]]) -> Any:
    """A subscriber's body annotation: the same, for the types a handler reads."""
    return envelope_payload(event_types)


def dead_letter_schema() -> dict[str, Any]:
    (schema,) = _inlined(DeadLetter)
    schema["title"] = "DeadLetter"
    return dict(schema)


def dead_letter_payload() -> Any:
    return Annotated[bytes, WithJsonSchema(dead_letter_schema())]
