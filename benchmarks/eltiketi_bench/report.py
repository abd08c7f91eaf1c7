"""What a run produces: one :class:`ScenarioResult` per scenario, as a table and as JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import msgspec

Status = Literal["ok", "skipped", "failed"]


class ScenarioResult(msgspec.Struct, kw_only=True):
    """One row of the table. Rates are per second of the measured window.

    ``accepted_per_s`` counts what the scenario is about (holds taken, journeys
    ending in an issued ticket, reads answered 200); ``attempts_per_s`` every
    request or journey started, refusals and errors included. ``oversold`` is
    counted by SQL afterwards (shards with ``held + sold > capacity``) and must
    be 0. ``raw_per_s`` is the adapter's own SQL driven by asyncpg directly.
    """

    scenario: str
    letter: str
    title: str
    status: Status = "ok"
    note: str = ""
    unit: str = ""
    concurrency: int | None = None
    accepted: int | None = None
    attempts: int | None = None
    errors: int | None = None
    elapsed_s: float | None = None
    accepted_per_s: float | None = None
    attempts_per_s: float | None = None
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    oversold: int | None = None
    raw_per_s: float | None = None
    ratio: float | None = None
    raw: dict[str, Any] = msgspec.field(default_factory=dict)
    extra: dict[str, Any] = msgspec.field(default_factory=dict)


class RunReport(msgspec.Struct, kw_only=True):
    run: dict[str, Any]
    scenarios: list[ScenarioResult]


COLUMNS: list[tuple[str, str]] = [
    ("scenario", "scenario"),
    ("concurrency", "conc"),
    ("accepted_per_s", "accepted/s"),
    ("attempts_per_s", "attempts/s"),
    ("p50_ms", "p50 ms"),
    ("p95_ms", "p95 ms"),
    ("p99_ms", "p99 ms"),
    ("oversold", "oversold"),
    ("raw_per_s", "raw/s"),
    ("ratio", "ratio"),
]


def _cell(result: ScenarioResult, field: str) -> str:
    if field == "scenario":
        return result.title
    value = getattr(result, field)
    if value is None:
        return "-"
    if field == "ratio":
        return f"{value:.2f}"
    if isinstance(value, float):
        return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def table(results: list[ScenarioResult], *, markdown: bool = False) -> str:
    """The results as an aligned text table (or a Markdown table), notes underneath."""
    headers = [title for _, title in COLUMNS]
    rows = [[_cell(r, field) for field, _ in COLUMNS] for r in results]
    if markdown:
        lines = ["| " + " | ".join(headers) + " |"]
        lines.append(
            "|" + "|".join(" --- " if i == 0 else " ---: " for i in range(len(headers))) + "|"
        )
        lines += ["| " + " | ".join(row) + " |" for row in rows]
    else:
        widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]

        def line(cells: list[str]) -> str:
            return "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(cells, widths, strict=True))
            )

        lines = [line(headers), "  ".join("-" * w for w in widths), *map(line, rows)]
    notes = [f"{r.letter}: {r.note}" for r in results if r.note]
    if notes:
        lines += ["", *notes]
    return "\n".join(lines)


def write_json(report: RunReport, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(msgspec.json.format(msgspec.json.encode(report), indent=2) + b"\n")
