"""The load driver's modes against a small fake of the API (real sockets, no product)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import msgspec

from eltiketi_bench.driver import DECODER, Driver, DriverResult, Plan, Progress
from tests.bench.scripted_server import Reply, ScriptedServer, Seen, ok, serve


def _json(status: str, body: object) -> Reply:
    return ok(msgspec.json.encode(body), status=status, extra="content-type: application/json\r\n")


class FakeApi:
    """Just enough of the API for the driver: holds from a stock, payment, pay page, orders."""

    def __init__(self, stock: int, *, broken: bool = False) -> None:
        self.stock = stock
        self.broken = broken
        self.count = 0

    def __call__(self, seen: Seen) -> Reply:
        self.count += 1
        if seen.path == "/health/live":
            return ok()
        if self.broken:
            return _json("500 Internal Server Error", {"code": "internal_error"})
        if seen.method == "GET" and seen.path.startswith("/v1/events/"):
            body = msgspec.json.encode({"id": seen.path.rsplit("/", 1)[1], "ticket_types": []})
            head = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
            return Reply([head + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)])
        if not seen.headers.get("authorization", "").startswith("Bearer "):
            return _json("401 Unauthorized", {"code": "unauthenticated"})
        if seen.path == "/v1/bookings":
            if self.stock <= 0:
                return _json("409 Conflict", {"code": "sold_out"})
            self.stock -= 1
            return _json("201 Created", {"id": f"b{self.count}"})
        if seen.path.endswith("/payment"):
            booking = seen.path.split("/")[3]
            return _json(
                "201 Created", {"payment_id": f"p-{booking}", "provider_reference": booking}
            )
        if seen.path.startswith("/dev/pay/"):
            form = seen.headers.get("content-type") == "application/x-www-form-urlencoded"
            if not form or seen.body != b"outcome=pay":
                return _json("400 Bad Request", {"code": "bad_form"})
            return ok(b"", status="303 See Other", extra="location: /done\r\n")
        if seen.path == "/v1/orders":
            asked = msgspec.json.decode(seen.body)
            if asked["payment_id"] != f"p-{asked['booking_id']}":
                return _json("409 Conflict", {"code": "payment_mismatch"})
            return _json("201 Created", {"id": "o1", "tickets": [{"id": "t1"}]})
        return _json("404 Not Found", {"code": "not_found"})


def plan(bases: list[str], **changes: object) -> Plan:
    values: dict[str, object] = {
        "mode": "hold",
        "bases": bases,
        "tokens": [f"tok-{n}" for n in range(4)],
        "concurrency": 4,
        "event_id": "e1",
        "ticket_type_id": "t1",
        "progress_every_s": 0.1,
        "timeout_s": 5.0,
    } | changes
    return msgspec.convert(values, Plan)


async def test_holds_until_sold_out_with_each_buyer_pinned_to_one_server(
    servers: list[ScriptedServer],
) -> None:
    first = await serve(servers, FakeApi(stock=15))
    second = await serve(servers, FakeApi(stock=15))
    result = await Driver(plan([first.base, second.base])).run()

    assert (result.ok, result.refused, result.errors) == (30, 4, 0)
    assert result.attempts == 34
    assert result.latency.count == 30
    assert not result.timed_out
    assert result.cpu_s >= 0
    tokens = {s.base: {seen.headers.get("authorization") for seen in s.seen} for s in servers}
    assert tokens[first.base] == {"Bearer tok-0", "Bearer tok-2"}
    assert tokens[second.base] == {"Bearer tok-1", "Bearer tok-3"}
    # one kept-alive connection per buyer
    assert first.connections == second.connections == 2
    hold = next(s for s in first.seen if s.path == "/v1/bookings")
    assert msgspec.json.decode(hold.body) == {
        "event_id": "e1",
        "items": [{"ticket_type_id": "t1", "quantity": 1}],
    }


async def test_journeys_walk_every_step(servers: list[ScriptedServer]) -> None:
    server = await serve(servers, FakeApi(stock=10_000))
    result = await Driver(plan([server.base], mode="journey", duration_s=0.3)).run()

    assert result.errors == 0, result.error_samples
    assert result.ok > 0
    assert sorted(result.steps) == ["confirm", "hold", "pay", "payment"]
    assert all(s.count >= result.ok for s in result.steps.values())
    paths = [s.path for s in server.seen]
    assert paths.count("/v1/orders") >= result.ok


async def test_reads_are_anonymous_and_chunked_answers_count(
    servers: list[ScriptedServer],
) -> None:
    server = await serve(servers, FakeApi(stock=0))
    result = await Driver(plan([server.base], mode="read", tokens=[], duration_s=0.2)).run()

    assert result.ok > 0 and result.errors == 0
    assert all("authorization" not in s.headers for s in server.seen)
    assert {s.path for s in server.seen} == {"/health/live", "/v1/events/e1"}


async def test_the_open_loop_sends_at_the_planned_rate_whatever_the_answers(
    servers: list[ScriptedServer],
) -> None:
    server = await serve(servers, FakeApi(stock=5))
    result = await Driver(plan([server.base], rate_per_s=50.0, duration_s=0.3)).run()

    assert result.attempts == 15  # sends planned at 0, 20, …, 280 ms
    assert (result.ok, result.refused) == (5, 10)  # sold out: buyers carry on in an open loop


async def test_failed_requests_are_counted_with_a_sample(servers: list[ScriptedServer]) -> None:
    server = await serve(servers, FakeApi(stock=5, broken=True))
    result = await Driver(plan([server.base], duration_s=0.1)).run()

    assert result.ok == 0
    assert result.errors == result.attempts > 0
    assert result.error_samples == {"POST /v1/bookings 500 internal_error": result.errors}


async def test_the_process_writes_progress_then_one_result(
    servers: list[ScriptedServer], tmp_path: Path
) -> None:
    server = await serve(servers, FakeApi(stock=10_000))
    plan_path = tmp_path / "plan.json"
    plan_path.write_bytes(msgspec.json.encode(plan([server.base], duration_s=0.4)))
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "eltiketi_bench.driver",
        str(plan_path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()[-2000:]
    messages = [DECODER.decode(line) for line in out.splitlines()]
    assert isinstance(messages[-1], DriverResult)
    assert messages[-1].ok > 0
    assert all(isinstance(m, Progress) for m in messages[:-1])
    assert len(messages) >= 3  # progress every 0.1 s during 0.4 s
