"""``async with`` for adapters that hold a connection pool or an HTTP client.

The SQL persistence (its engine's pool), the OIDC verifier, the Stripe gateway and the HTTP
SMS notifier each own connections that must be closed once, at shutdown. They name that step :meth:`ClosedOnExit.aclose` (as ``httpx``
does) and inherit the context-manager protocol from here, so ``async with`` closes them the
same way whichever of them it is.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import Self


class ClosedOnExit(ABC):
    """``async with resource:`` gives the resource itself and ends in ``await resource.aclose()``,
    whether the block raised or not."""

    @abstractmethod
    async def aclose(self) -> None:
        """Release what the resource holds (call once, at shutdown)."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()
