"""A real local HTTP/1.1 server on asyncio whose answers each test scripts byte by byte.

It records every request it reads (which connection, method, path, headers,
body), so tests can check what the client sent and how connections were reused.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Seen:
    connection: int
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    """What the server does for one request: write the pieces (bytes) with pauses (floats)
    in between, then close the connection if ``close``; ``hang`` writes nothing, ever."""

    pieces: list[bytes | float] = field(default_factory=list)
    close: bool = False
    hang: bool = False


def ok(body: bytes = b"ok", *, status: str = "200 OK", extra: str = "") -> Reply:
    head = f"HTTP/1.1 {status}\r\ncontent-length: {len(body)}\r\n{extra}\r\n".encode()
    return Reply([head + body])


Script = Callable[[Seen], Reply]


class ScriptedServer:
    def __init__(self, script: Script) -> None:
        self.script = script
        self.seen: list[Seen] = []
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._handlers):
            task.cancel()
        with contextlib.suppress(BaseException):
            await asyncio.gather(*self._handlers, return_exceptions=True)
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self.connections += 1
        number = self.connections
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if line:
                        name, _, value = line.partition(":")
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                request = Seen(number, method, path, headers, body)
                self.seen.append(request)
                reply = self.script(request)
                if reply.hang:
                    await asyncio.Event().wait()
                for piece in reply.pieces:
                    if isinstance(piece, float):
                        await writer.drain()
                        await asyncio.sleep(piece)
                    else:
                        writer.write(piece)
                await writer.drain()
                if reply.close:
                    return
        except asyncio.CancelledError:
            pass
        finally:
            self._handlers.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


async def serve(servers: list[ScriptedServer], script: Script) -> ScriptedServer:
    """Start a server answering with ``script``; the ``servers`` fixture stops it after."""
    server = ScriptedServer(script)
    await server.start()
    servers.append(server)
    return server
