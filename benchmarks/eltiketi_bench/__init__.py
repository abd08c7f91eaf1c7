"""elTiketi's benchmark: how close the product gets to what PostgreSQL itself can do here.

Not part of the ``eltiketi`` package: a project of its own in the repository's
``benchmarks/`` folder (a uv workspace member), run by ``nox -s bench`` or
``eltiketi bench``.

One run creates a throw-away PostgreSQL database, migrates it with the SQL
adapter, starts the API as separate server processes, mints a dev token per
buyer, drives load from a separate client process, and measures, per
scenario, the raw ceiling: the adapter's own reservation (or read) SQL driven
straight through asyncpg with a pool as large as the API's. The ratio of the
two survives a noisy machine; absolute figures do not.

Modules: :mod:`~eltiketi_bench.cli` (the command line), :mod:`.runner`
(orchestration), :mod:`.scenarios`, :mod:`.driver` (the load process),
:mod:`.raw` (the asyncpg baseline), :mod:`.services` (server, broker and worker
processes), :mod:`.database`, :mod:`.report`. See ``docs/benchmarks.md``.
"""
