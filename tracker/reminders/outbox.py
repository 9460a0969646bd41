"""The reminder outbox (issue 3 §3): the database rows that make delivery lose nothing and
send nothing twice.

A row goes `planned → sending → sent | failed | cancelled`:

- `sync_plan` / `plan_all` turn the planner's output into rows (idempotent: the key is
  unique) and cancel planned rows the plan no longer wants (due date moved, obligation
  settled). Sent, sending and failed rows are history and are never touched.
- `catch_up_missed` makes sure that after downtime each obligation gets one late message,
  to its focal officer, not one per missed reminder and recipient, at the next office hour
  of a working day.
- `claim_due` hands due rows to one worker with a lease, in one short transaction; the
  worker sends outside any transaction, then `mark_sent` / `mark_retry` / `mark_failed`
  record the outcome only if the claim is still its own. A worker that dies leaves its
  rows `sending`; once the lease expires another worker claims them again and resends
  with the same Message-ID (the letter key is kept on the row). Nothing is claimed outside
  its cycle's office hours (`tracker.reminders.office`): not on a Sunday, not during Tết,
  not in the evening, whatever path brought the row due.
- Authentication and TLS problems pause all sending (`OutboxPause`): every message would
  fail the same way, so the rows stay planned and a person is told.

Every function takes `now`; nothing here reads the clock.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Engine, and_, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, func, select

from tracker.calendar.types import local_date
from tracker.calendar.workdays import WorkCalendar
from tracker.config.schema import Holidays, Mail
from tracker.db.engine import session_scope
from tracker.db.models import CycleRow, OutboxPause, OutboxRow
from tracker.errors import BadInputError, NotFoundError
from tracker.reminders.office import Office
from tracker.reminders.planner import ObligationView, PlannedReminder, plan_reminders
from tracker.service.cycles import CycleContext, all_cycles, config_from_snapshot, load_context
from tracker.service.views import due_of

log = logging.getLogger("tracker.outbox")

PLANNED: Final = "planned"
SENDING: Final = "sending"
SENT: Final = "sent"
FAILED: Final = "failed"
CANCELLED: Final = "cancelled"
STATES: Final = (PLANNED, SENDING, SENT, FAILED, CANCELLED)

# Why a row was cancelled (kept in last_error). Only UNPLANNED rows come back when the plan
# wants their key again (a returned report is owed again); a superseded reminder stays
# superseded, or the catch-up rule would be undone on the next tick.
UNPLANNED: Final = "no longer planned"
SUPERSEDED: Final = "superseded by catch-up"
# A leader digest with nothing in it (a cycle not yet under way while the previous one
# holds its conference): not sent, and not brought back that day.
NOTHING_TO_REPORT: Final = "nothing to report"

# Transient failures (4xx, disconnects, timeouts) wait 1, 2, 4 … minutes, at most an hour;
# after MAX_ATTEMPTS the row fails and waits for `tracker outbox retry`. 20 attempts span
# about 15 hours: a mail server down overnight is survived, one down for days is reported.
BACKOFF_BASE: Final = timedelta(minutes=1)
BACKOFF_CAP: Final = timedelta(hours=1)
MAX_ATTEMPTS: Final = 20
# A paused sender tries one batch again after this long: a certificate renewed or a login
# fixed on the server side resumes sending without a restart.
PAUSE_RETRY: Final = timedelta(minutes=15)

_INSERT_CHUNK = 200  # rows per INSERT: well under SQLite's bound-parameter limit


@dataclass(frozen=True)
class SyncReport:
    added: int
    cancelled: int
    kept: int
    revived: int = 0  # cancelled rows planned again (a returned report is owed again)
    cycle_id: int | None = None
    error: str = ""  # the cycle could not be planned (logged; other cycles go on)


# -- planning ---------------------------------------------------------------------------


def obligation_views(ctx: CycleContext) -> list[ObligationView]:
    """The planner's view of a cycle's active obligations, with their current due dates."""
    plan = ctx.plan()
    views: list[ObligationView] = []
    for ob in ctx.obligations:
        if not ob.active:
            continue
        assert ob.id is not None
        views.append(
            ObligationView(
                obligation_id=ob.id,
                cycle_id=ctx.id,
                member_id=ob.member_id,
                milestone_id=ob.milestone_id,
                state=ob.state,
                due=due_of(ctx, plan, ob),
            )
        )
    return views


def plan_for(ctx: CycleContext, now: datetime) -> list[PlannedReminder]:
    """Every reminder the cycle calls for as of `now` (pure; `tracker simulate` uses it)."""
    return plan_reminders(
        ctx.cfg,
        ctx.year,
        ctx.id,
        obligation_views(ctx),
        ctx.calendar,
        leader_id=ctx.row.leader_id,
        now=now,
    )


def plan_all(session: Session, now: datetime) -> list[SyncReport]:
    """Plan every cycle and bring its outbox rows in line (`sync_plan`), in the caller's
    transaction. A cycle that cannot be planned is logged and skipped, so one broken
    snapshot does not stop the reminders of the others."""
    _aware(now)
    reports: list[SyncReport] = []
    for row in all_cycles(session):
        assert row.id is not None
        try:
            # Reading the snapshot can fail too: one saved by an older version of the
            # config schema.
            planned = plan_for(load_context(session, row), now)
        except Exception as exc:
            log.exception("cycle %s/%s: planning failed", row.cluster_id, row.year)
            reports.append(SyncReport(0, 0, 0, cycle_id=row.id, error=f"{exc}"))
            continue
        reports.append(sync_plan(session, row.id, planned, now))
    return reports


def sync_plan(
    session: Session, cycle_id: int, planned: Sequence[PlannedReminder], now: datetime
) -> SyncReport:
    """Make the cycle's outbox match `planned`: new keys inserted, planned rows whose key is
    gone cancelled, rows cancelled as UNPLANNED whose key is back planned again. The plan
    keeps reminders whose time has passed, so a key missing from it is no longer wanted.

    Rows that are sending, sent or failed are never touched: they are history, or another
    worker holds them. Every write is conditional on the state read, so two schedulers
    syncing at once cannot undo each other's claims."""
    _aware(now)
    wanted: dict[str, PlannedReminder] = {}
    for p in planned:
        if p.cycle_id != cycle_id:
            raise ValueError(f"reminder {p.key} belongs to cycle {p.cycle_id}, not {cycle_id}")
        wanted.setdefault(p.key, p)
    # Core, not SQLModel's select: six columns, and no ORM objects for a thousand rows.
    existing = (
        session.connection()
        .execute(
            sa_select(
                col(OutboxRow.id),
                col(OutboxRow.key),
                col(OutboxRow.state),
                col(OutboxRow.last_error),
                col(OutboxRow.send_at),
                col(OutboxRow.recipient_name),
                col(OutboxRow.catch_up),
            ).where(col(OutboxRow.cycle_id) == cycle_id)
        )
        .all()
    )
    have = {key for _, key, *_ in existing}

    added = _insert_new(session, [_values(r, now) for k, r in wanted.items() if k not in have])

    cancelled = revived = 0
    for row_id, key, state, last_error, send_at, name, catch_up in existing:
        assert row_id is not None
        r = wanted.get(key)
        if state == PLANNED and r is None:
            cancelled += _set(
                session,
                row_id,
                PLANNED,
                state=CANCELLED,
                last_error=UNPLANNED,
                next_attempt_at=None,
                updated_at=now,
            )
        elif state == PLANNED and r is not None:
            # Same reminder, new office hour or a renamed contact in a reloaded config. A
            # catch-up keeps the office slot catch_up_missed gave it.
            changes: dict[str, Any] = {}
            if name != r.recipient_name:
                changes["recipient_name"] = r.recipient_name
            if send_at != r.send_at and not catch_up:
                changes["send_at"] = r.send_at
            if changes:
                _set(session, row_id, PLANNED, updated_at=now, **changes)
        elif state == CANCELLED and last_error == UNPLANNED and r is not None:
            revived += _set(
                session,
                row_id,
                CANCELLED,
                state=PLANNED,
                send_at=r.send_at,
                recipient_name=r.recipient_name,
                attempts=0,
                next_attempt_at=None,
                last_error="",
                catch_up=False,
                letter_key=None,
                claimed_by=None,
                updated_at=now,
            )
    kept = len(wanted) - (len(wanted.keys() - have))
    return SyncReport(added, cancelled, kept, revived, cycle_id=cycle_id)


