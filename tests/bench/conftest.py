"""Fixtures of the bench's unit tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.bench.scripted_server import ScriptedServer


@pytest.fixture
async def servers() -> AsyncIterator[list[ScriptedServer]]:
    """Scripted servers started by the test (see ``serve``), stopped at its end."""
    started: list[ScriptedServer] = []
    yield started
    for server in started:
        await server.stop()
