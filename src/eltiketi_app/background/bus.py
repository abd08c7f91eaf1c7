"""What the runner needs of an event bus.

The runner publishes through the bus (the relay role) and leaves the consumers to
it. Two buses implement this: :mod:`.inprocess` calls the handlers while the relay
publishes (the embedded server); :mod:`.kafka` runs a consumer group per consumer
role (workers; it needs the ``[kafka]`` extra).
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from eltiketi_core.ports.messaging import EventPublisher


class Bus(Protocol):
    """The runner's side of an event bus."""

    @property
    def publisher(self) -> EventPublisher:
        """Where the relay publishes (valid from construction to the end)."""
        ...

    @property
    def local(self) -> bool:
        """True when the handlers run in this process, fed only by this process's relay:
        then the runner drains the outbox once more when it stops, and needs no lease."""
        ...

    async def start(self, stopping: asyncio.Event) -> bool:
        """Connect and start the consumers, waiting while the bus is unreachable;
        False if ``stopping`` was set first."""
        ...

    def request_stop(self) -> None:
        """Stop retrying: the consumers finish the message in hand and take no more."""
        ...

    async def stop(self) -> None:
        """Stop the consumers (committing what they finished) and close the clients."""
        ...
