"""One benchmark run, start to finish: database, processes, scenarios, table, JSON, clean-up."""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import msgspec

from eltiketi_bench import scenarios as sc
from eltiketi_bench.database import DEFAULT_SERVER, BenchDatabase
from eltiketi_bench.driver import CLIENT_NAME
from eltiketi_bench.loadrun import ProgressLine
from eltiketi_bench.profiles import (
    API_POOL_PER_PROCESS,
    API_PROCESSES,
    RAW_POOL,
    Scenario,
    Size,
)
from eltiketi_bench.report import RunReport, ScenarioResult, table, write_json
from eltiketi_bench.seed import mint_tokens
from eltiketi_bench.services import ApiServers, KafkaStack, kafka_missing

#: Connections this run may open at once (API pools + Kafka workers' pools + a few).
PLANNED_CONNECTIONS = 2 * API_PROCESSES * API_POOL_PER_PROCESS + 8
#: Max tickets per buyer for the run: buyers loop, so the per-buyer limit must not stop them.
BUYER_LIMIT = 1_000_000
#: Rate limits for the run: every simulated buyer loops on one token from 127.0.0.1, so
#: the limits are set out of reach rather than off (the limiter's cost is still measured).
BENCH_RATE_LIMIT = "1000000/minute"


class BenchOptions(msgspec.Struct, kw_only=True):
    size: Size
    scenarios: list[Scenario]
    json_path: Path | None = None
    server: str = DEFAULT_SERVER
    keep: bool = False
    profile: bool = False


def _version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "absent"


def _machine() -> dict[str, Any]:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return {
        "cpus": os.cpu_count(),
        "load_average_1m_at_start": round(load[0], 2),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }


