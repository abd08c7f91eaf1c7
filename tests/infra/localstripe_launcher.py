"""Run localstripe on 127.0.0.1:<port> with no pickle file. Test-only; a separate process.

localstripe is GPL: it is only ever run as this subprocess, never imported by elTiketi's code.
Upstream binds all interfaces and writes ``/tmp/localstripe.pickle`` after every write (so
parallel instances clobber each other); this launcher binds loopback and keeps state in memory.

Usage: python localstripe_launcher.py <port>
"""

from __future__ import annotations

import logging
import sys


def main() -> None:
    port = int(sys.argv[1])
    import localstripe.resources

    localstripe.resources.store.dump_to_disk = lambda: None
    from aiohttp import web
    from localstripe.server import app

    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    web.run_app(
        app,
        host="127.0.0.1",
        port=port,
        print=lambda *_: print(f"LOCALSTRIPE READY {port}", flush=True),
        access_log=None,
    )


if __name__ == "__main__":
    main()
