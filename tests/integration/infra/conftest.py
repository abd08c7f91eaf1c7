"""Make the infra fixtures available to these smoke tests when run on their own.

The root ``tests/conftest.py`` registers ``tests.infra.fixtures`` as a plugin; a second
registration (e.g. a star import here) would define every fixture twice, so only register it
when the root conftest has not.
"""

from __future__ import annotations

import pytest

_PLUGIN = "tests.infra.fixtures"


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin(_PLUGIN):
        config.pluginmanager.import_plugin(_PLUGIN)
