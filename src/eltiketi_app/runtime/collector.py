"""Keeping Python's cyclic garbage collector off the request path.

A full (generation-2) collection walks every object the collector tracks. In a
server process that is mostly what lives as long as the process: modules, the
app and its routes, the container, prebuilt SQL statements — about 130,000
objects once the app is built, and a full pass over them took ~80 ms here,
during which every request in flight waits. Such passes come every few seconds
under load, and they showed as p99 spikes of 50–350 ms in the open-loop hold
benchmark. Freezing what exists once start-up is done leaves the collector
only the objects made since.

Frozen objects are never freed, so this is for processes that build one app and
serve it until they exit (``eltiketi serve``, workers, the bench's servers), not
for test suites that build hundreds.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)


def freeze_startup_objects() -> int:
    """Collect once, then move every surviving object out of the collector's reach.

    Returns the number of frozen objects (for the start-up log).
    """
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.debug("start-up objects frozen", extra={"objects": frozen})
    return frozen
