"""The load generator: a separate process, ``python -m eltiketi_bench.driver PLAN.json``.

Each buyer is its own HTTP client (one keep-alive connection, its own bearer
token, its requests encoded once), pinned to one API process, and runs a closed loop — the next request
leaves when the last answer came back — or, with ``rate_per_s``, requests are
sent at fixed times whatever the answers do (open loop; latency counted from
the planned send time, so a slow server cannot hide its queue).

Progress and the result are JSON lines on stdout (``{"kind": "progress", …}``,
then one ``{"kind": "result", …}``); nothing else is written there.

The HTTP client is :mod:`eltiketi_bench.http11` (asyncio, HTTP/1.1
keep-alive), not httpx: the driver shares the machine's cores with the API, so
every millisecond of client CPU per request is taken from what is measured.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import sys
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, Literal

import msgspec

from eltiketi_bench.http11 import Http11Client, HttpError, Response
from eltiketi_bench.stats import Latency, summarize

#: What the bench reports as its load generator.
CLIENT_NAME = "eltiketi_bench.http11 (asyncio HTTP/1.1 keep-alive)"
#: Connections one buyer may hold at once (an open loop can have several requests in flight).
MAX_CONNECTIONS_PER_BUYER = 8
_FORM = "application/x-www-form-urlencoded"
_PAY_FORM = b"outcome=pay"

Mode = Literal["hold", "journey", "read", "page"]
#: What a browser asks for when it opens a page.
_BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


class Plan(msgspec.Struct, kw_only=True):
    """What the driver does (written by the orchestrator as JSON)."""

    mode: Mode
    bases: list[str]
    """API base URLs; buyer ``i`` talks to ``bases[i % len(bases)]`` only."""
    tokens: list[str]
    """One bearer token per buyer; empty: anonymous (reads)."""
    concurrency: int
    event_id: str
    ticket_type_id: str = ""
    duration_s: float | None = None
    """Stop after this long; None (holds): when every buyer has been refused ``sold_out``."""
    rate_per_s: float | None = None
    """Open loop: start requests at this fixed rate instead of a closed loop."""
    progress_every_s: float = 1.0
    timeout_s: float = 30.0
    max_seconds: float = 600.0


class Progress(msgspec.Struct, kw_only=True, tag="progress", tag_field="kind"):
    t: float
    ok: int
    attempts: int
    errors: int


class DriverResult(msgspec.Struct, kw_only=True, tag="result", tag_field="kind"):
    ok: int
    refused: int
    errors: int
    attempts: int
    elapsed_s: float
    """From the start of the measured window until the last buyer stopped."""
    ok_window_s: float
    """From the start until the last accepted operation finished."""
    latency: Latency
    """Of accepted operations (a whole journey in journey mode)."""
    steps: dict[str, Latency]
    error_samples: dict[str, int]
    cpu_s: float
    """CPU time of this process during the measured window (set-up excluded)."""
    timed_out: bool = False
    late_starts: int = 0
    """Open loop: requests that left more than 10 ms after their planned time."""


Message = Progress | DriverResult
DECODER = msgspec.json.Decoder(Message)


class _Tally:
    def __init__(self) -> None:
        self.ok = 0
        self.refused = 0
        self.errors = 0
        self.attempts = 0
        self.latencies: list[float] = []
        self.steps: dict[str, list[float]] = {}
        self.samples: Counter[str] = Counter()
        self.last_ok = 0.0
        self.late_starts = 0

    def error(self, what: str) -> None:
        self.errors += 1
        self.samples[what[:160]] += 1

    def step(self, name: str, seconds: float) -> None:
        self.steps.setdefault(name, []).append(seconds)


def _problem(response: Response) -> str:
    try:
        body = response.json()
    except msgspec.DecodeError:
        return response.text[:80]
    return str(body.get("code") or body.get("title") or body)[:80] if isinstance(body, dict) else ""


class Buyer:
    """One buyer: a client pinned to one API process, and its requests encoded once."""

    __slots__ = ("client", "hold", "page", "read")

    def __init__(self, client: Http11Client, *, hold_body: bytes, event_id: str) -> None:
        self.client = client
        self.hold = client.encode("POST", "/v1/bookings", hold_body)
        self.read = client.encode("GET", f"/v1/events/{event_id}")
        self.page = client.encode("GET", f"/events/{event_id}", accept=_BROWSER_ACCEPT)


Operation = Callable[[Buyer, float], Coroutine[Any, Any, bool]]


class Driver:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.tally = _Tally()
        self.buyers: list[Buyer] = []
        self.started = 0.0
        self.deadline = float("inf")
        self.stopping = False
        self._hold_body = msgspec.json.encode(
            {
                "event_id": plan.event_id,
                "items": [{"ticket_type_id": plan.ticket_type_id, "quantity": 1}],
            }
        )

    def _buyer(self, index: int) -> Buyer:
        plan = self.plan
        headers = {"content-type": "application/json"}
        if plan.tokens:
            headers["authorization"] = f"Bearer {plan.tokens[index % len(plan.tokens)]}"
        client = Http11Client(
            plan.bases[index % len(plan.bases)],
            headers=headers,
            timeout=plan.timeout_s,
            max_connections=MAX_CONNECTIONS_PER_BUYER,
        )
        return Buyer(client, hold_body=self._hold_body, event_id=plan.event_id)

    async def run(self) -> DriverResult:
        plan = self.plan
        self.buyers = [self._buyer(index) for index in range(plan.concurrency)]
        try:
            # Connections are opened before the clock starts: buyers arrive warm.
            await asyncio.gather(*(b.client.get("/health/live") for b in self.buyers))
            cpu_before = _cpu()
            self.started = time.perf_counter()
            limit = plan.duration_s if plan.duration_s is not None else plan.max_seconds
            self.deadline = self.started + limit
            reporter = asyncio.create_task(self._report())
            work = self._open_loop() if plan.rate_per_s else self._closed_loop()
            timed_out = False
            try:
                await asyncio.wait_for(work, timeout=limit + plan.timeout_s + 5)
            except TimeoutError:
                timed_out = True
            finished = time.perf_counter()
            reporter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reporter
        finally:
            await asyncio.gather(*(b.client.aclose() for b in self.buyers), return_exceptions=True)
        t = self.tally
        if plan.duration_s is None and not timed_out:
            timed_out = finished >= self.deadline
        return DriverResult(
            ok=t.ok,
            refused=t.refused,
            errors=t.errors,
            attempts=t.attempts,
            elapsed_s=round(finished - self.started, 4),
            ok_window_s=round(max(t.last_ok - self.started, 0.0), 4),
            latency=summarize(t.latencies),
            steps={name: summarize(values) for name, values in t.steps.items()},
            error_samples=dict(t.samples.most_common(8)),
            cpu_s=round(_cpu() - cpu_before, 3),
            timed_out=timed_out,
            late_starts=t.late_starts,
        )

    async def _report(self) -> None:
        while True:
            await asyncio.sleep(self.plan.progress_every_s)
            t = self.tally
            _emit(
                Progress(
                    t=round(time.perf_counter() - self.started, 2),
                    ok=t.ok,
                    attempts=t.attempts,
                    errors=t.errors,
                )
            )

    # -- loops -------------------------------------------------------------------------------

    def _operation(self) -> Operation:
        return {
            "hold": self._hold,
            "journey": self._journey,
            "read": self._read,
            "page": self._page,
        }[self.plan.mode]

    async def _closed_loop(self) -> None:
        operation = self._operation()

        async def buyer(who: Buyer) -> None:
            while not self.stopping and time.perf_counter() < self.deadline:
                if not await operation(who, time.perf_counter()):
                    return

        await asyncio.gather(*(buyer(b) for b in self.buyers))

    async def _open_loop(self) -> None:
        assert self.plan.rate_per_s
        operation = self._operation()
        interval = 1.0 / self.plan.rate_per_s
        in_flight: set[asyncio.Task[bool]] = set()
        sent = 0
        while True:
            planned = self.started + sent * interval
            if planned >= self.deadline:
                break
            delay = planned - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            elif -delay > 0.010:
                self.tally.late_starts += 1
            who = self.buyers[sent % len(self.buyers)]
            task = asyncio.create_task(operation(who, planned))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
            sent += 1
        if in_flight:
            await asyncio.gather(*in_flight, return_exceptions=True)

    # -- operations: True = keep going -----------------------------------------------------------

    def _accepted(self, began: float) -> None:
        now = time.perf_counter()
        t = self.tally
        t.ok += 1
        t.latencies.append(now - began)
        t.last_ok = now

    async def _hold(self, who: Buyer, began: float) -> bool:
        t = self.tally
        t.attempts += 1
        try:
            response = await who.client.send(who.hold)
        except HttpError as error:
            t.error(f"POST /v1/bookings {type(error).__name__}")
            return True
        if response.status == 201:
            self._accepted(began)
            return True
        problem = _problem(response)
        if response.status == 409 and problem == "sold_out":
            t.refused += 1
            # closed loop until sold out: this buyer is done; open loop: carry on
            return self.plan.duration_s is not None or self.plan.rate_per_s is not None
        t.error(f"POST /v1/bookings {response.status} {problem}")
        return True

    async def _read(self, who: Buyer, began: float) -> bool:
        t = self.tally
        t.attempts += 1
        try:
            response = await who.client.send(who.read)
        except HttpError as error:
            t.error(f"GET /v1/events/{{id}} {type(error).__name__}")
            return True
        if response.status == 200:
            self._accepted(began)
        else:
            t.error(f"GET /v1/events/{{id}} {response.status} {_problem(response)}")
        return True

    async def _page(self, who: Buyer, began: float) -> bool:
        """A browser opening the event page: HTML, with its live availability."""
        t = self.tally
        t.attempts += 1
        try:
            response = await who.client.send(who.page)
        except HttpError as error:
            t.error(f"GET /events/{{id}} {type(error).__name__}")
            return True
        if response.status == 200 and response.body.startswith(b"<!doctype html>"):
            self._accepted(began)
        else:
            t.error(f"GET /events/{{id}} {response.status}")
        return True

    async def _journey(self, who: Buyer, began: float) -> bool:
        """hold → start payment → pay on the fake checkout page → confirm → ticket issued."""
        t = self.tally
        client = who.client
        t.attempts += 1
        step = "hold"
        try:
            mark = time.perf_counter()
            response = await client.send(who.hold)
            if response.status != 201:
                problem = _problem(response)
                t.error(f"hold {response.status} {problem}")
                return response.status != 409 or problem != "sold_out"
            booking_id = response.json()["id"]
            t.step("hold", time.perf_counter() - mark)

            step, mark = "payment", time.perf_counter()
            response = await client.post(f"/v1/bookings/{booking_id}/payment")
            if response.status not in (200, 201):
                t.error(f"payment {response.status} {_problem(response)}")
                return True
            payment = response.json()
            t.step("payment", time.perf_counter() - mark)

            step, mark = "pay", time.perf_counter()
            response = await client.post(
                f"/dev/pay/{payment['provider_reference']}", _PAY_FORM, content_type=_FORM
            )
            if response.status != 303:
                t.error(f"pay {response.status} {_problem(response)}")
                return True
            t.step("pay", time.perf_counter() - mark)

            step, mark = "confirm", time.perf_counter()
            response = await client.post(
                "/v1/orders",
                msgspec.json.encode(
                    {"booking_id": booking_id, "payment_id": payment["payment_id"]}
                ),
            )
            if response.status not in (200, 201) or not response.json().get("tickets"):
                t.error(f"confirm {response.status} {_problem(response)}")
                return True
            t.step("confirm", time.perf_counter() - mark)
        except HttpError as error:
            t.error(f"{step} {type(error).__name__}")
            return True
        except (msgspec.DecodeError, KeyError, TypeError, AttributeError) as error:
            t.error(f"{step} unexpected answer {type(error).__name__}")
            return True
        self._accepted(began)
        return True


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _emit(message: Message) -> None:
    sys.stdout.buffer.write(msgspec.json.encode(message) + b"\n")
    sys.stdout.flush()


def _runner() -> asyncio.Runner:
    try:
        import uvloop
    except ImportError:
        return asyncio.Runner()
    return asyncio.Runner(loop_factory=uvloop.new_event_loop)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m eltiketi_bench.driver PLAN.json", file=sys.stderr)
        return 2
    plan = msgspec.json.decode(Path(args[0]).read_bytes(), type=Plan)
    with _runner() as runner:
        result = runner.run(Driver(plan).run())
    _emit(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
