"""Every problem ``code`` the REST API can answer, with its status and what it means.

This is the contract's list: ``docs/rest.md`` shows the same table (a test compares
them), and a route declares the codes it can answer by naming them here
(:func:`eltiketi_app.http.openapi.can_answer`), so the OpenAPI document lists, per
route and status, exactly these codes. A code that is not in this list cannot be
declared: add it here (and to ``docs/rest.md``) first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple


class ProblemCode(NamedTuple):
    """One ``code``: the HTTP status it comes with and, for people, when it happens."""

    status: int
    code: str
    when: str


#: Codes that stand for a family: ``stripe_<Stripe's error code>``.
STRIPE_REFUSAL_PREFIX = "stripe_"


def _rows(*rows: tuple[int, tuple[str, ...], str]) -> dict[str, ProblemCode]:
    catalog: dict[str, ProblemCode] = {}
    for status, codes, when in rows:
        for code in codes:
            if code in catalog:
                raise ValueError(f"problem code {code!r} is listed twice")
            catalog[code] = ProblemCode(status, code, when)
    return catalog


#: The checks a bearer token can fail, each answered with its own code (401).
TOKEN_CHECKS: tuple[str, ...] = (
    "invalid_token",
    "malformed_token",
    "bad_signature",
    "unknown_key",
    "unsupported_algorithm",
    "wrong_issuer",
    "wrong_audience",
    "wrong_token_type",
    "token_expired",
    "token_not_yet_valid",
    "token_inactive",
)

CATALOG: Mapping[str, ProblemCode] = _rows(
    (
        400,
        ("malformed_request",),
        "the body is not JSON, a field has the wrong type or is out of its documented range, "
        "a required field is missing or an unknown one is present, or a query parameter is "
        "malformed or out of range",
    ),
    (400, ("invalid_ticket",), "a check-in token that is not a ticket signed by one of our keys"),
    (400, ("invalid_signature", "invalid_payload"), "a webhook that does not verify"),
    (
        401,
        ("missing_token",),
        "no `Authorization` header on a route that needs one",
    ),
    (
        401,
        TOKEN_CHECKS,
        "the token was refused; the code says which check failed (a dev token in production "
        "is `wrong_issuer`)",
    ),
    (401, ("metrics_token_required",), "`/metrics` without its `ELTIKETI_METRICS_TOKEN`"),
    (
        402,
        ("payment_incomplete",),
        "the gateway has not taken the money (not started, pending, or declined)",
    ),
    (
        403,
        ("missing_role",),
        "the realm role `organizer` is needed (a new organization, or an event in a personal "
        "one), or your role in the organization is not enough (`required_role`: `owner` or "
        "`manager`)",
    ),
    (
        403,
        ("invitation_email_mismatch",),
        "accepting an invitation signed in with another e-mail address than the invited one",
    ),
    (
        403,
        ("email_not_verified",),
        "accepting an invitation with an address the identity provider has not verified",
    ),
    (404, ("not_found",), "no such route"),
    (
        404,
        (
            "event_not_found",
            "booking_not_found",
            "order_not_found",
            "ticket_not_found",
            "payment_not_found",
            "job_not_found",
        ),
        "unknown id, or not yours (an event of an organization you are not a member of)",
    ),
    (
        404,
        ("organization_not_found", "member_not_found", "invitation_not_found"),
        "unknown, or of an organization you are not a member of; an invitation link that is "
        "tampered with or not ours",
    ),
    (
        404,
        ("ticket_type_not_found",),
        "`PATCH …/ticket-types/{type_id}`: the type is not one of this event's",
    ),
    (404, ("unknown_provider",), "a webhook for a payment provider this server does not use"),
    (
        404,
        ("link_invalid",),
        "`GET /v1/ticket-links/{link}`: not a link this server signed (or changed)",
    ),
    (405, ("method_not_allowed",), "the route exists, the method does not"),
    (409, ("sold_out",), "not enough tickets left of a ticket type"),
    (
        409,
        ("idempotency_in_flight",),
        "a request with the same `Idempotency-Key` is still running",
    ),
    (
        409,
        ("booking_not_held", "booking_expired", "booking_confirmed"),
        "the booking is no longer a hold",
    ),
    (409, ("payment_starting",), "a payment for this booking is being started; retry shortly"),
    (
        409,
        ("payment_in_progress",),
        "an earlier payment of this booking is still being processed by the provider (it "
        "cannot be cancelled yet); retry shortly",
    ),
    (
        409,
        ("payment_not_required",),
        "the booking is free: confirm it with `POST /v1/orders` without `payment_id`",
    ),
    (
        409,
        ("payment_mismatch",),
        "the gateway's payment is for another booking, amount or currency",
    ),
    (
        409,
        ("hold_lost_refunded",),
        "the money arrived after the hold expired and the tickets were gone (or the event was "
        "cancelled): it is being refunded. Asking again (or the webhook again) answers the "
        "same: a refunded payment never becomes an order",
    ),
    (
        409,
        ("duplicate_payment_refunded",),
        "the booking's order was paid by another payment (`order_id`): this payment is being "
        "refunded in full",
    ),
    (
        409,
        ("payment_refunded",),
        "the payment was refunded for another reason; it cannot confirm the booking",
    ),
    (409, ("payment_decided",), "the fake checkout page: this payment was already decided"),
    (409, ("already_checked_in",), "the ticket was scanned before (`first_checked_in_at`)"),
    (
        409,
        ("ticket_used",),
        "cancelling an order with a checked-in ticket (`checked_in`: how many); nothing is "
        "refunded. A scan and a cancellation at the same moment never both succeed",
    ),
    (
        409,
        ("event_cancelled", "sales_closed"),
        "the event is cancelled, or has started, or the ticket type's sale window has ended "
        "(`sales_end`)",
    ),
    (
        409,
        ("sales_not_open",),
        "the ticket type's sale window has not opened yet (`sales_start`)",
    ),
    (409, ("capacity_below_sold",), "a capacity below what is held and sold (`minimum`)"),
    (409, ("currency_locked",), "changing the currency of an event that has ticket types"),
    (
        409,
        ("event_has_bookings",),
        "unpublishing an event that has been booked (cancel it instead)",
    ),
    (409, ("cancellation_closed",), "too close to the event to cancel"),
    (409, ("last_owner",), "demoting or removing the only owner of an organization"),
    (
        409,
        ("already_member",),
        "adding (or accepting an invitation for) someone who is a member already",
    ),
    (409, ("invitation_used",), "the invitation was accepted already (single use)"),
    (
        409,
        ("order_not_confirmed", "order_changed", "settlement_contended"),
        "the order changed meanwhile; read it again",
    ),
    (
        409,
        ("constraint_violation",),
        "the request conflicts with something stored meanwhile; read again and retry",
    ),
    (
        409,
        ("stripe_refused", "stripe_<code>", "stripe_checkout_without_url"),
        "Stripe refused the request; `stripe_<code>` carries Stripe's own error code after the "
        "prefix (e.g. `stripe_amount_too_small`)",
    ),
    (410, ("ticket_void",), "the ticket's order was refunded or cancelled"),
    (
        410,
        ("invitation_expired", "invitation_revoked"),
        "the invitation's time is up (`ELTIKETI_INVITATION_TTL_HOURS`), or its owner withdrew it",
    ),
    (
        410,
        ("link_expired", "link_revoked"),
        "a ticket link past its time (a day after the event started), or of an order cancelled "
        "or refunded",
    ),
    (
        413,
        ("request_too_large",),
        "the body is larger than the route accepts (256 KiB; 1 MB for webhooks)",
    ),
    (
        415,
        ("unsupported_media_type",),
        "a JSON route was sent a body that is not `application/json`",
    ),
    (
        422,
        ("invalid_quantity", "no_items", "duplicate_ticket_type", "unknown_ticket_type"),
        "a booking request that makes no sense",
    ),
    (422, ("quantity_above_limit",), "more than the ticket type's `max_per_booking` (`limit`)"),
    (
        422,
        ("buyer_limit_exceeded",),
        "more than `ELTIKETI_MAX_TICKETS_PER_BUYER` active tickets for one event (`limit`)",
    ),
    (
        422,
        ("idempotency_key_reused", "invalid_idempotency_key"),
        "the key was used with another body, or is empty / longer than 255",
    ),
    (
        422,
        ("currency_mismatch", "invalid_currency"),
        "a price not in the event's currency, or not an ISO 4217 code",
    ),
    (
        422,
        (
            "invalid_name",
            "invalid_venue",
            "description_too_long",
            "invalid_capacity",
            "invalid_limit",
            "invalid_price",
            "invalid_shards",
            "invalid_timezone",
            "naive_datetime",
            "invalid_sale_window",
            "no_ticket_types",
        ),
        "catalogue rules",
    ),
    (
        422,
        ("invalid_hours", "invalid_query"),
        "a dashboard window outside 1–168 hours, a search text over 320 characters (the REST "
        "routes check these bounds first and answer `400 malformed_request`; the codes are "
        "the core's, for embedders)",
    ),
    (422, ("amount_not_positive",), "Stripe cannot take a payment of zero"),
    (422, ("wrong_event",), "the ticket is for another event than the one being scanned"),
    (422, ("no_contact",), "the order has no e-mail or phone to send tickets to"),
    (
        422,
        ("contact_required",),
        "a booking with no `contact` and no usable e-mail or phone in the token, or a "
        "`PATCH /v1/bookings/{id}` that leaves neither",
    ),
    (
        422,
        ("invalid_contact",),
        "`contact.email` or `contact.phone` is not well formed, too long, or contains control "
        "characters; `field` (`email` or `phone`) names it, `reason` says why",
    ),
    (
        422,
        ("holders_mismatch", "invalid_holder", "nothing_to_change"),
        "`PATCH /v1/bookings/{id}`: not one name per ticket (`expected`), a name over 100 "
        "characters or with control characters (`index`), or neither `contact` nor `holders` "
        "given",
    ),
    (422, ("invalid_locale",), "`POST /v1/bookings`: `locale` is not a language tag"),
    (
        422,
        ("invalid_subject", "invalid_token_request"),
        "`POST /dev/token` with an empty `sub`, or a role, e-mail or phone it cannot use; a "
        "member `subject` that is blank",
    ),
    (422, ("invalid_email",), "an invitation to something that is not one plain e-mail address"),
    (
        422,
        ("payment_required",),
        "`POST /v1/orders` without `payment_id` for a booking that costs money",
    ),
    (
        429,
        ("resend_rate_limited",),
        "e-tickets were sent or asked for a moment ago, or are being sent (`Retry-After`)",
    ),
    (
        429,
        ("rate_limited",),
        "too many requests from this account or address (`bucket`, `limit`, `retry_after`, "
        "`Retry-After`); see [Rate limits](#rate-limits)",
    ),
    (
        429,
        ("hold_cooldown",),
        "this account released or let expire several holds for this event lately; it may "
        "hold it again at `until` (`Retry-After`)",
    ),
    (
        499,
        ("client_closed_request",),
        "never sent: the access log's code for a client that went away before its body "
        "arrived (a client abort, not a server error)",
    ),
    (
        500,
        ("internal_error",),
        "a bug: the answer carries `request_id`, and the log line with the same id has the details",
    ),
    (
        503,
        (
            "database_unavailable",
            "database_busy",
            "identity_provider_unavailable",
            "payment_provider_unavailable",
            "stripe_unavailable",
            "stripe_misconfigured",
            "gateway_unavailable",
            "not_ready",
        ),
        "an external system did not answer; safe to retry (the log line with the answer's "
        "`X-Request-ID` says what failed)",
    ),
)


def catalogued(code: str) -> ProblemCode:
    """The catalogue entry of ``code``; ``stripe_<code>`` codes share one entry."""
    found = CATALOG.get(code)
    if found is None and code.startswith(STRIPE_REFUSAL_PREFIX):
        found = CATALOG[STRIPE_REFUSAL_PREFIX + "<code>"]
    if found is None:
        raise KeyError(f"problem code {code!r} is not in eltiketi_app.http.problem_catalog")
    return found


def by_status(codes: Iterable[str]) -> dict[int, list[ProblemCode]]:
    """``codes`` grouped by their status, each group in the catalogue's order."""
    wanted = {catalogued(code).code for code in codes}
    grouped: dict[int, list[ProblemCode]] = {}
    for entry in CATALOG.values():
        if entry.code in wanted:
            grouped.setdefault(entry.status, []).append(entry)
    return dict(sorted(grouped.items()))


