"""The fake gateway's checkout page (embedded mode only): ``/dev/pay/{reference}``.

A person opens the ``checkout_url`` and clicks Pay or Decline; a script posts the
same form (``outcome=pay`` or ``outcome=decline``). Either way the fake gateway
decides the payment and its signed webhook is delivered to the settlement use
case, exactly as a real provider's callback would be. The answer is a redirect
back to the page, which then shows the outcome.
"""

from __future__ import annotations

from html import escape
from typing import Literal

import msgspec
from dishka.integrations.litestar import FromDishka, inject
from litestar import Response, Router, get, post
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect

from eltiketi_adapters.memory import FakePayment, FakePaymentGateway
from eltiketi_app.http.openapi import can_answer
from eltiketi_app.http.problem_catalog import WRITES
from eltiketi_app.http.security import PAGE_POLICY, page_policy
from eltiketi_core.errors import Conflict
from eltiketi_core.ports.payments import GatewayPaymentStatus, WebhookKind
from eltiketi_core.usecases.settlement import Settlement

SHOP = "shop"
_DECIDES = {
    "pay": (GatewayPaymentStatus.SUCCEEDED, WebhookKind.PAYMENT_SUCCEEDED),
    "decline": (GatewayPaymentStatus.FAILED, WebhookKind.PAYMENT_FAILED),
}


class PayForm(msgspec.Struct):
    outcome: Literal["pay", "decline"]
    #: ``shop``: the page was opened from the shop's hold page; go back there after.
    back: str = ""


#: The page styles itself with one inline ``style`` attribute; it runs no script.
PAY_PAGE_POLICY = PAGE_POLICY.extend(style_src=["'unsafe-inline'"])


@can_answer("payment_not_found")
@get(
    "/pay/{reference:str}",
    summary="The fake checkout page",
    media_type="text/html",
    opt=page_policy(PAY_PAGE_POLICY),
)
@inject
async def pay_page(
    reference: FromPath[str], gateway: FromDishka[FakePaymentGateway], back: FromQuery[str] = ""
) -> Response[str]:
    payment = gateway.payment(reference)
    return Response(
        _render(payment, back_to_shop=back == SHOP), media_type="text/html; charset=utf-8"
    )


@can_answer("payment_not_found", "payment_decided", *WRITES)
@post(
    "/pay/{reference:str}",
    summary="Pay or decline on the fake checkout page",
    description="Form field `outcome`: `pay` or `decline`. Answers 303 to the page.",
    status_code=303,
)
@inject
async def pay(
    reference: FromPath[str],
    data: URLEncodedBody[PayForm],
    gateway: FromDishka[FakePaymentGateway],
    settlement: FromDishka[Settlement],
) -> Redirect:
    wanted, kind = _DECIDES[data.outcome]
    payment = gateway.payment(reference)
    if payment.status is GatewayPaymentStatus.PENDING:
        if data.outcome == "pay":
            gateway.approve(reference)
        else:
            gateway.decline(reference)
        body, headers = gateway.signed_webhook(kind, reference)
        await settlement.handle_webhook(gateway.provider, body, headers)
    elif payment.status is not wanted:
        raise Conflict("payment_decided", f"this payment is already {payment.status.value}")
    if data.back == SHOP:
        # As Stripe Checkout's success_url / cancel_url: back to the hold, which confirms.
        result = "success" if data.outcome == "pay" else "cancelled"
        return Redirect(path=f"/bookings/{payment.booking_id}?payment={result}", status_code=303)
    return Redirect(path=f"/dev/pay/{reference}", status_code=303)


def _render(payment: FakePayment, *, back_to_shop: bool = False) -> str:
    amount = f"{payment.amount.amount / 100:.2f} {escape(payment.amount.currency)}"
    reference = escape(payment.reference)
    back = f'<input type="hidden" name="back" value="{SHOP}">' if back_to_shop else ""
    if payment.status is GatewayPaymentStatus.PENDING:
        action = f"""
  <form method="post" action="/dev/pay/{reference}">{back}
    <div class="actions">
      <button class="button" name="outcome" value="pay" type="submit">Pay {amount}</button>
      <button class="button secondary" name="outcome" value="decline" type="submit">Decline</button>
    </div>
  </form>"""
    else:
        words = {
            GatewayPaymentStatus.SUCCEEDED: "Paid. Your order is being confirmed; "
            "the e-tickets are on their way.",
            GatewayPaymentStatus.FAILED: "Declined. The tickets stay held until the hold "
            "expires; you can start a new payment.",
            GatewayPaymentStatus.CANCELLED: "Cancelled: the hold ended before payment.",
        }
        action = (
            f"<p><strong>{escape(words.get(payment.status, payment.status.value))}</strong></p>"
        )
    return f"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>elTiketi fake checkout</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/static/app.css"></head>
<body>
<main class="fake-pay"><div class="card stack">
  <h1>Fake checkout</h1>
  <p class="notice warn">Embedded mode: no money moves. This page stands in for the payment provider.</p>
  <dl>
    <dt>Amount</dt><dd>{amount}</dd>
    <dt>Booking</dt><dd><code>{escape(str(payment.booking_id))}</code></dd>
    <dt>Payment reference</dt><dd><code>{reference}</code></dd>
    <dt>Status</dt><dd>{escape(payment.status.value)}</dd>
  </dl>{action}
</div></main>
</body>
</html>
"""


router = Router(path="/dev", tags=["dev (embedded only)"], route_handlers=[pay_page, pay])
