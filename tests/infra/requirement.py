"""What a test does when a real component is missing: skip locally, fail in CI.

Integration tests must never skip silently in CI (``CI=true``): a missing binary, Node.js or an
unreachable npm registry there is a broken pipeline, not a reason to run fewer tests.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


class ComponentUnavailable(RuntimeError):
    """A prerequisite of a component (binary, runtime, package) is missing on this machine."""

    def __init__(self, component: str, reason: str) -> None:
        super().__init__(f"{component}: {reason}")
        self.component = component
        self.reason = reason


def in_ci() -> bool:
    """True when the environment variable ``CI`` is ``true`` (any case)."""
    return os.environ.get("CI", "").strip().lower() == "true"


def require(component: str, reason: str) -> NoReturn:
    """Stop the current test because ``component`` is unavailable.

    Outside CI the test is skipped with ``reason``; with ``CI=true`` it fails instead.
    """
    message = f"{component} is unavailable: {reason}"
    if in_ci():
        pytest.fail(f"{message} (CI=true: integration tests must not skip)", pytrace=False)
    pytest.skip(message)
