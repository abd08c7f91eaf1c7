"""The list of event classes is written once (``AnyEvent``); everything else derives from it."""

from __future__ import annotations

import gc
from typing import get_args
from uuid import UUID

import pytest

from eltiketi_core.domain.events import EVENT_TYPES, AnyEvent, DomainEvent


def _every_event_class(base: type[DomainEvent] = DomainEvent) -> set[type[DomainEvent]]:
    gc.collect()  # a class refused at definition (below) lingers until collected
    found: set[type[DomainEvent]] = set()
    for sub in base.__subclasses__():
        found |= {sub, *_every_event_class(sub)}
    return found


def test_every_event_class_is_in_the_union_the_outbox_decodes() -> None:
    assert _every_event_class() == set(get_args(AnyEvent))


def test_the_type_index_is_the_union() -> None:
    assert {cls.__name__: cls for cls in get_args(AnyEvent)} == EVENT_TYPES


def test_every_event_names_its_ordering_stream() -> None:
    streams = {cls.__name__: cls.stream for cls in get_args(AnyEvent)}

    assert all(isinstance(stream, str) and stream for stream in streams.values())
    # the pairs whose order a handler relies on share a stream
    assert streams["OrderCreated"] == streams["OrderRefunded"]
    assert streams["BookingCreated"] == streams["BookingCancelled"] == streams["BookingExpired"]
    assert streams["RefundRequested"] == streams["RefundCompleted"]


def test_an_event_class_without_a_stream_cannot_be_defined() -> None:
    with pytest.raises(TypeError, match="names no ordering stream"):

        class Forgotten(DomainEvent, tag=True, frozen=True, kw_only=True):
            thing: UUID
