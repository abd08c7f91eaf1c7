"""The load driver's HTTP/1.1 client against a real local asyncio server (and its parser alone)."""

from __future__ import annotations

import asyncio
import socket

import msgspec
import pytest

from eltiketi_bench.http11 import (
    ConnectError,
    Http11Client,
    RemoteProtocolError,
    RequestTimeout,
    ResponseParser,
)
from tests.bench.scripted_server import Reply, ScriptedServer, Seen, ok, serve


async def test_requests_share_one_kept_alive_connection_and_carry_the_encoded_parts(
    servers: list[ScriptedServer],
) -> None:
    server = await serve(
        servers, lambda seen: ok(b'{"n":%d}' % len(seen.body), status="201 Created")
    )
    client = Http11Client(
        server.base,
        headers={"authorization": "Bearer t0k", "content-type": "application/json"},
    )
    hold = client.encode("POST", "/v1/bookings", b'{"a":1}')
    answers = [await client.send(hold) for _ in range(5)]
    answers.append(await client.get("/v1/events/e1"))
    await client.aclose()

    assert [a.status for a in answers] == [201] * 6
    assert answers[0].json() == {"n": 7}
    assert server.connections == 1
    first = server.seen[0]
    assert (first.method, first.path, first.body) == ("POST", "/v1/bookings", b'{"a":1}')
    assert first.headers["host"] == f"127.0.0.1:{server.port}"
    assert first.headers["authorization"] == "Bearer t0k"
    assert first.headers["content-type"] == "application/json"
    assert first.headers["content-length"] == "7"
    read = server.seen[-1]
    assert (read.method, read.path, read.body) == ("GET", "/v1/events/e1", b"")
    assert "content-length" not in read.headers


async def test_a_bodyless_post_says_length_zero_and_content_type_can_be_overridden(
    servers: list[ScriptedServer],
) -> None:
    server = await serve(servers, lambda seen: ok(status="303 See Other", extra="location: /x\r\n"))
    client = Http11Client(server.base, headers={"content-type": "application/json"})
    empty = await client.post("/v1/bookings/b1/payment")
    form = await client.post(
        "/dev/pay/ref", b"outcome=pay", content_type="application/x-www-form-urlencoded"
    )
    await client.aclose()
    assert empty.status == form.status == 303  # redirects are not followed
    assert form.header("Location") == "/x"
    assert server.seen[0].headers["content-length"] == "0"
    assert server.seen[1].headers["content-type"] == "application/x-www-form-urlencoded"
    assert server.seen[1].body == b"outcome=pay"


async def test_a_chunked_body_sent_in_pieces_is_reassembled(
    servers: list[ScriptedServer],
) -> None:
    head = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-type: text/plain\r\n\r\n"
    pieces: list[bytes | float] = [
        head + b"5\r\nhel",
        0.01,
        b"lo\r\n6;ext=1\r\n wor",
        0.01,
        b"ld\r\n0\r\nx-trailer: yes\r\n",
        0.01,
        b"\r\n",
    ]
    server = await serve(servers, lambda seen: Reply(list(pieces)))
    client = Http11Client(server.base)
    first = await client.get("/chunked")
    second = await client.get("/chunked")
    await client.aclose()
    assert first.body == second.body == b"hello world"
    assert server.connections == 1  # the connection survives a chunked answer


async def test_connection_close_from_the_server_opens_a_new_connection_next_time(
    servers: list[ScriptedServer],
) -> None:
    def script(seen: Seen) -> Reply:
        reply = ok(b"bye", extra="connection: close\r\n")
        reply.close = True
        return reply

    server = await serve(servers, script)
    client = Http11Client(server.base)
    answers = [await client.get(f"/{n}") for n in range(3)]
    await client.aclose()
    assert [a.body for a in answers] == [b"bye"] * 3
    assert not answers[0].keep_alive
    assert server.connections == 3


async def test_a_body_without_length_ends_when_the_server_closes(
    servers: list[ScriptedServer],
) -> None:
    server = await serve(
        servers,
        lambda seen: Reply([b"HTTP/1.1 200 OK\r\n\r\npart one, ", 0.01, b"part two"], close=True),
    )
    client = Http11Client(server.base)
    answer = await client.get("/stream")
    await client.aclose()
    assert answer.body == b"part one, part two"