def base_env(db: BenchDatabase, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ELTIKETI_")}
    env.update(
        ELTIKETI_MODE="embedded",
        ELTIKETI_DATA_DIR=str(data_dir),
        ELTIKETI_DATABASE_URL=db.sqlalchemy_url,
        ELTIKETI_MAX_TICKETS_PER_BUYER=str(BUYER_LIMIT),
        **{
            f"ELTIKETI_RATE_LIMIT_{name}": BENCH_RATE_LIMIT
            for name in ("HOLD", "RELEASE", "PAYMENT", "RESEND", "PER_ADDRESS")
        },
        PYTHONUNBUFFERED="1",
    )
    return env


async def run_bench(options: BenchOptions, progress: ProgressLine | None = None) -> RunReport:
    """Run the chosen scenarios; always drops the database and stops every process."""
    say = progress or ProgressLine()
    size = options.size
    started = time.perf_counter()
    db = BenchDatabase(options.server)
    seen = await db.connections_in_use()
    if seen.used + PLANNED_CONNECTIONS > seen.limit:
        say.say(
            f"note: PostgreSQL has {seen.used} of {seen.limit} connections in use; this run "
            f"opens up to {PLANNED_CONNECTIONS} more and waits for room when it needs them"
        )
    workdir = Path(tempfile.mkdtemp(prefix="eltiketi-bench-"))
    data_dir = workdir / "data"
    say.say(f"elTiketi bench ({size.name}): database {db.name}, logs in {workdir}")
    pg_version = await db.create()
    run_info: dict[str, Any] = {
        "size": size.name,
        "scenarios": [s.value for s in options.scenarios],
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": _machine(),
        "postgres": pg_version,
        "api": {
            "server": f"uvicorn {_version('uvicorn')}",
            "processes": API_PROCESSES,
            "processes_in_kafka_mode": size.kafka_api_processes,
            "kafka_workers": 1 if size.kafka_one_worker else 2,
            "workers_per_process": 1,
            "pool_per_process": API_POOL_PER_PROCESS,
            "event_loop": "uvloop" if _version("uvloop") != "absent" else "asyncio",
            "http": "httptools" if _version("httptools") != "absent" else "h11",
            "log_level": "INFO (one JSON access line per request, to a file)",
        },
        "raw_pool": RAW_POOL,
        "load_generator": f"{CLIENT_NAME}, one separate process, one client per buyer",
    }
    ctx = sc.Context(
        size=size,
        db=db,
        workdir=workdir,
        data_dir=data_dir,
        tokens=[],
        progress=say,
        profile=options.profile,
    )
    failed = False
    kafka: KafkaStack | None = None
    try:
        buyers = max(size.flash_buyers, size.purchase_buyers)
        ctx.tokens = mint_tokens(data_dir, buyers)
        env = base_env(db, data_dir)
        ctx.env = env
        in_process = [s for s in options.scenarios if s is not Scenario.PURCHASE_KAFKA]
        if Scenario.PURCHASE_KAFKA in options.scenarios:
            if (missing := kafka_missing()) is not None:
                ctx.results[Scenario.PURCHASE_KAFKA] = _skipped(Scenario.PURCHASE_KAFKA, missing)
            else:
                kafka = KafkaStack(
                    env=env,
                    log_dir=workdir,
                    api_processes=size.kafka_api_processes,
                    one_worker=size.kafka_one_worker,
                )
                if size.overlap_startup:
                    # smoke: bring the Kafka side up while the other scenarios run
                    kafka.start_soon()
        if in_process:
            ctx.api = ApiServers(API_PROCESSES, env=env, log_dir=workdir, tag="inproc")
            say.say(f"starting {API_PROCESSES} API processes (in-process bus)…")
            try:
                await db.wait_for_headroom(API_PROCESSES * API_POOL_PER_PROCESS, say=say.update)
                await ctx.api.start()
                for scenario in in_process:
                    ctx.results[scenario] = await _one(ctx, scenario, _runner_for(scenario))
            finally:
                await ctx.api.stop()
                ctx.api = None
        if kafka is not None:
            await db.wait_for_headroom(PLANNED_CONNECTIONS, say=say.update)
            say.say("starting the Kafka broker, API processes in Kafka mode and workers…")
            stack = kafka
            ctx.results[Scenario.PURCHASE_KAFKA] = await _one(
                ctx,
                Scenario.PURCHASE_KAFKA,
                lambda c, s: sc.purchase_kafka(c, s, stack=stack),
            )
    except BaseException:
        failed = True
        raise
    finally:
        if kafka is not None:
            await kafka.stop()
        with contextlib.suppress(Exception):
            await db.drop()
        if (
            options.keep
            or options.profile
            or failed
            or any(r.status == "failed" for r in ctx.results.values())
        ):
            say.say(f"logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    results = [ctx.results[s] for s in Scenario if s in ctx.results]
    run_info["duration_s"] = round(time.perf_counter() - started, 1)
    report = RunReport(run=run_info, scenarios=results)
    say.say("")
    print(table(results), flush=True)  # the result itself: stdout; progress went to stderr
    if options.json_path is not None:
        write_json(report, options.json_path)
        say.say(f"wrote {options.json_path}")
    return report


Runner = Callable[[sc.Context, Scenario], Awaitable[ScenarioResult]]


def _runner_for(scenario: Scenario) -> Runner:
    size_shards = {
        Scenario.FLASH_SALE: lambda ctx, s: sc.flash_sale(ctx, s, shards=1),
        Scenario.FLASH_SALE_SHARDED: lambda ctx, s: sc.flash_sale(ctx, s, shards=ctx.size.shards),
        Scenario.PURCHASE: sc.purchase_in_process,
        Scenario.READS: sc.reads,
        Scenario.HOLD_LATENCY: sc.hold_latency,
        Scenario.EVENT_PAGE: sc.event_page,
        Scenario.FLASH_SALE_UNGROUPED: sc.flash_sale_ungrouped,
    }
    return size_shards[scenario]  # type: ignore[return-value]


async def _one(ctx: sc.Context, scenario: Scenario, runner: Runner) -> ScenarioResult:
    ctx.progress.say(f"{scenario.label} …")
    began = time.perf_counter()
    before = await ctx.db.connections_in_use()
    try:
        result = await runner(ctx, scenario)
    except Exception as error:
        (ctx.workdir / f"error-{scenario.value}.txt").write_text(traceback.format_exc())
        result = sc.new_result(scenario, "")
        result.status = "failed"
        result.note = f"failed: {type(error).__name__}: {str(error).splitlines()[0][:200]}"
    result.extra["scenario_wall_s"] = round(time.perf_counter() - began, 1)
    result.extra["pg_connections_of_others_at_start"] = before.others
    ctx.progress.say(f"{scenario.label}: {_summary(result)}")
    return result


def _summary(result: ScenarioResult) -> str:
    if result.status != "ok":
        return result.note
    parts = [f"{result.accepted_per_s:,.0f} {result.unit}/s", f"p99 {result.p99_ms} ms"]
    if result.raw_per_s is not None:
        parts.append(f"raw {result.raw_per_s:,.0f}/s")
    if result.ratio is not None:
        parts.append(f"ratio {result.ratio:.2f}")
    parts.append(f"oversold {result.oversold}")
    return ", ".join(parts)


def _skipped(scenario: Scenario, why: str) -> ScenarioResult:
    result = sc.new_result(scenario, "journeys")
    result.status = "skipped"
    result.note = f"skipped: {why}"
    return result


def exit_status(report: RunReport) -> int:
    """0 when every scenario ran (or was skipped with a reason) and nothing was oversold."""
    bad = [
        r
        for r in report.scenarios
        if r.status == "failed" or (r.oversold is not None and r.oversold > 0)
    ]
    return 1 if bad else 0


def print_error(error: BaseException) -> None:
    print(f"eltiketi bench: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
