"""The holiday table a cycle keeps (issue 7 §2): `cycle.holiday_json`, the `holidays`
package's public holidays and make-up days for the years the cycle needs, computed when
`tracker init` loads it, so `show`, `status` and `calendar` need not import the package.

NULL (every cycle loaded before this revision) means "ask the package", as before; the
next `tracker init` of that cycle fills it. Not filled here: the migration would then
depend on the package's release at upgrade time and on the tracker's own calendar code.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cycle") as batch:
        batch.add_column(sa.Column("holiday_json", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cycle") as batch:
        batch.drop_column("holiday_json")
