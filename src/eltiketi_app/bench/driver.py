"""The load generator: a separate process, ``python -m eltiketi_app.bench.driver PLAN.json``.

Each buyer is its own HTTP client (one keep-alive connection, its own bearer
token), pinned to one API process, and runs a closed loop — the next request
leaves when the last answer came back — or, with ``rate_per_s``, requests are
sent at fixed times whatever the answers do (open loop; latency counted from
the planned send time, so a slow server cannot hide its queue).

Progress and the result are JSON lines on stdout (``{"kind": "progress", …}``,
then one ``{"kind": "result", …}``); nothing else is written there.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import ssl
import sys
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, Literal

import httpx
import msgspec

from eltiketi_app.bench.stats import Latency, summarize

Mode = Literal["hold", "journey", "read"]


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


def _problem(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:80]
    return str(body.get("code") or body.get("title") or body)[:80] if isinstance(body, dict) else ""


class Driver:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.tally = _Tally()
        self.clients: list[httpx.AsyncClient] = []
        self.started = 0.0
        self.deadline = float("inf")
        self.stopping = False
        self._hold_body = msgspec.json.encode(
            {
                "event_id": plan.event_id,
                "items": [{"ticket_type_id": plan.ticket_type_id, "quantity": 1}],
            }
        )

    async def run(self) -> DriverResult:
        plan = self.plan
        buyers = plan.concurrency
        # One TLS context for all (unused over http://, but httpx builds one per client
        # otherwise, loading the CA bundle each time).
        tls = ssl.create_default_context()
        for index in range(buyers):
            headers = {"content-type": "application/json"}
            if plan.tokens:
                headers["authorization"] = f"Bearer {plan.tokens[index % len(plan.tokens)]}"
            self.clients.append(
                httpx.AsyncClient(
                    base_url=plan.bases[index % len(plan.bases)],
                    headers=headers,
                    timeout=plan.timeout_s,
                    limits=httpx.Limits(max_connections=8, max_keepalive_connections=8),
                    verify=tls,
                    trust_env=False,
                )
            )
        try:
            # Connections are opened before the clock starts: buyers arrive warm.
            await asyncio.gather(*(c.get("/health/live") for c in self.clients))
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
            await asyncio.gather(*(c.aclose() for c in self.clients), return_exceptions=True)
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

    def _operation(self) -> Callable[[httpx.AsyncClient, float], Coroutine[Any, Any, bool]]:
        return {"hold": self._hold, "journey": self._journey, "read": self._read}[self.plan.mode]

    async def _closed_loop(self) -> None:
        operation = self._operation()

        async def buyer(client: httpx.AsyncClient) -> None:
            while not self.stopping and time.perf_counter() < self.deadline:
                if not await operation(client, time.perf_counter()):
                    return

        await asyncio.gather(*(buyer(c) for c in self.clients))

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
            client = self.clients[sent % len(self.clients)]
            task = asyncio.create_task(operation(client, planned))
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

    async def _hold(self, client: httpx.AsyncClient, began: float) -> bool:
        t = self.tally
        t.attempts += 1
        try:
            response = await client.post("/v1/bookings", content=self._hold_body)
        except httpx.HTTPError as error:
            t.error(f"POST /v1/bookings {type(error).__name__}")
            return True
        if response.status_code == 201:
            self._accepted(began)
            return True
        problem = _problem(response)
        if response.status_code == 409 and problem == "sold_out":
            t.refused += 1
            # closed loop until sold out: this buyer is done; open loop: carry on
            return self.plan.duration_s is not None or self.plan.rate_per_s is not None
        t.error(f"POST /v1/bookings {response.status_code} {problem}")
        return True

    async def _read(self, client: httpx.AsyncClient, began: float) -> bool:
        t = self.tally
        t.attempts += 1
        try:
            response = await client.get(f"/v1/events/{self.plan.event_id}")
        except httpx.HTTPError as error:
            t.error(f"GET /v1/events/{{id}} {type(error).__name__}")
            return True
        if response.status_code == 200:
            self._accepted(began)
        else:
            t.error(f"GET /v1/events/{{id}} {response.status_code} {_problem(response)}")
        return True

    async def _journey(self, client: httpx.AsyncClient, began: float) -> bool:
        """hold → start payment → pay on the fake checkout page → confirm → ticket issued."""
        t = self.tally
        t.attempts += 1
        step = "hold"
        try:
            mark = time.perf_counter()
            response = await client.post("/v1/bookings", content=self._hold_body)
            if response.status_code != 201:
                t.error(f"hold {response.status_code} {_problem(response)}")
                return response.status_code != 409 or _problem(response) != "sold_out"
            booking_id = response.json()["id"]
            t.step("hold", time.perf_counter() - mark)

            step, mark = "payment", time.perf_counter()
            response = await client.post(f"/v1/bookings/{booking_id}/payment")
            if response.status_code not in (200, 201):
                t.error(f"payment {response.status_code} {_problem(response)}")
                return True
            payment = response.json()
            t.step("payment", time.perf_counter() - mark)

            step, mark = "pay", time.perf_counter()
            response = await client.post(
                f"/dev/pay/{payment['provider_reference']}",
                data={"outcome": "pay"},
                headers={"content-type": "application/x-www-form-urlencoded"},
            )
            if response.status_code != 303:
                t.error(f"pay {response.status_code} {_problem(response)}")
                return True
            t.step("pay", time.perf_counter() - mark)

            step, mark = "confirm", time.perf_counter()
            response = await client.post(
                "/v1/orders",
                content=msgspec.json.encode(
                    {"booking_id": booking_id, "payment_id": payment["payment_id"]}
                ),
            )
            if response.status_code not in (200, 201) or not response.json().get("tickets"):
                t.error(f"confirm {response.status_code} {_problem(response)}")
                return True
            t.step("confirm", time.perf_counter() - mark)
        except httpx.HTTPError as error:
            t.error(f"{step} {type(error).__name__}")
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
        print("usage: python -m eltiketi_app.bench.driver PLAN.json", file=sys.stderr)
        return 2
    plan = msgspec.json.decode(Path(args[0]).read_bytes(), type=Plan)
    with _runner() as runner:
        result = runner.run(Driver(plan).run())
    _emit(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