def _values(r: PlannedReminder, now: datetime) -> dict[str, Any]:
    return {
        "key": r.key,
        "cycle_id": r.cycle_id,
        "obligation_id": r.obligation_id,
        "kind": r.kind,
        "offset": r.offset,
        "due": r.due,
        "recipient_email": r.recipient_email,
        "recipient_name": r.recipient_name,
        "recipient_role": r.recipient_role,
        "member_id": r.member_id,
        "send_at": r.send_at,
        "state": PLANNED,
        "attempts": 0,
        "next_attempt_at": None,
        "lease_until": None,
        "claimed_by": None,
        "message_id": None,
        "sent_at": None,
        "last_error": "",
        "catch_up": False,
        "letter_key": None,
        "created_at": now,
        "updated_at": now,
    }


def _insert_new(session: Session, values: list[dict[str, Any]]) -> int:
    """INSERT … ON CONFLICT (key) DO NOTHING: a scheduler that planned the same key a moment
    earlier (another process, a cron `tracker remind` beside the daemon) wins quietly
    instead of failing this whole transaction on the unique constraint."""
    if not values:
        return 0
    conn = session.connection()
    dialect = conn.dialect.name
    added = 0
    for i in range(0, len(values), _INSERT_CHUNK):
        chunk = values[i : i + _INSERT_CHUNK]
        if dialect == "postgresql":
            pg = (
                postgresql.insert(OutboxRow)
                .values(chunk)
                .on_conflict_do_nothing(index_elements=["key"])
            )
            inserted = conn.execute(pg.returning(col(OutboxRow.id))).all()
        elif dialect == "sqlite":
            lite = (
                sqlite.insert(OutboxRow)
                .values(chunk)
                .on_conflict_do_nothing(index_elements=["key"])
            )
            inserted = conn.execute(lite.returning(col(OutboxRow.id))).all()
        else:  # pragma: no cover - the engine only opens SQLite and PostgreSQL
            raise RuntimeError(f"unsupported database {dialect}")
        # RETURNING lists only the rows inserted; rowcount is not reliable for this on
        # every driver (psycopg reports none for a multi-row INSERT … ON CONFLICT).
        added += len(inserted)
    return added


