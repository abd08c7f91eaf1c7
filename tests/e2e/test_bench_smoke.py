"""``eltiketi bench --smoke`` end to end: the harness must not rot (no speed is asserted).

The benchmark is the ``benchmarks/`` project (``eltiketi_bench``), which ``[dev]``
installs; the product's thin ``eltiketi bench`` command hands over to it. This
runs that command as a subprocess against the machine's PostgreSQL:
its own database, two API processes, the load driver process, the raw
asyncpg baseline, and Kafka (tansu) with a worker process for scenario d.
The smoke size keeps the whole run near 30 s on two busy cores; most of that
is the start-up of six Python processes, none of it is asserted.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.infra.requirement import require

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.kafka, pytest.mark.slow]

FIELDS = (
    "scenario",
    "concurrency",
    "accepted_per_s",
    "attempts_per_s",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "oversold",
    "raw_per_s",
    "ratio",
)
LETTERS = ["a", "b", "c", "d", "e", "f", "g", "h"]
WITH_BASELINE = {"a", "b", "c", "d", "e", "g", "h"}


def _postgres_problem() -> str | None:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=3):
            return None
    except OSError as error:
        return f"127.0.0.1:5432 unreachable ({error})"


@pytest.fixture(scope="module")
def smoke_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    problem = _postgres_problem()
    if problem is not None:
        require("postgresql", problem)
    out = tmp_path_factory.mktemp("bench") / "smoke.json"
    completed = subprocess.run(
        [sys.executable, "-m", "eltiketi_app.cli", "bench", "--smoke", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    assert "accepted/s" in completed.stdout  # the table is printed
    report: dict[str, Any] = json.loads(Path(out).read_text())
    return report


def _by_letter(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["letter"]: row for row in report["scenarios"]}


def test_every_scenario_reports_every_field(smoke_report: dict[str, Any]) -> None:
    rows = _by_letter(smoke_report)
    assert sorted(rows) == LETTERS
    for letter, row in rows.items():
        missing = [f for f in FIELDS if f not in row]
        assert not missing, f"{letter} lacks {missing}"
        if row["status"] == "skipped":
            continue
        assert row["status"] == "ok", f"{letter}: {row['note']}"
        assert row["accepted"] > 0, letter
        assert row["accepted_per_s"] > 0, letter
        assert row["p50_ms"] <= row["p95_ms"] <= row["p99_ms"], letter
        cpu = row["extra"]["cpu_ms_per_accepted"]
        assert cpu["load_driver"] > 0, letter  # the driver measured its own CPU
        assert cpu["api"] > 0, letter
        if letter in WITH_BASELINE:
            assert row["raw_per_s"] > 0, letter
            assert row["ratio"] == pytest.approx(
                row["accepted_per_s"] / row["raw_per_s"], abs=0.001
            )
    assert smoke_report["run"]["size"] == "smoke"


def test_nothing_is_oversold_and_stock_adds_up(smoke_report: dict[str, Any]) -> None:
    rows = _by_letter(smoke_report)
    for letter, row in rows.items():
        if row["status"] == "ok":
            assert row["oversold"] == 0, letter
    for letter in ("a", "b", "h"):
        flash = rows[letter]
        assert flash["extra"]["sold_out"], f"{letter} did not sell out"
        assert flash["extra"]["stock_matches_accepted"], flash["extra"]["stock"]
        assert flash["raw"]["sold_out"], f"{letter}: the baseline did not sell out"


def test_flash_sales_report_how_holds_were_grouped(smoke_report: dict[str, Any]) -> None:
    rows = _by_letter(smoke_report)
    grouped = rows["a"]["extra"]["hold_batches"]
    assert grouped["holds"] == rows["a"]["attempts"]  # every hold went through a batch
    assert grouped["batches"] <= grouped["holds"]
    alone = rows["h"]["extra"]["hold_batches"]
    assert alone["batches"] == alone["holds"] == rows["h"]["attempts"]  # one hold each
    assert alone["by_size"] == {"1": alone["batches"]}


def test_purchases_issue_tickets_and_send_them(smoke_report: dict[str, Any]) -> None:
    rows = _by_letter(smoke_report)
    for letter in ("c", "d"):
        row = rows[letter]
        if row["status"] == "skipped":
            require("kafka", row["note"])
        assert row["errors"] == 0, row["extra"].get("error_samples")
        assert row["extra"]["orders"] >= row["accepted"] > 0
        assert row["extra"]["etickets_sent"] == row["extra"]["orders"], letter


def test_d_also_measures_e_tickets_at_a_fixed_rate(smoke_report: dict[str, Any]) -> None:
    d = _by_letter(smoke_report)["d"]
    if d["status"] == "skipped":
        require("kafka", d["note"])
    steady = d["extra"]["at_fixed_rate"]
    assert steady["offered_per_s"] == pytest.approx(d["accepted_per_s"] / 2, abs=0.1)
    assert steady["errors"] == 0, steady.get("error_samples")
    assert steady["orders"] >= steady["journeys"] > 0
    assert steady["etickets_sent"] == steady["orders"]
    assert steady["eticket_after_confirm_ms"]["p99"] is not None
    assert "journeys/s offered" in d["note"]
