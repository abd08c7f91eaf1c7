"""A notifier that keeps what it was asked to send, for assertions."""

from __future__ import annotations

from eltiketi_core.domain.booking import Contact
from eltiketi_core.ports.notifications import (
    InvitationNotice,
    PaymentProblemNotice,
    RefundNotice,
    TicketsNotice,
)

Notice = TicketsNotice | RefundNotice | PaymentProblemNotice | InvitationNotice


class NotifierDown(ConnectionError):
    """Raised by :class:`RecordingNotifier` while it is told to fail."""


class RecordingNotifier:
    """Records every notice it is given (implements :class:`~eltiketi_core.ports.Notifier`).

    ``tickets``, ``refunds``, ``payment_problems`` and ``invitations`` hold the
    notices of each kind, ``sent`` all of them in order. ``fail_next(n)`` makes the next ``n``
    sends raise :class:`NotifierDown` (and record nothing), to test retries.

    Args:
        channel: ``"email"`` (reaches contacts with an email) or ``"sms"``
            (contacts with a phone); another name behaves like ``"email"``.
    """

    def __init__(self, channel: str = "email") -> None:
        self.channel = channel
        self.tickets: list[TicketsNotice] = []
        self.refunds: list[RefundNotice] = []
        self.payment_problems: list[PaymentProblemNotice] = []
        self.invitations: list[InvitationNotice] = []
        self.sent: list[Notice] = []
        #: How many sends were refused because of :meth:`fail_next`.
        self.failures = 0
        self._fail = 0
        self._error: Exception | None = None

    def accepts(self, contact: Contact) -> bool:
        return bool(contact.phone if self.channel == "sms" else contact.email)

    def fail_next(self, count: int = 1, *, error: Exception | None = None) -> None:
        """Make the next ``count`` sends raise ``error`` (default :class:`NotifierDown`)."""
        if count < 0:
            raise ValueError("count cannot be negative")
        self._fail = count
        self._error = error

    def clear(self) -> None:
        """Forget what was sent (not the pending failures)."""
        self.tickets.clear()
        self.refunds.clear()
        self.payment_problems.clear()
        self.invitations.clear()
        self.sent.clear()

    async def send_tickets(self, notice: TicketsNotice) -> None:
        self._maybe_fail()
        self.tickets.append(notice)
        self.sent.append(notice)

    async def send_refund(self, notice: RefundNotice) -> None:
        self._maybe_fail()
        self.refunds.append(notice)
        self.sent.append(notice)

    async def send_payment_problem(self, notice: PaymentProblemNotice) -> None:
        self._maybe_fail()
        self.payment_problems.append(notice)
        self.sent.append(notice)

    async def send_invitation(self, notice: InvitationNotice) -> None:
        self._maybe_fail()
        self.invitations.append(notice)
        self.sent.append(notice)

    def _maybe_fail(self) -> None:
        if self._fail > 0:
            self._fail -= 1
            self.failures += 1
            raise self._error or NotifierDown(f"{self.channel} channel is down (test)")

    def __repr__(self) -> str:
        return (
            f"RecordingNotifier({self.channel!r}: {len(self.tickets)} tickets, "
            f"{len(self.refunds)} refunds, {len(self.payment_problems)} payment problems)"
        )