def _set(session: Session, row_id: int, seen_state: str, **values: Any) -> int:
    """Update one row only if it is still in the state we read: 1 if it was, else 0."""
    result = session.exec(
        update(OutboxRow)
        .where(col(OutboxRow.id) == row_id, col(OutboxRow.state) == seen_state)
        .values(**values)
    )
    return int(result.rowcount)


# -- catch-up after downtime ------------------------------------------------------------


def catch_up_missed(session: Session, now: datetime) -> int:
    """After downtime, at most one message per obligation instead of a late burst (issue 3
    §3: "each open obligation gets at most one catch-up message carrying its current
    state").

    A due planned reminder is *missed* when its send time lies before today (local time):
    the daemon was down, or sending was paused, when it should have gone. For an obligation
    with a missed reminder, only the newest due reminder to each of its focal officers
    stays planned (the owner's focal contacts: the leader's for the leader's own work) —
    marked `catch_up` if it was missed too; every other due row of the obligation is
    cancelled as SUPERSEDED, escalations included, so a first tick after installing
    mid-year or after long downtime does not send months-old items to members' heads, the
    leader or the provincial board. An obligation whose missed rows are all escalations
    gets no catch-up: its focal officer was already reminded, and the leader's digest lists
    it as overdue.

    On time is not missed: a reminder due earlier today, escalations included, goes out as
    planned; so does a row already tried (a transient failure being retried: it came due
    while the daemon ran).

    A missed survivor goes out at the next office slot of its cycle (`Office.next_open`):
    now during office hours of a working day, else the next working day at the office
    hour — a daemon started on a Sunday evening or during Tết waits (issue 3 §1). The
    letter built from it carries the obligation's current state, so nothing the older
    reminders said is lost.

    Done in the planning transaction rather than at claim time so that a batch limit that
    splits the backlog over two ticks still yields one message. Returns the rows cancelled.
    """
    _aware(now)
    today = local_date(now)
    rows = (
        session.connection()
        .execute(
            sa_select(
                col(OutboxRow.id),
                col(OutboxRow.obligation_id),
                col(OutboxRow.recipient_email),
                col(OutboxRow.recipient_role),
                col(OutboxRow.send_at),
                col(OutboxRow.cycle_id),
                col(OutboxRow.kind),
                col(OutboxRow.due),
            )
            .where(
                col(OutboxRow.state) == PLANNED,
                col(OutboxRow.send_at) <= now,
                col(OutboxRow.obligation_id).is_not(None),
                col(OutboxRow.attempts) == 0,
            )
            .order_by(col(OutboxRow.send_at), col(OutboxRow.id))
        )
        .all()
    )
    by_obligation: dict[int, list[_Due]] = defaultdict(list)
    for row_id, ob_id, email, role, send_at, cycle_id, kind, due_day in rows:
        assert row_id is not None and ob_id is not None
        # The owner's own reminders: a member duty's focal officer, a leader task's office
        # (event notices go to both); an escalation is never a catch-up, nor a notice of an
        # event already past or a request to date one whose window has closed (months late,
        # "the visit is on 12/10" or "date the pact signing by 31/3" would only mislead).
        stale = kind in ("event_notice", "set_date") and due_day is not None and due_day < today
        owner = kind != "escalation" and role in ("focal", "leader") and not stale
        by_obligation[ob_id].append(_Due(row_id, email.lower(), role, send_at, cycle_id, owner))
    superseded = 0
    late: list[_Due] = []  # missed survivors, to reschedule
    for due in by_obligation.values():
        if all(local_date(d.send_at) >= today for d in due):
            continue
        # Ordered by send time, then id: the last row per focal address is the newest.
        keep = {(d.email, d.role): d for d in due if d.owner}
        kept = {d.row_id for d in keep.values()}
        for d in due:
            if d.row_id in kept or (not d.owner and local_date(d.send_at) >= today):
                continue
            superseded += _set(
                session,
                d.row_id,
                PLANNED,
                state=CANCELLED,
                last_error=SUPERSEDED,
                next_attempt_at=None,
                updated_at=now,
            )
        late += [d for d in keep.values() if local_date(d.send_at) < today]
    hours = offices(session, {d.cycle_id for d in late}) if late else {}
    for d in late:
        when = hours.get(d.cycle_id, _DEFAULT_OFFICE).next_open(now)
        _set(session, d.row_id, PLANNED, catch_up=True, send_at=when, updated_at=now)
    return superseded


