"""Every problem ``code`` a page can meet, as a sentence a buyer understands — in one place.

The pages never show an API's ``detail``; they look the code up here and print the
code itself only in small print, for support. Codes that other work adds to the
core (rate limits, contact validation, …) only need a line here to read well.
"""

from __future__ import annotations

from eltiketi_app.web.i18n import N_, Lang

#: ``code`` → (title, sentence). Both are translated when shown.
PROBLEMS: dict[str, tuple[str, str]] = {
    "not_found": (N_("Page not found"), N_("We could not find that page. It may have moved.")),
    "event_not_found": (
        N_("Event not found"),
        N_("This event does not exist or is not on sale."),
    ),
    "booking_not_found": (
        N_("Reservation not found"),
        N_("We could not find this reservation in your account."),
    ),
    "order_not_found": (
        N_("Order not found"),
        N_("We could not find this order in your account."),
    ),
    "ticket_not_found": (N_("Ticket not found"), N_("We could not find this ticket.")),
    "forbidden": (N_("Not allowed"), N_("Your account may not open this page.")),
    "csrf_failed": (
        N_("This form has expired"),
        N_(
            "For your safety we could not accept this form. Go back, reload the page and try again."
        ),
    ),
    "link_invalid": (
        N_("This link does not work"),
        N_(
            "The link is incomplete or was changed. Open it again from your e-mail or text message."
        ),
    ),
    "link_expired": (
        N_("This link has expired"),
        N_("Ticket links stop working a day after the event. Log in to see your orders."),
    ),
    "link_revoked": (
        N_("These tickets are no longer valid"),
        N_("The order was cancelled or refunded, so its tickets cannot be used."),
    ),
    "rate_limited": (
        N_("Please slow down"),
        N_("You have done this too often in a short time. Wait a moment and try again."),
    ),
    "resend_rate_limited": (
        N_("Already sent"),
        N_("We sent your tickets a moment ago. Wait a minute before asking again."),
    ),
    "sold_out": (
        N_("Sold out"),
        N_("Sorry, there are not enough tickets left for your selection."),
    ),
    "sales_closed": (N_("Sales closed"), N_("Ticket sales for this event have ended.")),
    "sales_not_open": (N_("Not on sale yet"), N_("Ticket sales for this event have not started.")),
    "event_cancelled": (N_("Event cancelled"), N_("This event has been cancelled.")),
    "quantity_above_limit": (
        N_("Too many tickets"),
        N_("You chose more tickets of one kind than one order may have."),
    ),
    "buyer_limit_exceeded": (
        N_("Ticket limit reached"),
        N_("You already hold or bought the most tickets one person may have for this event."),
    ),
    "no_items": (N_("Choose tickets"), N_("Choose at least one ticket.")),
    "booking_expired": (
        N_("Reservation expired"),
        N_("Your reservation expired and the tickets went back on sale."),
    ),
    "booking_not_held": (
        N_("Reservation ended"),
        N_("This reservation is no longer held, so it cannot be changed or paid."),
    ),
    "booking_confirmed": (N_("Already paid"), N_("This reservation is already an order.")),
    "payment_starting": (
        N_("Payment starting"),
        N_("Your payment is being set up. Try again in a few seconds."),
    ),
    "payment_incomplete": (
        N_("Payment not complete"),
        N_("We have not received your payment yet."),
    ),
    "payment_provider_unavailable": (
        N_("Payments are unavailable"),
        N_("We could not reach the payment provider. Your tickets stay held; try again shortly."),
    ),
    "hold_lost_refunded": (
        N_("Payment refunded"),
        N_(
            "Your payment arrived after the reservation ended and the tickets were gone. We refunded it in full."
        ),
    ),
    "duplicate_payment_refunded": (
        N_("Payment refunded"),
        N_(
            "This reservation was already paid with another payment, so we refunded this one in full."
        ),
    ),
    "payment_refunded": (
        N_("Payment refunded"),
        N_("This payment was refunded in full; it cannot pay for the reservation."),
    ),
    "payment_in_progress": (
        N_("Payment in progress"),
        N_("Your earlier payment is still being processed. Try again in a few minutes."),
    ),
    "payment_not_required": (
        N_("Nothing to pay"),
        N_("These tickets are free: confirm the reservation to get them."),
    ),
    "cancellation_closed": (
        N_("Cancellation closed"),
        N_("Orders can no longer be cancelled this close to the event."),
    ),
    "order_refunded": (N_("Order cancelled"), N_("This order has been cancelled and refunded.")),
    "ticket_used": (
        N_("Ticket already used"),
        N_("A ticket of this order has been scanned at the door, so it cannot be cancelled."),
    ),
    "contact_required": (
        N_("Where should we send the tickets?"),
        N_("Enter an e-mail address or a phone number."),
    ),
    "invalid_contact": (
        N_("Check the contact details"),
        N_("Enter a valid e-mail address or phone number."),
    ),
    "holders_mismatch": (
        N_("Check the names"),
        N_("Enter one name for each ticket."),
    ),
    "invalid_holder": (
        N_("Check the names"),
        N_("Enter a name of at most 100 letters, without special characters."),
    ),
    "idempotency_in_flight": (
        N_("Still working"),
        N_("Your reservation is still being made. Wait a moment and reload the page."),
    ),
    "login_unavailable": (
        N_("Signing in is not available"),
        N_("This server has no sign-in configured yet."),
    ),
    "login_cancelled": (
        N_("You are not signed in"),
        N_("Signing in was cancelled or did not work. You can try again."),
    ),
    "login_expired": (
        N_("Signing in took too long"),
        N_("This sign-in link is no longer valid. Sign in again from the page you were on."),
    ),
    "login_refused": (
        N_("Signing in did not work"),
        N_("The sign-in service did not accept this sign-in. Please sign in again."),
    ),
    "identity_provider_unavailable": (
        N_("Signing in is not available right now"),
        N_("We could not reach the sign-in service. Please try again in a moment."),
    ),
    "details_saved": (
        N_("Saved"),
        N_("We will print these names on the tickets and send them to these contact details."),
    ),
    "payment_declined": (
        N_("Your payment was declined"),
        N_("No money was taken. Your tickets are still held: you can try again."),
    ),
    "payment_cancelled": (
        N_("Payment cancelled"),
        N_("No money was taken. Your tickets are still held until the timer runs out."),
    ),
    "payment_method_unavailable": (
        N_("Paying on this page is not available yet"),
        N_("This server takes card payments on a payment page only."),
    ),
    "tickets_sent": (N_("Tickets sent"), N_("We sent your tickets again. Check your inbox.")),
    "order_cancelled": (
        N_("Order cancelled"),
        N_("Your tickets are cancelled and the refund is on its way."),
    ),
    # -- the back office (organizers) ---------------------------------------------------
    "missing_role": (
        N_("Not allowed"),
        N_("Your role in this organization does not allow this. Ask an owner if you need it."),
    ),
    "organization_not_found": (
        N_("Organization not found"),
        N_("This organization does not exist, or you are not a member of it."),
    ),
    "member_not_found": (N_("Member not found"), N_("This person is not a member any more.")),
    "job_not_found": (N_("Not found"), N_("We could not find this cancellation.")),
    "ticket_type_not_found": (
        N_("Ticket type not found"),
        N_("This ticket type does not belong to this event."),
    ),
    "last_owner": (
        N_("An organization needs an owner"),
        N_(
            "This is the last owner, so they cannot be removed or given another role. "
            "Make someone else an owner first."
        ),
    ),
    "already_member": (
        N_("Already a member"),
        N_("This person is already a member of the organization."),
    ),
    "invitation_not_found": (
        N_("This invitation link does not work"),
        N_("The link is incomplete or was changed. Open it again from the invitation e-mail."),
    ),
    "invitation_expired": (
        N_("This invitation has expired"),
        N_("Invitations work for a limited time. Ask the organization for a new one."),
    ),
    "invitation_revoked": (
        N_("This invitation was withdrawn"),
        N_("The organization withdrew it. Ask them for a new one if you still need it."),
    ),
    "invitation_used": (
        N_("This invitation was used already"),
        N_("An invitation works once, and this one has been accepted."),
    ),
    "invitation_email_mismatch": (
        N_("This invitation is for another e-mail address"),
        N_(
            "You are signed in with another address than the invited one. Sign out, then sign "
            "in with the address the invitation was sent to."
        ),
    ),
    "email_not_verified": (
        N_("Your e-mail address is not verified"),
        N_(
            "Your account has not confirmed that this e-mail address is yours. Confirm it "
            "(look for the e-mail from the sign-in service), sign in again and retry."
        ),
    ),
    "no_ticket_types": (
        N_("No ticket types yet"),
        N_("Add at least one ticket type before you publish the event."),
    ),
    "event_has_bookings": (
        N_("People have booked this event"),
        N_(
            "An event that has been booked stays published. Edit it, or cancel it, which "
            "refunds everyone."
        ),
    ),
    "order_not_confirmed": (
        N_("This order is not confirmed"),
        N_("A refunded order has no tickets to send."),
    ),
    "order_changed": (
        N_("The order changed meanwhile"),
        N_("Someone else changed this order a moment ago. Look at it again before you act."),
    ),
    "organization_created": (
        N_("Organization created"),
        N_("You are its owner. Create its first event, then invite your team."),
    ),
    "joined": (N_("Welcome to the team"), N_("You are now a member of this organization.")),
    "event_created": (
        N_("Event created"),
        N_("It is a draft. Add its ticket types, then publish it."),
    ),
    "event_saved": (N_("Saved"), N_("Buyers see the changes at once.")),
    "published": (N_("Published"), N_("The event is on sale: buyers can see and book it.")),
    "unpublished": (N_("Back to draft"), N_("Buyers cannot see the event any more.")),
    "type_added": (N_("Ticket type added"), N_("It is on sale once the event is published.")),
    "type_saved": (N_("Ticket type saved"), N_("New reservations follow the changes.")),
    "refund_done": (
        N_("Order refunded"),
        N_("The money goes back to the buyer, the tickets no longer work, and the buyer is told."),
    ),
    "tickets_resent": (N_("Tickets sent"), N_("The e-tickets went to the buyer again.")),
    "role_changed": (N_("Role changed"), N_("It applies from their next click on.")),
    "member_removed": (N_("Member removed"), N_("They lost access at once.")),
    "invited": (
        N_("Invitation sent"),
        N_("They get an e-mail with a link to join. You can withdraw it until they accept."),
    ),
    "invitation_revoked_done": (
        N_("Invitation withdrawn"),
        N_("Its link no longer works."),
    ),
    "resend_rate_limited_organizer": (
        N_("Already sent"),
        N_("The tickets were sent a moment ago. Wait a minute before sending them again."),
    ),
    "internal_error": (
        N_("Something went wrong"),
        N_("Something went wrong on our side. Please try again in a moment."),
    ),
}

_GENERIC = (N_("Something went wrong"), N_("We could not do that. Please try again."))


def problem_text(code: str, lang: Lang) -> tuple[str, str]:
    """The translated title and sentence for ``code`` (a generic pair for unknown codes)."""
    title, sentence = PROBLEMS.get(code, _GENERIC)
    return lang.gettext(title), lang.gettext(sentence)
