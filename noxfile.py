"""Developer tasks. ``nox -s tests`` is what CI runs (through ``.ci/run``)."""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "tests"]

SOURCES = ["src", "tests", "examples", "noxfile.py"]


@nox.session
def tests(session: nox.Session) -> None:
    """The whole suite: unit, contract, API, integration (real components) and end-to-end."""
    session.install("-e", ".[dev]")
    session.run(
        "pytest",
        "-p",
        "no:cacheprovider",
        "--durations=15",
        *session.posargs,
        env={"PYTHONUNBUFFERED": "1"},
    )
    session.run("pytest", "-p", "no:cacheprovider", "-q", "examples/testing_kit")


@nox.session
def lint(session: nox.Session) -> None:
    """ruff, mypy strict, and the layer contracts (core ← adapters ← app)."""
    session.install("-e", ".[dev]")
    session.run("ruff", "check", *SOURCES)
    session.run("ruff", "format", "--check", *SOURCES)
    session.run("mypy")
    session.run("lint-imports")


@nox.session
def docs(session: nox.Session) -> None:
    """Export the OpenAPI document and check every relative link in README and docs/."""
    session.install("-e", ".[app]")
    session.run("python", "tools/check_docs.py")
    session.run(
        "python", "-m", "eltiketi_app.cli", "openapi", "--output", "docs/_build/openapi.json"
    )


@nox.session
def demo(session: nox.Session) -> None:
    """Run the service on embedded defaults with a demo event (Ctrl-C to stop)."""
    session.install("-e", ".[app]")
    session.run("eltiketi", "serve", "--demo", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks against the machine's PostgreSQL; prints a table (see docs/benchmarks.md)."""
    session.install("-e", ".[bench]")
    session.run("eltiketi", "bench", *session.posargs)
