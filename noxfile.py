"""Developer tasks. ``nox -s tests`` is what CI runs (through ``.ci/run``).

Every session but ``tests_latest`` installs exactly what ``uv.lock`` pins
(``uv sync --locked``: a lock that no longer matches ``pyproject.toml`` fails
the session instead of resolving something new). ``tests_latest`` resolves the
newest releases ``pyproject.toml`` allows, so drift shows up there first.
"""

from __future__ import annotations

import nox

nox.needs_version = ">=2024.4"
nox.options.default_venv_backend = "uv"
nox.options.sessions = ["lint", "tests"]

SOURCES = ["src", "tests", "examples", "benchmarks", "noxfile.py", "tools"]


def install_locked(session: nox.Session, *extras: str, groups: tuple[str, ...] = ()) -> None:
    """Install the project, the given extras and dependency groups at the versions in
    ``uv.lock``."""
    session.run_install(
        "uv",
        "sync",
        "--locked",
        "--inexact",
        *(f"--extra={extra}" for extra in extras),
        *(f"--group={group}" for group in groups),
        env={"UV_PROJECT_ENVIRONMENT": session.virtualenv.location},
        external=True,
    )


@nox.session
def tests(session: nox.Session) -> None:
    """The whole suite: unit, contract, API, integration (real components), browser and e2e."""
    session.run("bash", "tools/system-packages.sh", external=True)
    install_locked(session, "dev", groups=("bench",))
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
def tests_latest(session: nox.Session) -> None:
    """Unit and contract tests on the newest releases ``pyproject.toml`` allows (no lock).

    Not part of CI: it tells us a dependency's new release will break a user
    before the lock is moved to it.
    """
    session.install("--upgrade", "-e", ".[dev]", "-e", "./benchmarks")
    session.run("uv", "pip", "list", external=True, silent=False)
    session.run(
        "pytest",
        "-p",
        "no:cacheprovider",
        "tests/unit",
        "tests/contract",
        *session.posargs,
        env={"PYTHONUNBUFFERED": "1"},
    )


@nox.session
def lint(session: nox.Session) -> None:
    """ruff, mypy strict, and the layer contracts (core ← adapters ← app)."""
    install_locked(session, "dev", groups=("bench",))
    session.run("ruff", "check", *SOURCES)
    session.run("ruff", "format", "--check", *SOURCES)
    session.run("mypy")
    session.run("lint-imports")


@nox.session
def lock(session: nox.Session) -> None:
    """Move ``uv.lock`` to the newest releases ``pyproject.toml`` allows (``-- --upgrade-package X`` for one)."""
    args = session.posargs or ["--upgrade"]
    session.run("uv", "lock", *args, external=True)


@nox.session
def docs(session: nox.Session) -> None:
    """Export the OpenAPI document and check every relative link in README and docs/."""
    install_locked(session, "app")
    session.run("python", "tools/check_docs.py")
    session.run(
        "python", "-m", "eltiketi_app.cli", "openapi", "--output", "docs/_build/openapi.json"
    )


@nox.session
def demo(session: nox.Session) -> None:
    """Run the service on embedded defaults with a demo event (Ctrl-C to stop)."""
    install_locked(session, "app")
    session.run("eltiketi", "serve", "--demo", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks against the machine's PostgreSQL; prints a table (see docs/benchmarks.md).

    The benchmark is the workspace member in ``benchmarks/`` (not in the wheel);
    the ``bench`` dependency group installs it from the same ``uv.lock``.
    """
    install_locked(session, groups=("bench",))
    session.run("eltiketi", "bench", *session.posargs)
