"""The seed journey through the REST API, as two buyers, and the 404 rule between them."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from tests.api.conftest import Api, problem


async def test_two_buyers_walk_the_whole_journey(api: Api) -> None:
    olga = api.auth("olga", "organizer")
    event_id, standing = await api.sale(olga, capacity=50, amount=3500)
    staff = await api.member("sam", await api.organization_of(event_id), "door")

    # 1: anyone browses what is on sale, with live availability
    listed = (await api.client.get("/v1/events")).json()["items"]
    assert [e["id"] for e in listed] == [event_id]
    assert listed[0]["ticket_types"][0]["available"] == 50

    orders = {}
    for name, quantity in (("alice", 2), ("bob", 3)):
        buyer = api.customer(name)
        # 3-8: hold
        held = await api.hold(buyer, event_id, standing, quantity)
        assert held.status_code == 201, held.text
        booking = held.json()
        assert booking["status"] == "held"
        assert booking["total"] == {"amount": 3500 * quantity, "currency": "EUR"}
        assert booking["contact"]["email"] == f"{name}@example.com"
        # 9-10: pay on the fake gateway's page, as a person would
        payment = await api.start_payment(buyer, booking["id"])
        assert payment["provider"] == "fake"
        assert payment["checkout_url"].endswith(f"/dev/pay/{payment['provider_reference']}")
        page = await api.client.get(urlsplit(payment["checkout_url"]).path)
        assert page.status_code == 200
        assert f"Pay {35 * quantity}.00 EUR" in page.text
        paid = await api.pay_on_page(payment["checkout_url"])
        assert paid.status_code == 303
        assert "Paid" in (await api.client.get(paid.headers["location"])).text
        # 11-13: the webhook confirmed it already; the client's confirmation answers it
        confirmed = await api.confirm(buyer, booking["id"], payment["payment_id"])
        assert confirmed.status_code == 200, confirmed.text
        order = confirmed.json()
        assert order["status"] == "confirmed"
        assert len(order["tickets"]) == quantity
        assert {t["ticket_type_id"] for t in order["tickets"]} == {standing}
        orders[name] = order

    # 14: the inventory handler moved held -> sold
    await api.flush()
    level = (await api.stock(event_id))[standing]
    assert (level["held"], level["sold"], level["available"]) == (0, 5, 45)
    public = (await api.client.get(f"/v1/events/{event_id}")).json()
    assert public["ticket_types"][0]["available"] == 45

    # 15-16: each buyer got their e-tickets once
    assert sorted(n.contact.email for n in api.email.tickets) == [
        "alice@example.com",
        "bob@example.com",
    ]
    assert [len(n.tickets) for n in api.email.tickets] == [2, 3]

    # each sees only their own orders
    alice = api.customer("alice")
    mine = (await api.client.get("/v1/orders", headers=alice)).json()["items"]
    assert [o["id"] for o in mine] == [orders["alice"]["id"]]

    # the QR codes are the owner's
    ticket = orders["alice"]["tickets"][0]
    svg = await api.client.get(f"/v1/tickets/{ticket['id']}/qr.svg", headers=alice)
    assert svg.status_code == 200
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in svg.content
    png = await api.client.get(f"/v1/tickets/{ticket['id']}/qr.png", headers=alice)
    assert png.status_code == 200
    assert png.content.startswith(b"\x89PNG")

    # the door: first scan in, second refused with the first's time
    scan = {"token": ticket["token"], "event_id": event_id}
    first = await api.client.post("/v1/check-ins", json=scan, headers=staff)
    assert first.status_code == 200, first.text
    assert first.json()["holder"] == "alice"
    assert first.json()["ticket_type_name"] == "Standing"
    again = problem(
        await api.client.post("/v1/check-ins", json=scan, headers=staff), 409, "already_checked_in"
    )
    assert again["first_checked_in_at"] == first.json()["checked_in_at"].replace("Z", "+00:00") or (
        again["first_checked_in_at"][:19] == first.json()["checked_in_at"][:19]
    )

    # the public keys verify the ticket offline
    keys = (await api.client.get("/v1/tickets/keys")).json()["keys"]
    assert keys
    assert all("d" not in key for key in keys)


async def test_another_buyers_records_answer_404(api: Api) -> None:
    event_id, standing = await api.sale()
    alice, bob = api.customer("alice"), api.customer("bob")
    order = await api.buy(alice, event_id, standing)
    held = await api.hold(alice, event_id, standing)
    booking_id = held.json()["id"]
    ticket_id = order["tickets"][0]["id"]

    for method, path, code in (
        ("GET", f"/v1/bookings/{booking_id}", "booking_not_found"),
        ("DELETE", f"/v1/bookings/{booking_id}", "booking_not_found"),
        ("POST", f"/v1/bookings/{booking_id}/payment", "booking_not_found"),
        ("GET", f"/v1/orders/{order['id']}", "order_not_found"),
        ("POST", f"/v1/orders/{order['id']}/cancel", "order_not_found"),
        ("POST", f"/v1/orders/{order['id']}/resend", "order_not_found"),
        ("GET", f"/v1/tickets/{ticket_id}/qr.svg", "ticket_not_found"),
        ("GET", f"/v1/tickets/{ticket_id}/qr.png", "ticket_not_found"),
    ):
        theirs = await api.client.request(method, path, headers=bob)
        problem(theirs, 404, code)
        unknown = path.replace(booking_id, str(uuid.uuid4())).replace(
            order["id"], str(uuid.uuid4())
        )
        unknown = unknown.replace(ticket_id, str(uuid.uuid4()))
        problem(await api.client.request(method, unknown, headers=alice), 404, code)

    confirm = await api.confirm(bob, booking_id, order["payment_id"])
    problem(confirm, 404, "booking_not_found")
    assert (await api.client.get("/v1/orders", headers=bob)).json()["items"] == []
    # alice's things are untouched by bob's attempts
    assert (await api.client.get(f"/v1/bookings/{booking_id}", headers=alice)).json()[
        "status"
    ] == "held"
    assert (await api.client.get(f"/v1/orders/{order['id']}", headers=alice)).json()[
        "status"
    ] == "confirmed"


async def test_an_admin_may_read_anyones_order(api: Api) -> None:
    event_id, standing = await api.sale()
    order = await api.buy(api.customer("alice"), event_id, standing)

    seen = await api.client.get(f"/v1/orders/{order['id']}", headers=api.auth("root", "admin"))

    assert seen.status_code == 200
