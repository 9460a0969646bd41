"""The article an ad-hoc request cites (`tracker request --article`, issue 6 §5): kept on
the request's obligations; NULL (every request before this revision) means the config's
`[cluster] request_article`.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("obligation") as batch:
        batch.add_column(sa.Column("article", sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("obligation") as batch:
        batch.drop_column("article")
