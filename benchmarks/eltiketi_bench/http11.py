"""A lean HTTP/1.1 keep-alive client on asyncio, for the load driver.

Why not httpx: in the benchmark the driver shares two cores with the API, and
httpx spent 1–1.7 ms of CPU per request (15–20 % of what the API spent). This
client does only what the driver needs: requests are bytes encoded once
(request line, ``Host``, ``Authorization``, ``Content-Type``,
``Content-Length``, body), written in one call on a kept-alive connection, and
the answer is parsed by an incremental parser on an :class:`asyncio.Protocol`
(status line, headers, ``Content-Length`` or chunked bodies, or a body that
ends when the server closes). No redirects are followed, no cookies kept, no
TLS: the bench talks plain ``http://`` on 127.0.0.1.

Each :class:`Http11Client` belongs to one buyer and keeps up to
``max_connections`` connections to one server (one in a closed loop; an open
loop may have several requests of one buyer in flight). A connection the
server closes (``Connection: close``, or at end of file) is not reused, nor is
one whose exchange failed or timed out. No request is ever retried: a failure
is the driver's to count.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Mapping
from typing import Any, cast
from urllib.parse import urlsplit

import msgspec

_CRLF = b"\r\n"
_HEAD_END = b"\r\n\r\n"
#: Refuse heads larger than this (a broken or hostile server must not eat memory).
MAX_HEAD_BYTES = 64 * 1024
_NO_BODY_METHODS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS"})


class HttpError(Exception):
    """Any failure of one exchange; the driver counts it by class name."""


class ConnectError(HttpError):
    """The TCP connection could not be opened."""


class RemoteProtocolError(HttpError):
    """The server broke HTTP/1.1, or closed the connection before the answer ended."""


class RequestTimeout(HttpError):
    """No complete answer within the client's timeout (connecting included)."""


