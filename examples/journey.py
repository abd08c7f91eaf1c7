"""Walk the seed's 16-step user journey against a running elTiketi server.

Start a server on embedded defaults first (``eltiketi serve --demo``), then::

    python examples/journey.py --base-url http://127.0.0.1:8000 --data-dir .eltiketi

Each step prints what it did and what the server answered. The walk ends with a
confirmed order, its e-ticket ``.eml`` on disk, a first check-in accepted and a
second one refused. Exit status 0 means every step held; 1 names the step that
did not. Needs only ``httpx``.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import secrets
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx


class JourneyFailed(Exception):
    """A step did not get the answer the journey expects."""


@dataclass
class Journey:
    client: httpx.Client
    data_dir: Path
    quantity: int
    timeout: float

    def step(self, numbers: str, text: str) -> None:
        print(f"[{numbers}] {text}", flush=True)

    def note(self, text: str) -> None:
        print(f"        {text}", flush=True)

    def expect(self, response: httpx.Response, *statuses: int) -> Any:
        if response.status_code not in statuses:
            raise JourneyFailed(
                f"{response.request.method} {response.request.url.path} answered "
                f"{response.status_code}, expected {' or '.join(map(str, statuses))}: "
                f"{response.text[:500]}"
            )
        if response.headers.get("content-type", "").startswith(
            ("application/json", "application/problem+json")
        ):
            return response.json()
        return response.text

    def token(
        self,
        sub: str,
        roles: list[str],
        email_address: str | None = None,
        members: list[dict[str, str]] | None = None,
    ) -> dict[str, str]:
        body: dict[str, Any] = {"sub": sub, "roles": roles}
        if email_address:
            body["email"] = email_address
        if members:
            body["members"] = members
        answer = self.expect(self.client.post("/dev/token", json=body), 200)
        return {"Authorization": f"Bearer {answer['access_token']}"}

    def run(self) -> None:
        # 1 ---------------------------------------------------------------------------------
        events = self.expect(self.client.get("/v1/events"), 200)["items"]
        event, ticket_type = _pick(events, self.quantity)
        self.step(
            "1", f"select tickets: {event['name']!r} at {event['venue']} on {event['starts_at']}"
        )
        self.note(
            f"{self.quantity} × {ticket_type['name']!r} at "
            f"{_money(ticket_type['price'])} ({ticket_type['available']} available)"
        )

        # 2 ---------------------------------------------------------------------------------
        buyer = f"journey-{secrets.token_hex(4)}"
        buyer_email = f"{buyer}@example.com"
        customer = self.token(buyer, [], buyer_email)
        self.step("2", f"log in as {buyer!r} <{buyer_email}> (dev token from POST /dev/token)")
        self.note("in production the client gets this JWT from Keycloak: authorization code + PKCE")

        # 3–8 -------------------------------------------------------------------------------
        self.step("3", "ask for a reservation with the JWT: POST /v1/bookings")
        booking_request = {
            "event_id": event["id"],
            "items": [{"ticket_type_id": ticket_type["id"], "quantity": self.quantity}],
        }
        key = f"journey-{secrets.token_hex(8)}"
        response = self.client.post(
            "/v1/bookings", json=booking_request, headers={**customer, "Idempotency-Key": key}
        )
        booking = self.expect(response, 201)
        self.step("4", "the API verified the JWT (a bad token would be a 401)")
        self.step("5-7", "the booking use case checked the stock with one conditional update")
        self.step(
            "8",
            f"held: booking {booking['id']} status={booking['status']} total="
            f"{_money(booking['total'])}, expires {booking['expires_at']}",
        )
        replay = self.client.post(
            "/v1/bookings", json=booking_request, headers={**customer, "Idempotency-Key": key}
        )
        again = self.expect(replay, 201)
        if again["id"] != booking["id"]:
            raise JourneyFailed("a retry with the same Idempotency-Key made a second booking")
        self.note("a retry with the same Idempotency-Key answered the same booking")

        # 9–10 ------------------------------------------------------------------------------
        payment = self.expect(
            self.client.post(f"/v1/bookings/{booking['id']}/payment", headers=customer), 200
        )
        self.step("9", f"start paying: payment {payment['payment_id']} with {payment['provider']}")
        checkout_url = payment.get("checkout_url")
        if not checkout_url:
            raise JourneyFailed("the gateway gave no checkout_url (is the server embedded?)")
        self.note(f"checkout page: {checkout_url}")
        paid = self.client.post(checkout_url, data={"outcome": "pay"}, follow_redirects=True)
        self.expect(paid, 200)
        self.step("10", "paid on the checkout page (form POST outcome=pay); the gateway confirmed")

        # 11–13 -----------------------------------------------------------------------------
        confirm = {"booking_id": booking["id"], "payment_id": payment["payment_id"]}
        self.step("11-12", "tell the API the payment succeeded: POST /v1/orders")
        response = self.client.post("/v1/orders", json=confirm, headers=customer)
        order = self.expect(response, 201, 200)
        how = (
            "created now (after asking the gateway server-side)"
            if response.status_code == 201
            else "already confirmed by the gateway's signed webhook"
        )
        self.step("13", f"order {order['id']} {order['status']}: {how}")
        self.note(f"{len(order['tickets'])} ticket(s), each with a signed token")

        # 14 --------------------------------------------------------------------------------
        # the event's creator owns its organization (their personal one), so may read its stock
        organizer = self.token(event["owner"], ["organizer"])
        stock = self._wait_for_sold(event["id"], ticket_type["id"], organizer)
        self.step(
            "14",
            f"inventory: {ticket_type['name']!r} held={stock['held']} sold={stock['sold']} "
            f"available={stock['available']} (OrderCreated consumer moved held -> sold)",
        )

        # 15–16 -----------------------------------------------------------------------------
        eml = self._wait_for_eml(order["id"], order["reference"])
        message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
        images = [p for p in message.walk() if p.get_content_type() == "image/png"]
        self.step("15", f"notification sent: {eml}")
        self.step(
            "16",
            f"e-ticket to {message['To']}: {message['Subject']!r} with {len(images)} QR code(s)",
        )
        if len(images) != len(order["tickets"]):
            raise JourneyFailed(f"{len(order['tickets'])} tickets but {len(images)} QR images")

        # at the door -----------------------------------------------------------------------
        # a door member of the event's organization: membership is data in the server's
        # database, so the dev token route creates it first (the role "staff" admits no one)
        door = {"organization_id": event["organization_id"], "role": "door"}
        staff = self.token("door-staff", [], members=[door])
        self.note(f"door staff: a door member of organization {event['organization_id']}")
        ticket = order["tickets"][0]
        scan = {"token": ticket["token"], "event_id": event["id"]}
        first = self.expect(self.client.post("/v1/check-ins", json=scan, headers=staff), 200)
        self.step(
            "door",
            f"first scan accepted: {first['ticket_type_name']!r} for {first['holder']} "
            f"at {first['checked_in_at']}",
        )
        second = self.expect(self.client.post("/v1/check-ins", json=scan, headers=staff), 409)
        if second.get("code") != "already_checked_in":
            raise JourneyFailed(f"second scan refused with {second.get('code')!r}")
        self.step(
            "door",
            f"second scan refused: {second['code']} (first at {second['first_checked_in_at']})",
        )

    def _wait_for_sold(
        self, event_id: str, ticket_type_id: str, organizer: dict[str, str]
    ) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        while True:
            stock = self.expect(
                self.client.get(f"/v1/events/{event_id}/stock", headers=organizer), 200
            )
            level = next(t for t in stock["ticket_types"] if t["ticket_type_id"] == ticket_type_id)
            if level["sold"] >= self.quantity:
                return dict(level)
            if time.monotonic() > deadline:
                raise JourneyFailed(f"the tickets were not counted as sold in time: {level}")
            time.sleep(0.1)

    def _wait_for_eml(self, order_id: str, reference: str) -> Path:
        """The e-ticket file, named after the order's reference (``…-tickets-7K3M9QXA-….eml``)."""
        outbox = self.data_dir / "outbox"
        deadline = time.monotonic() + self.timeout
        while True:
            found = sorted(outbox.glob(f"*-tickets-{reference}-*.eml"))
            if found:
                return found[-1]
            if time.monotonic() > deadline:
                raise JourneyFailed(f"no e-ticket for order {order_id} in {outbox}")
            time.sleep(0.1)


def _pick(events: list[dict[str, Any]], quantity: int) -> tuple[dict[str, Any], dict[str, Any]]:
    for event in events:
        for ticket_type in event["ticket_types"]:
            if ticket_type["available"] >= quantity and ticket_type["max_per_booking"] >= quantity:
                return event, ticket_type
    raise JourneyFailed("no published event has tickets left (start the server with --demo)")


def _money(money: dict[str, Any]) -> str:
    return f"{money['amount'] / 100:.2f} {money['currency']}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--data-dir", type=Path, default=Path(".eltiketi"))
    parser.add_argument("--quantity", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=15.0, help="seconds to wait per step")
    args = parser.parse_args(argv)
    with httpx.Client(base_url=args.base_url, timeout=10.0) as client:
        journey = Journey(client, args.data_dir, args.quantity, args.timeout)
        try:
            journey.run()
        except (JourneyFailed, httpx.HTTPError) as exc:
            print(f"journey FAILED: {exc}", file=sys.stderr, flush=True)
            return 1
    print("journey complete: 16 steps, order confirmed, e-ticket on disk, one entry", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
