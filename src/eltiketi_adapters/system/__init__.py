"""What the running app takes from the machine: the wall clock.

:class:`SystemClock` implements :class:`~eltiketi_core.ports.Clock` for production; the
OIDC and Stripe adapters default to it. Tests move an
``eltiketi_adapters.memory.FixedClock`` by hand instead.
"""

from eltiketi_adapters.system.clock import SystemClock

__all__ = ["SystemClock"]
