"""The scenarios: each seeds its own event, drives the API, checks stock by SQL, runs the baseline.

Every scenario writes into one :class:`~eltiketi_bench.report.ScenarioResult`.
A scenario sells from ticket types of its own, so none sees another's stock;
its raw baseline uses a twin type of the same capacity and shard count.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from eltiketi_adapters.sqlalchemy import event_read_sql
from eltiketi_bench import raw, server
from eltiketi_bench.database import BenchDatabase
from eltiketi_bench.driver import DriverResult, Mode, Plan
from eltiketi_bench.loadrun import ProgressLine, run_driver
from eltiketi_bench.profiles import RAW_POOL, Scenario, Size
from eltiketi_bench.report import ScenarioResult
from eltiketi_bench.seed import Catalogue, SeededEvent, TicketTypeSpec
from eltiketi_bench.services import (
    ApiServers,
    Child,
    KafkaStack,
    cpu_seconds,
    start_profilers,
    stop_profilers,
)

#: ``application_name`` of the product's connections (API and workers).
PRODUCT_APPLICATION_NAME = "eltiketi"
#: Capacity of types that must not sell out during a time-bounded scenario.
PLENTY = 10_000_000
#: How long to wait for background work (held → sold, e-tickets) after the load stops.
SETTLE_TIMEOUT = 30.0


@dataclass
class Context:
    size: Size
    db: BenchDatabase
    workdir: Path
    data_dir: Path
    tokens: list[str]
    progress: ProgressLine
    api: ApiServers | None = None
    results: dict[Scenario, ScenarioResult] = field(default_factory=dict)
    raw_purchase: raw.RawResult | None = None
    profile: bool = False
    last_postgres: dict[str, Any] = field(default_factory=dict)
    """PostgreSQL backend CPU and sessions opened during the last :func:`drive`."""
    also_profile: list[Child] = field(default_factory=list)
    """Processes besides the API to record with ``--profile`` (the Kafka workers)."""
    env: dict[str, str] = field(default_factory=dict)
    """The environment the API processes start with."""
    last_batches: dict[str, Any] = field(default_factory=dict)
    """The group commit's batches of holds during the last :func:`drive` (empty: none)."""

    @property
    def bases(self) -> list[str]:
        assert self.api is not None, "the API is not running"
        return self.api.bases

    async def room_for(self, connections: int) -> None:
        await self.db.wait_for_headroom(connections, say=self.progress.update)

    async def seed(self, name: str, types: list[TicketTypeSpec]) -> SeededEvent:
        catalogue = Catalogue(self.bases[0], self.data_dir)
        try:
            return await catalogue.event(name, types)
        finally:
            await catalogue.close()


def raw_pool(concurrency: int) -> int:
    """The API's pools together, but never more connections than concurrent clients."""
    return min(RAW_POOL, concurrency)


def new_result(scenario: Scenario, unit: str) -> ScenarioResult:
    return ScenarioResult(
        scenario=scenario.name.lower(), letter=scenario.value, title=scenario.label, unit=unit
    )


async def drive(
    ctx: Context,
    scenario: Scenario,
    *,
    mode: Mode,
    unit: str,
    concurrency: int,
    event: SeededEvent,
    ticket_type: str = "",
    duration_s: float | None = None,
    rate_per_s: float | None = None,
    anonymous: bool = False,
    max_seconds: float = 600.0,
) -> tuple[DriverResult, float]:
    """Run the driver; returns its result and the API's CPU seconds meanwhile."""
    assert ctx.api is not None
    plan = Plan(
        mode=mode,
        bases=ctx.bases,
        tokens=[] if anonymous else ctx.tokens[:concurrency],
        concurrency=concurrency,
        event_id=str(event.event_id),
        ticket_type_id=str(event.ticket_types[ticket_type]) if ticket_type else "",
        duration_s=duration_s,
        rate_per_s=rate_per_s,
        max_seconds=max_seconds,
    )
    batches_before = await hold_batches(ctx.bases)
    cpu_before = ctx.api.cpu_seconds()
    pg_before = await ctx.db.activity(PRODUCT_APPLICATION_NAME)
    pg_cpu_before = {pid: cpu_seconds(pid) for pid in pg_before.pids}
    profilers = (
        await start_profilers(
            [*ctx.api.children, *ctx.also_profile], ctx.workdir, f"{scenario.value}-{mode}"
        )
        if ctx.profile
        else []
    )
    try:
        result = await run_driver(
            plan, label=scenario.label, unit=unit, workdir=ctx.workdir, progress=ctx.progress
        )
    finally:
        await stop_profilers(profilers)
    api_cpu = ctx.api.cpu_seconds() - cpu_before
    pg_after = await ctx.db.activity(PRODUCT_APPLICATION_NAME)
    ctx.last_postgres = {
        # backends that closed meanwhile are missing: a lower bound
        "backend_cpu_s": round(
            sum(cpu_seconds(pid) - pg_cpu_before.get(pid, 0.0) for pid in pg_after.pids), 2
        ),
        "sessions_opened": pg_after.sessions - pg_before.sessions,
    }
    ctx.last_batches = batch_summary(batches_before, await hold_batches(ctx.bases))
    return result, api_cpu


