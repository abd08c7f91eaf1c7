"""Organizations, their members and invitations; every event belongs to an organization.

Data: each subject that owns events gets a personal organization (named after the
subject, ``personal_of`` = the subject) with that subject as its only member, an
``owner``; its events move into it. ``events.owner`` stays, as who created the event.

The data step reads and writes rows, so it runs online only (not with ``--sql``).
A downgrade drops organizations, members and invitations; events keep their owner.

Revision ID: 0008
Revises: 0003
Create Date: 2026-12-08
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import op

revision = "0008"
down_revision = "0003"
branch_labels = None
depends_on = None

ROLES = "role IN ('owner', 'manager', 'door')"
BATCH = 1000


def upgrade() -> None:
    op.create_table(
        "organizations",
        sa.Column("id", GUID(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("personal_of", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organizations")),
        sa.UniqueConstraint("personal_of", name="uq_organizations_personal_of"),
    )
    op.create_table(
        "organization_members",
        sa.Column("organization_id", GUID(), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("added_by", sa.String(length=255), nullable=False),
        sa.Column("added_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.CheckConstraint(ROLES, name=op.f("ck_organization_members_role_known")),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_organization_members_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "subject", name=op.f("pk_organization_members")),
    )
    op.create_index(
        "ix_organization_members_subject", "organization_members", ["subject"], unique=False
    )
    op.create_table(
        "invitations",
        sa.Column("id", GUID(), nullable=False),
        sa.Column("organization_id", GUID(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("invited_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("expires_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=255), nullable=True),
        sa.Column("decided_at", DateTimeUTC(timezone=True), nullable=True),
        sa.CheckConstraint(ROLES, name=op.f("ck_invitations_role_known")),
        sa.CheckConstraint(
            "status IN ('pending', 'accepted', 'revoked')", name=op.f("ck_invitations_status_known")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_invitations_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitations")),
    )
    op.create_index(
        "ix_invitations_organization_id_created_at",
        "invitations",
        ["organization_id", "created_at"],
        unique=False,
    )
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("organization_id", GUID(), nullable=True))
    _personal_organizations_for_event_owners()
    with op.batch_alter_table("events") as batch:
        batch.alter_column("organization_id", existing_type=GUID(), nullable=False)
        batch.create_foreign_key(
            op.f("fk_events_organization_id_organizations"),
            "organizations",
            ["organization_id"],
            ["id"],
        )
        batch.drop_index("ix_events_owner")
        batch.create_index(
            "ix_events_organization_id_starts_at", ["organization_id", "starts_at"], unique=False
        )


def _personal_organizations_for_event_owners() -> None:
    """One personal organization per subject that owns events; its events move in."""
    if op.get_context().as_sql:
        raise RuntimeError(
            "revision 0008 moves events into organizations row by row: run it online "
            "(eltiketi db upgrade), not as offline SQL"
        )
    bind = op.get_bind()
    events = sa.table(
        "events",
        sa.column("owner", sa.String()),
        sa.column("created_at", DateTimeUTC(timezone=True)),
        sa.column("organization_id", GUID()),
    )
    organizations = sa.table(
        "organizations",
        sa.column("id", GUID()),
        sa.column("name", sa.String()),
        sa.column("created_by", sa.String()),
        sa.column("created_at", DateTimeUTC(timezone=True)),
        sa.column("personal_of", sa.String()),
    )
    members = sa.table(
        "organization_members",
        sa.column("organization_id", GUID()),
        sa.column("subject", sa.String()),
        sa.column("role", sa.String()),
        sa.column("added_by", sa.String()),
        sa.column("added_at", DateTimeUTC(timezone=True)),
        sa.column("email", sa.String()),
    )
    owners = bind.execute(
        sa.select(events.c.owner, sa.func.min(events.c.created_at))
        .group_by(events.c.owner)
        .order_by(events.c.owner)
    ).all()
    for start in range(0, len(owners), BATCH):
        rows = [
            {"id": uuid.uuid4(), "owner": owner, "since": since}
            for owner, since in owners[start : start + BATCH]
        ]
        bind.execute(
            organizations.insert(),
            [
                {
                    "id": row["id"],
                    "name": row["owner"][:200],
                    "created_by": row["owner"],
                    "created_at": row["since"],
                    "personal_of": row["owner"],
                }
                for row in rows
            ],
        )
        bind.execute(
            members.insert(),
            [
                {
                    "organization_id": row["id"],
                    "subject": row["owner"],
                    "role": "owner",
                    "added_by": row["owner"],
                    "added_at": row["since"],
                    "email": None,
                }
                for row in rows
            ],
        )
    personal = (
        sa.select(organizations.c.id)
        .where(organizations.c.personal_of == events.c.owner)
        .scalar_subquery()
    )
    bind.execute(events.update().values(organization_id=personal))


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_index("ix_events_organization_id_starts_at")
        batch.create_index("ix_events_owner", ["owner"], unique=False)
        batch.drop_constraint(op.f("fk_events_organization_id_organizations"), type_="foreignkey")
        batch.drop_column("organization_id")
    op.drop_index("ix_invitations_organization_id_created_at", table_name="invitations")
    op.drop_table("invitations")
    op.drop_index("ix_organization_members_subject", table_name="organization_members")
    op.drop_table("organization_members")
    op.drop_table("organizations")
