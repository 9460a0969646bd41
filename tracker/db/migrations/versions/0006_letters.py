"""One letter, one row (issue 7 §1): the `letter` table holds each e-mail (its key,
recipient, Message-ID, state, lease, attempts); reminder rows become its items
(`outbox.letter_id`, `outbox.hat`); `plan_state` remembers what each cycle was last planned
from, so a tick re-plans only what changed.

History is kept: every group of outbox rows that shared a `letter_key` becomes one letter
in the state its rows were in (a letter left `sending` by a stopped daemon is planned
again, with the same key, hence the same Message-ID). Planned rows without a letter are
bundled by the next tick.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A letter's state from its rows': one row still owed makes the letter owed again.
_ORDER = ("sending", "planned", "failed", "sent", "cancelled")


def upgrade() -> None:
    op.create_table(
        "letter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("bundle", sa.String(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("recipient_email", sa.String(length=320), nullable=False),
        sa.Column("recipient_name", sa.String(), nullable=False),
        sa.Column("hat", sa.String(length=8), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("send_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(length=128), nullable=True),
        sa.Column("message_id", sa.String(length=255), nullable=True),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["cycle_id"], ["cycle.id"], name="fk_letter_cycle_id_cycle"),
        sa.PrimaryKeyConstraint("id", name="pk_letter"),
        sa.UniqueConstraint("key", name="uq_letter_key"),
    )
    op.create_index("ix_letter_state_send_at", "letter", ["state", "send_at"])
    op.create_index("ix_letter_bundle", "letter", ["bundle"])
    op.create_index("ix_letter_cycle_id", "letter", ["cycle_id"])
    op.create_table(
        "plan_state",
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("planned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("problems", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["cycle_id"], ["cycle.id"], name="fk_plan_state_cycle_id_cycle"),
        sa.PrimaryKeyConstraint("cycle_id", name="pk_plan_state"),
    )
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("letter_id", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("hat", sa.String(length=8), nullable=False, server_default="member")
        )
        batch.create_foreign_key("fk_outbox_letter_id_letter", "letter", ["letter_id"], ["id"])
        batch.create_index("ix_outbox_letter_id_state", ["letter_id", "state"])
    _carry_history()


def _carry_history() -> None:
    conn = op.get_bind()
    conn.execute(
        sa.text(
            "UPDATE outbox SET hat = 'leader' WHERE recipient_role = 'leader'"
            " OR kind IN ('set_date', 'leader_digest')"
        )
    )
    rows = conn.execute(
        sa.text(
            "SELECT letter_key, cycle_id, recipient_email, recipient_name, hat, state, send_at,"
            " attempts, message_id, sent_at, last_error FROM outbox"
            " WHERE letter_key IS NOT NULL ORDER BY id"
        )
    ).all()
    letters: dict[str, dict[str, object]] = {}
    for key, cycle_id, email, name, hat, state, send_at, attempts, mid, sent_at, err in rows:
        cur = letters.get(key)
        if cur is None:
            letters[key] = cur = {
                "key": key,
                "bundle": key,
                "cycle_id": cycle_id,
                "recipient_email": email,
                "recipient_name": name,
                "hat": hat,
                "state": state,
                "send_at": send_at,
                "attempts": attempts,
                "message_id": mid,
                "sent_at": sent_at,
                "last_error": err or "",
            }
        elif _ORDER.index(state) < _ORDER.index(str(cur["state"])):
            cur["state"] = state
        cur["attempts"] = max(int(str(cur["attempts"])), attempts)
        cur["message_id"] = cur["message_id"] or mid
        cur["sent_at"] = cur["sent_at"] or sent_at
    now = datetime.now(UTC)
    if conn.dialect.name == "sqlite":
        now = now.replace(tzinfo=None)  # stored naive UTC, as tracker.db.types does
    table = sa.table(
        "letter",
        *(
            sa.column(c)
            for c in [
                "key",
                "bundle",
                "cycle_id",
                "recipient_email",
                "recipient_name",
                "hat",
                "state",
                "send_at",
                "attempts",
                "message_id",
                "sent_at",
                "last_error",
                "subject",
                "items",
                "created_at",
                "updated_at",
            ]
        ),
    )
    for cur in letters.values():
        if cur["state"] == "sending":  # its sender is gone: owed again, same key
            cur["state"] = "planned"
        values = {"subject": "", "items": 0, "created_at": now, "updated_at": now, **cur}
        conn.execute(table.insert().values(**values))
    conn.execute(
        sa.text(
            "UPDATE outbox SET letter_id = (SELECT letter.id FROM letter"
            " WHERE letter.key = outbox.letter_key) WHERE letter_key IS NOT NULL"
        )
    )
    conn.execute(
        sa.text(
            "UPDATE outbox SET state = 'planned', claimed_by = NULL, lease_until = NULL"
            " WHERE state = 'sending'"
        )
    )


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_letter_id_state")
        batch.drop_constraint("fk_outbox_letter_id_letter", type_="foreignkey")
        batch.drop_column("hat")
        batch.drop_column("letter_id")
    op.drop_table("plan_state")
    op.drop_index("ix_letter_cycle_id", table_name="letter")
    op.drop_index("ix_letter_bundle", table_name="letter")
    op.drop_index("ix_letter_state_send_at", table_name="letter")
    op.drop_table("letter")
