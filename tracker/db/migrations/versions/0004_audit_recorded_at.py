"""The audit trail records the real time as well as the (possibly replayed) one (issue 6 §6).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

`audit.at` stays the command's `now`, which a trainer may replay with TRACKER_NOW;
`audit.recorded_at` is the wall clock when the row was written. Rows written before this
revision had no replay clock worth keeping apart, so they get `recorded_at = at`. On SQLite
the NOT NULL is set in batch mode (the table is rebuilt; tracker.db.migrate turns foreign
keys off around it and checks them after).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit") as batch:
        batch.add_column(sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE audit SET recorded_at = at WHERE recorded_at IS NULL")
    with op.batch_alter_table("audit") as batch:
        batch.alter_column("recorded_at", existing_type=sa.DateTime(timezone=True), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("audit") as batch:
        batch.drop_column("recorded_at")