async def hold_batches(bases: list[str]) -> dict[str, float]:
    """``eltiketi_hold_batch_size`` summed over the API processes: ``count``, ``sum`` and
    the cumulative bucket counts (``le:<bound>``), from each one's ``/metrics``."""
    totals: dict[str, float] = {}
    async with httpx.AsyncClient(timeout=10) as client:
        for base in bases:
            answer = await client.get(f"{base}/metrics")
            if answer.status_code != 200:
                continue
            for family in text_string_to_metric_families(answer.text):
                if family.name != "eltiketi_hold_batch_size":
                    continue
                for sample in family.samples:
                    if sample.name.endswith("_bucket"):
                        key = f"le:{sample.labels['le']}"
                    elif sample.name.endswith(("_count", "_sum")):
                        key = sample.name.rsplit("_", 1)[1]
                    else:
                        continue
                    totals[key] = totals.get(key, 0.0) + sample.value
    return totals


def batch_summary(before: dict[str, float], after: dict[str, float]) -> dict[str, Any]:
    """The batches between two scrapes: how many, holds per batch on average, and how many
    batches had at most each bucket's size (non-cumulative: ``"3-4": n``)."""
    delta = {key: after.get(key, 0.0) - before.get(key, 0.0) for key in after}
    batches = int(delta.get("count", 0))
    if batches <= 0:
        return {}
    bounds = sorted(
        (float(key[3:]), key) for key in delta if key.startswith("le:") and key != "le:+Inf"
    )
    by_size: dict[str, int] = {}
    below, lower = 0, 0.0
    for bound, key in [*bounds, (float("inf"), "le:+Inf")]:
        upto = int(delta.get(key, 0))
        if upto > below:
            first, last = int(lower) + 1, bound
            label = (
                f"{first}+"
                if last == float("inf")
                else (str(int(last)) if first >= last else f"{first}-{int(last)}")
            )
            by_size[label] = upto - below
        below, lower = upto, bound
    return {
        "batches": batches,
        "holds": int(delta.get("sum", 0)),
        "mean": round(delta.get("sum", 0.0) / batches, 2),
        "by_size": by_size,
    }


def fill_from_driver(
    result: ScenarioResult, driven: DriverResult, api_cpu_s: float, *, until_sold_out: bool
) -> None:
    """Copy the driver's counts and latencies into the row, and the CPU cost per operation."""
    result.concurrency = result.concurrency or None
    result.accepted = driven.ok
    result.attempts = driven.attempts
    result.errors = driven.errors
    result.elapsed_s = driven.elapsed_s
    window = driven.ok_window_s if until_sold_out else driven.elapsed_s
    result.accepted_per_s = round(driven.ok / window, 1) if window > 0 else 0.0
    result.attempts_per_s = (
        round(driven.attempts / driven.elapsed_s, 1) if driven.elapsed_s > 0 else 0.0
    )
    result.p50_ms = driven.latency.p50_ms
    result.p95_ms = driven.latency.p95_ms
    result.p99_ms = driven.latency.p99_ms
    result.extra["refused_sold_out"] = driven.refused
    if driven.error_samples:
        result.extra["error_samples"] = driven.error_samples
    if driven.steps:
        result.extra["steps_p99_ms"] = {name: s.p99_ms for name, s in driven.steps.items()}
        result.extra["steps_p50_ms"] = {name: s.p50_ms for name, s in driven.steps.items()}
    if driven.timed_out:
        result.extra["timed_out"] = True
    per_op = max(driven.ok, 1)
    result.extra["cpu_ms_per_accepted"] = {
        "api": round(api_cpu_s * 1000 / per_op, 2),
        "load_driver": round(driven.cpu_s * 1000 / per_op, 2),
    }
    result.extra["cpu_s"] = {"api": round(api_cpu_s, 2), "load_driver": driven.cpu_s}


