"""A booking with two payable payments, as versions before issue 13 left some.

``Payments.start`` used to open a new payment while the booking's declined one was still
payable at the gateway (Stripe lets a declined PaymentIntent be paid later). Today's core
retires the declined one first, so tests that need two payments succeeding for one booking
— the state bookings made before the upgrade may be in — make the second one as the old
code did, through the ports: a payment row, then the gateway's ``start``.
"""

from __future__ import annotations

import msgspec

from eltiketi_core.domain.booking import Booking
from eltiketi_core.domain.payment import Payment, PaymentStatus
from eltiketi_core.ports.clock import Clock, IdGenerator
from eltiketi_core.ports.payments import PaymentGateway
from eltiketi_core.ports.uow import UnitOfWorkFactory


async def open_second_payment(
    uow: UnitOfWorkFactory,
    gateway: PaymentGateway,
    ids: IdGenerator,
    clock: Clock,
    booking: Booking,
) -> Payment:
    """Open a payment for ``booking`` next to its failed one, leaving that one untouched."""
    payment = Payment(
        id=ids.new_id(),
        booking_id=booking.id,
        buyer=booking.buyer,
        provider=gateway.provider,
        amount=booking.total,
        status=PaymentStatus.OPEN,
        created_at=clock.now(),
    )
    async with uow() as tx:
        assert await tx.payments.add(payment), "the booking already has an open payment"
        await tx.commit()
    session = await gateway.start(payment, booking, expires_at=booking.expires_at)
    started = msgspec.structs.replace(
        payment,
        provider_reference=session.provider_reference,
        checkout_url=session.checkout_url,
        client_secret=session.client_secret,
    )
    async with uow() as tx:
        await tx.payments.update(started)
        await tx.commit()
    return started