async def test_a_connection_closed_mid_answer_is_an_error_and_the_client_recovers(
    servers: list[ScriptedServer],
) -> None:
    def script(seen: Seen) -> Reply:
        if seen.path == "/cut":
            return Reply([b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly this"], close=True)
        return ok()

    server = await serve(servers, script)
    client = Http11Client(server.base)
    with pytest.raises(RemoteProtocolError):
        await client.get("/cut")
    after = await client.get("/fine")
    await client.aclose()
    assert after.body == b"ok"
    assert server.connections == 2


async def test_an_answer_that_never_comes_times_out_and_the_next_request_works(
    servers: list[ScriptedServer],
) -> None:
    server = await serve(servers, lambda seen: Reply(hang=True) if seen.path == "/slow" else ok())
    client = Http11Client(server.base, timeout=0.2)
    with pytest.raises(RequestTimeout):
        await client.get("/slow")
    after = await client.get("/fast")
    await client.aclose()
    assert after.status == 200
    assert server.connections == 2  # the timed-out connection is not reused


async def test_concurrent_requests_of_one_client_use_at_most_max_connections(
    servers: list[ScriptedServer],
) -> None:
    server = await serve(servers, lambda seen: Reply([0.02, ok().pieces[0]]))
    two = Http11Client(server.base, max_connections=2)
    answers = await asyncio.gather(*(two.get(f"/{n}") for n in range(6)))
    await two.aclose()
    assert [a.status for a in answers] == [200] * 6
    assert server.connections == 2


async def test_a_refused_connection_is_a_connect_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, not listening: connections are refused
        client = Http11Client(f"http://127.0.0.1:{port}", timeout=2)
        with pytest.raises(ConnectError):
            await client.get("/")


def test_only_plain_http_is_accepted() -> None:
    with pytest.raises(ValueError, match="only http"):
        Http11Client("https://127.0.0.1:1")


# -- the parser on its own ---------------------------------------------------------------------

ANSWER = (
    b"HTTP/1.1 100 Continue\r\n\r\n"
    b"HTTP/1.1 409 Conflict\r\nContent-Type: application/problem+json\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n"
    b'c\r\n{"code":"sol\r\n7\r\nd_out"}\r\n0\r\n\r\n'
)


def test_the_parser_gives_the_same_answer_whatever_the_split() -> None:
    for cut in range(1, len(ANSWER)):
        parser = ResponseParser()
        parser.expect()
        assert parser.feed(ANSWER[:cut]) is None, cut
        response = parser.feed(ANSWER[cut:])
        assert response is not None, cut
        assert response.status == 409
        assert response.header("content-type") == "application/problem+json"
        assert msgspec.json.decode(response.body) == {"code": "sold_out"}


def test_no_body_for_204_and_head() -> None:
    parser = ResponseParser()
    parser.expect()
    answer = parser.feed(b"HTTP/1.1 204 No Content\r\n\r\n")
    assert answer is not None and answer.body == b""
    parser.expect(head_request=True)
    answer = parser.feed(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n")
    assert answer is not None and answer.body == b""


@pytest.mark.parametrize(
    "raw",
    [
        b"HTTX/1.1 200 OK\r\n\r\n",
        b"HTTP/1.1 2x0 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nabXX",
    ],
)
def test_broken_answers_are_protocol_errors(raw: bytes) -> None:
    parser = ResponseParser()
    parser.expect()
    with pytest.raises(RemoteProtocolError):
        parser.feed(raw)


def test_keep_alive_follows_the_version_and_connection_header() -> None:
    def parse(raw: bytes) -> bool:
        parser = ResponseParser()
        parser.expect()
        answer = parser.feed(raw)
        assert answer is not None
        return answer.keep_alive

    assert parse(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
    assert not parse(b"HTTP/1.1 200 OK\r\nConnection: Close\r\ncontent-length: 0\r\n\r\n")
    assert not parse(b"HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n")
    assert parse(b"HTTP/1.0 200 OK\r\nconnection: keep-alive\r\ncontent-length: 0\r\n\r\n")
