"""Domain errors. Each carries a stable ``code`` that clients can switch on.

The core does not know HTTP; each error family says what kind of failure it
is, and the app maps the family to a status code (see ``eltiketi_app.http.problems``).
Subclass a family rather than adding a new one, so the mapping stays complete.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """Base of every error the core raises on purpose."""

    kind: ClassVar[str] = "invalid"
    default_code: ClassVar[str] = "domain_error"

    def __init__(self, code: str | None = None, detail: str = "", **extra: Any) -> None:
        self.code = code or self.default_code
        self.detail = detail or self.code.replace("_", " ")
        self.extra = extra
        super().__init__(f"{self.code}: {self.detail}")


class ValidationFailed(DomainError):
    """A well-formed request breaks a rule (quantity, currency, limits) — HTTP 422."""

    kind = "unprocessable"
    default_code = "validation_failed"


class NotFound(DomainError):
    """Unknown id, or an id that belongs to someone else — HTTP 404."""

    kind = "not_found"
    default_code = "not_found"


class Forbidden(DomainError):
    """Authenticated, but lacks the role or the ownership — HTTP 403."""

    kind = "forbidden"
    default_code = "forbidden"


class Unauthenticated(DomainError):
    """No token, or a token we do not accept — HTTP 401."""

    kind = "unauthenticated"
    default_code = "invalid_token"


class Conflict(DomainError):
    """The request is valid but the current state forbids it — HTTP 409."""

    kind = "conflict"
    default_code = "conflict"


class SoldOut(Conflict):
    default_code = "sold_out"


class PaymentIncomplete(DomainError):
    """The gateway has not (yet) taken the money — HTTP 402."""

    kind = "payment_required"
    default_code = "payment_incomplete"


class PaymentMismatch(Conflict):
    """The gateway's payment is for another booking, amount or currency."""

    default_code = "payment_mismatch"


class PaymentRefunded(Conflict):
    """The payment took money that cannot buy this booking; it is being refunded in full."""

    default_code = "payment_refunded"


class HoldLostRefunded(PaymentRefunded):
    """Money arrived after the hold expired and the stock was gone (or the event was
    cancelled): refunded."""

    default_code = "hold_lost_refunded"


class DuplicatePaymentRefunded(PaymentRefunded):
    """The booking's order was paid by another payment: this one is refunded (extra
    ``order_id``: the booking's order)."""

    default_code = "duplicate_payment_refunded"


class AlreadyCheckedIn(Conflict):
    default_code = "already_checked_in"


class TicketUsed(Conflict):
    """An order with a checked-in ticket cannot be cancelled: the ticket was used."""

    default_code = "ticket_used"


class ContactRequired(ValidationFailed):
    """A booking with nowhere to send its tickets (no usable e-mail or phone)."""

    default_code = "contact_required"


class InvalidContact(ValidationFailed):
    """A contact e-mail or phone number that is not well formed; ``field`` names it."""

    default_code = "invalid_contact"


class TicketVoid(DomainError):
    """A ticket whose order was refunded or cancelled — HTTP 410."""

    kind = "gone"
    default_code = "ticket_void"


class InvitationGone(DomainError):
    """An invitation that can no longer be accepted (expired or revoked) — HTTP 410."""

    kind = "gone"
    default_code = "invitation_expired"


class WrongEvent(ValidationFailed):
    default_code = "wrong_event"


class InvalidTicket(DomainError):
    """A ticket token that fails signature, key or format checks — HTTP 400."""

    kind = "bad_request"
    default_code = "invalid_ticket"


class RateLimited(DomainError):
    """Too many requests of one kind — HTTP 429; ``retry_after`` (seconds) becomes
    the ``Retry-After`` header."""

    kind = "rate_limited"
    default_code = "rate_limited"


class HoldCooldown(RateLimited):
    """The buyer ended several holds for this event unpaid and must wait before the
    next one, so the stock goes to other buyers first."""

    default_code = "hold_cooldown"


class GatewayUnavailable(DomainError):
    """An external system (payment provider, mail) failed; safe to retry — HTTP 503."""

    kind = "unavailable"
    default_code = "gateway_unavailable"


class WebhookRejected(DomainError):
    """A webhook whose signature, timestamp or body does not verify — HTTP 400."""

    kind = "bad_request"
    default_code = "invalid_signature"


class InventoryInvariantError(RuntimeError):
    """A stock change would break ``0 <= held, sold`` and ``held + sold <= capacity``,
    give back stock a booking never took, or did not happen although it had to (the
    rows were locked by this transaction).

    Raised by every :class:`~eltiketi_core.ports.InventoryStore` adapter alike. It is a
    bug in the caller or the adapter, not a business outcome, so it is no
    :class:`DomainError`: nothing maps it to a client answer.
    """
