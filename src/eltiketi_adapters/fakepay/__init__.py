"""The fake payment provider of the embedded server, shared by its processes.

:class:`SharedFakePaymentGateway` is the testing kit's
:class:`~eltiketi_adapters.memory.FakePaymentGateway` with its payments in a file
(``<data dir>/fake-payments.json``), so they survive a restart and the API processes
and ``eltiketi worker`` see the same ones. No extra needed (stdlib and msgspec).
"""

from eltiketi_adapters.fakepay.gateway import SharedFakePaymentGateway
from eltiketi_adapters.fakepay.journal import PaymentJournal

__all__ = ["PaymentJournal", "SharedFakePaymentGateway"]
