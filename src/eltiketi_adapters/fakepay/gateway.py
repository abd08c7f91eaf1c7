"""The fake gateway of the embedded server: its payments in a file that processes share."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from eltiketi_adapters.fakepay.journal import PaymentJournal
from eltiketi_adapters.memory.gateway import DEFAULT_PUBLIC_URL, FakePayment, FakePaymentGateway

log = logging.getLogger(__name__)


class SharedFakePaymentGateway(FakePaymentGateway):
    """A :class:`~eltiketi_adapters.memory.FakePaymentGateway` whose payments live in
    ``state_file`` (a :class:`~eltiketi_adapters.fakepay.journal.PaymentJournal`).

    Every change is appended to the file; opening replays and compacts it, and so does
    :meth:`close`, so an embedded server keeps its payments over a restart. Every call
    first reads, under an advisory file lock, what other processes using the same file
    appended since its last look, so an API process, a second API worker and an
    ``eltiketi worker`` sharing a data folder see the same payments.
    """

    def __init__(
        self,
        *,
        state_file: Path,
        public_url: str = DEFAULT_PUBLIC_URL,
        webhook_secret: str | bytes = "fake-webhook-secret",
    ) -> None:
        super().__init__(public_url=public_url, webhook_secret=webhook_secret)
        self._journal: PaymentJournal | None = PaymentJournal(state_file)
        with self._journal.locked():
            self._apply(*self._journal.news())
            self._journal.compact(self._payments)

    def close(self) -> None:
        """Compact the state file and release it (idempotent)."""
        with self._lock:
            journal, self._journal = self._journal, None
            if journal is None:
                return
            try:
                with journal.locked():
                    self._apply(*journal.news())
                    journal.compact(self._payments)
            finally:
                journal.close()

    @contextmanager
    def _synced(self) -> Iterator[None]:
        """This process's lock, then the file lock and other processes' news."""
        with self._lock:
            journal = self._journal
            if journal is None:
                yield
                return
            with journal.locked():
                self._apply(*journal.news())
                yield

    def _save(self, payment: FakePayment) -> None:
        if self._journal is not None:
            self._journal.append(payment)

    def _apply(self, complete: bool, records: list[FakePayment]) -> None:
        """Take records read from the journal; ``complete``: they are the whole state."""
        if complete:
            known = set(self._payments)
            seen = {r.reference for r in records}
            if not known <= seen:
                # Not written by any process: the file was lost or replaced by hand.
                log.warning(
                    "fake gateway state file lost payments; keeping this process's copy",
                    extra={"missing": len(known - seen)},
                )
        for record in records:
            if record.reference not in self._payments:
                self.started.append(record.reference)
            self._payments[record.reference] = record
            if record.payment_id is not None:
                self._by_payment[record.payment_id] = record.reference
