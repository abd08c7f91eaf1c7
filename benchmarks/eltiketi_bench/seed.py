"""Tokens and catalogue for a run: one dev token per buyer, events made through the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import httpx
import msgspec

from eltiketi_adapters.devauth import DevTokenIssuer

ORGANIZER = "bench-organizer"


def mint_tokens(data_dir: Path, count: int, *, prefix: str = "buyer") -> list[str]:
    """``count`` customer tokens, minted before the clock starts (subjects ``buyer-N``).

    Each carries an e-mail address, so confirmed orders get an e-ticket (written
    as a file by the embedded notifier).
    """
    issuer = DevTokenIssuer(data_dir)
    return [
        issuer.mint(f"{prefix}-{n}", [], email=f"{prefix}-{n}@bench.test") for n in range(count)
    ]


class TicketTypeSpec(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    capacity: int
    shards: int = 1
    price_cents: int = 2500


class SeededEvent(msgspec.Struct, frozen=True, kw_only=True):
    event_id: UUID
    ticket_types: dict[str, UUID]
    """name → id"""


class Catalogue:
    """Creates published events through the REST API, as an organizer would."""

    def __init__(self, base: str, data_dir: Path) -> None:
        token = DevTokenIssuer(data_dir).mint(ORGANIZER, ["organizer"])
        self._client = httpx.AsyncClient(
            base_url=base, headers={"authorization": f"Bearer {token}"}, timeout=30
        )

    async def event(self, name: str, types: list[TicketTypeSpec]) -> SeededEvent:
        starts = datetime.now(UTC) + timedelta(days=60)
        created = await self._post(
            "/v1/events",
            {
                "name": name,
                "venue": "Benchmark Hall",
                "starts_at": starts.isoformat(),
                "timezone": "Europe/Berlin",
                "currency": "EUR",
            },
        )
        event_id = UUID(str(created["id"]))
        ids: dict[str, UUID] = {}
        for spec in types:
            made = await self._post(
                f"/v1/events/{event_id}/ticket-types",
                {
                    "name": spec.name,
                    "price": {"amount": spec.price_cents, "currency": "EUR"},
                    "capacity": spec.capacity,
                    "max_per_booking": 10,
                    "shards": spec.shards,
                },
            )
            ids[spec.name] = UUID(str(made["id"]))
        await self._post(f"/v1/events/{event_id}/publish", None)
        return SeededEvent(event_id=event_id, ticket_types=ids)

    async def _post(self, path: str, body: object) -> dict[str, object]:
        response = await self._client.post(path, json=body)
        if response.status_code not in (200, 201):
            raise RuntimeError(f"POST {path}: {response.status_code} {response.text[:300]}")
        answer = response.json()
        assert isinstance(answer, dict)
        return answer

    async def close(self) -> None:
        await self._client.aclose()
