"""The first schema: clusters, yearly cycles, members, obligations and their audit trail.

Revision ID: 0001
Revises:
Create Date: 2026-11-29

Written from Alembic's autogenerate output, then tidied. Types are plain SQLAlchemy
(UTCDateTime is stored as DateTime(timezone=True), sqlmodel's AutoString as String) so this
file never changes when application code does. Constraint names follow the naming convention
in tracker/db/models.py.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cluster",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("timezone", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cluster"),
    )
    op.create_table(
        "cycle",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cluster_id", sa.String(length=64), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("leader_id", sa.String(length=64), nullable=False),
        sa.Column("config_version", sa.String(), nullable=False),
        sa.Column("config_path", sa.String(), nullable=False),
        sa.Column("config_hash", sa.String(length=64), nullable=False),
        sa.Column("config_json", sa.Text(), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["cluster_id"], ["cluster.id"], name="fk_cycle_cluster_id_cluster"),
        sa.PrimaryKeyConstraint("id", name="pk_cycle"),
        sa.UniqueConstraint("cluster_id", "year", name="uq_cycle_cluster_id_year"),
    )
    op.create_index("ix_cycle_cluster_id", "cycle", ["cluster_id"])
    op.create_table(
        "member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["cycle_id"], ["cycle.id"], name="fk_member_cycle_id_cycle"),
        sa.PrimaryKeyConstraint("id", name="pk_member"),
        sa.UniqueConstraint("cycle_id", "member_id", name="uq_member_cycle_id_member_id"),
    )
    op.create_index("ix_member_cycle_id", "member", ["cycle_id"])
    op.create_table(
        "obligation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.String(length=64), nullable=False),
        sa.Column("milestone_id", sa.String(length=64), nullable=False),
        sa.Column("assignee", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(), nullable=True),
        sa.Column("due_override", sa.Date(), nullable=True),
        sa.Column("event_date", sa.Date(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("submitted_on", sa.Date(), nullable=True),
        sa.Column("completed_on", sa.Date(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["cycle_id"], ["cycle.id"], name="fk_obligation_cycle_id_cycle"),
        sa.PrimaryKeyConstraint("id", name="pk_obligation"),
        sa.UniqueConstraint(
            "cycle_id",
            "member_id",
            "milestone_id",
            name="uq_obligation_cycle_id_member_id_milestone_id",
        ),
    )
    op.create_index("ix_obligation_cycle_id", "obligation", ["cycle_id"])
    op.create_index("ix_obligation_state", "obligation", ["state"])
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("obligation_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("operator", sa.String(length=64), nullable=False),
        sa.Column("os_user", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=True),
        sa.Column("note", sa.String(), nullable=False),
        sa.Column("ref", sa.String(), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["cycle_id"], ["cycle.id"], name="fk_audit_cycle_id_cycle"),
        sa.ForeignKeyConstraint(
            ["obligation_id"], ["obligation.id"], name="fk_audit_obligation_id_obligation"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_audit"),
    )
    op.create_index("ix_audit_cycle_id", "audit", ["cycle_id"])
    op.create_index("ix_audit_obligation_id", "audit", ["obligation_id"])


def downgrade() -> None:
    # Dropping a table drops its indexes too, on SQLite and PostgreSQL.
    for table in ("audit", "obligation", "member", "cycle", "cluster"):
        op.drop_table(table)
