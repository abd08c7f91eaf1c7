"""A process that reserves tickets in a loop until it is killed (for the crash test).

Run as ``python -m tests.integration.sqlalchemy.load_client URL EVENT_ID TYPE_ID``.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import uuid
from datetime import UTC, datetime

from eltiketi_adapters.sqlalchemy import SqlAlchemyPersistence
from eltiketi_core.errors import SoldOut
from eltiketi_core.usecases.booking import Bookings
from eltiketi_core.usecases.core_ports import CorePorts
from eltiketi_core.usecases.policy import Policy
from eltiketi_core.usecases.reservation import ItemRequest, ReserveRequest
from tests.integration.sqlalchemy.support import RandomIds, buyer


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


async def main(url: str, event_id: uuid.UUID, ticket_type_id: uuid.UUID) -> None:
    async with SqlAlchemyPersistence(url, pool_size=8, max_overflow=0) as db:
        bookings = Bookings(CorePorts(db.uow_factory(), SystemClock(), RandomIds()), Policy())
        counter = itertools.count()

        async def worker() -> None:
            while True:
                n = next(counter)
                request = ReserveRequest(
                    event_id=event_id,
                    items=(ItemRequest(ticket_type_id=ticket_type_id, quantity=1 + n % 3),),
                )
                try:
                    await bookings.reserve(buyer(f"crash-{n}"), request)
                except SoldOut:
                    await asyncio.sleep(0)
                if n == 20:
                    print("reserving", flush=True)

        await asyncio.gather(*(worker() for _ in range(16)))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], uuid.UUID(sys.argv[2]), uuid.UUID(sys.argv[3])))
