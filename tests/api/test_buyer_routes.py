"""The REST routes the web pages rely on: contact change, progress, allowance, cancellation terms."""

from __future__ import annotations

from datetime import timedelta

from tests.api.conftest import Api


async def test_the_contact_of_a_hold_can_change_until_it_is_confirmed(api: Api) -> None:
    event_id, type_id = await api.sale()
    alice = api.customer("alice")
    booking = (await api.hold(alice, event_id, type_id)).json()

    changed = await api.client.patch(
        f"/v1/bookings/{booking['id']}",
        json={"contact": {"email": " new@example.org ", "phone": ""}},
        headers=alice,
    )

    assert changed.status_code == 200, changed.text
    assert changed.json()["contact"] == {"email": "new@example.org", "phone": None}
    read = await api.client.get(f"/v1/bookings/{booking['id']}", headers=alice)
    assert read.json()["contact"]["email"] == "new@example.org"
    payment = await api.start_payment(alice, booking["id"])
    await api.approve(payment)
    assert (await api.confirm(alice, booking["id"], payment["payment_id"])).status_code == 201
    late = await api.client.patch(
        f"/v1/bookings/{booking['id']}",
        json={"contact": {"email": "later@example.org"}},
        headers=alice,
    )
    assert late.status_code == 409
    assert late.json()["code"] == "booking_not_held"


async def test_a_contact_change_needs_somewhere_to_send_and_sane_values(api: Api) -> None:
    event_id, type_id = await api.sale()
    alice = api.customer("alice")
    booking = (await api.hold(alice, event_id, type_id)).json()
    url = f"/v1/bookings/{booking['id']}"

    empty = await api.client.patch(url, json={"contact": {"email": " "}}, headers=alice)
    header_injection = await api.client.patch(
        url, json={"contact": {"email": "a@b.org\r\nBcc: x@y.org"}}, headers=alice
    )
    not_mine = await api.client.patch(
        url, json={"contact": {"email": "bob@example.org"}}, headers=api.customer("bob")
    )

    assert (empty.status_code, empty.json()["code"]) == (422, "contact_required")
    assert (header_injection.status_code, header_injection.json()["code"]) == (
        422,
        "invalid_contact",
    )
    assert header_injection.json()["field"] == "email"
    assert not_mine.status_code == 404


async def test_progress_shows_the_payment_then_the_order(api: Api) -> None:
    event_id, type_id = await api.sale()
    alice = api.customer("alice")
    booking = (await api.hold(alice, event_id, type_id, 2)).json()
    url = f"/v1/bookings/{booking['id']}/progress"

    fresh = (await api.client.get(url, headers=alice)).json()
    payment = await api.start_payment(alice, booking["id"])
    paying = (await api.client.get(url, headers=alice)).json()
    await api.approve(payment)
    order = (await api.confirm(alice, booking["id"], payment["payment_id"])).json()
    done = (await api.client.get(url, headers=alice)).json()

    assert (fresh["order_id"], fresh["payment"]) == (None, None)
    assert paying["payment"]["payment_id"] == payment["payment_id"]
    assert paying["payment"]["status"] == "open"
    assert done["order_id"] == order["id"]
    assert done["booking"]["status"] == "confirmed"
    assert (await api.client.get(url, headers=api.customer("bob"))).status_code == 404


async def test_the_allowance_counts_what_the_buyer_holds_and_bought(start_app) -> None:  # type: ignore[no-untyped-def]
    async with start_app(max_tickets_per_buyer=5) as api:
        event_id, type_id = await api.sale()
        alice = api.customer("alice")
        url = f"/v1/events/{event_id}/allowance"
        before = (await api.client.get(url, headers=alice)).json()
        await api.buy(alice, event_id, type_id, 2)
        await api.hold(alice, event_id, type_id, 1)
        after = (await api.client.get(url, headers=alice)).json()
        anonymous = await api.client.get(url)

    assert (before["limit"], before["used"], before["remaining"]) == (5, 0, 5)
    assert (after["used"], after["remaining"]) == (3, 2)
    assert anonymous.status_code == 401


async def test_cancellation_terms_state_the_refund_and_the_deadline(start_app) -> None:  # type: ignore[no-untyped-def]
    async with start_app(cancel_cutoff_hours=24) as api:
        alice = api.customer("alice")
        soon_event, soon_type = await api.sale(starts_in=timedelta(hours=2))
        later_event, later_type = await api.sale(amount=3500)
        soon = await api.buy(alice, soon_event, soon_type, 1)
        later = await api.buy(alice, later_event, later_type, 2)

        closed = (
            await api.client.get(f"/v1/orders/{soon['id']}/cancellation", headers=alice)
        ).json()
        open_ = (
            await api.client.get(f"/v1/orders/{later['id']}/cancellation", headers=alice)
        ).json()
        await api.client.post(f"/v1/orders/{later['id']}/cancel", headers=alice)
        refunded = (
            await api.client.get(f"/v1/orders/{later['id']}/cancellation", headers=alice)
        ).json()
        other = await api.client.get(
            f"/v1/orders/{later['id']}/cancellation", headers=api.customer("bob")
        )

    assert (closed["allowed"], closed["code"]) == (False, "cancellation_closed")
    assert open_["allowed"] is True
    assert open_["refund"] == {"amount": 7000, "currency": "EUR"}
    assert (refunded["allowed"], refunded["code"]) == (False, "order_refunded")
    assert other.status_code == 404
