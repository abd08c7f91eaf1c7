"""Background work: one runner for ``eltiketi serve`` and ``eltiketi worker``.

Everything a process does beside answering requests is a **role** (:mod:`.roles`):
``relay`` (outbox → bus), the consumers ``inventory``, ``notifications``,
``payments``, ``refunds``, and ``sweeper`` (expired holds, pruning) and ``jobs``.
A :class:`~.runner.Runner` takes a list of roles and a **bus**, and runs the same
loops in every mode:

=========================  ==================  =====================================
process                    roles               bus
=========================  ==================  =====================================
``eltiketi serve``         all                 in-process: the relay calls the handlers
``serve`` with Kafka       none                — (the API only commits to the outbox)
``eltiketi worker R…``     R…                  Kafka: a consumer group per consumer role
=========================  ==================  =====================================

The consumers are the bus's business (:mod:`.bus`; :mod:`.inprocess`, :mod:`.kafka`); the runner's own
work is loops (:mod:`.loop`): a period, a backoff after failures that never ends the
loop, an optional wake-up (a commit wakes the relay, a queued job the job loop).
The relay loop (:mod:`.relay`) adds a lease (:mod:`.lease`: the PostgreSQL advisory
lock when relays share Kafka; always held in-process) and paces its looks at the
outbox. The work itself is the core's: ``OutboxRelay``, ``HoldSweeper``,
``Notifications.retry_due``, ``Jobs.run_due``, ``Pruning``.

Stopping is the same everywhere: no new work; each loop finishes the iteration in
hand within the grace period; an in-process runner drains the outbox once more;
then the bus's consumers finish the message in hand.

Which runner a process gets is decided in :mod:`eltiketi_app.ioc.background`;
:mod:`.worker` is the ``eltiketi worker`` process, :mod:`.cli` its commands (and
``dead-letters``), :mod:`.asyncapi` exports ``docs/asyncapi.json``.
"""