def fill_postgres(result: ScenarioResult, ctx: Context) -> None:
    """PostgreSQL's side of the measured window (see :func:`drive`)."""
    postgres = ctx.last_postgres
    per_op = max(result.accepted or 0, 1)
    result.extra["cpu_ms_per_accepted"]["postgres_backends"] = round(
        postgres["backend_cpu_s"] * 1000 / per_op, 2
    )
    result.extra["cpu_s"]["postgres_backends"] = postgres["backend_cpu_s"]
    result.extra["pg_sessions_opened"] = postgres["sessions_opened"]
    if ctx.last_batches:
        result.extra["hold_batches"] = ctx.last_batches


def fill_raw(result: ScenarioResult, baseline: raw.RawResult, *, comparable: bool = True) -> None:
    result.raw = baseline.as_dict()
    result.raw_per_s = round(baseline.per_s, 1)
    if comparable and result.accepted_per_s is not None and baseline.per_s > 0:
        result.ratio = round(result.accepted_per_s / baseline.per_s, 3)


# --- a, b: flash sale -------------------------------------------------------------------------


async def flash_sale(ctx: Context, scenario: Scenario, *, shards: int) -> ScenarioResult:
    size = ctx.size
    result = new_result(scenario, "holds")
    buyers = size.flash_buyers
    result.concurrency = buyers
    event = await ctx.seed(
        f"Flash sale ({shards} shard{'s' if shards > 1 else ''})",
        [
            TicketTypeSpec(name="api", capacity=size.flash_capacity, shards=shards),
            TicketTypeSpec(name="raw", capacity=size.flash_capacity, shards=shards),
        ],
    )
    driven, api_cpu = await drive(
        ctx,
        scenario,
        mode="hold",
        unit="holds",
        concurrency=buyers,
        event=event,
        ticket_type="api",
        max_seconds=size.flash_max_seconds,
    )
    fill_from_driver(result, driven, api_cpu, until_sold_out=True)
    fill_postgres(result, ctx)
    stock = await ctx.db.stock([event.ticket_types["api"]])
    result.extra["stock"] = stock.as_dict()
    result.extra["sold_out"] = stock.taken == stock.capacity
    result.extra["stock_matches_accepted"] = stock.taken == driven.ok == stock.allocated

    ctx.progress.update(f"  {scenario.label}: raw baseline (asyncpg)…")
    await ctx.room_for(raw_pool(buyers))
    baseline = await raw.drive_reservations(
        ctx.db.url,
        event.ticket_types["raw"],
        shards,
        concurrency=buyers,
        pool_size=raw_pool(buyers),
    )
    raw_stock = await ctx.db.stock([event.ticket_types["raw"]])
    result.oversold = stock.oversold + raw_stock.oversold
    fill_raw(result, baseline)
    result.raw["sold_out"] = raw_stock.taken == raw_stock.capacity
    if driven.timed_out:
        result.note = (
            f"stopped after {size.flash_max_seconds:.0f} s, {driven.ok:,} of "
            f"{size.flash_capacity:,} sold"
        )
    elif not result.extra["stock_matches_accepted"]:
        result.note = (
            f"accepted {driven.ok:,} but the database holds {stock.taken:,} "
            f"(allocations {stock.allocated:,})"
        )
    return result


