"""The tables. The database is the single source of truth: obligations, their audit
trail and (issue 3) the reminder outbox. Derived facts (overdue, late, due soon) are
computed from these rows and a given `now`, never stored."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from tracker.db.types import UTCDateTime

# Every constraint gets a predictable name (Alembic's recommended convention): SQLite and
# PostgreSQL then agree, and a later migration can drop or alter one by name, which SQLite's
# batch mode needs. Set before the tables below are declared.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class ClusterRow(SQLModel, table=True):
    __tablename__ = "cluster"

    id: str = Field(primary_key=True, max_length=64)
    name: str
    timezone: str = "Asia/Ho_Chi_Minh"


class CycleRow(SQLModel, table=True):
    """One cluster's yearly cycle (Y; it ends with the conference in Q1 of Y+1)."""

    __tablename__ = "cycle"
    __table_args__ = (UniqueConstraint("cluster_id", "year"),)

    id: int | None = Field(default=None, primary_key=True)
    cluster_id: str = Field(foreign_key="cluster.id", index=True, max_length=64)
    year: int
    leader_id: str = Field(max_length=64)
    config_version: str
    config_path: str
    config_hash: str = Field(max_length=64)
    # The validated config as JSON: the daemon plans from the snapshot the leader loaded,
    # not from a file that may have been edited since.
    config_json: str = Field(sa_column=Column(Text, nullable=False))
    loaded_at: datetime = Field(sa_type=UTCDateTime)
    # The member elected at this cycle's summary conference to lead the next year
    # (Điều 7.9, `tracker elect`): the next cycle takes it as its leader.
    elected_leader_id: str | None = Field(default=None, max_length=64)
    # The `holidays` package's answers for Y-2 … Y+2 as computed at `tracker init`
    # (`HolidayTable.to_json`), so read-only commands need not import the package (issue 7
    # §2). NULL for a cycle loaded before migration 0007: its calendar asks the package.
    holiday_json: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class MemberRow(SQLModel, table=True):
    __tablename__ = "member"
    __table_args__ = (UniqueConstraint("cycle_id", "member_id"),)

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    member_id: str = Field(max_length=64)
    name: str
    # A member removed from the config with --force stays, inactive, with its history.
    active: bool = True


class Obligation(SQLModel, table=True):
    """What one member (or the leader) owes for one milestone or ad-hoc request."""

    __tablename__ = "obligation"
    __table_args__ = (UniqueConstraint("cycle_id", "member_id", "milestone_id"),)

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    member_id: str = Field(max_length=64)
    # A config milestone id, or "request-<n>" for an ad-hoc request (Điều 7.3).
    milestone_id: str = Field(max_length=64)
    assignee: str = Field(max_length=16)  # members | leader | next_leader | request
    title: str | None = None  # ad-hoc requests only
    due_override: date | None = None  # ad-hoc requests: the date in the leader's request
    # Ad-hoc requests: the article the leader's request cites (`request --article`), in
    # the compact form the config uses; None: the config's `[cluster] request_article`.
    article: str | None = Field(default=None, max_length=128)
    event_date: date | None = None  # the conference date / this member's inspection visit
    state: str = Field(default="open", max_length=16, index=True)
    submitted_on: date | None = None
    completed_on: date | None = None
    active: bool = True
    # Bumped on every change so two writers cannot both act on the same old state.
    version: int = 1


class AuditEntry(SQLModel, table=True):
    """Append-only: one row per transition, schedule, request or config load."""

    __tablename__ = "audit"

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    obligation_id: int | None = Field(default=None, foreign_key="obligation.id", index=True)
    # When it happened in the cycle: the command's `now`, which a trainer may replay
    # (TRACKER_NOW) — and when the row was really written, by the wall clock. The two are
    # equal unless the clock was replayed (migration 0004 filled old rows with `at`).
    at: datetime = Field(sa_type=UTCDateTime)
    recorded_at: datetime = Field(sa_type=UTCDateTime)
    operator: str = Field(max_length=64)
    os_user: str = Field(max_length=64)
    action: str = Field(max_length=32)
    from_state: str | None = Field(default=None, max_length=16)
    to_state: str | None = Field(default=None, max_length=16)
    note: str = ""
    ref: str = ""  # document reference, e.g. "Số: 123/BC-UBND"
    on_date: date | None = None  # the day the act happened, when not today


