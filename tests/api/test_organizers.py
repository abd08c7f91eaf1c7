"""Membership decides: the owners and managers of an event's organization manage it, and
only they; everyone else gets 404 (drafts and published events alike), a door member 403."""

from __future__ import annotations

from tests.api.conftest import Api, problem


async def test_an_organizer_cannot_touch_another_organizers_event(api: Api) -> None:
    olga, otto = api.auth("olga", "organizer"), api.auth("otto", "organizer")
    event = await api.create_event(olga)
    await api.add_type(olga, event["id"])

    attempts = (
        (
            "POST",
            f"/v1/events/{event['id']}/ticket-types",
            {
                "name": "VIP",
                "price": {"amount": 1, "currency": "EUR"},
                "capacity": 1,
            },
        ),
        ("POST", f"/v1/events/{event['id']}/publish", None),
        ("POST", f"/v1/events/{event['id']}/cancel", None),
    )
    # a draft is invisible to everyone but its organizer
    for method, path, body in attempts:
        answer = await api.client.request(method, path, json=body, headers=otto)
        problem(answer, 404, "event_not_found")
    problem(await api.client.get(f"/v1/events/{event['id']}", headers=otto), 404, "event_not_found")
    problem(await api.client.get(f"/v1/events/{event['id']}"), 404, "event_not_found")
    assert (await api.client.get(f"/v1/events/{event['id']}", headers=olga)).status_code == 200

    # published, it is everyone's to see but still not theirs to manage: as if it did not
    # exist, so management routes never confirm an id
    await api.publish(olga, event["id"])
    # published, it is public, but still not otto's to manage: nothing tells him more
    for method, path, body in attempts:
        answer = await api.client.request(method, path, json=body, headers=otto)
        problem(answer, 404, "event_not_found")
    problem(
        await api.client.get(f"/v1/events/{event['id']}/stock", headers=otto),
        404,
        "event_not_found",
    )

    # nothing changed: one ticket type, still published
    seen = (await api.client.get(f"/v1/events/{event['id']}")).json()
    assert seen["status"] == "published"
    assert [t["name"] for t in seen["ticket_types"]] == ["Standing"]
    # an admin may
    admin = api.auth("root", "admin")
    assert (
        await api.client.get(f"/v1/events/{event['id']}/stock", headers=admin)
    ).status_code == 200


async def test_customers_cannot_use_organizer_or_staff_routes(api: Api) -> None:
    event_id, _ = await api.sale()
    alice = api.customer("alice")
    body = {
        "name": "Mine now",
        "venue": "x",
        "starts_at": "2031-01-01T20:00:00+01:00",
        "timezone": "Europe/Berlin",
    }

    # a personal organization needs the organizer role
    problem(await api.client.post("/v1/events", json=body, headers=alice), 403, "missing_role")
    problem(
        await api.client.post("/v1/organizations", json={"name": "Mine"}, headers=alice),
        403,
        "missing_role",
    )
    # not a member of the event's organization: not found
    ticket_type = {"name": "VIP", "price": {"amount": 1, "currency": "EUR"}, "capacity": 1}
    for path, sent in (("ticket-types", ticket_type), ("publish", None), ("cancel", None)):
        answer = await api.client.post(f"/v1/events/{event_id}/{path}", json=sent, headers=alice)
        problem(answer, 404, "event_not_found")
    problem(
        await api.client.get(f"/v1/events/{event_id}/stock", headers=alice), 404, "event_not_found"
    )
    problem(
        await api.client.post(
            "/v1/check-ins", json={"token": "x", "event_id": event_id}, headers=alice
        ),
        404,
        "event_not_found",
    )
    mine = await api.client.get("/v1/events?mine=true", headers=alice)
    assert mine.status_code == 200 and mine.json()["items"] == []
    assert len((await api.client.get("/v1/events")).json()["items"]) == 1


async def test_a_door_member_may_not_manage_the_event(api: Api) -> None:
    olga = api.auth("olga", "organizer")
    event_id, standing = await api.sale(olga)
    dora = await api.member("dora", await api.organization_of(event_id), "door")
    ticket_type = {"name": "VIP", "price": {"amount": 1, "currency": "EUR"}, "capacity": 1}
    for method, path, body in (
        ("POST", f"/v1/events/{event_id}/ticket-types", ticket_type),
        ("POST", f"/v1/events/{event_id}/publish", None),
        ("POST", f"/v1/events/{event_id}/cancel", None),
        ("GET", f"/v1/events/{event_id}/stock", None),
    ):
        refused = problem(
            await api.client.request(method, path, json=body, headers=dora), 403, "missing_role"
        )
        assert refused["required_role"] == "manager"
    mine = await api.client.get("/v1/events?mine=true", headers=dora)
    assert mine.json()["items"] == []
    assert (await api.stock(event_id))[standing]["sold"] == 0


