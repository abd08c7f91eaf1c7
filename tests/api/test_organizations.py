"""Organizations, members and invitations through the REST API: who may do what.

Not yours: 404 (nothing is told about another organization); a role that is not
enough: 403 ``missing_role``; memberships are read on every request.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx

from eltiketi_app.web.links import InvitationLinks
from tests.api.conftest import Api, Headers, problem

TICKET_TYPE = {"name": "VIP", "price": {"amount": 100, "currency": "EUR"}, "capacity": 5}
EVENT = {
    "name": "Team Night",
    "venue": "Hall",
    "starts_at": "2031-01-01T20:00:00+01:00",
    "timezone": "Europe/Berlin",
}


async def create_organization(api: Api, owner: Headers, name: str = "Team") -> dict[str, Any]:
    response = await api.client.post("/v1/organizations", json={"name": name}, headers=owner)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def published_event_of(api: Api, manager: Headers, organization_id: str) -> str:
    created = await api.client.post(
        "/v1/events", json={**EVENT, "organization_id": organization_id}, headers=manager
    )
    assert created.status_code == 201, created.text
    event_id = str(created.json()["id"])
    added = await api.client.post(
        f"/v1/events/{event_id}/ticket-types", json=TICKET_TYPE, headers=manager
    )
    assert added.status_code == 201, added.text
    await api.publish(manager, event_id)
    return event_id


async def invitation_token(api: Api, invitation_id: str) -> str:
    """The token of the link the invitation e-mail carries (made with the app's own key)."""
    [notice] = [n for n in api.email.invitations if str(n.invitation_id) == invitation_id]
    links = await api.get(InvitationLinks)
    return str(links.token(notice.invitation_id, notice.expires_at))


async def test_an_organizer_creates_an_organization_and_only_members_see_it(api: Api) -> None:
    olga = api.auth("olga", "organizer")
    created = await create_organization(api, olga, "  Open Air Collective ")
    assert {k: created[k] for k in ("name", "personal", "role")} == {
        "name": "Open Air Collective",
        "personal": False,
        "role": "owner",
    }
    listed = (await api.client.get("/v1/organizations", headers=olga)).json()["items"]
    assert [o["id"] for o in listed] == [created["id"]]
    shown = await api.client.get(f"/v1/organizations/{created['id']}", headers=olga)
    assert shown.json() == created

    otto = api.auth("otto", "organizer")
    problem(
        await api.client.get(f"/v1/organizations/{created['id']}", headers=otto),
        404,
        "organization_not_found",
    )
    assert (await api.client.get("/v1/organizations", headers=otto)).json()["items"] == []
    problem(
        await api.client.post("/v1/organizations", json={"name": "x"}, headers=api.customer("a")),
        403,
        "missing_role",
    )
    problem(await api.client.get("/v1/organizations"), 401, "missing_token")
    problem(
        await api.client.post("/v1/organizations", json={"name": " "}, headers=olga),
        422,
        "invalid_name",
    )
    admin = await api.client.get(
        f"/v1/organizations/{created['id']}", headers=api.auth("root", "admin")
    )
    assert admin.status_code == 200 and admin.json()["role"] == "owner"


async def test_events_belong_to_the_named_or_the_personal_organization(api: Api) -> None:
    olga = api.auth("olga", "organizer")
    team = await create_organization(api, olga)
    mia = await api.member("mia", team["id"], "manager")  # no realm role at all
    dora = await api.member("dora", team["id"], "door")

    in_team = await api.client.post(
        "/v1/events", json={**EVENT, "organization_id": team["id"]}, headers=mia
    )
    assert in_team.status_code == 201, in_team.text
    assert in_team.json()["organization_id"] == team["id"]
    assert in_team.json()["owner"] == "mia"
    problem(
        await api.client.post(
            "/v1/events", json={**EVENT, "organization_id": team["id"]}, headers=dora
        ),
        403,
        "missing_role",
    )
    for stranger in (api.auth("otto", "organizer"), api.customer("alice")):
        problem(
            await api.client.post(
                "/v1/events", json={**EVENT, "organization_id": team["id"]}, headers=stranger
            ),
            404,
            "organization_not_found",
        )
    problem(  # a manager without the organizer role has no personal organization to use
        await api.client.post("/v1/events", json=EVENT, headers=mia), 403, "missing_role"
    )

    personal = await api.client.post("/v1/events", json=EVENT, headers=olga)
    assert personal.status_code == 201
    assert personal.json()["organization_id"] != team["id"]
    mine = (await api.client.get("/v1/organizations", headers=olga)).json()["items"]
    assert {(o["id"], o["personal"]) for o in mine} == {
        (team["id"], False),
        (personal.json()["organization_id"], True),
    }
    # the manager's list of events: the team's, drafts included; the door's: none
    listed = (await api.client.get("/v1/events?mine=true", headers=mia)).json()["items"]
    assert [e["id"] for e in listed] == [in_team.json()["id"]]
    assert (await api.client.get("/v1/events?mine=true", headers=dora)).json()["items"] == []


async def test_a_manager_of_one_organization_can_do_nothing_to_another(api: Api) -> None:
    olga, otto = api.auth("olga", "organizer"), api.auth("otto", "organizer")
    a = await create_organization(api, olga, "A")
    b = await create_organization(api, otto, "B")
    manager_a = await api.member("mia", a["id"], "manager")
    owner_b_invitation = await api.client.post(
        f"/v1/organizations/{b['id']}/invitations",
        json={"email": "x@example.com", "role": "door"},
        headers=otto,
    )
    invitation_b = owner_b_invitation.json()["id"]
    event_b = await published_event_of(api, otto, b["id"])
    job_b = (await api.cancel_event(otto, event_b)).headers["location"]
    event_b2 = await published_event_of(api, otto, b["id"])
    order = await api.buy(api.customer("alice"), event_b2, await _type_of(api, event_b2))
    org_b = f"/v1/organizations/{b['id']}"

    attempts: list[tuple[str, str, dict[str, Any] | None, str]] = [
        ("GET", org_b, None, "organization_not_found"),
        ("GET", f"{org_b}/members", None, "organization_not_found"),
        ("POST", f"{org_b}/members", {"subject": "mia", "role": "owner"}, "organization_not_found"),
        ("PATCH", f"{org_b}/members/otto", {"role": "door"}, "organization_not_found"),
        ("DELETE", f"{org_b}/members/otto", None, "organization_not_found"),
        ("POST", f"{org_b}/invitations", {"email": "m@example.com", "role": "owner"},
         "organization_not_found"),
        ("GET", f"{org_b}/invitations", None, "organization_not_found"),
        ("DELETE", f"{org_b}/invitations/{invitation_b}", None, "organization_not_found"),
        ("POST", "/v1/events", {**EVENT, "organization_id": b["id"]}, "organization_not_found"),
        ("POST", f"/v1/events/{event_b2}/ticket-types", TICKET_TYPE, "event_not_found"),
        ("POST", f"/v1/events/{event_b2}/publish", None, "event_not_found"),
        ("POST", f"/v1/events/{event_b2}/cancel", None, "event_not_found"),
        ("GET", f"/v1/events/{event_b2}/stock", None, "event_not_found"),
        ("GET", job_b, None, "job_not_found"),
        ("POST", "/v1/check-ins", {"token": order["tickets"][0]["token"], "event_id": event_b2},
         "event_not_found"),
    ]  # fmt: skip
    for method, path, body, code in attempts:
        answer = await api.client.request(method, path, json=body, headers=manager_a)
        problem(answer, 404, code)

    # nothing changed in B
    members = (await api.client.get(f"{org_b}/members", headers=otto)).json()["items"]
    assert [(m["subject"], m["role"]) for m in members] == [("otto", "owner")]
    assert (await api.stock(event_b2, otto))[await _type_of(api, event_b2)]["sold"] == 1


async def test_a_door_member_sees_the_organization_and_checks_in_nothing_more(api: Api) -> None:
    olga = api.auth("olga", "organizer")
    team = await create_organization(api, olga)
    dora = await api.member("dora", team["id"], "door")
    org = f"/v1/organizations/{team['id']}"

    shown = await api.client.get(org, headers=dora)
    assert shown.status_code == 200 and shown.json()["role"] == "door"
    for method, path, body in (
        ("GET", f"{org}/members", None),
        ("POST", f"{org}/members", {"subject": "eve", "role": "door"}),
        ("PATCH", f"{org}/members/olga", {"role": "door"}),
        ("DELETE", f"{org}/members/olga", None),
        ("POST", f"{org}/invitations", {"email": "eve@example.com", "role": "door"}),
        ("GET", f"{org}/invitations", None),
    ):
        refused = problem(
            await api.client.request(method, path, json=body, headers=dora), 403, "missing_role"
        )
        assert refused["required_role"] in {"owner", "manager"}
    # a member may leave
    left = await api.client.delete(f"{org}/members/dora", headers=dora)
    assert left.status_code == 204, left.text
    problem(await api.client.get(org, headers=dora), 404, "organization_not_found")


async def test_owners_manage_members_and_the_last_owner_stays(api: Api) -> None:
    olga = api.auth("olga", "organizer")
    team = await create_organization(api, olga)
    org = f"/v1/organizations/{team['id']}"

    added = await api.client.post(
        f"{org}/members",
        json={"subject": "mia", "role": "manager", "email": "Mia@Example.com"},
        headers=olga,
    )
    assert added.status_code == 201, added.text
    assert {k: added.json()[k] for k in ("subject", "role", "email", "added_by")} == {
        "subject": "mia",
        "role": "manager",
        "email": "mia@example.com",
        "added_by": "olga",
    }
    problem(
        await api.client.post(
            f"{org}/members", json={"subject": "mia", "role": "door"}, headers=olga
        ),
        409,
        "already_member",
    )
    problem(
        await api.client.patch(f"{org}/members/olga", json={"role": "manager"}, headers=olga),
        409,
        "last_owner",
    )
    problem(await api.client.delete(f"{org}/members/olga", headers=olga), 409, "last_owner")
    problem(
        await api.client.patch(f"{org}/members/nobody", json={"role": "door"}, headers=olga),
        404,
        "member_not_found",
    )
    problem(
        await api.client.patch(f"{org}/members/mia", json={"role": "bouncer"}, headers=olga),
        400,
        "malformed_request",
    )

    promoted = await api.client.patch(f"{org}/members/mia", json={"role": "owner"}, headers=olga)
    assert promoted.status_code == 200 and promoted.json()["role"] == "owner"
    mia = api.auth("mia")
    demoted = await api.client.patch(f"{org}/members/olga", json={"role": "door"}, headers=mia)
    assert demoted.status_code == 200 and demoted.json()["role"] == "door"
    members = (await api.client.get(f"{org}/members", headers=mia)).json()["items"]
    assert {(m["subject"], m["role"]) for m in members} == {("olga", "door"), ("mia", "owner")}


async def test_a_removed_member_is_refused_on_the_very_next_request(api: Api) -> None:
    olga = api.auth("olga", "organizer")
    team = await create_organization(api, olga)
    mia = await api.member("mia", team["id"], "manager")
    event_id = await published_event_of(api, mia, team["id"])
    assert (await api.client.get(f"/v1/events/{event_id}/stock", headers=mia)).status_code == 200

    removed = await api.client.delete(f"/v1/organizations/{team['id']}/members/mia", headers=olga)
    assert removed.status_code == 204

    # the same token, the very next request
    problem(
        await api.client.get(f"/v1/events/{event_id}/stock", headers=mia), 404, "event_not_found"
    )
    problem(
        await api.client.post(f"/v1/events/{event_id}/cancel", headers=mia), 404, "event_not_found"
    )


async def test_an_invitation_by_email_is_accepted_once_by_the_verified_address(
    api: Api,
) -> None:
    olga = api.auth("olga", "organizer")
    team = await create_organization(api, olga)
    event_id = await published_event_of(api, olga, team["id"])
    order = await api.buy(api.customer("alice"), event_id, await _type_of(api, event_id))
    scan = {"token": order["tickets"][0]["token"], "event_id": event_id}

    invited = await api.client.post(
        f"/v1/organizations/{team['id']}/invitations",
        json={"email": "Dora@Example.com", "role": "door"},
        headers=olga,
    )
    assert invited.status_code == 201, invited.text
    invitation = invited.json()
    assert {k: invitation[k] for k in ("email", "role", "status", "invited_by")} == {
        "email": "dora@example.com",
        "role": "door",
        "status": "pending",
        "invited_by": "olga",
    }
    assert "token" not in invitation  # only the e-mail carries the link
    [notice] = api.email.invitations
    assert notice.contact.email == "dora@example.com"
    assert notice.organization_name == "Team"
    token = await invitation_token(api, invitation["id"])

    dora = api.auth("dora", email="dora@example.com")  # dev tokens: verified
    problem(await api.client.post("/v1/check-ins", json=scan, headers=dora), 404, "event_not_found")
    for who, code in (
        (api.auth("mallory", email="mallory@example.com"), "invitation_email_mismatch"),
        (api.auth("dora-2"), "invitation_email_mismatch"),
        (_unverified(api, "dora-3", "dora@example.com"), "email_not_verified"),
    ):
        problem(await _accept(api, token, who), 403, code)

    accepted = await _accept(api, token, dora)

    assert accepted.status_code == 200, accepted.text
    assert {k: accepted.json()[k] for k in ("id", "role")} == {"id": team["id"], "role": "door"}
    assert (await api.client.post("/v1/check-ins", json=scan, headers=dora)).status_code == 200
    problem(await _accept(api, token, dora), 409, "invitation_used")
    listed = (
        await api.client.get(f"/v1/organizations/{team['id']}/invitations", headers=olga)
    ).json()["items"]
    assert [(i["id"], i["status"], i["decided_by"]) for i in listed] == [
        (invitation["id"], "accepted", "dora")
    ]


async def test_invitation_links_that_are_tampered_expired_or_revoked(api: Api) -> None:
    olga = api.auth("olga", "organizer")
    team = await create_organization(api, olga)
    org = f"/v1/organizations/{team['id']}"
    dora = api.auth("dora", email="dora@example.com")
    sent = await api.client.post(
        f"{org}/invitations", json={"email": "dora@example.com", "role": "manager"}, headers=olga
    )
    invitation_id = sent.json()["id"]
    token = await invitation_token(api, invitation_id)
    links = await api.get(InvitationLinks)

    body, mac = token.split(".")
    for bad in (f"{body}.{mac[:-2]}AA", "garbage", f"{body[:-2]}AA.{mac}", "a." * 120):
        problem(await _accept(api, bad, dora), 404, "invitation_not_found")
    # a link signed with another installation's key names nothing here
    foreign = InvitationLinks(key=b"k" * 32, public_url="http://x").token(
        UUID(invitation_id), datetime.now(UTC) + timedelta(days=1)
    )
    problem(await _accept(api, foreign, dora), 404, "invitation_not_found")
    # an authentic link past its time
    stale = links.token(UUID(invitation_id), datetime.now(UTC) - timedelta(seconds=1))
    problem(await _accept(api, stale, dora), 410, "invitation_expired")
    # an authentic link to an invitation that does not exist
    unknown = links.token(uuid4(), datetime.now(UTC) + timedelta(days=1))
    problem(await _accept(api, unknown, dora), 404, "invitation_not_found")

    revoked = await api.client.delete(f"{org}/invitations/{invitation_id}", headers=olga)
    assert revoked.status_code == 204, revoked.text
    assert (
        await api.client.delete(f"{org}/invitations/{invitation_id}", headers=olga)
    ).status_code == 204
    problem(await _accept(api, token, dora), 410, "invitation_revoked")
    problem(await api.client.get(org, headers=dora), 404, "organization_not_found")
    problem(
        await api.client.post(
            f"{org}/invitations", json={"email": "not an address", "role": "door"}, headers=olga
        ),
        422,
        "invalid_email",
    )
    problem(await _accept(api, token, {}), 401, "missing_token")


async def test_an_organizations_events_for_any_member_and_its_sales_for_managers(
    api: Api,
) -> None:
    """``GET /v1/organizations/{id}/events`` (any member, door included: which events they
    work at, drafts too) and ``GET /v1/events/managed?organization_id=`` (owners and
    managers: one organization's sales)."""
    olga = api.auth("olga", "organizer")
    team, other = (
        await create_organization(api, olga, "Team"),
        await create_organization(api, olga, "Other"),
    )
    on_sale = await published_event_of(api, olga, team["id"])
    draft = (
        await api.client.post(
            "/v1/events", json={**EVENT, "organization_id": team["id"]}, headers=olga
        )
    ).json()["id"]
    elsewhere = await published_event_of(api, olga, other["id"])
    door = await api.member("dora", team["id"], "door")
    outsider = api.auth("otto", "organizer")

    listed = await api.client.get(f"/v1/organizations/{team['id']}/events", headers=door)
    managed = await api.client.get(
        "/v1/events/managed", params={"organization_id": team["id"]}, headers=olga
    )

    assert listed.status_code == 200
    assert {e["id"] for e in listed.json()["items"]} == {on_sale, draft}
    assert {e["id"] for e in managed.json()["items"]} == {on_sale, draft}
    assert elsewhere not in {e["id"] for e in managed.json()["items"]}
    problem(
        await api.client.get(f"/v1/organizations/{team['id']}/events", headers=outsider),
        404,
        "organization_not_found",
    )
    problem(
        await api.client.get(
            "/v1/events/managed", params={"organization_id": team["id"]}, headers=door
        ),
        403,
        "missing_role",
    )
    problem(
        await api.client.get(
            "/v1/events/managed", params={"organization_id": team["id"]}, headers=outsider
        ),
        404,
        "organization_not_found",
    )


async def test_an_invitation_is_read_from_its_link_before_it_is_accepted(api: Api) -> None:
    olga = api.auth("olga", "organizer", email="olga@example.com")
    team = await create_organization(api, olga, "Open Air Collective")
    sent = await api.client.post(
        f"/v1/organizations/{team['id']}/invitations",
        json={"email": "dora@example.com", "role": "door"},
        headers=olga,
    )
    token = await invitation_token(api, sent.json()["id"])
    stranger = api.auth("sam")

    read = await api.client.get(f"/v1/invitations/{token}", headers=stranger)

    assert read.status_code == 200, read.text
    assert {
        k: read.json()[k] for k in ("organization_name", "email", "role", "status", "invited_by")
    } == {
        "organization_name": "Open Air Collective",
        "email": "dora@example.com",
        "role": "door",
        "status": "pending",
        "invited_by": "olga@example.com",
    }
    problem(
        await api.client.get(f"/v1/invitations/{token}x", headers=stranger),
        404,
        "invitation_not_found",
    )
    problem(await api.client.get(f"/v1/invitations/{token}"), 401, "missing_token")
    await api.client.delete(
        f"/v1/organizations/{team['id']}/invitations/{sent.json()['id']}", headers=olga
    )
    assert (await api.client.get(f"/v1/invitations/{token}", headers=stranger)).json()[
        "status"
    ] == "revoked"


async def test_the_openapi_document_lists_the_organization_routes(api: Api) -> None:
    paths = (await api.client.get("/schema/openapi.json")).json()["paths"]
    assert {
        "/v1/organizations",
        "/v1/organizations/{organization_id}",
        "/v1/organizations/{organization_id}/members",
        "/v1/organizations/{organization_id}/members/{subject}",
        "/v1/organizations/{organization_id}/invitations",
        "/v1/organizations/{organization_id}/invitations/{invitation_id}",
        "/v1/organizations/{organization_id}/events",
        "/v1/invitations/{token}",
        "/v1/invitations/{token}/accept",
    } <= set(paths)
    assert set(paths["/v1/organizations/{organization_id}/members/{subject}"]) >= {
        "patch",
        "delete",
    }
    check_in = paths["/v1/check-ins"]["post"]
    assert check_in["security"] == [{"bearer": []}]


async def _type_of(api: Api, event_id: str) -> str:
    view = (await api.client.get(f"/v1/events/{event_id}")).json()
    return str(view["ticket_types"][0]["id"])


async def _accept(api: Api, token: str, who: Headers) -> httpx.Response:
    return await api.client.post(f"/v1/invitations/{token}/accept", headers=who)


def _unverified(api: Api, sub: str, email: str) -> Headers:
    token = api.issuer.mint(sub, (), email=email, email_verified=False)
    return {"Authorization": f"Bearer {token}"}
