"""The pytest plugin: fixtures in one line, and harmless where elTiketi is not used."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]


def test_the_fixtures_work_in_another_project(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_other=textwrap.dedent(
            """
            import asyncio

            from eltiketi_adapters.memory import InMemoryTicketing


            def test_fixtures(eltiketi, eltiketi_clock, eltiketi_gateway, eltiketi_notifier,
                              eltiketi_storage, eltiketi_policy):
                assert isinstance(eltiketi, InMemoryTicketing)
                assert eltiketi.clock is eltiketi_clock
                assert eltiketi.gateway is eltiketi_gateway
                assert eltiketi.notifier is eltiketi_notifier
                assert eltiketi.storage is eltiketi_storage
                assert eltiketi.policy is eltiketi_policy

                async def journey():
                    view = await eltiketi.event_on_sale(capacity=2)
                    alice = eltiketi.customer("alice")
                    await eltiketi.buy(alice, view.event.id, {view.ticket_types[0].id: 2})
                    return len(eltiketi_notifier.tickets[0].tickets)

                assert asyncio.run(journey()) == 2


            def test_isolated(eltiketi_storage):
                assert len(eltiketi_storage.events) == 0
            """
        )
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:asyncio")
    result.assert_outcomes(passed=2)


def test_overriding_a_part_changes_the_kit(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        textwrap.dedent(
            """
            from datetime import timedelta

            import pytest

            from eltiketi_core.usecases import Policy


            @pytest.fixture
            def eltiketi_policy():
                return Policy(hold_ttl=timedelta(minutes=2))
            """
        )
    )
    pytester.makepyfile(
        "def test_policy(eltiketi):\n    assert eltiketi.policy.hold_ttl.total_seconds() == 120\n"
    )
    pytester.runpytest("-p", "no:cacheprovider", "-p", "no:asyncio").assert_outcomes(passed=1)


def test_loading_the_plugin_needs_no_extra() -> None:
    """pytest loads the plugin in every run: it may import the core and the in-memory
    adapters (msgspec only) but no extra, no other adapter and not the app."""
    code = textwrap.dedent(
        """
        import sys
        import eltiketi_adapters.memory.pytest_plugin
        loaded = sorted(
            m for m in sys.modules
            if m.split(".")[0] in {"polyfactory", "faker", "eltiketi_app", "sqlalchemy", "litestar"}
            or m.startswith("eltiketi_adapters.")
            and not m.startswith("eltiketi_adapters.memory")
            or m == "eltiketi_adapters.memory.factories"
        )
        print(loaded)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_the_kit_works_without_polyfactory() -> None:
    """``pip install eltiketi`` (msgspec only): the adapters import, the factories do not."""
    code = textwrap.dedent(
        """
        import sys
        sys.modules["polyfactory"] = None  # as if it were not installed
        import eltiketi_adapters.memory as kit
        assert kit.InMemoryTicketing
        try:
            import eltiketi_adapters.memory.factories
        except ImportError:
            print("factories need polyfactory")
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "factories need polyfactory"


def test_the_other_team_example_passes() -> None:
    """``examples/testing_kit`` is documentation that runs: keep it green."""
    root = Path(__file__).resolve().parents[4]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "examples/testing_kit", "-q", "-p", "no:cacheprovider"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "5 passed" in done.stdout
