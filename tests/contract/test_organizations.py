"""Organizations, members and invitations: the ports' rules on every backend.

One personal organization per subject and one membership per (organization,
subject) at write time; the last owner is never demoted or removed, even by two
owners demoting each other at once; an invitation is decided once.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from uuid import uuid4

import pytest

from eltiketi_core.domain.organization import (
    InvitationStatus,
    MemberChange,
    MemberRole,
    Organization,
)
from eltiketi_core.errors import Conflict
from eltiketi_core.ports.uow import UnitOfWorkFactory
from tests.contract.builders import (
    T0,
    World,
    committed,
    new_invitation,
    new_membership,
    new_organization,
)

OWNER, MANAGER, DOOR = MemberRole.OWNER, MemberRole.MANAGER, MemberRole.DOOR

# -- organizations ----------------------------------------------------------------------------


async def test_an_organization_keeps_every_field(uow_factory: UnitOfWorkFactory) -> None:
    team = new_organization(name="Ünïcödé Fêtes — 夜 🎫", created_by="olga-ŝ")
    personal = new_organization(name="olga", personal_of="olga-ŝ")
    async with uow_factory() as uow:
        assert await uow.organizations.add(team)
        assert await uow.organizations.add(personal)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.organizations.get(team.id) == team
        assert await uow.organizations.get(personal.id) == personal
        assert await uow.organizations.get(uuid4()) is None
        assert await uow.organizations.personal("olga-ŝ") == personal
        assert await uow.organizations.personal("otto") is None


async def test_get_many_orders_by_name_and_skips_unknown_ids(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    zebra = await world.organization(name="Zebra Events")
    alpha = await world.organization(name="Alpha Shows")
    async with uow_factory() as uow:
        found = await uow.organizations.get_many([zebra.id, uuid4(), alpha.id, zebra.id])
        assert found == [alpha, zebra]
        assert await uow.organizations.get_many([]) == []


async def test_a_subject_has_at_most_one_personal_organization(
    uow_factory: UnitOfWorkFactory,
) -> None:
    first = new_organization(name="olga", personal_of="olga")
    second = new_organization(name="olga again", personal_of="olga")
    teams = [new_organization(name=f"Team {n}") for n in range(3)]  # personal_of NULL
    async with uow_factory() as uow:
        assert await uow.organizations.add(first)
        assert not await uow.organizations.add(second)
        for team in teams:
            assert await uow.organizations.add(team)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.organizations.personal("olga") == first
        assert await uow.organizations.get(second.id) is None


async def test_two_first_events_at_once_create_one_personal_organization(
    wide_uow_factory: UnitOfWorkFactory,
) -> None:
    attempts = [new_organization(name=f"olga {n}", personal_of="olga") for n in range(10)]

    async def add(organization: Organization) -> bool:
        async with wide_uow_factory() as uow:
            added = await uow.organizations.add(organization)
            await uow.commit()
        return added

    added = await asyncio.gather(*(add(o) for o in attempts))
    assert added.count(True) == 1
    async with wide_uow_factory() as uow:
        assert await uow.organizations.personal("olga") == attempts[added.index(True)]


async def test_an_organization_id_is_unique(uow_factory: UnitOfWorkFactory, world: World) -> None:
    team = await world.organization()
    with pytest.raises(Conflict):
        await committed(uow_factory, lambda uow: uow.organizations.add(team))


# -- members ----------------------------------------------------------------------------------


async def test_members_round_trip_one_per_subject(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    team = await world.organization()
    olga = new_membership(team, "olga", OWNER, email="olga@example.org")
    dora = new_membership(team, "dora", DOOR, added_at=T0 + timedelta(hours=1))
    async with uow_factory() as uow:
        assert await uow.organizations.add_member(dora)
        assert await uow.organizations.add_member(olga)
        assert not await uow.organizations.add_member(new_membership(team, "olga", DOOR))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.organizations.member(team.id, "olga") == olga
        assert await uow.organizations.member(team.id, "nobody") is None
        assert await uow.organizations.member(uuid4(), "olga") is None
        # longest-standing first
        assert await uow.organizations.members(team.id) == [olga, dora]
        assert await uow.organizations.members(uuid4()) == []


async def test_a_person_belongs_to_several_organizations(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    one = await world.organization(("mia", MANAGER), ("olga", OWNER))
    two = await world.organization(("mia", DOOR), ("otto", OWNER))
    await world.organization(("otto", OWNER))
    async with uow_factory() as uow:
        mine = await uow.organizations.memberships("mia")
        assert [(m.organization_id, m.role) for m in mine] == sorted(
            [(one.id, MANAGER), (two.id, DOOR)]
        )
        assert await uow.organizations.memberships("nobody") == []


async def test_a_member_needs_their_organization(uow_factory: UnitOfWorkFactory) -> None:
    orphan = new_membership(uuid4(), "mia")
    with pytest.raises(Conflict):
        await committed(uow_factory, lambda uow: uow.organizations.add_member(orphan))
    async with uow_factory() as uow:
        assert await uow.organizations.memberships("mia") == []


async def test_set_role_changes_a_member_and_never_the_last_owner(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    team = await world.organization(("olga", OWNER), ("mia", MANAGER))
    async with uow_factory() as uow:
        organizations = uow.organizations
        assert await organizations.set_role(team.id, "olga", MANAGER) is MemberChange.LAST_OWNER
        assert await organizations.set_role(team.id, "olga", DOOR) is MemberChange.LAST_OWNER
        assert await organizations.set_role(team.id, "olga", OWNER) is MemberChange.DONE
        assert await organizations.set_role(team.id, "nobody", DOOR) is MemberChange.NOT_MEMBER
        assert await organizations.set_role(uuid4(), "olga", DOOR) is MemberChange.NOT_MEMBER
        assert await organizations.set_role(team.id, "mia", OWNER) is MemberChange.DONE
        # two owners now: either may step down, not both
        assert await organizations.set_role(team.id, "olga", DOOR) is MemberChange.DONE
        assert await organizations.set_role(team.id, "mia", MANAGER) is MemberChange.LAST_OWNER
        await uow.commit()
    async with uow_factory() as uow:
        roles = {m.subject: m.role for m in await uow.organizations.members(team.id)}
    assert roles == {"olga": DOOR, "mia": OWNER}


async def test_remove_member_never_removes_the_last_owner(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    team = await world.organization(("olga", OWNER), ("mia", MANAGER), ("dora", DOOR))
    async with uow_factory() as uow:
        organizations = uow.organizations
        assert await organizations.remove_member(team.id, "olga") is MemberChange.LAST_OWNER
        assert await organizations.remove_member(team.id, "dora") is MemberChange.DONE
        assert await organizations.remove_member(team.id, "dora") is MemberChange.NOT_MEMBER
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.organizations.member(team.id, "dora") is None
        assert await uow.organizations.memberships("dora") == []
        # added at the same instant: by subject
        assert [m.subject for m in await uow.organizations.members(team.id)] == ["mia", "olga"]
        # a removed member can be added again
        assert await uow.organizations.add_member(new_membership(team, "dora", DOOR))
        await uow.commit()
    async with uow_factory() as uow:
        assert [m.organization_id for m in await uow.organizations.memberships("dora")] == [team.id]


async def test_two_owners_demoting_each_other_at_once_leave_one_owner(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    """The second change waits for the first to end, then sees it: the count of owners is
    never read from before a change that is about to commit."""
    team = await world.organization(("olga", OWNER), ("otto", OWNER))

    async def otto_steps_down() -> MemberChange:
        async with uow_factory() as uow:
            change = await uow.organizations.set_role(team.id, "otto", MANAGER)
            await uow.commit()
        return change

    async with uow_factory() as first:
        assert await first.organizations.set_role(team.id, "olga", MANAGER) is MemberChange.DONE
        second = asyncio.create_task(otto_steps_down())
        await asyncio.sleep(0.3)
        assert not second.done()
        await first.commit()
    assert await asyncio.wait_for(second, 10) is MemberChange.LAST_OWNER
    async with uow_factory() as uow:
        roles = {m.subject: m.role for m in await uow.organizations.members(team.id)}
    assert roles == {"olga": MANAGER, "otto": OWNER}


async def test_owners_removing_each_other_concurrently_keep_one(
    wide_uow_factory: UnitOfWorkFactory, world: World
) -> None:
    owners = [f"owner-{n}" for n in range(6)]
    team = await world.organization(*((o, OWNER) for o in owners))

    async def remove(subject: str) -> MemberChange:
        async with wide_uow_factory() as uow:
            change = await uow.organizations.remove_member(team.id, subject)
            await uow.commit()
        return change

    changes = await asyncio.gather(*(remove(o) for o in owners))
    assert changes.count(MemberChange.DONE) == len(owners) - 1
    assert changes.count(MemberChange.LAST_OWNER) == 1
    async with wide_uow_factory() as uow:
        [left] = await uow.organizations.members(team.id)
    assert left.role is OWNER
    assert left.subject == owners[changes.index(MemberChange.LAST_OWNER)]


async def test_member_changes_are_undone_by_a_rollback(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    team = await world.organization(("olga", OWNER), ("mia", OWNER))
    async with uow_factory() as uow:
        assert await uow.organizations.set_role(team.id, "mia", DOOR) is MemberChange.DONE
        assert await uow.organizations.remove_member(team.id, "olga") is MemberChange.LAST_OWNER
        assert await uow.organizations.add_member(new_membership(team, "dora", DOOR))
        assert await uow.organizations.add(new_organization(personal_of="mia"))
        # no commit
    async with uow_factory() as uow:
        roles = {m.subject: m.role for m in await uow.organizations.members(team.id)}
        assert await uow.organizations.personal("mia") is None
    assert roles == {"olga": OWNER, "mia": OWNER}


# -- invitations ------------------------------------------------------------------------------


async def test_an_invitation_keeps_every_field(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    team = await world.organization(("olga", OWNER))
    invitation = new_invitation(team, "dörte@exämple.org", MANAGER, ttl=timedelta(hours=5))
    async with uow_factory() as uow:
        await uow.invitations.add(invitation)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.invitations.get(invitation.id) == invitation
        assert await uow.invitations.get(uuid4()) is None


async def test_invitations_of_an_organization_newest_first_and_filtered(
    uow_factory: UnitOfWorkFactory, world: World
) -> None:
    team = await world.organization(("olga", OWNER))
    other = await world.organization(("otto", OWNER))
    old, middle, new = (
        new_invitation(team, f"{name}@example.org", created_at=T0 + timedelta(hours=hours))
        for name, hours in (("old", 0), ("middle", 1), ("new", 2))
    )
    elsewhere = new_invitation(other)
    async with uow_factory() as uow:
        for invitation in (middle, elsewhere, new, old):
            await uow.invitations.add(invitation)
        assert await uow.invitations.decide(
            middle.id, InvitationStatus.REVOKED, by="olga", at=T0 + timedelta(hours=3)
        )
        await uow.commit()
    pending = frozenset({InvitationStatus.PENDING})
    async with uow_factory() as uow:
        every = await uow.invitations.for_organization(team.id)
        waiting = await uow.invitations.for_organization(team.id, statuses=pending)
        newest = await uow.invitations.for_organization(team.id, limit=1)
        assert await uow.invitations.for_organization(uuid4()) == []
    assert [i.id for i in every] == [new.id, middle.id, old.id]
    assert [i.id for i in waiting] == [new.id, old.id]
    assert [i.id for i in newest] == [new.id]


async def test_decide_is_compare_and_set(uow_factory: UnitOfWorkFactory, world: World) -> None:
    team = await world.organization(("olga", OWNER))
    invitation = new_invitation(team)
    accepted_at = T0 + timedelta(hours=1)
    async with uow_factory() as uow:
        await uow.invitations.add(invitation)
        assert await uow.invitations.decide(
            invitation.id, InvitationStatus.ACCEPTED, by="dora", at=accepted_at
        )
        assert not await uow.invitations.decide(
            invitation.id, InvitationStatus.REVOKED, by="olga", at=accepted_at
        )
        assert not await uow.invitations.decide(
            invitation.id, InvitationStatus.ACCEPTED, by="mallory", at=accepted_at
        )
        assert not await uow.invitations.decide(
            uuid4(), InvitationStatus.ACCEPTED, by="dora", at=accepted_at
        )
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.invitations.get(invitation.id)
    assert stored is not None
    assert (stored.status, stored.decided_by) == (InvitationStatus.ACCEPTED, "dora")
    assert stored.decided_at == accepted_at


async def test_twenty_accepts_at_once_decide_once(
    wide_uow_factory: UnitOfWorkFactory, world: World
) -> None:
    team = await world.organization(("olga", OWNER))
    invitation = new_invitation(team)
    await committed(wide_uow_factory, lambda uow: uow.invitations.add(invitation))

    async def accept(n: int) -> bool:
        async with wide_uow_factory() as uow:
            won = await uow.invitations.decide(
                invitation.id, InvitationStatus.ACCEPTED, by=f"taker-{n}", at=T0
            )
            await uow.commit()
        return won

    won = await asyncio.gather(*(accept(n) for n in range(20)))
    assert won.count(True) == 1
    async with wide_uow_factory() as uow:
        stored = await uow.invitations.get(invitation.id)
    assert stored is not None and stored.decided_by == f"taker-{won.index(True)}"


async def test_an_invitation_needs_its_organization(uow_factory: UnitOfWorkFactory) -> None:
    orphan = new_invitation(new_organization())
    with pytest.raises(Conflict):
        await committed(uow_factory, lambda uow: uow.invitations.add(orphan))
