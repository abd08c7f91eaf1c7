"""Starting a payment for a hold (seed steps 9–10): at most one open payment per booking,
and never a second payable one.

Before a new payment is opened, the booking's earlier unfinished payments (a failed one
can still be paid at Stripe) are cancelled at the gateway; if one of them turns out to have
succeeded, it is settled instead and no new payment is opened.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from eltiketi_core.domain.booking import Booking, BookingStatus
from eltiketi_core.domain.events import PaymentStarted
from eltiketi_core.domain.identity import Principal
from eltiketi_core.domain.payment import Payment, PaymentStatus
from eltiketi_core.errors import Conflict, DomainError, GatewayUnavailable, NotFound
from eltiketi_core.ports.payments import GatewayPaymentStatus, PaymentGateway
from eltiketi_core.ports.uow import UnitOfWork
from eltiketi_core.usecases.access import owned
from eltiketi_core.usecases.core_ports import CorePorts, UseCase
from eltiketi_core.usecases.policy import Policy
from eltiketi_core.usecases.settlement import Settlement


class Payments(UseCase):
    def __init__(
        self, ports: CorePorts, gateway: PaymentGateway, policy: Policy, *, settlement: Settlement
    ) -> None:
        super().__init__(ports)
        self._gateway = gateway
        self._policy = policy
        self._settlement = settlement

    async def start(self, principal: Principal, booking_id: UUID) -> Payment:
        """Open a payment with the gateway, or return the one already open.

        Earlier failed payments of the booking are cancelled at the gateway first. If one
        of them had succeeded after all, it is settled and returned (status ``succeeded``:
        confirm with it) instead of opening a new one; ``409 payment_in_progress`` while the
        gateway is still processing one.

        The payment row is written first (the unique open-payment rule picks one
        winner among concurrent calls), the gateway is called outside any
        transaction, and its reference is stored afterwards.
        """
        now = self._clock.now()
        async with self._uow() as uow:
            booking, payments = await self._payable(uow, principal, booking_id, now)
            earlier = _retirable(payments)
            opened = None if earlier else await self._open(uow, booking, payments, now)
        if opened is None:
            for unfinished in earlier:
                outcome = await self._settlement.retire(unfinished, booking)
                if outcome is GatewayPaymentStatus.SUCCEEDED:
                    return await self._reread(unfinished.id)
                if outcome is GatewayPaymentStatus.PENDING:
                    raise Conflict(
                        "payment_in_progress",
                        "an earlier payment of this booking is still being processed; "
                        "retry shortly",
                    )
            now = self._clock.now()
            async with self._uow() as uow:
                booking, payments = await self._payable(uow, principal, booking_id, now)
                opened = await self._open(uow, booking, payments, now)
        payment = opened
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
            current = await uow.bookings.get(booking.id)
            await uow.commit()
        if current is None or current.status is not BookingStatus.HELD:
            # The hold ended while the gateway was creating the payment, and the hold's
            # end found no reference to cancel: retire it now, or the buyer could pay it.
            await self._settlement.retire(started, booking)
            raise Conflict("booking_not_held", "the booking ended while the payment was started")
        return started

    @staticmethod
    async def _payable(
        uow: UnitOfWork, principal: Principal, booking_id: UUID, now: datetime
    ) -> tuple[Booking, list[Payment]]:
        """The booking (checked to be the caller's live, paying hold) and its payments."""
        found = await uow.bookings.get(booking_id)
        booking = owned(found, found.buyer if found else None, principal, "booking")
        _check_payable(booking, now)
        return booking, await uow.payments.for_booking(booking.id)

    async def _reread(self, payment_id: UUID) -> Payment:
        async with self._uow() as uow:
            payment = await uow.payments.get(payment_id)
        if payment is None:  # pragma: no cover - payments are never deleted
            raise NotFound("payment_not_found", "no such payment")
        return payment

    async def _open(
        self, uow: UnitOfWork, booking: Booking, payments: list[Payment], now: datetime
    ) -> Payment:
        """The booking's open payment if it has its reference, else a new one (committed).

        ``payments`` are the booking's, read in ``uow``; the unique open-payment rule still
        decides between concurrent starts (``payment_starting`` for the loser).
        """
        existing = next((p for p in payments if p.status is PaymentStatus.OPEN), None)
        if existing is not None:
            if existing.provider_reference is not None:
                return existing
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
        return payment

    async def _give_up(self, payment: Payment) -> None:
        async with self._uow() as uow:
            await uow.payments.transition(
                payment.id, frozenset({PaymentStatus.OPEN}), PaymentStatus.FAILED
            )
            await uow.commit()


def _retirable(payments: list[Payment]) -> list[Payment]:
    """Failed payments the gateway could still take money for: cancelled there first."""
    return [
        p for p in payments if p.status is PaymentStatus.FAILED and p.provider_reference is not None
    ]


def _check_payable(booking: Booking, now: datetime) -> None:
    if booking.status is not BookingStatus.HELD or booking.is_expired_at(now):
        state = "expired" if booking.status is BookingStatus.HELD else booking.status
        raise Conflict("booking_not_held", f"the booking is {state}")
    if booking.total.amount == 0:
        raise Conflict(
            "payment_not_required",
            "the booking is free: confirm it with POST /v1/orders without a payment_id",
        )
