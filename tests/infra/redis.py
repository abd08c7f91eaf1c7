"""The machine's Redis (127.0.0.1:6379, no persistence), shared: every test gets a key
prefix of its own and deletes its keys afterwards."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from tests.infra.requirement import ComponentUnavailable

REDIS_URL = "redis://127.0.0.1:6379/0"


@dataclass(frozen=True)
class RedisSpace:
    """A slice of the shared Redis: its URL, a unique key prefix, and a client."""

    url: str
    prefix: str
    client: Redis

    async def keys(self) -> list[str]:
        found = [key async for key in self.client.scan_iter(match=f"{self.prefix}*")]
        return sorted(k.decode() if isinstance(k, bytes) else str(k) for k in found)


@asynccontextmanager
async def redis_space(purpose: str = "test") -> AsyncIterator[RedisSpace]:
    """A unique prefix on the machine's Redis; raises ComponentUnavailable if it does not
    answer. Its keys are deleted at the end."""
    client = Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        try:
            await client.ping()  # type: ignore[misc]  # typed for sync and async clients
        except (RedisError, OSError) as error:
            raise ComponentUnavailable("redis", f"{REDIS_URL} does not answer: {error}") from error
        space = RedisSpace(
            url=REDIS_URL, prefix=f"eltiketi-{purpose}-{secrets.token_hex(6)}", client=client
        )
        try:
            yield space
        finally:
            keys = [key async for key in client.scan_iter(match=f"{space.prefix}*")]
            if keys:
                await client.delete(*keys)
    finally:
        await client.aclose()