async def flash_sale_ungrouped(ctx: Context, scenario: Scenario) -> ScenarioResult:
    """a again, on API processes that commit every hold alone (grouping off): the same
    run's figure for what the group commit changed. It replaces the API processes
    (so it runs after every other in-process scenario)."""
    assert ctx.api is not None
    ctx.progress.update(f"  {scenario.label}: restarting the API with grouping off…")
    await ctx.api.stop()
    ctx.api = ApiServers(
        len(ctx.api.bases),
        env={**ctx.env, server.GROUPING: "off"},
        log_dir=ctx.workdir,
        tag="ungrouped",
    )
    await ctx.api.start()
    result = await flash_sale(ctx, scenario, shards=1)
    grouped = ctx.results.get(Scenario.FLASH_SALE)
    if grouped is not None and grouped.accepted_per_s and result.accepted_per_s:
        result.extra["grouped_speedup"] = round(grouped.accepted_per_s / result.accepted_per_s, 2)
    return result


# --- c: the whole purchase (in-process bus) --------------------------------------------------


async def purchase(
    ctx: Context, scenario: Scenario, *, seconds: float, label: str
) -> tuple[ScenarioResult, SeededEvent]:
    size = ctx.size
    result = new_result(scenario, "journeys")
    buyers = size.purchase_buyers
    result.concurrency = buyers
    event = await ctx.seed(
        label,
        [TicketTypeSpec(name="api", capacity=PLENTY), TicketTypeSpec(name="raw", capacity=PLENTY)],
    )
    driven, api_cpu = await drive(
        ctx,
        scenario,
        mode="journey",
        unit="journeys",
        concurrency=buyers,
        event=event,
        ticket_type="api",
        duration_s=seconds,
    )
    fill_from_driver(result, driven, api_cpu, until_sold_out=False)
    fill_postgres(result, ctx)
    return result, event