async def test_an_organizer_lists_their_own_events_in_every_status(api: Api) -> None:
    olga, otto = api.auth("olga", "organizer"), api.auth("otto", "organizer")
    draft = await api.create_event(olga)
    published, _ = await api.sale(olga)
    await api.sale(otto)

    mine = (await api.client.get("/v1/events?mine=true", headers=olga)).json()["items"]

    assert {e["id"] for e in mine} == {draft["id"], published}
    assert {e["status"] for e in mine} == {"draft", "published"}


async def test_cancelling_an_event_refunds_its_orders_and_releases_holds(api: Api) -> None:
    olga = api.auth("olga", "organizer")
    event_id, standing = await api.sale(olga, capacity=10)
    alice, bob = api.customer("alice"), api.customer("bob")
    order = await api.buy(alice, event_id, standing, 2)
    held = (await api.hold(bob, event_id, standing, 3)).json()

    cancelled = await api.client.post(f"/v1/events/{event_id}/cancel", headers=olga)

    # 202: the event is cancelled now; its holds and orders are the job's to end.
    assert cancelled.status_code == 202, cancelled.text
    job = cancelled.json()
    assert cancelled.headers["location"] == f"/v1/jobs/{job['id']}"
    assert {k: job[k] for k in ("kind", "event_id", "orders_remaining")} == {
        "kind": "event_cancellation",
        "event_id": event_id,
        "orders_remaining": 1,
    }
    assert job["status"] in {"queued", "running", "done"}
    problem(await api.hold(bob, event_id, standing), 409, "event_cancelled")
    done = await api.finished_job(olga, cancelled.headers["location"])
    assert {k: done[k] for k in ("status", "orders_refunded", "holds_released")} == {
        "status": "done",
        "orders_refunded": 1,
        "holds_released": 1,
    }
    assert done["orders_remaining"] == 0 and done["last_error"] is None
    assert done["started_at"] is not None and done["finished_at"] is not None
    await api.flush()
    seen = (await api.client.get(f"/v1/orders/{order['id']}", headers=alice)).json()
    assert seen["status"] == "refunded"
    assert {t["status"] for t in seen["tickets"]} == {"void"}
    booking = (await api.client.get(f"/v1/bookings/{held['id']}", headers=bob)).json()
    assert booking["status"] == "cancelled"
    level = (await api.stock(event_id, olga))[standing]
    assert (level["held"], level["sold"]) == (0, 0)
    assert [n.reason for n in api.email.refunds] == ["event_cancelled"]
    # cancelling again answers the same job and refunds nothing twice
    again = await api.client.post(f"/v1/events/{event_id}/cancel", headers=olga)
    assert again.status_code == 202, again.text
    assert again.json() == done
    assert again.headers["location"] == cancelled.headers["location"]
    await api.flush()
    assert [n.reason for n in api.email.refunds] == ["event_cancelled"]


async def test_a_cancellation_job_is_only_its_organizer_s_to_read(api: Api) -> None:
    olga, otto = api.auth("olga", "organizer"), api.auth("otto", "organizer")
    event_id, _ = await api.sale(olga)
    location = (await api.cancel_event(olga, event_id)).headers["location"]

    problem(await api.client.get(location, headers=otto), 404, "job_not_found")
    problem(await api.client.get(location, headers=api.customer("alice")), 404, "job_not_found")
    door = await api.member("dora", await api.organization_of(event_id), "door")
    problem(await api.client.get(location, headers=door), 403, "missing_role")
    problem(await api.client.get(location), 401, "missing_token")
    problem(await api.client.get(f"/v1/jobs/{event_id}", headers=olga), 404, "job_not_found")
    admin = await api.client.get(location, headers=api.auth("root", "admin"))
    assert admin.status_code == 200 and admin.json()["event_id"] == event_id
    # another organizer cannot learn of the job by cancelling either
    problem(
        await api.client.post(f"/v1/events/{event_id}/cancel", headers=otto),
        404,
        "event_not_found",
    )


async def test_the_openapi_document_shows_the_202_and_the_job_route(api: Api) -> None:
    schema = (await api.client.get("/schema/openapi.json")).json()
    cancel = schema["paths"]["/v1/events/{event_id}/cancel"]["post"]
    assert set(cancel["responses"]) >= {"202"}
    assert "Location" in cancel["responses"]["202"]["headers"]
    job = schema["paths"]["/v1/jobs/{job_id}"]["get"]
    assert job["security"] == [{"bearer": []}]
    assert set(job["responses"]) >= {"200"}