# --- groups routes declare together ---------------------------------------------------------

#: A bearer token was sent and refused, or the identity provider could not be asked.
TOKEN_REFUSED: tuple[str, ...] = (*TOKEN_CHECKS, "identity_provider_unavailable")
#: A route that needs a token: the refusals above, and no token at all.
TOKEN_REQUIRED: tuple[str, ...] = ("missing_token", *TOKEN_REFUSED)
#: The database could not answer (PostgreSQL down, a lock or statement timeout).
STORAGE: tuple[str, ...] = ("database_unavailable", "database_busy")
#: A route that writes: the database, and a uniqueness rule another request won meanwhile.
WRITES: tuple[str, ...] = (*STORAGE, "constraint_violation")
#: A JSON request body: malformed, too large, or not JSON at all.
JSON_BODY: tuple[str, ...] = ("malformed_request", "request_too_large", "unsupported_media_type")
#: A form body (``application/x-www-form-urlencoded``).
FORM_BODY: tuple[str, ...] = ("malformed_request", "request_too_large")
#: The payment provider was asked and failed or refused.
PAYMENT_PROVIDER: tuple[str, ...] = (
    "payment_provider_unavailable",
    "stripe_unavailable",
    "stripe_misconfigured",
    "stripe_refused",
    "stripe_<code>",
    "gateway_unavailable",
)
