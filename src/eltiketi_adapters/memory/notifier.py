"""A notifier that keeps what it was asked to send, for assertions."""

from __future__ import annotations

from eltiketi_core.domain.booking import Contact
from eltiketi_core.ports.notifications import PaymentProblemNotice, RefundNotice, TicketsNotice


class NotifierDown(ConnectionError):
    """Raised by :class:`RecordingNotifier` while it is told to fail."""


class RecordingNotifier:
    """Records every notice; ``fail_next(n)`` makes the next ``n`` sends raise."""

    def __init__(self, channel: str = "email") -> None:
        self.channel = channel
        self.tickets: list[TicketsNotice] = []
        self.refunds: list[RefundNotice] = []
        self.payment_problems: list[PaymentProblemNotice] = []
        self.failures = 0
        self._fail = 0

    def accepts(self, contact: Contact) -> bool:
        return bool(contact.phone if self.channel == "sms" else contact.email)

    def fail_next(self, count: int = 1) -> None:
        self._fail = count

    async def send_tickets(self, notice: TicketsNotice) -> None:
        self._maybe_fail()
        self.tickets.append(notice)

    async def send_refund(self, notice: RefundNotice) -> None:
        self._maybe_fail()
        self.refunds.append(notice)

    async def send_payment_problem(self, notice: PaymentProblemNotice) -> None:
        self._maybe_fail()
        self.payment_problems.append(notice)

    def _maybe_fail(self) -> None:
        if self._fail > 0:
            self._fail -= 1
            self.failures += 1
            raise NotifierDown(f"{self.channel} channel is down (test)")
