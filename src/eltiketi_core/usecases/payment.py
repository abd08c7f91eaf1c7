"""Starting a payment for a hold (seed steps 9–10): at most one open payment per booking."""

from __future__ import annotations

from uuid import UUID

import msgspec

from eltiketi_core.domain.booking import Booking, BookingStatus
from eltiketi_core.domain.events import PaymentStarted
from eltiketi_core.domain.identity import Principal
from eltiketi_core.domain.payment import Payment, PaymentStatus
from eltiketi_core.errors import Conflict, DomainError, GatewayUnavailable
from eltiketi_core.ports.clock import Clock, IdGenerator
from eltiketi_core.ports.payments import PaymentGateway
from eltiketi_core.ports.uow import UnitOfWorkFactory
from eltiketi_core.usecases.access import owned
from eltiketi_core.usecases.policy import Policy


class Payments:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        ids: IdGenerator,
        gateway: PaymentGateway,
        policy: Policy,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids
        self._gateway = gateway
        self._policy = policy

    async def start(self, principal: Principal, booking_id: UUID) -> Payment:
        """Open a payment with the gateway, or return the one already open.

        The payment row is written first (the unique open-payment rule picks one
        winner among concurrent calls), the gateway is called outside any
        transaction, and its reference is stored afterwards.
        """
        payment, booking = await self._open_payment(principal, booking_id)
        if payment.provider_reference is not None:
            return payment
        try:
            session = await self._gateway.start(payment, booking, expires_at=booking.expires_at)
        except DomainError:
            await self._give_up(payment)
            raise
        except Exception as exc:
            await self._give_up(payment)
            raise GatewayUnavailable("payment_provider_unavailable", str(exc)) from exc
        started = msgspec.structs.replace(
            payment,
            provider_reference=session.provider_reference,
            checkout_url=session.checkout_url,
            client_secret=session.client_secret,
        )
        async with self._uow() as uow:
            await uow.payments.update(started)
            uow.record(
                PaymentStarted(
                    id=self._ids.new_id(),
                    occurred_at=self._clock.now(),
                    booking_id=booking.id,
                    payment_id=payment.id,
                    provider=payment.provider,
                    amount=payment.amount,
                )
            )
            await uow.commit()
        return started

    async def _open_payment(
        self, principal: Principal, booking_id: UUID
    ) -> tuple[Payment, Booking]:
        now = self._clock.now()
        async with self._uow() as uow:
            found = await uow.bookings.get(booking_id)
            booking = owned(found, found.buyer if found else None, principal, "booking")
            if booking.status is not BookingStatus.HELD or booking.is_expired_at(now):
                state = "expired" if booking.status is BookingStatus.HELD else booking.status
                raise Conflict("booking_not_held", f"the booking is {state}")
            existing = await uow.payments.open_for_booking(booking.id)
            if existing is not None:
                if existing.provider_reference is not None:
                    return existing, booking
                if now - existing.created_at < self._policy.payment_start_stale_after:
                    raise Conflict("payment_starting", "a payment is being started; retry shortly")
                # A start that died between its two transactions: retire it.
                await uow.payments.transition(
                    existing.id, frozenset({PaymentStatus.OPEN}), PaymentStatus.FAILED
                )
            payment = Payment(
                id=self._ids.new_id(),
                booking_id=booking.id,
                buyer=booking.buyer,
                provider=self._gateway.provider,
                amount=booking.total,
                status=PaymentStatus.OPEN,
                created_at=now,
            )
            if not await uow.payments.add(payment):
                raise Conflict("payment_starting", "a payment is being started; retry shortly")
            await uow.commit()
        return payment, booking

    async def _give_up(self, payment: Payment) -> None:
        async with self._uow() as uow:
            await uow.payments.transition(
                payment.id, frozenset({PaymentStatus.OPEN}), PaymentStatus.FAILED
            )
            await uow.commit()
