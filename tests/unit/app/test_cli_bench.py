"""``eltiketi bench``: a thin command in front of the benchmark, a project outside the package."""

from __future__ import annotations

import subprocess
import sys

import pytest

from eltiketi_app.cli import main


def test_the_command_line_loads_no_benchmark_code() -> None:
    probe = (
        "import sys, eltiketi_app.cli; "
        "print(sorted(m for m in sys.modules if m.startswith(('eltiketi_bench', 'eltiketi_app.bench'))))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert loaded.stdout.strip() == "[]"


def test_without_the_benchmark_it_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "eltiketi_bench", None)  # as if not installed
    monkeypatch.delitem(sys.modules, "eltiketi_bench.cli", raising=False)

    status = main(["bench", "--smoke"])

    assert status == 2
    said = capsys.readouterr().err
    assert "not installed" in said
    assert "benchmarks/" in said
    assert "nox -s bench" in said
    assert "uv sync --locked --group bench" in said


def test_it_hands_its_options_to_the_benchmark(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["bench", "--scenarios", "z"])  # refused by the benchmark before it starts

    assert status == 2
    assert "eltiketi bench: unknown scenario 'z'" in capsys.readouterr().err


def test_its_help_is_the_benchmarks(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["bench", "--help"])

    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: eltiketi bench ")
    assert "--smoke" in out
