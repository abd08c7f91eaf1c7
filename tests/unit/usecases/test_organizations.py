"""Organizations, roles and invitations through the use cases (the in-memory kit)."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from eltiketi_adapters.memory import InMemoryTicketing, RecordingNotifier
from eltiketi_core.domain.catalog import EventStatus
from eltiketi_core.domain.identity import Principal
from eltiketi_core.domain.organization import InvitationStatus, MemberRole
from eltiketi_core.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvitationGone,
    NotFound,
    ValidationFailed,
)
from eltiketi_core.usecases import NewEvent
from tests.unit.usecases.conftest import ORGANIZER, STAFF, Sale, buyer

OWNER, MANAGER, DOOR = MemberRole.OWNER, MemberRole.MANAGER, MemberRole.DOOR
ADMIN = Principal(subject="root", roles=frozenset({"admin"}))
OTTO = Principal(subject="otto", roles=frozenset({"organizer"}))


def person(name: str, *, verified: bool = True, email: str | None = None) -> Principal:
    return Principal(subject=name, email=email or f"{name}@example.org", email_verified=verified)


def new_event(kit: InMemoryTicketing, organization_id: object = None) -> NewEvent:
    return NewEvent(
        name="Matinee",
        venue="Hall",
        starts_at=kit.clock.now() + timedelta(days=10),
        timezone="Europe/Berlin",
        organization_id=organization_id,  # type: ignore[arg-type]
    )


def code_of(raised: pytest.ExceptionInfo[DomainError]) -> str:
    return raised.value.code


# -- organizations and the personal organization ----------------------------------------------


async def test_an_organizer_creates_an_organization_and_owns_it(
    eltiketi: InMemoryTicketing,
) -> None:
    orgs = eltiketi.organizations
    created = await orgs.create(ORGANIZER, "  Open Air Collective ")
    assert (created.organization.name, created.role) == ("Open Air Collective", OWNER)
    assert created.organization.personal_of is None
    assert [(v.organization.id, v.role) for v in await orgs.mine(ORGANIZER)] == [
        (created.organization.id, OWNER)
    ]
    with pytest.raises(Forbidden) as raised:
        await orgs.create(buyer(), "Mine")
    assert code_of(raised) == "missing_role"
    with pytest.raises(NotFound) as missing:
        await orgs.get(OTTO, created.organization.id)
    assert code_of(missing) == "organization_not_found"
    assert (await orgs.get(ADMIN, created.organization.id)).role is OWNER
    assert await orgs.mine(OTTO) == []


async def test_events_without_an_organization_go_to_the_personal_one(
    eltiketi: InMemoryTicketing,
) -> None:
    first = await eltiketi.catalog.create_event(ORGANIZER, new_event(eltiketi))
    second = await eltiketi.catalog.create_event(ORGANIZER, new_event(eltiketi))
    assert first.organization_id == second.organization_id
    [mine] = await eltiketi.organizations.mine(ORGANIZER)
    assert mine.organization.id == first.organization_id
    assert mine.organization.personal_of == ORGANIZER.subject
    assert mine.role is OWNER
    with pytest.raises(Forbidden) as raised:  # a personal organization needs the role
        await eltiketi.catalog.create_event(buyer(), new_event(eltiketi))
    assert code_of(raised) == "missing_role"


async def test_an_event_in_a_named_organization_needs_owner_or_manager(
    eltiketi: InMemoryTicketing,
) -> None:
    team = (await eltiketi.organizations.create(ORGANIZER, "Team")).organization
    mia, dora = person("mia"), person("dora")
    await eltiketi.organizations.add_member(ORGANIZER, team.id, "mia", MANAGER)
    await eltiketi.organizations.add_member(ORGANIZER, team.id, "dora", DOOR)

    event = await eltiketi.catalog.create_event(mia, new_event(eltiketi, team.id))
    assert (event.organization_id, event.owner) == (team.id, "mia")
    with pytest.raises(Forbidden):
        await eltiketi.catalog.create_event(dora, new_event(eltiketi, team.id))
    with pytest.raises(NotFound) as raised:
        await eltiketi.catalog.create_event(OTTO, new_event(eltiketi, team.id))
    assert code_of(raised) == "organization_not_found"
    with pytest.raises(NotFound):
        await eltiketi.catalog.create_event(ORGANIZER, new_event(eltiketi, uuid4()))


async def test_mine_lists_the_events_of_organizations_one_manages(
    eltiketi: InMemoryTicketing,
) -> None:
    team = (await eltiketi.organizations.create(ORGANIZER, "Team")).organization
    draft = await eltiketi.catalog.create_event(ORGANIZER, new_event(eltiketi, team.id))
    await eltiketi.catalog.create_event(OTTO, new_event(eltiketi))  # otto's, elsewhere
    await eltiketi.organizations.add_member(ORGANIZER, team.id, "mia", MANAGER)
    await eltiketi.organizations.add_member(ORGANIZER, team.id, "dora", DOOR)

    managed = await eltiketi.catalog.list_managed(person("mia"))
    assert [v.event.id for v in managed] == [draft.id]
    assert managed[0].event.status is EventStatus.DRAFT
    assert await eltiketi.catalog.list_managed(person("dora")) == []
    assert await eltiketi.catalog.list_managed(buyer()) == []
    assert len(await eltiketi.catalog.list_managed(ADMIN)) == 2
    # a draft shows to members (any role), to no one else
    assert (await eltiketi.catalog.get(draft.id, person("dora"))).event.id == draft.id
    with pytest.raises(NotFound):
        await eltiketi.catalog.get(draft.id, OTTO)


# -- members ----------------------------------------------------------------------------------


async def test_only_owners_change_the_team_and_the_last_owner_stays(sale: Sale) -> None:
    orgs, org_id = sale.kit.organizations, sale.event.organization_id
    await orgs.add_member(ORGANIZER, org_id, "mia", MANAGER, email="Mia@Example.org")
    mia = person("mia")

    assert {(m.subject, m.role, m.email) for m in await orgs.members(mia, org_id)} == {
        ("olga", OWNER, None),
        ("sam", DOOR, None),
        ("mia", MANAGER, "mia@example.org"),
    }
    with pytest.raises(Forbidden):  # door members do not see the team
        await orgs.members(STAFF, org_id)
    for attempt in (
        orgs.add_member(mia, org_id, "eve", DOOR),
        orgs.change_role(mia, org_id, "sam", MANAGER),
        orgs.remove_member(mia, org_id, "sam"),
        orgs.invite(mia, org_id, "eve@example.org", DOOR),
    ):
        with pytest.raises(Forbidden):
            await attempt
    with pytest.raises(Conflict) as raised:
        await orgs.add_member(ORGANIZER, org_id, "mia", DOOR)
    assert code_of(raised) == "already_member"
    with pytest.raises(Conflict) as raised:
        await orgs.change_role(ORGANIZER, org_id, "olga", MANAGER)
    assert code_of(raised) == "last_owner"
    with pytest.raises(Conflict):
        await orgs.remove_member(ORGANIZER, org_id, "olga")
    with pytest.raises(NotFound) as missing:
        await orgs.change_role(ORGANIZER, org_id, "nobody", DOOR)
    assert code_of(missing) == "member_not_found"

    assert (await orgs.change_role(ORGANIZER, org_id, "mia", OWNER)).role is OWNER
    await orgs.change_role(mia, org_id, "olga", MANAGER)  # now the other owner may
    assert {m.subject: m.role for m in await orgs.members(mia, org_id)}["olga"] is MANAGER


async def test_a_removed_member_is_refused_on_the_very_next_call(sale: Sale) -> None:
    kit, org_id = sale.kit, sale.event.organization_id
    mia = person("mia")
    await kit.organizations.add_member(ORGANIZER, org_id, "mia", MANAGER)
    await kit.core.catalog.publish(mia, sale.event.id)  # allowed while a member

    await kit.organizations.remove_member(ORGANIZER, org_id, "mia")

    with pytest.raises(NotFound):
        await kit.core.cancellation.cancel(mia, sale.event.id)
    with pytest.raises(NotFound):
        await kit.organizations.get(mia, org_id)
    assert await kit.catalog.list_managed(mia) == []


async def test_a_member_may_leave_but_the_last_owner_may_not(sale: Sale) -> None:
    orgs, org_id = sale.kit.organizations, sale.event.organization_id
    await orgs.remove_member(STAFF, org_id, STAFF.subject)
    assert [m.subject for m in await orgs.members(ORGANIZER, org_id)] == ["olga"]
    with pytest.raises(Conflict):
        await orgs.remove_member(ORGANIZER, org_id, ORGANIZER.subject)


async def test_grant_adds_or_changes_a_membership_for_operators(sale: Sale) -> None:
    orgs, org_id = sale.kit.organizations, sale.event.organization_id
    assert (await orgs.grant(org_id, "sam", MANAGER)).role is MANAGER  # was door
    added = await orgs.grant(org_id, "vic", DOOR, email="vic@example.org", by="cli")
    assert (added.role, added.added_by, added.email) == (DOOR, "cli", "vic@example.org")
    with pytest.raises(Conflict):
        await orgs.grant(org_id, "olga", DOOR)  # the last owner
    with pytest.raises(NotFound):
        await orgs.grant(uuid4(), "vic", DOOR)
    with pytest.raises(ValidationFailed):
        await orgs.grant(org_id, "  ", DOOR)


# -- the door ---------------------------------------------------------------------------------


async def test_check_in_is_scoped_to_the_callers_organizations(sale: Sale) -> None:
    """The issue's report: an unrelated staff account checked in Alice's ticket (200)."""
    kit = sale.kit
    await sale.buy(buyer())
    await kit.drain()
    token = kit.notifier.tickets[0].tickets[0].token
    unrelated_staff = Principal(subject="stan", roles=frozenset({"staff"}))
    other_org = (await kit.organizations.create(OTTO, "Otto's")).organization
    await kit.organizations.add_member(OTTO, other_org.id, "dan", DOOR)

    for stranger in (unrelated_staff, person("dan"), OTTO):
        with pytest.raises(NotFound) as raised:
            await kit.core.checkins.check_in(stranger, token, sale.event.id)
        assert code_of(raised) == "event_not_found"
    admitted = await kit.core.checkins.check_in(ADMIN, token, sale.event.id)
    assert admitted.ticket_id == kit.notifier.tickets[0].tickets[0].id


async def test_door_members_check_in_and_do_nothing_else(sale: Sale) -> None:
    kit = sale.kit
    await sale.buy(buyer())
    await kit.drain()
    token = kit.notifier.tickets[0].tickets[0].token
    assert (await kit.core.checkins.check_in(STAFF, token, sale.event.id)).holder == "alice"
    for attempt in (
        kit.core.catalog.publish(STAFF, sale.event.id),
        kit.core.cancellation.cancel(STAFF, sale.event.id),
    ):
        with pytest.raises(Forbidden) as raised:
            await attempt
        assert code_of(raised) == "missing_role"


# -- invitations ------------------------------------------------------------------------------


async def test_an_invitation_is_mailed_and_accepted_once_by_the_invited_address(
    sale: Sale,
) -> None:
    kit, org_id = sale.kit, sale.event.organization_id
    invitation = await kit.organizations.invite(ORGANIZER, org_id, " Dora@Example.org ", DOOR)
    assert (invitation.email, invitation.status) == ("dora@example.org", InvitationStatus.PENDING)
    assert invitation.expires_at == kit.clock.now() + kit.policy.invitation_ttl
    [notice] = kit.notifier.invitations
    assert (notice.contact.email, notice.invitation_id, notice.role) == (
        "dora@example.org",
        invitation.id,
        "door",
    )
    assert notice.organization_name == "olga"  # the organizer's personal organization
    await sale.buy(buyer())
    await kit.drain()
    token = kit.notifier.tickets[0].tickets[0].token
    dora = person("dora", email="DORA@example.org")
    with pytest.raises(NotFound):  # invited is not yet a member
        await kit.core.checkins.check_in(dora, token, sale.event.id)

    joined = await kit.organizations.accept(dora, invitation.id)

    assert (joined.organization_id, joined.subject, joined.role) == (org_id, "dora", DOOR)
    assert (await kit.core.checkins.check_in(dora, token, sale.event.id)).holder == "alice"
    with pytest.raises(Conflict) as raised:
        await kit.organizations.accept(person("dora2", email="dora@example.org"), invitation.id)
    assert code_of(raised) == "invitation_used"
    [listed] = await kit.organizations.invitations(ORGANIZER, org_id)
    assert (listed.status, listed.decided_by) == (InvitationStatus.ACCEPTED, "dora")


@pytest.mark.parametrize(
    ("who", "code"),
    [
        (person("mallory"), "invitation_email_mismatch"),
        (Principal(subject="nomail"), "invitation_email_mismatch"),
        (person("dora", verified=False), "email_not_verified"),
    ],
)
async def test_only_the_verified_invited_address_can_accept(
    sale: Sale, who: Principal, code: str
) -> None:
    orgs, org_id = sale.kit.organizations, sale.event.organization_id
    invitation = await orgs.invite(ORGANIZER, org_id, "dora@example.org", MANAGER)
    with pytest.raises(Forbidden) as raised:
        await orgs.accept(who, invitation.id)
    assert code_of(raised) == code
    assert who.subject not in {m.subject for m in await orgs.members(ORGANIZER, org_id)}
    await orgs.accept(person("dora"), invitation.id)  # still pending for the right person


async def test_an_expired_or_revoked_invitation_cannot_be_accepted(sale: Sale) -> None:
    kit, org_id = sale.kit, sale.event.organization_id
    orgs = kit.organizations
    expiring = await orgs.invite(ORGANIZER, org_id, "dora@example.org", DOOR)
    revoked = await orgs.invite(ORGANIZER, org_id, "dora@example.org", MANAGER)
    assert (await orgs.revoke(ORGANIZER, org_id, revoked.id)).status is InvitationStatus.REVOKED
    assert (await orgs.revoke(ORGANIZER, org_id, revoked.id)).status is InvitationStatus.REVOKED
    with pytest.raises(InvitationGone) as raised:
        await orgs.accept(person("dora"), revoked.id)
    assert code_of(raised) == "invitation_revoked"

    kit.clock.advance(kit.policy.invitation_ttl)
    with pytest.raises(InvitationGone) as raised:
        await orgs.accept(person("dora"), expiring.id)
    assert code_of(raised) == "invitation_expired"
    with pytest.raises(NotFound):
        await orgs.accept(person("dora"), uuid4())
    assert "dora" not in {m.subject for m in await orgs.members(ORGANIZER, org_id)}


async def test_revoking_needs_an_owner_and_an_unused_invitation(sale: Sale) -> None:
    orgs, org_id = sale.kit.organizations, sale.event.organization_id
    invitation = await orgs.invite(ORGANIZER, org_id, "dora@example.org", DOOR)
    with pytest.raises(Forbidden):
        await orgs.revoke(STAFF, org_id, invitation.id)
    other = (await orgs.create(OTTO, "Otto's")).organization
    with pytest.raises(NotFound):  # not an invitation of that organization
        await orgs.revoke(OTTO, other.id, invitation.id)
    await orgs.accept(person("dora"), invitation.id)
    with pytest.raises(Conflict) as raised:
        await orgs.revoke(ORGANIZER, org_id, invitation.id)
    assert code_of(raised) == "invitation_used"


async def test_an_existing_member_cannot_take_an_invitation(sale: Sale) -> None:
    orgs, org_id = sale.kit.organizations, sale.event.organization_id
    invitation = await orgs.invite(ORGANIZER, org_id, "sam@example.org", MANAGER)
    with pytest.raises(Conflict) as raised:
        await orgs.accept(person("sam"), invitation.id)
    assert code_of(raised) == "already_member"


async def test_a_failed_invitation_mail_is_retried_and_a_revoked_one_is_not(
    sale: Sale,
) -> None:
    kit, org_id = sale.kit, sale.event.organization_id
    notifier = kit.notifier
    assert isinstance(notifier, RecordingNotifier)
    notifier.fail_next(2)
    kept = await kit.organizations.invite(ORGANIZER, org_id, "dora@example.org", DOOR)
    dropped = await kit.organizations.invite(ORGANIZER, org_id, "eve@example.org", DOOR)
    assert notifier.invitations == []
    await kit.organizations.revoke(ORGANIZER, org_id, dropped.id)

    kit.clock.advance(timedelta(minutes=5))
    await kit.core.notifications.retry_due()

    assert [n.invitation_id for n in notifier.invitations] == [kept.id]


async def test_invitation_addresses_are_checked(sale: Sale) -> None:
    with pytest.raises(ValidationFailed) as raised:
        await sale.kit.organizations.invite(
            ORGANIZER, sale.event.organization_id, "Dora <dora@example.org>", DOOR
        )
    assert code_of(raised) == "invalid_email"


async def test_a_job_is_for_owners_and_managers_of_its_event(sale: Sale) -> None:
    kit = sale.kit
    job = await kit.core.cancellation.cancel(ORGANIZER, sale.event.id)
    assert (await kit.core.jobs.get(ORGANIZER, job.id)).id == job.id
    with pytest.raises(Forbidden):
        await kit.core.jobs.get(STAFF, job.id)
    with pytest.raises(NotFound) as raised:
        await kit.core.jobs.get(OTTO, job.id)
    assert code_of(raised) == "job_not_found"


# -- what the back office reads ---------------------------------------------------------------


async def test_an_organizations_events_are_listed_for_any_member_and_its_sales_for_managers(
    eltiketi: InMemoryTicketing,
) -> None:
    kit = eltiketi
    team = (await kit.organizations.create(ORGANIZER, "Team")).organization.id
    other = (await kit.organizations.create(ORGANIZER, "Other")).organization.id
    mine = await kit.catalog.create_event(ORGANIZER, new_event(kit, team))
    await kit.catalog.create_event(ORGANIZER, new_event(kit, other))
    await kit.organizations.grant(team, "dora", DOOR)
    dora = person("dora")

    listed = await kit.catalog.of_organization(dora, team)
    summaries = await kit.core.event_admin.summaries(ORGANIZER, organization_id=team)

    assert [v.event.id for v in listed] == [mine.id]  # a draft, shown to a door member
    assert [s.event.id for s in summaries] == [mine.id]
    assert len(await kit.core.event_admin.summaries(ORGANIZER)) == 2  # without: every one
    with pytest.raises(Forbidden) as door_refused:
        await kit.core.event_admin.summaries(dora, organization_id=team)
    assert code_of(door_refused) == "missing_role"
    for outsider_read in (
        kit.catalog.of_organization(OTTO, team),
        kit.core.event_admin.summaries(OTTO, organization_id=team),
    ):
        with pytest.raises(NotFound) as hidden:
            await outsider_read
        assert code_of(hidden) == "organization_not_found"
    assert [v.event.id for v in await kit.catalog.of_organization(ADMIN, team)] == [mine.id]


async def test_an_invitation_is_previewed_with_its_organization_and_inviter(
    eltiketi: InMemoryTicketing,
) -> None:
    kit = eltiketi
    olga = person("olga")
    org_id = (
        await kit.organizations.create(
            Principal(
                subject="olga",
                email="olga@example.org",
                email_verified=True,
                roles=frozenset({"organizer"}),
            ),
            "Open Air Collective",
        )
    ).organization.id
    invitation = await kit.organizations.invite(olga, org_id, "dora@example.org", DOOR)

    shown = await kit.organizations.preview(invitation.id)
    kit.clock.advance(kit.policy.invitation_ttl)
    expired = await kit.organizations.preview(invitation.id)

    assert (shown.organization_name, shown.invited_by, shown.expired) == (
        "Open Air Collective",
        "olga@example.org",
        False,
    )
    assert shown.invitation.role is DOOR and shown.invitation.email == "dora@example.org"
    assert expired.expired
    with pytest.raises(NotFound) as missing:
        await kit.organizations.preview(uuid4())
    assert code_of(missing) == "invitation_not_found"
