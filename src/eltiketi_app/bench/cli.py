"""The ``bench`` subcommand of ``eltiketi`` (registered by ``eltiketi_app.cli``).

Kept light: argparse only; the benchmark's modules load when it runs.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eltiketi_app.settings import Settings

EXIT_USAGE = 2
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def add_commands(commands: Any) -> None:
    """Declare ``bench`` on the ``eltiketi`` subparsers."""
    bench = commands.add_parser(
        "bench",
        help="benchmark the API against the raw PostgreSQL ceiling (docs/benchmarks.md)",
        description="Creates its own database on the PostgreSQL server, starts the API as "
        "separate processes, drives load from a separate process and prints a table. "
        "Scenarios: a flash sale (hot row), b flash sale (sharded), c purchase journey, "
        "d purchase with Kafka, e reads, f holds at a fixed rate.",
    )
    sizes = bench.add_mutually_exclusive_group()
    sizes.add_argument("--quick", action="store_true", help="every scenario, under two minutes")
    sizes.add_argument("--smoke", action="store_true", help="tiny sizes (the test suite's run)")
    bench.add_argument("--json", type=Path, metavar="PATH", help="also write the results here")
    bench.add_argument(
        "--scenarios", metavar="LIST", help="comma-separated letters or names (default: all)"
    )
    bench.add_argument(
        "--server",
        default=DEFAULT_SERVER,
        metavar="URL",
        help=f"PostgreSQL server to create the run's database on (default {DEFAULT_SERVER})",
    )
    bench.add_argument(
        "--keep", action="store_true", help="keep the run's folder (logs, plans) afterwards"
    )
    bench.add_argument(
        "--profile",
        action="store_true",
        help="record each API process with py-spy during each scenario (collapsed stacks "
        "in the kept run folder; needs py-spy)",
    )


def bench_command(settings: Settings, args: argparse.Namespace) -> int:
    """Run the benchmark; exit 1 if a scenario failed or anything was oversold."""
    del settings  # the bench configures the processes it starts itself
    from eltiketi_app.bench.profiles import FULL, QUICK, SMOKE, parse_scenarios
    from eltiketi_app.bench.runner import BenchOptions, exit_status, print_error, run_bench

    try:
        scenarios = parse_scenarios(args.scenarios)
    except ValueError as error:
        print(f"eltiketi bench: {error}", flush=True)
        return EXIT_USAGE
    size = SMOKE if args.smoke else QUICK if args.quick else FULL
    options = BenchOptions(
        size=size,
        scenarios=scenarios,
        json_path=args.json,
        server=args.server,
        keep=args.keep,
        profile=args.profile,
    )
    try:
        report = asyncio.run(run_bench(options))
    except Exception as error:
        print_error(error)
        return 1
    return exit_status(report)


COMMANDS: dict[str, Callable[[Settings, argparse.Namespace], int]] = {"bench": bench_command}