class OutboxRow(SQLModel, table=True):
    """One reminder item for one recipient (issue 3 §3): what was planned and what became
    of it, `planned → sending → sent | failed | cancelled`, following its letter
    (`LetterRow`), which is what is claimed and sent. APScheduler is only the clock; a
    crash loses nothing because every decision lives here. `tracker.delivery` owns the
    rules."""

    __tablename__ = "outbox"
    __table_args__ = (
        # The planner's key (obligation, kind, offset, due date, recipient): planning twice,
        # or from two schedulers at once, inserts each reminder once.
        UniqueConstraint("key"),
        # The claim query: due rows by state and time.
        Index("ix_outbox_state_send_at", "state", "send_at"),
        # A letter's items, and the bundler's "planned, no letter yet" (both columns, or
        # SQLite answers it through the state index, scanning every planned item).
        Index("ix_outbox_letter_id_state", "letter_id", "state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    obligation_id: int | None = Field(default=None, foreign_key="obligation.id", index=True)
    kind: str = Field(max_length=16)  # the planner's kind: lead, overdue, leader_digest, …
    offset: int
    due: date | None = None
    recipient_email: str = Field(max_length=320)
    recipient_name: str
    recipient_role: str = Field(max_length=16)  # focal | head | leader | province
    member_id: str | None = Field(default=None, max_length=64)
    send_at: datetime = Field(sa_type=UTCDateTime)
    state: str = Field(default="planned", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # backoff
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_by: str | None = Field(default=None, max_length=128)
    message_id: str | None = Field(default=None, max_length=255)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The server's reply or why the row was cancelled; never credentials.
    last_error: str = Field(default="", sa_column=Column(Text, nullable=False))
    catch_up: bool = False  # sent late, once, for reminders missed during downtime
    # The letter (e-mail) that carries this item: set when planning bundles it
    # (tracker.delivery.bundle), cleared when its send time moves to another day.
    letter_id: int | None = Field(default=None, foreign_key="letter.id")
    letter_key: str | None = None  # that letter's key (kept for history and old rows)
    # Whose letter: "leader" (the leader's tasks, to the leader's office) or "member" (a
    # member's duty, the leader's own unit included): two hats, two letters (issue 6 §4).
    hat: str = Field(default="member", max_length=8)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class LetterRow(SQLModel, table=True):
    """One e-mail, the unit of delivery (issue 7 §1), as healthchecks' notification row is:
    `planned → sending → sent | failed | cancelled`. Planning bundles reminder items
    (`OutboxRow.letter_id`) into letters; a sender claims a letter whole, with a lease,
    sends it outside any transaction and marks it, so a letter is never split between
    senders and is retried and capped whole. `tracker.delivery` owns the rules."""

    __tablename__ = "letter"
    __table_args__ = (
        UniqueConstraint("key"),
        # The claim query: due letters by state and time.
        Index("ix_letter_state_send_at", "state", "send_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # `<bundle>#<n>`: the n-th letter of its bundle; the Message-ID is derived from it.
    key: str
    # What belongs together: `day:<cycle>:<date>:<address>:<hat>` (the daily digest of one
    # recipient under one hat) or `one:<item key>` (per-item mode, cycle-level rows).
    bundle: str = Field(index=True)
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    recipient_email: str = Field(max_length=320)
    recipient_name: str
    hat: str = Field(default="member", max_length=8)
    state: str = Field(default="planned", max_length=16)
    send_at: datetime = Field(sa_type=UTCDateTime)
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # backoff
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_by: str | None = Field(default=None, max_length=128)
    message_id: str | None = Field(default=None, max_length=255)
    subject: str = Field(default="", sa_column=Column(Text, nullable=False))
    items: int = 0  # how many items the sent letter carried
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The server's last reply, or why the letter was cancelled; never credentials.
    last_error: str = Field(default="", sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class PlanState(SQLModel, table=True):
    """What a cycle was last planned from (issue 7 §2): a tick re-plans a cycle only when
    this fingerprint changes (config, leader, an obligation's state or dates, the day), so
    a tick with nothing changed costs one query, not a re-plan of the whole outbox. The
    items that could not be planned are kept here for `tracker status` and the digest."""

    __tablename__ = "plan_state"

    cycle_id: int = Field(primary_key=True, foreign_key="cycle.id")
    fingerprint: str = Field(max_length=64)
    planned_at: datetime = Field(sa_type=UTCDateTime)
    # JSON list of {"obligation_id", "milestone_id", "member_id", "vi", "en"}.
    problems: str = Field(default="[]", sa_column=Column(Text, nullable=False))


class OutboxPause(SQLModel, table=True):
    """Sending is paused (authentication or TLS problem): at most one row, id 1. It stays
    until a send succeeds again or an operator clears it; `tracker status` and the
    leader's digest show the reason."""

    __tablename__ = "outbox_pause"

    id: int = Field(default=1, primary_key=True)
    since: datetime = Field(sa_type=UTCDateTime)
    retry_at: datetime = Field(sa_type=UTCDateTime)  # when a tick tries one send again
    reason_vi: str = Field(sa_column=Column(Text, nullable=False))
    reason_en: str = Field(sa_column=Column(Text, nullable=False))
    reply: str = Field(default="", sa_column=Column(Text, nullable=False))
