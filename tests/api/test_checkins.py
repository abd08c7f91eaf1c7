"""At the door: every check-in outcome and its code."""

from __future__ import annotations

from tests.api.conftest import Api, problem


async def test_check_in_answers(api: Api) -> None:
    olga = api.auth("olga", "organizer")
    event_id, standing = await api.sale(olga)
    other_event, _ = await api.sale(olga)
    staff = await api.member("sam", await api.organization_of(event_id), "door")
    alice = api.customer("alice")
    order = await api.buy(alice, event_id, standing, 3)
    first, second, third = (t["token"] for t in order["tickets"])

    # 200: who, what, when
    admitted = await api.client.post(
        "/v1/check-ins", json={"token": first, "event_id": event_id}, headers=staff
    )
    assert admitted.status_code == 200, admitted.text
    body = admitted.json()
    assert body["holder"] == "alice"
    assert body["event_id"] == event_id
    assert body["event_name"] == "Open Air"
    assert body["ticket_type_id"] == standing
    assert body["checked_in_at"]

    # 409: used, with the time of the first scan
    used = problem(
        await api.client.post(
            "/v1/check-ins", json={"token": first, "event_id": event_id}, headers=staff
        ),
        409,
        "already_checked_in",
    )
    assert used["first_checked_in_at"]

    # 422: a ticket of another event of the same organization
    problem(
        await api.client.post(
            "/v1/check-ins", json={"token": second, "event_id": other_event}, headers=staff
        ),
        422,
        "wrong_event",
    )

    # 400: not one of our tickets
    for token in ("garbage", third[:-4] + "AAAA", "a.b.c"):
        problem(
            await api.client.post(
                "/v1/check-ins", json={"token": token, "event_id": event_id}, headers=staff
            ),
            400,
            "invalid_ticket",
        )

    # 410: the order was cancelled (an order with a used ticket cannot be: 409 ticket_used)
    problem(
        await api.client.post(f"/v1/orders/{order['id']}/cancel", headers=alice),
        409,
        "ticket_used",
    )
    unused = await api.buy(alice, event_id, standing, 1)
    cancelled = await api.client.post(f"/v1/orders/{unused['id']}/cancel", headers=alice)
    assert cancelled.status_code == 200, cancelled.text
    problem(
        await api.client.post(
            "/v1/check-ins",
            json={"token": unused["tickets"][0]["token"], "event_id": event_id},
            headers=staff,
        ),
        410,
        "ticket_void",
    )

    # 400: a malformed request, the event missing included (a scanner works for one event)
    for body in ({}, {"token": third}, {"token": third, "event_id": "not-a-uuid"}):
        problem(
            await api.client.post("/v1/check-ins", json=body, headers=staff),
            400,
            "malformed_request",
        )
    # 404: an event outside the caller's organizations (nothing said about the ticket)
    for stranger in (alice, api.auth("stan", "staff"), api.auth("otto", "organizer")):
        problem(
            await api.client.post(
                "/v1/check-ins", json={"token": third, "event_id": event_id}, headers=stranger
            ),
            404,
            "event_not_found",
        )
    # an admin may check in anywhere
    admin = api.auth("root", "admin")
    assert (
        await api.client.post(
            "/v1/check-ins", json={"token": third, "event_id": event_id}, headers=admin
        )
    ).status_code == 200