@dataclass(frozen=True)
class _Due:
    """A due planned row, as catch_up_missed sees it."""

    row_id: int
    email: str  # lower case: addresses compare case-insensitively
    role: str
    send_at: datetime
    cycle_id: int
    owner: bool  # the owner's own reminder (not an escalation)


def offices(session: Session, cycle_ids: Iterable[int] | None = None) -> dict[int, Office]:
    """The office hours of each cycle (all, or those in `cycle_ids`): its work calendar and
    `mail.send_hour`. A cycle whose config snapshot cannot be read (planning logs it) gets
    the defaults, Vietnam's working days at 08:00: its rows are still claimed in office
    hours, fail to become letters and end up failed, visible in `tracker outbox`."""
    q = select(CycleRow)
    if cycle_ids is not None:
        q = q.where(col(CycleRow.id).in_(list(cycle_ids)))
    out: dict[int, Office] = {}
    for row in session.exec(q):
        assert row.id is not None
        try:
            cfg = config_from_snapshot(row.config_json)
        except Exception:
            out[row.id] = _DEFAULT_OFFICE
            continue
        out[row.id] = Office(CycleContext(row=row, cfg=cfg).calendar, cfg.mail.send_hour)
    return out


_DEFAULT_OFFICE = Office(WorkCalendar(Holidays()), Mail().send_hour)


