"""Worker processes: the Kafka side of the service (``eltiketi worker <role>…``).

* :mod:`~eltiketi_app.workers.process` — roles (relay, inventory, notifications,
  payments, refunds, sweeper), assembly from the app's container, graceful stop;
* :mod:`~eltiketi_app.workers.relay` and :mod:`~eltiketi_app.workers.lease` — the
  outbox relay loop under a PostgreSQL advisory-lock lease;
* :mod:`~eltiketi_app.workers.api` — the API's provider for Kafka mode (no loops);
* :mod:`~eltiketi_app.workers.cli` — ``worker`` and ``dead-letters`` subcommands;
* :mod:`~eltiketi_app.workers.asyncapi` — exports ``docs/asyncapi.json``.
"""
