"""PostgreSQL advisory locks that order concurrent sales (two-part keys, transaction-scoped).

Two-part keys never collide with the one-part key of the migration lock. Advisory
locks queue fairly: a waiting exclusive request is not starved by a stream of
shared ones, as it can be behind ``FOR SHARE`` row locks.
"""

from __future__ import annotations

from collections.abc import Collection
from uuid import UUID

from sqlalchemy import Text, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY

from eltiketi_adapters.sqlalchemy.positional import positional

#: Serialises one buyer's sales of one event (second part: ``hashtext(buyer/event)``).
BUYER_LOCK_NAMESPACE = 0x454C5431  # "ELT1"
#: Sales of an event (shared) against a change of its status (exclusive); second part
#: ``hashtext(event id)``.
EVENT_LOCK_NAMESPACE = 0x454C5432  # "ELT2"

#: A sale: the event shared, then the buyer exclusive, in one round trip.
OPEN_SALE = text(
    f"SELECT pg_advisory_xact_lock_shared({EVENT_LOCK_NAMESPACE}, hashtext(:p_event_key)),"
    f" pg_advisory_xact_lock({BUYER_LOCK_NAMESPACE}, hashtext(:p_buyer_key))"
)
#: A batch of sales (a group commit): the event shared, then every buyer exclusive, in
#: the order of their keys' hashes (the order every batch uses, so two batches never
#: wait on each other's buyers in a cycle), in one round trip. The ordered subquery
#: fixes the order the locks are taken in.
OPEN_SALE_MANY = text(
    "SELECT count(CASE WHEN o = 0"
    f" THEN pg_advisory_xact_lock_shared({EVENT_LOCK_NAMESPACE}, h)::text"
    f" ELSE pg_advisory_xact_lock({BUYER_LOCK_NAMESPACE}, h)::text END)"
    " FROM (SELECT 0 AS o, hashtext(:p_event_key) AS h"
    " UNION ALL SELECT DISTINCT 1, hashtext(k) FROM unnest(:p_buyer_keys) AS k"
    " ORDER BY o, h OFFSET 0) AS locks"
).bindparams(bindparam("p_buyer_keys", type_=ARRAY(Text)))
#: A settlement: the event shared only (it does not count the buyer's tickets).
SHARE_EVENT = text(
    f"SELECT pg_advisory_xact_lock_shared({EVENT_LOCK_NAMESPACE}, hashtext(:p_event_key))"
)
#: A change of the event's status waits for the sales in flight, and holds off new ones.
CHANGE_EVENT = text(f"SELECT pg_advisory_xact_lock({EVENT_LOCK_NAMESPACE}, hashtext(:p_event_key))")


#: The same for :meth:`~eltiketi_adapters.sqlalchemy._tx.Tx.fetch_direct` (the hold path).
OPEN_SALE_PG = positional(OPEN_SALE)
OPEN_SALE_MANY_PG = positional(OPEN_SALE_MANY)
SHARE_EVENT_PG = positional(SHARE_EVENT)


def sale_lock_params(event_id: UUID, buyer: str | None) -> dict[str, str]:
    if buyer is None:
        return {"p_event_key": str(event_id)}
    return {"p_event_key": str(event_id), "p_buyer_key": f"{buyer}/{event_id}"}


def batch_lock_params(event_id: UUID, buyers: Collection[str]) -> dict[str, object]:
    return {"p_event_key": str(event_id), "p_buyer_keys": [f"{b}/{event_id}" for b in buyers]}