class Response:
    """One answer: status code, headers (names lower-cased, bytes) and the whole body."""

    __slots__ = ("body", "headers", "status", "version")

    def __init__(
        self, status: int, headers: list[tuple[bytes, bytes]], body: bytes, version: bytes
    ) -> None:
        self.status = status
        self.headers = headers
        self.body = body
        self.version = version

    @property
    def status_code(self) -> int:
        """Alias of :attr:`status` (the name httpx uses)."""
        return self.status

    def header(self, name: str) -> str | None:
        """The last value of header ``name`` (case-insensitive), or None."""
        wanted = name.lower().encode("latin-1")
        found: bytes | None = None
        for key, value in self.headers:
            if key == wanted:
                found = value
        return None if found is None else found.decode("latin-1")

    @property
    def keep_alive(self) -> bool:
        """Whether the connection may carry another request after this answer."""
        tokens = {
            token.strip().lower()
            for key, value in self.headers
            if key == b"connection"
            for token in value.split(b",")
        }
        if b"close" in tokens:
            return False
        return self.version != b"HTTP/1.0" or b"keep-alive" in tokens

    def json(self) -> Any:
        """The body decoded as JSON (msgspec).

        Raises:
            msgspec.DecodeError: the body is not JSON.
        """
        return msgspec.json.decode(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


class ResponseParser:
    """Incremental parser of HTTP/1.1 responses, one at a time.

    :meth:`feed` bytes as they arrive; it returns the :class:`Response` once
    the body is complete (skipping ``1xx`` interim answers), else None.
    :meth:`feed_eof` ends a body delimited by the connection's close.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._head_request = False
        self._reset()

    def _reset(self) -> None:
        self._state = "head"
        self._status = 0
        self._version = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._body = bytearray()
        self._remaining = 0

    def expect(self, *, head_request: bool = False) -> None:
        """Prepare for the answer to the next request (HEAD answers have no body)."""
        self._head_request = head_request
        self._reset()

    @property
    def leftover(self) -> bool:
        """Bytes received beyond the complete answer (the server broke keep-alive framing)."""
        return self._state == "done" and bool(self._buffer)

    def feed(self, data: bytes) -> Response | None:
        """Take more bytes; the response when it is complete.

        Raises:
            RemoteProtocolError: malformed status line, headers, length or chunk.
        """
        self._buffer += data
        while True:
            state = self._state
            if state == "head":
                if not self._parse_head():
                    return None
            elif state == "length":
                if len(self._buffer) < self._remaining:
                    return None
                self._body += self._buffer[: self._remaining]
                del self._buffer[: self._remaining]
                return self._finish()
            elif state == "chunk-size":
                if not self._parse_chunk_size():
                    return None
            elif state == "chunk-data":
                if len(self._buffer) < self._remaining + 2:
                    return None
                if self._buffer[self._remaining : self._remaining + 2] != _CRLF:
                    raise RemoteProtocolError("chunk data not followed by CRLF")
                self._body += self._buffer[: self._remaining]
                del self._buffer[: self._remaining + 2]
                self._state = "chunk-size"
            elif state == "trailer":
                end = self._buffer.find(_CRLF)
                if end < 0:
                    return None
                del self._buffer[: end + 2]
                if end == 0:
                    return self._finish()
            elif state == "until-close":
                self._body += self._buffer
                self._buffer.clear()
                return None
            else:  # "done": the caller has not asked for another answer
                if self._buffer:
                    raise RemoteProtocolError("data received without a request")
                return None

    def feed_eof(self) -> Response | None:
        """The server closed the connection: the response if that ended it, else None."""
        if self._state == "until-close":
            return self._finish()
        return None

    def _finish(self) -> Response:
        response = Response(self._status, self._headers, bytes(self._body), self._version)
        self._state = "done"
        return response

    def _parse_head(self) -> bool:
        end = self._buffer.find(_HEAD_END)
        if end < 0:
            if len(self._buffer) > MAX_HEAD_BYTES:
                raise RemoteProtocolError("response head too large")
            return False
        lines = bytes(self._buffer[:end]).split(_CRLF)
        del self._buffer[: end + 4]
        status_line = lines[0]
        version, _, rest = status_line.partition(b" ")
        code = rest[:3]
        if not version.startswith(b"HTTP/1.") or len(code) != 3 or not code.isdigit():
            raise RemoteProtocolError(f"bad status line {status_line[:60]!r}")
        status = int(code)
        headers: list[tuple[bytes, bytes]] = []
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon or not name or name != name.strip():
                raise RemoteProtocolError(f"bad header line {line[:60]!r}")
            headers.append((name.lower(), value.strip()))
        if 100 <= status < 200:
            return True  # interim answer (100 Continue, 103): the real one follows
        self._status, self._version, self._headers = status, version, headers
        self._choose_framing()
        return True

    def _choose_framing(self) -> None:
        if self._head_request or self._status in (204, 304):
            self._state, self._remaining = "length", 0
            return
        encodings = [v for k, v in self._headers if k == b"transfer-encoding"]
        if encodings:
            last = encodings[-1].split(b",")[-1].strip().lower()
            self._state = "chunk-size" if last == b"chunked" else "until-close"
            return
        lengths = {v for k, v in self._headers if k == b"content-length"}
        if not lengths:
            self._state = "until-close"
            return
        if len(lengths) > 1 or not next(iter(lengths)).isdigit():
            raise RemoteProtocolError(f"bad Content-Length {sorted(lengths)!r}")
        self._state, self._remaining = "length", int(next(iter(lengths)))

    def _parse_chunk_size(self) -> bool:
        end = self._buffer.find(_CRLF)
        if end < 0:
            if len(self._buffer) > MAX_HEAD_BYTES:
                raise RemoteProtocolError("chunk size line too long")
            return False
        line = bytes(self._buffer[:end]).split(b";", 1)[0].strip()
        del self._buffer[: end + 2]
        try:
            size = int(line, 16)
        except ValueError:
            raise RemoteProtocolError(f"bad chunk size {line[:20]!r}") from None
        if size < 0:
            raise RemoteProtocolError(f"bad chunk size {line[:20]!r}")
        if size == 0:
            self._state = "trailer"
        else:
            self._state, self._remaining = "chunk-data", size
        return True


class _Connection(asyncio.Protocol):
    """One TCP connection; one request in flight at a time."""

    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._parser = ResponseParser()
        self._waiter: asyncio.Future[Response] | None = None
        self.closed = False

    # -- asyncio.Protocol -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport, but have its methods
        self._transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError, AttributeError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        try:
            response = self._parser.feed(data)
        except RemoteProtocolError as error:
            self._fail(error)
            return
        if response is not None:
            if self._parser.leftover:
                self.close()  # bytes beyond the answer: this connection cannot be trusted again
            waiter = self._waiter
            self._waiter = None
            if waiter is not None and not waiter.done():
                waiter.set_result(response)

    def eof_received(self) -> bool:
        self.closed = True
        response = self._parser.feed_eof()
        waiter = self._waiter
        if response is not None and waiter is not None and not waiter.done():
            self._waiter = None
            waiter.set_result(response)
        return False  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(
            RemoteProtocolError(
                "the server closed the connection before the answer ended"
                + (f" ({exc})" if exc else "")
            )
        )

    # -- use -------------------------------------------------------------------------------

    async def exchange(self, request: bytes, *, head_request: bool = False) -> Response:
        """Write ``request``; wait for its whole answer."""
        if self.closed or self._transport is None or self._transport.is_closing():
            raise RemoteProtocolError("the connection is closed")
        self._parser.expect(head_request=head_request)
        waiter = asyncio.get_running_loop().create_future()
        self._waiter = waiter
        self._transport.write(request)
        return await waiter

    def close(self) -> None:
        self.closed = True
        if self._transport is not None:
            self._transport.close()

    def _fail(self, error: HttpError) -> None:
        waiter = self._waiter
        self._waiter = None
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)
        if not self.closed:
            self.close()


class Http11Client:
    """A keep-alive HTTP/1.1 client for one server (``http://host:port``).

    Args:
        base_url: ``http://host[:port]``; paths are given per request.
        headers: sent with every request (``Authorization``, a default
            ``Content-Type``, …); encoded once, here.
        timeout: seconds for a whole exchange, connecting included.
        max_connections: connections kept to the server at most; more
            concurrent requests wait for one.
    """

    def __init__(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30.0,
        max_connections: int = 8,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"only http://host[:port] is supported, not {base_url!r}")
        self._host = parts.hostname
        self._port = parts.port or 80
        self._prefix = parts.path.rstrip("/")
        self._timeout = timeout
        fixed = {"host": parts.netloc}
        for name, value in (headers or {}).items():
            fixed[name.lower()] = value
        self._content_type = fixed.pop("content-type", None)
        self._fixed = b"".join(
            f"{name}: {value}\r\n".encode("latin-1") for name, value in fixed.items()
        )
        self._idle: list[_Connection] = []
        self._slots = asyncio.Semaphore(max_connections)
        self._closed = False

    def encode(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        *,
        content_type: str | None = None,
        accept: str | None = None,
    ) -> bytes:
        """The request's bytes, to be sent (as often as needed) with :meth:`send`."""
        kind = content_type or self._content_type
        head = [f"{method} {self._prefix}{path} HTTP/1.1\r\n".encode("latin-1"), self._fixed]
        if kind is not None:
            head.append(f"content-type: {kind}\r\n".encode("latin-1"))
        if accept is not None:
            head.append(f"accept: {accept}\r\n".encode("latin-1"))
        if body or method not in _NO_BODY_METHODS:
            head.append(b"content-length: %d\r\n" % len(body))
        head.append(_CRLF)
        head.append(body)
        return b"".join(head)

    async def send(self, request: bytes, *, head_request: bool = False) -> Response:
        """Send pre-encoded ``request``; its answer.

        Raises:
            ConnectError: the server could not be reached.
            RemoteProtocolError: broken HTTP, or the connection closed early.
            RequestTimeout: no whole answer within the timeout.
        """
        try:
            async with asyncio.timeout(self._timeout):
                return await self._send(request, head_request)
        except TimeoutError:
            raise RequestTimeout(f"no answer within {self._timeout:g} s") from None

    async def request(
        self, method: str, path: str, body: bytes = b"", *, content_type: str | None = None
    ) -> Response:
        """Encode and send one request."""
        encoded = self.encode(method, path, body, content_type=content_type)
        return await self.send(encoded, head_request=method == "HEAD")

    async def get(self, path: str) -> Response:
        return await self.request("GET", path)

    async def post(
        self, path: str, body: bytes = b"", *, content_type: str | None = None
    ) -> Response:
        return await self.request("POST", path, body, content_type=content_type)

    async def aclose(self) -> None:
        """Close every idle connection (those in use close when their exchange ends)."""
        self._closed = True
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    async def _send(self, request: bytes, head_request: bool) -> Response:
        async with self._slots:
            connection = await self._acquire()
            try:
                response = await connection.exchange(request, head_request=head_request)
            except BaseException:
                connection.close()
                raise
            if response.keep_alive and not connection.closed and not self._closed:
                self._idle.append(connection)
            else:
                connection.close()
            return response

    async def _acquire(self) -> _Connection:
        while self._idle:
            connection = self._idle.pop()
            if not connection.closed:
                return connection
        if self._closed:
            raise ConnectError("the client is closed")
        loop = asyncio.get_running_loop()
        try:
            _, connection = await loop.create_connection(_Connection, self._host, self._port)
        except OSError as error:
            raise ConnectError(f"{self._host}:{self._port}: {error}") from error
        return connection