async def settle_etickets(
    ctx: Context, result: ScenarioResult, event: SeededEvent, *, label: str
) -> None:
    """Wait (bounded) until every order of ``event`` has its e-ticket sent; record the delays."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while True:
        orders, sent, delays = await ctx.db.eticket_delays(event.event_id)
        if sent >= orders or time.monotonic() > deadline:
            break
        ctx.progress.update(f"  {label}: waiting for e-tickets, {sent:,} of {orders:,} sent")
        await asyncio.sleep(ctx.size.settle_poll_s)
    result.extra["orders"] = orders
    result.extra["etickets_sent"] = sent
    result.extra["eticket_after_confirm_ms"] = {
        "p50": delays.p50_ms,
        "p95": delays.p95_ms,
        "p99": delays.p99_ms,
        "max": delays.max_ms,
    }
    stock = await ctx.db.stock([event.ticket_types["api"]])
    result.extra["stock"] = stock.as_dict()
    result.oversold = stock.oversold


async def purchase_raw(ctx: Context, event: SeededEvent) -> raw.RawResult:
    if ctx.raw_purchase is None:
        await ctx.room_for(raw_pool(ctx.size.purchase_buyers))
        ctx.raw_purchase = await raw.drive_reservations(
            ctx.db.url,
            event.ticket_types["raw"],
            1,
            concurrency=ctx.size.purchase_buyers,
            pool_size=raw_pool(ctx.size.purchase_buyers),
            duration_s=ctx.size.raw_seconds,
        )
    return ctx.raw_purchase


async def purchase_in_process(ctx: Context, scenario: Scenario) -> ScenarioResult:
    result, event = await purchase(
        ctx, scenario, seconds=ctx.size.purchase_seconds, label="Purchase journey"
    )
    await settle_etickets(ctx, result, event, label=scenario.label)
    ctx.progress.update(f"  {scenario.label}: raw baseline (asyncpg)…")
    fill_raw(result, await purchase_raw(ctx, event))
    _note_etickets(result)
    return result


async def etickets_at_fixed_rate(
    ctx: Context, scenario: Scenario, *, closed_loop: ScenarioResult
) -> ScenarioResult:
    """d at half its closed-loop throughput, open loop: how soon e-tickets go out when
    the machine is not saturated.

    In the closed loop the buyers keep both cores busy, so the asynchronous side (relay,
    consumers) only gets what is left and e-tickets queue until the load stops; this
    phase measures the pipeline's own delay at a load the machine carries.
    """
    size = ctx.size
    rate = round((closed_loop.accepted_per_s or 0.0) / 2, 1) or size.fallback_journey_rate
    steady = new_result(scenario, "journeys")
    event = await ctx.seed(
        "Purchase journey (Kafka, fixed rate)", [TicketTypeSpec(name="api", capacity=PLENTY)]
    )
    driven, _ = await drive(
        ctx,
        scenario,
        mode="journey",
        unit="journeys",
        concurrency=size.purchase_buyers,
        event=event,
        ticket_type="api",
        duration_s=size.open_loop_seconds,
        rate_per_s=rate,
    )
    await settle_etickets(ctx, steady, event, label=f"{scenario.label} at {rate:g}/s")
    steady.extra.update(
        offered_per_s=rate,
        journeys=driven.ok,
        errors=driven.errors,
        late_starts=driven.late_starts,
        p50_ms=driven.latency.p50_ms,
        p99_ms=driven.latency.p99_ms,
    )
    if driven.error_samples:
        steady.extra["error_samples"] = driven.error_samples
    return steady


def _note_fixed_rate(result: ScenarioResult) -> None:
    steady: dict[str, Any] = result.extra.get("at_fixed_rate", {})
    if not steady:
        return
    delays = steady.get("eticket_after_confirm_ms", {})
    result.note += (
        f"; at {steady['offered_per_s']:g} journeys/s offered (open loop): journey p99 "
        f"{steady['p99_ms']} ms, e-ticket sent p99 {delays.get('p99')} ms "
        f"({steady.get('etickets_sent', 0):,} of {steady.get('orders', 0):,})"
    )


def _note_etickets(result: ScenarioResult) -> None:
    delays: dict[str, Any] = result.extra.get("eticket_after_confirm_ms", {})
    sent, orders = result.extra.get("etickets_sent"), result.extra.get("orders")
    text = f"e-ticket sent p99 {delays.get('p99')} ms after confirmation ({sent:,} of {orders:,})"
    result.note = f"{result.note}; {text}" if result.note else text


# --- e: reads ------------------------------------------------------------------------------


async def _read_load(
    ctx: Context, scenario: Scenario, *, name: str, mode: Mode, unit: str
) -> tuple[ScenarioResult, SeededEvent]:
    """e and g alike: anonymous clients reading one seeded event for a fixed time,
    with the driver's figures, PostgreSQL's CPU and the stock check filled in."""
    size = ctx.size
    result = new_result(scenario, unit)
    result.concurrency = size.read_clients
    event = await ctx.seed(
        name,
        [
            TicketTypeSpec(name="standing", capacity=5000),
            TicketTypeSpec(name="seated", capacity=2000, shards=4),
            TicketTypeSpec(name="vip", capacity=100),
        ],
    )
    driven, api_cpu = await drive(
        ctx,
        scenario,
        mode=mode,
        unit=unit,
        concurrency=size.read_clients,
        event=event,
        duration_s=size.read_seconds,
        anonymous=True,
    )
    fill_from_driver(result, driven, api_cpu, until_sold_out=False)
    fill_postgres(result, ctx)
    stock = await ctx.db.stock(list(event.ticket_types.values()))
    result.oversold = stock.oversold
    return result, event


async def reads(ctx: Context, scenario: Scenario) -> ScenarioResult:
    size = ctx.size
    result, event = await _read_load(ctx, scenario, name="Reads", mode="read", unit="reads")
    ctx.progress.update(f"  {scenario.label}: raw baseline (asyncpg)…")
    statements = event_read_sql(event.event_id, list(event.ticket_types.values()))
    await ctx.room_for(raw_pool(size.read_clients))
    baseline = await raw.drive_reads(
        ctx.db.url,
        statements,
        concurrency=size.read_clients,
        pool_size=raw_pool(size.read_clients),
        duration_s=size.raw_seconds,
    )
    fill_raw(result, baseline)
    result.raw["statements"] = len(statements)
    return result


# --- g: the event page (HTML) ---------------------------------------------------------------


async def event_page(ctx: Context, scenario: Scenario) -> ScenarioResult:
    """Browsers opening the shop's event page: e's reads, rendered as the page a buyer sees
    (anonymous, so no session is read or written). The baseline is e's: the adapter's
    SELECTs of the same event, so the ratio shows what the page costs above its data."""
    result, _ = await _read_load(ctx, scenario, name="Event page", mode="page", unit="pages")
    reads = ctx.results.get(Scenario.READS)
    if reads is not None and reads.raw_per_s and result.accepted_per_s is not None:
        result.raw = dict(reads.raw)
        result.raw_per_s = reads.raw_per_s
        result.ratio = round(result.accepted_per_s / reads.raw_per_s, 3)
        result.note = "raw: e's baseline (the same SELECTs)"
    else:
        result.note = "raw: run with e for the baseline"
    return result


# --- f: holds at a fixed offered rate -------------------------------------------------------


async def hold_latency(ctx: Context, scenario: Scenario) -> ScenarioResult:
    size = ctx.size
    result = new_result(scenario, "holds")
    flash = ctx.results.get(Scenario.FLASH_SALE)
    if flash is not None and flash.accepted_per_s:
        rate = round(flash.accepted_per_s / 2, 1)
        origin = "half of a's accepted/s"
    else:
        rate = size.fallback_open_rate
        origin = "a did not run: fixed rate"
    capacity = int(rate * size.open_loop_seconds * 2) + 100
    event = await ctx.seed("Holds at a fixed rate", [TicketTypeSpec(name="api", capacity=capacity)])
    clients = size.flash_buyers
    result.concurrency = clients
    driven, api_cpu = await drive(
        ctx,
        scenario,
        mode="hold",
        unit="holds",
        concurrency=clients,
        event=event,
        ticket_type="api",
        duration_s=size.open_loop_seconds,
        rate_per_s=rate,
    )
    fill_from_driver(result, driven, api_cpu, until_sold_out=False)
    fill_postgres(result, ctx)
    result.extra["offered_per_s"] = rate
    result.extra["late_starts"] = driven.late_starts
    stock = await ctx.db.stock([event.ticket_types["api"]])
    result.oversold = stock.oversold
    result.note = f"open loop at {rate:,.0f} holds/s offered ({origin}); no raw twin"
    return result


# --- d: the whole purchase with Kafka and separate workers ----------------------------------


async def purchase_kafka(ctx: Context, scenario: Scenario, *, stack: KafkaStack) -> ScenarioResult:
    """The purchase against the API in Kafka mode, workers in processes of their own.

    A short warm-up journey on an event of its own runs first and must get its
    e-ticket: that proves the consumer groups have joined before the clock starts.
    """
    try:
        ctx.api = await stack.ready()
        ctx.also_profile = list(stack.workers)
        warm = await ctx.seed("Kafka warm-up", [TicketTypeSpec(name="api", capacity=PLENTY)])
        await drive(
            ctx,
            scenario,
            mode="journey",
            unit="warm-up journeys",
            concurrency=2,
            event=warm,
            ticket_type="api",
            duration_s=0.3,
        )
        warm_result = new_result(scenario, "journeys")
        await settle_etickets(ctx, warm_result, warm, label=f"{scenario.label} warm-up")
        if not warm_result.extra.get("etickets_sent"):
            raise RuntimeError(
                "the warm-up order got no e-ticket within "
                f"{SETTLE_TIMEOUT:.0f} s: the Kafka workers are not delivering"
            )
        cpu_before = stack.worker_cpu_seconds()
        result, event = await purchase(
            ctx, scenario, seconds=ctx.size.kafka_seconds, label="Purchase journey (Kafka)"
        )
        await settle_etickets(ctx, result, event, label=scenario.label)
        cpu_after = stack.worker_cpu_seconds()
        per_op = max(result.accepted or 0, 1)
        result.extra["cpu_ms_per_accepted"].update(
            {
                name: round((cpu_after[name] - cpu_before.get(name, 0.0)) * 1000 / per_op, 2)
                for name in cpu_after
            }
        )
        steady = await etickets_at_fixed_rate(ctx, scenario, closed_loop=result)
        result.extra["at_fixed_rate"] = steady.extra
        result.oversold = (result.oversold or 0) + (steady.oversold or 0)
    finally:
        ctx.api = None
        ctx.also_profile = []
        await stack.stop()
    ctx.progress.update(f"  {scenario.label}: raw baseline (asyncpg)…")
    fill_raw(result, await purchase_raw(ctx, event))
    _note_etickets(result)
    _note_fixed_rate(result)
    return result
