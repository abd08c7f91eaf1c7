"""Suite-wide configuration.

Real components (Kafka, OIDC, Stripe, SMTP) come from ``tests.infra.fixtures``.
Under ``CI=true`` nothing may skip: a skipped test is turned into a failure of
the run, so a missing component can never pass silently.
"""

from __future__ import annotations

import os

import pytest

pytest_plugins = ["tests.infra.fixtures"]

_SKIPPED: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        _SKIPPED.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("CI") == "true" and _SKIPPED:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(
                f"CI=true: {len(_SKIPPED)} test(s) skipped, which CI treats as failure:",
                red=True,
            )
            for nodeid in _SKIPPED:
                reporter.write_line(f"  {nodeid}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