def open_cycles(session: Session, now: datetime) -> list[int]:
    """The cycles whose office is open at `now`: only their rows may be sent."""
    return sorted(cid for cid, office in offices(session).items() if office.is_open(now))


# -- claiming ---------------------------------------------------------------------------


def _claimable(now: datetime) -> ColumnElement[bool]:
    due = and_(
        col(OutboxRow.state) == PLANNED,
        col(OutboxRow.send_at) <= now,
        or_(col(OutboxRow.next_attempt_at).is_(None), col(OutboxRow.next_attempt_at) <= now),
    )
    abandoned = and_(col(OutboxRow.state) == SENDING, col(OutboxRow.lease_until) < now)
    return or_(due, abandoned)


def claim_due(
    engine: Engine, *, now: datetime, worker: str, lease: timedelta, limit: int
) -> list[OutboxRow]:
    """Claim up to `limit` due rows for `worker` until `now + lease`, in one short
    transaction, and return them (detached, readable). Due: planned, its time come and no
    backoff pending; or sending with an expired lease (its sender died — the row keeps its
    letter key, so the resend has the same Message-ID). Rows that went out in one letter
    are claimed together, even past `limit`, so a letter is never split.

    Two races are closed here:
    - two schedulers picking the same row: on PostgreSQL `FOR UPDATE SKIP LOCKED` lets the
      second skip rows the first is claiming instead of waiting and double-claiming; on
      SQLite `BEGIN IMMEDIATE` (tracker.db.engine) serialises the two transactions. On both,
      each UPDATE repeats the due condition and the state it read (compare-and-set) and the
      row counts only if exactly one row changed: correct even where the locking above is
      absent (a deferred transaction, another tool on the file), and it is what catches
      the next race.
    - a slow sender whose lease expired racing its replacement: the replacement's UPDATE
      requires the lease to be over and takes `claimed_by`; the slow sender's later
      `mark_*` requires `claimed_by == worker` and `state == sending`, so it changes
      nothing, and the replacement's result is the one recorded.
    """
    _aware(now)
    if lease <= timedelta(0):
        raise ValueError("lease must be positive")
    if limit <= 0:
        return []
    until = now + lease
    with session_scope(engine) as s:
        # Nothing goes out outside its cycle's office hours, whatever made it due.
        open_now = open_cycles(s, now)
        if not open_now:
            return []
        in_office = col(OutboxRow.cycle_id).in_(open_now)
        candidates = list(
            s.exec(
                select(OutboxRow.id, OutboxRow.state, OutboxRow.attempts, OutboxRow.letter_key)
                .where(_claimable(now), in_office)
                .order_by(col(OutboxRow.send_at), col(OutboxRow.id))
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
        )
        letters = {lk for *_, lk in candidates if lk is not None}
        if letters:
            seen = {c[0] for c in candidates}
            siblings = s.exec(
                select(OutboxRow.id, OutboxRow.state, OutboxRow.attempts, OutboxRow.letter_key)
                .where(_claimable(now), in_office, col(OutboxRow.letter_key).in_(letters))
                .order_by(col(OutboxRow.id))
                .with_for_update(skip_locked=True)
            ).all()
            candidates += [c for c in siblings if c[0] not in seen]

        claimed: list[int] = []
        for row_id, state, attempts, _ in candidates:
            assert row_id is not None
            if state == PLANNED:
                ok = _cas(
                    s,
                    row_id,
                    _claimable(now),
                    col(OutboxRow.state) == PLANNED,
                    state=SENDING,
                    claimed_by=worker,
                    lease_until=until,
                    updated_at=now,
                )
            elif attempts + 1 >= MAX_ATTEMPTS:
                # Its sender died this many times: something about this message kills the
                # worker. Stop here and show it rather than crash forever.
                _cas(
                    s,
                    row_id,
                    _claimable(now),
                    col(OutboxRow.state) == SENDING,
                    state=FAILED,
                    attempts=attempts + 1,
                    lease_until=None,
                    last_error="the sender stopped while sending, too many times",
                    updated_at=now,
                )
                ok = False
            else:
                # The previous attempt ended unknown (maybe delivered): it counts.
                ok = _cas(
                    s,
                    row_id,
                    _claimable(now),
                    col(OutboxRow.state) == SENDING,
                    claimed_by=worker,
                    lease_until=until,
                    attempts=attempts + 1,
                    updated_at=now,
                )
            if ok:
                claimed.append(row_id)
        if not claimed:
            return []
        rows = list(
            s.exec(
                select(OutboxRow)
                .where(col(OutboxRow.id).in_(claimed))
                .order_by(col(OutboxRow.send_at), col(OutboxRow.id))
            ).all()
        )
    return rows


def _cas(session: Session, row_id: int, *conditions: ColumnElement[bool], **values: Any) -> bool:
    result = session.exec(
        update(OutboxRow)
        .where(col(OutboxRow.id) == row_id, *conditions)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount) == 1


# -- recording the outcome --------------------------------------------------------------


def _ours(row_ids: Iterable[int], worker: str) -> list[ColumnElement[bool]]:
    # The claim is still ours: nobody re-claimed the row after our lease ran out.
    return [
        col(OutboxRow.id).in_(list(row_ids)),
        col(OutboxRow.claimed_by) == worker,
        col(OutboxRow.state) == SENDING,
    ]


def _finish(engine: Engine, row_ids: Sequence[int], worker: str, **values: Any) -> int:
    if not row_ids:
        return 0
    with session_scope(engine) as s:
        result = s.exec(
            update(OutboxRow)
            .where(*_ours(row_ids, worker))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)


def assign_letters(
    engine: Engine,
    letters: Sequence[tuple[str, Sequence[int]]],
    *,
    worker: str,
    now: datetime,
) -> int:
    """Record, before sending, which letter each claimed row goes out in: (letter key, row
    ids) pairs, in one transaction. A worker that reclaims the rows after a crash rebuilds
    the same letter, hence the same Message-ID. Returns the rows updated."""
    _aware(now)
    n = 0
    with session_scope(engine) as s:
        for letter_key, row_ids in letters:
            if not row_ids:
                continue
            result = s.exec(
                update(OutboxRow)
                .where(*_ours(row_ids, worker))
                .values(letter_key=letter_key, updated_at=now)
                .execution_options(synchronize_session=False)
            )
            n += int(result.rowcount)
    return n


def mark_sent(
    engine: Engine,
    row_ids: Sequence[int],
    *,
    worker: str,
    now: datetime,
    message_id: str,
    letter_key: str,
) -> int:
    """Sent, for the rows whose claim is still ours; returns how many. Fewer than asked
    means our lease ran out and another worker holds those rows now."""
    _aware(now)
    return _finish(
        engine,
        row_ids,
        worker,
        state=SENT,
        sent_at=now,
        message_id=message_id,
        letter_key=letter_key,
        lease_until=None,
        next_attempt_at=None,
        attempts=col(OutboxRow.attempts) + 1,
        last_error="",
        updated_at=now,
    )


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt: 1 min × 2^(attempts−1), ≤ 1 h."""
    if attempts <= 1:
        return BACKOFF_BASE
    wait: timedelta = BACKOFF_BASE * (2 ** min(attempts - 1, 20))
    return min(wait, BACKOFF_CAP)


def mark_retry(
    engine: Engine,
    row_ids: Sequence[int],
    *,
    worker: str,
    now: datetime,
    error: str,
    next_attempt_at: datetime | None = None,
) -> tuple[int, int]:
    """A transient failure: back to planned until `next_attempt_at` (default: `backoff`
    of the rows' most advanced attempt count, the same for all of them so the letter's
    rows come due together). A row out of attempts fails instead. Returns
    (rows to retry, rows failed); rows no longer ours are left alone."""
    _aware(now)
    if not row_ids:
        return 0, 0
    with session_scope(engine) as s:
        rows = s.exec(select(OutboxRow.id, OutboxRow.attempts).where(*_ours(row_ids, worker))).all()
        if not rows:
            return 0, 0
        done = max(a for _, a in rows) + 1
        when = next_attempt_at or now + backoff(done)
        retried = failed = 0
        for row_id, attempts in rows:
            assert row_id is not None
            if attempts + 1 >= MAX_ATTEMPTS:
                values: dict[str, Any] = {"state": FAILED, "next_attempt_at": None}
                failed += 1
            else:
                values = {"state": PLANNED, "next_attempt_at": when}
                retried += 1
            s.exec(
                update(OutboxRow)
                .where(col(OutboxRow.id) == row_id, *_ours([row_id], worker))
                .values(
                    attempts=attempts + 1,
                    lease_until=None,
                    claimed_by=None,
                    last_error=error,
                    updated_at=now,
                    **values,
                )
                .execution_options(synchronize_session=False)
            )
        return retried, failed


def mark_failed(
    engine: Engine, row_ids: Sequence[int], *, worker: str, now: datetime, error: str
) -> int:
    """A permanent failure (5xx for this message): failed, with the server's reply kept for
    `tracker outbox` until someone fixes the address and runs `tracker outbox retry`."""
    _aware(now)
    return _finish(
        engine,
        row_ids,
        worker,
        state=FAILED,
        lease_until=None,
        next_attempt_at=None,
        attempts=col(OutboxRow.attempts) + 1,
        last_error=error,
        updated_at=now,
    )


def mark_cancelled(
    engine: Engine,
    row_ids: Sequence[int],
    *,
    worker: str,
    now: datetime,
    reason: str = UNPLANNED,
) -> int:
    """Claimed rows that must not go out after all (the obligation was settled between
    planning and sending). UNPLANNED rows come back if the plan wants them again."""
    _aware(now)
    return _finish(
        engine,
        row_ids,
        worker,
        state=CANCELLED,
        lease_until=None,
        next_attempt_at=None,
        last_error=reason,
        updated_at=now,
    )


def release(
    engine: Engine,
    worker: str,
    *,
    row_ids: Sequence[int] | None = None,
    now: datetime | None = None,
) -> int:
    """Give back this worker's claims (shutdown, sending paused, a tick that ran out of
    lease): back to planned, lease cleared, the attempt not counted. The letter key stays:
    a send cut off at shutdown may have reached the server, and its resend must carry the
    same Message-ID. `row_ids`: only these rows."""
    with session_scope(engine) as s:
        conditions = [col(OutboxRow.claimed_by) == worker, col(OutboxRow.state) == SENDING]
        if row_ids is not None:
            if not row_ids:
                return 0
            conditions.append(col(OutboxRow.id).in_(list(row_ids)))
        values: dict[str, Any] = {"state": PLANNED, "lease_until": None, "claimed_by": None}
        if now is not None:
            values["updated_at"] = _aware(now)
        result = s.exec(
            update(OutboxRow)
            .where(*conditions)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)


def retry(engine: Engine, row_id: int, now: datetime) -> OutboxRow:
    """`tracker outbox retry ID`: a failed row goes back to planned, attempts reset, to be
    sent at the next tick."""
    _aware(now)
    with session_scope(engine) as s:
        row = s.get(OutboxRow, row_id)
        if row is None:
            raise NotFoundError(
                f"Không có thư số {row_id} trong hàng đợi. Xem danh sách bằng 'tracker outbox'.",
                f"No outbox row {row_id}. List them with 'tracker outbox'.",
            )
        if row.state != FAILED:
            raise BadInputError(
                f"Thư số {row_id} đang ở trạng thái '{row.state}', không phải 'failed':"
                " chỉ gửi lại được thư đã thất bại. Xem 'tracker outbox --state failed'.",
                f"Outbox row {row_id} is '{row.state}', not 'failed': only failed rows can be"
                " retried. See 'tracker outbox --state failed'.",
            )
        ok = _cas(
            s,
            row_id,
            col(OutboxRow.state) == FAILED,
            state=PLANNED,
            attempts=0,
            next_attempt_at=None,
            lease_until=None,
            claimed_by=None,
            letter_key=None,
            updated_at=now,
        )
        if not ok:  # pragma: no cover - changed between the read and the write
            raise BadInputError(
                f"Thư số {row_id} vừa thay đổi trạng thái; chạy lại lệnh.",
                f"Outbox row {row_id} changed state just now; run the command again.",
            )
        s.refresh(row)
        return row


# -- reading ----------------------------------------------------------------------------


def list_rows(
    session: Session, state: str | None = None, *, limit: int | None = None
) -> list[OutboxRow]:
    """Rows by send time (then id), optionally of one state."""
    if state is not None and state not in STATES:
        raise BadInputError(
            f"Trạng thái '{state}' không có. Chọn một trong: {', '.join(STATES)}.",
            f"No state '{state}'. Choose one of: {', '.join(STATES)}.",
        )
    q = select(OutboxRow).order_by(col(OutboxRow.send_at), col(OutboxRow.id))
    if state is not None:
        q = q.where(col(OutboxRow.state) == state)
    if limit is not None:
        q = q.limit(limit)
    return list(session.exec(q).all())


def due_rows(session: Session, now: datetime, *, limit: int) -> list[OutboxRow]:
    """What `claim_due` would claim now, without claiming it (`tracker remind --dry-run`)."""
    _aware(now)
    open_now = open_cycles(session, now)
    if not open_now:
        return []
    return list(
        session.exec(
            select(OutboxRow)
            .where(_claimable(now), col(OutboxRow.cycle_id).in_(open_now))
            .order_by(col(OutboxRow.send_at), col(OutboxRow.id))
            .limit(limit)
        ).all()
    )


def state_counts(session: Session) -> dict[str, int]:
    """How many rows are in each state (every state present, 0 when none)."""
    counts = dict.fromkeys(STATES, 0)
    for state, n in session.exec(
        select(OutboxRow.state, func.count()).group_by(col(OutboxRow.state))
    ).all():
        counts[state] = int(n)
    return counts


# -- pause ------------------------------------------------------------------------------


def pause_info(session: Session) -> OutboxPause | None:
    return session.get(OutboxPause, 1)


def current_pause(session: Session, lang: str = "vi") -> str | None:
    """Why sending is paused, in `lang`, or None when it is not."""
    pause = pause_info(session)
    if pause is None:
        return None
    return pause.reason_en if lang == "en" else pause.reason_vi


def set_pause(
    session: Session,
    *,
    now: datetime,
    reason_vi: str,
    reason_en: str,
    reply: str = "",
    retry_after: timedelta = PAUSE_RETRY,
) -> OutboxPause:
    """Record (or refresh) the pause; keeps the time it first started."""
    _aware(now)
    pause = session.get(OutboxPause, 1)
    if pause is None:
        pause = OutboxPause(
            id=1,
            since=now,
            retry_at=now + retry_after,
            reason_vi=reason_vi,
            reason_en=reason_en,
            reply=reply,
        )
    else:
        pause.retry_at = now + retry_after
        pause.reason_vi, pause.reason_en, pause.reply = reason_vi, reason_en, reply
    session.add(pause)
    session.flush()
    return pause


def clear_pause(session: Session) -> bool:
    """Resume sending (the operator fixed the problem, or a send went through). True if
    sending was paused."""
    pause = session.get(OutboxPause, 1)
    if pause is None:
        return False
    session.delete(pause)
    session.flush()
    return True


def _aware(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now
