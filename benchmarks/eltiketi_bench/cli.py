"""The benchmark's command line: ``eltiketi bench``, ``eltiketi-bench``, ``python -m eltiketi_bench``.

``eltiketi bench`` is the product's thin command that hands over to
:func:`main` when this project is installed. The benchmark's heavier
modules load once the arguments are parsed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from eltiketi_bench.database import DEFAULT_SERVER

EXIT_USAGE = 2


def parser(prog: str) -> argparse.ArgumentParser:
    """The benchmark's options."""
    bench = argparse.ArgumentParser(
        prog=prog,
        description="Benchmark the API against the raw PostgreSQL ceiling (docs/benchmarks.md). "
        "Creates its own database on the PostgreSQL server, starts the API as "
        "separate processes, drives load from a separate process and prints a table. "
        "Scenarios: a flash sale (hot row), b flash sale (sharded), c purchase journey, "
        "d purchase with Kafka, e reads, f holds at a fixed rate, g the shop's event page.",
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
    return bench


def main(argv: Sequence[str] | None = None, prog: str = "eltiketi-bench") -> int:
    """Run the benchmark; exit 1 if a scenario failed or anything was oversold."""
    args = parser(prog).parse_args(argv)
    from eltiketi_bench.profiles import FULL, QUICK, SMOKE, parse_scenarios
    from eltiketi_bench.runner import BenchOptions, exit_status, print_error, run_bench

    try:
        scenarios = parse_scenarios(args.scenarios)
    except ValueError as error:
        print(f"{prog}: {error}", file=sys.stderr, flush=True)
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
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        print_error(error)
        return 1
    return exit_status(report)
