"""The planner's reminders → item rows (issue 3 §3; issue 7 §2: planning costs what
changed, not what exists).

A tick re-plans a cycle only when its fingerprint changed (`PlanState`): the config
snapshot (holidays included), the leader, an obligation added, retired or changed (every
change bumps `obligation.version`: state, dates, event dates), the local day, or this
module's `PLAN_VERSION`. A tick with nothing changed reads one aggregate per cycle and
plans nothing. Planning looks `HORIZON_DAYS` ahead: a reminder further away is planned on
a later day, long before it is due.

`sync_plan` makes a cycle's items match the plan: new keys inserted in bulk (`INSERT … ON
CONFLICT DO NOTHING`, one executemany), planned items whose key is gone cancelled, items
cancelled as UNPLANNED whose key is back planned again. Sending, sent and failed items
are history, or another worker holds them, and are never touched. Every write repeats
the state it read, so two schedulers syncing at once cannot undo each other's claims.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Final

from sqlalchemy import bindparam, case, func, insert, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from tracker.calendar.types import TZ, local_date
from tracker.db.models import CycleRow, Obligation, OutboxRow, PlanState
from tracker.delivery.states import CANCELLED, PLANNED, UNPLANNED, aware
from tracker.reminders.planner import (
    ObligationView,
    PlannedReminder,
    PlanProblem,
    plan_outcome,
)
from tracker.service.cycles import CycleContext, load_context
from tracker.service.views import due_of

log = logging.getLogger("tracker.outbox")

# Bump when planning itself changes (a new reminder kind, other keys): every cycle is then
# re-planned once by the first tick of the new code.
PLAN_VERSION: Final = "7.1"
# How far ahead a plan reaches. Re-planned at least daily, so 60 days is ample; the
# planner's own cut-off (`horizon_days`) is this.
HORIZON_DAYS: Final = 60

_ITEMS = OutboxRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class SyncReport:
    added: int
    cancelled: int
    kept: int
    revived: int = 0  # cancelled items planned again (a returned report is owed again)
    cycle_id: int | None = None
    error: str = ""  # the cycle could not be planned at all (logged; the others go on)
    replanned: bool = True  # False: nothing changed since the last plan
    problems: tuple[PlanProblem, ...] = ()


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


def plan_for(
    ctx: CycleContext, now: datetime, *, horizon_days: int = HORIZON_DAYS
) -> tuple[list[PlannedReminder], list[PlanProblem]]:
    """Every reminder the cycle calls for as of `now`, and the items that could not be
    planned (pure; `tracker simulate` uses it)."""
    outcome = plan_outcome(
        ctx.cfg,
        ctx.year,
        ctx.id,
        obligation_views(ctx),
        ctx.calendar,
        leader_id=ctx.row.leader_id,
        now=now,
        horizon_days=horizon_days,
    )
    return outcome.reminders, outcome.problems


def fingerprints(session: Session, now: datetime) -> dict[int, str]:
    """What each cycle would be planned from at `now`, as a short hash; two queries for
    every cycle in the database."""
    conn = session.connection()
    agg = {
        cid: rest
        for cid, *rest in conn.execute(
            sa_select(
                col(Obligation.cycle_id),
                func.count(),
                func.sum(col(Obligation.version)),
                func.sum(case((col(Obligation.active), 1), else_=0)),
                func.max(col(Obligation.id)),
            ).group_by(col(Obligation.cycle_id))
        )
    }
    day = local_date(now).isoformat()
    out: dict[int, str] = {}
    for cid, h, leader, elected, loaded in conn.execute(
        sa_select(
            col(CycleRow.id),
            col(CycleRow.config_hash),
            col(CycleRow.leader_id),
            col(CycleRow.elected_leader_id),
            col(CycleRow.loaded_at),
        )
    ):
        text = f"{PLAN_VERSION}|{HORIZON_DAYS}|{day}|{h}|{leader}|{elected}|{loaded}|{agg.get(cid)}"
        out[int(cid or 0)] = hashlib.sha256(text.encode()).hexdigest()[:32]
    return out


def plan_all(session: Session, now: datetime, *, force: bool = False) -> list[SyncReport]:
    """Re-plan every cycle whose fingerprint changed (all of them with `force`) and bring
    its items in line (`sync_plan`), in the caller's transaction. A cycle that cannot be
    planned at all (a snapshot an older schema wrote) is logged once and skipped, so it
    does not stop the reminders of the others; an item that cannot be planned is a
    problem of its cycle (`PlanState.problems`) and the rest of the cycle plans."""
    aware(now)
    prints = fingerprints(session, now)
    seen = {
        cid: fp
        for cid, fp in session.connection().execute(
            sa_select(col(PlanState.cycle_id), col(PlanState.fingerprint))
        )
    }
    reports: list[SyncReport] = []
    for cid in sorted(prints):
        fp = prints[cid]
        if not force and seen.get(cid) == fp:
            reports.append(SyncReport(0, 0, 0, cycle_id=cid, replanned=False))
            continue
        row = session.get(CycleRow, cid)
        assert row is not None
        try:
            planned, problems = plan_for(load_context(session, row), now)
        except Exception as exc:
            # Logged once: the fingerprint is recorded, so the next tick does not retry
            # until something about the cycle changes.
            log.exception("cycle %s/%s: planning failed", row.cluster_id, row.year)
            problem = PlanProblem(
                obligation_id=None,
                milestone_id="",
                member_id=None,
                error_vi=f"Không lập được kế hoạch nhắc việc của chu kỳ: {exc}",
                error_en=f"The cycle's reminders could not be planned: {exc}",
            )
            _record(session, cid, fp, [problem], now, known=cid in seen)
            reports.append(SyncReport(0, 0, 0, cycle_id=cid, error=f"{exc}"))
            continue
        for p in problems:
            if p not in _known_problems(session, cid):
                log.error(
                    "cycle %s/%s: item %s (%s, %s) not planned: %s",
                    row.cluster_id,
                    row.year,
                    p.obligation_id,
                    p.milestone_id,
                    p.member_id,
                    p.error_en,
                )
        _record(session, cid, fp, problems, now, known=cid in seen)
        report = sync_plan(session, cid, planned, now)
        reports.append(
            SyncReport(
                report.added,
                report.cancelled,
                report.kept,
                report.revived,
                cycle_id=cid,
                problems=tuple(problems),
            )
        )
    return reports


def problems_of(session: Session, cycle_id: int) -> list[PlanProblem]:
    """The items of a cycle its last plan could not plan (`tracker status`, the digest)."""
    return _known_problems(session, cycle_id)


def _known_problems(session: Session, cycle_id: int) -> list[PlanProblem]:
    text = (
        session.connection()
        .execute(sa_select(col(PlanState.problems)).where(col(PlanState.cycle_id) == cycle_id))
        .scalar()
    )
    if not text:
        return []
    return [PlanProblem(**p) for p in json.loads(text)]


def _record(
    session: Session,
    cycle_id: int,
    fingerprint: str,
    problems: Sequence[PlanProblem],
    now: datetime,
    *,
    known: bool,
) -> None:
    values = {
        "fingerprint": fingerprint,
        "planned_at": now,
        "problems": json.dumps([p.__dict__ for p in problems], ensure_ascii=False),
    }
    conn = session.connection()
    if known:
        conn.execute(update(PlanState).where(col(PlanState.cycle_id) == cycle_id).values(**values))
        return
    stmt: Any
    if conn.dialect.name == "postgresql":
        stmt = postgresql.insert(PlanState).on_conflict_do_update(
            index_elements=["cycle_id"], set_=values
        )
    else:
        stmt = sqlite.insert(PlanState).on_conflict_do_update(
            index_elements=["cycle_id"], set_=values
        )
    conn.execute(stmt.values(cycle_id=cycle_id, **values))


def sync_plan(
    session: Session, cycle_id: int, planned: Sequence[PlannedReminder], now: datetime
) -> SyncReport:
    """Make the cycle's items match `planned` (see the module doc). The plan keeps
    reminders whose time has passed, so a key missing from it is no longer wanted."""
    aware(now)
    wanted: dict[str, PlannedReminder] = {}
    for p in planned:
        if p.cycle_id != cycle_id:
            raise ValueError(f"reminder {p.key} belongs to cycle {p.cycle_id}, not {cycle_id}")
        wanted.setdefault(p.key, p)
    conn = session.connection()
    # Core, not ORM objects: seven columns of possibly thousands of rows.
    existing = conn.execute(
        sa_select(
            col(OutboxRow.id),
            col(OutboxRow.key),
            col(OutboxRow.state),
            col(OutboxRow.last_error),
            col(OutboxRow.send_at),
            col(OutboxRow.recipient_name),
            col(OutboxRow.catch_up),
        ).where(col(OutboxRow.cycle_id) == cycle_id)
    ).all()
    have = {key for _, key, *_ in existing}
    fresh = _worth_inserting([r for k, r in wanted.items() if k not in have], wanted, now)
    added = _insert_new(session, [_values(r, now) for r in fresh])

    cancel: list[dict[str, Any]] = []
    rename: list[dict[str, Any]] = []
    move: list[dict[str, Any]] = []
    revive: list[dict[str, Any]] = []
    for row_id, key, state, last_error, send_at, name, catch_up in existing:
        r = wanted.get(key)
        if state == PLANNED and r is None:
            cancel.append({"b_id": row_id})
        elif state == PLANNED and r is not None:
            # Same reminder, new office hour or a renamed contact in a reloaded config. A
            # catch-up keeps the office slot catch_up_missed gave it.
            if send_at != r.send_at and not catch_up:
                # Another time may be another day: the item leaves its letter and is
                # bundled again.
                move.append({"b_id": row_id, "b_at": r.send_at, "b_name": r.recipient_name})
            elif name != r.recipient_name:
                rename.append({"b_id": row_id, "b_name": r.recipient_name})
        elif state == CANCELLED and last_error == UNPLANNED and r is not None:
            revive.append({"b_id": row_id, "b_at": r.send_at, "b_name": r.recipient_name})

    def bulk(params: list[dict[str, Any]], seen: str, **values: Any) -> int:
        if not params:
            return 0
        stmt = (
            update(_ITEMS)
            .where(_ITEMS.c.id == bindparam("b_id"), _ITEMS.c.state == seen)
            .values(updated_at=now, **values)
        )
        result = conn.execute(stmt, params)
        return max(int(result.rowcount), 0) if result.rowcount is not None else len(params)

    cancelled = bulk(cancel, PLANNED, state=CANCELLED, last_error=UNPLANNED, next_attempt_at=None)
    bulk(rename, PLANNED, recipient_name=bindparam("b_name"))
    bulk(
        move,
        PLANNED,
        send_at=bindparam("b_at"),
        recipient_name=bindparam("b_name"),
        letter_id=None,
        letter_key=None,
    )
    revived = bulk(
        revive,
        CANCELLED,
        state=PLANNED,
        send_at=bindparam("b_at"),
        recipient_name=bindparam("b_name"),
        attempts=0,
        next_attempt_at=None,
        last_error="",
        catch_up=False,
        letter_id=None,
        letter_key=None,
        claimed_by=None,
    )
    kept = len(wanted) - len(wanted.keys() - have)
    return SyncReport(added, cancelled, kept, revived, cycle_id=cycle_id)


def _worth_inserting(
    fresh: list[PlannedReminder], wanted: dict[str, PlannedReminder], now: datetime
) -> list[PlannedReminder]:
    """The new reminders minus those the catch-up rule would cancel at once: a reminder
    whose day is already over (a first plan months after loading, a moved date) is only
    kept if it is the one catch-up message its obligation's owner would get — the newest
    due owner reminder per (obligation, address, role). Inserting the others only to mark
    them superseded was most of a first plan (24,000 rows for 400 members in December,
    14,000 of them cancelled in the same transaction). Cycle-level rows are kept as they
    are; what is already in the table is never dropped here (`sync_plan` keeps it)."""
    start = datetime.combine(local_date(now), time.min, TZ)
    if not any(r.send_at < start for r in fresh):
        return fresh
    today = local_date(now)
    newest: dict[tuple[int, str, str], tuple[datetime, str]] = {}
    for r in wanted.values():
        if r.obligation_id is None or r.send_at > now or not _owner(r, today):
            continue
        k = (r.obligation_id, r.recipient_email.lower(), r.recipient_role)
        mark = (r.send_at, r.key)
        if k not in newest or mark > newest[k]:
            newest[k] = mark
    out = []
    for r in fresh:
        if r.send_at >= start or r.obligation_id is None:
            out.append(r)
            continue
        k = (r.obligation_id, r.recipient_email.lower(), r.recipient_role)
        if _owner(r, today) and newest.get(k) == (r.send_at, r.key):
            out.append(r)
    return out


def _owner(r: PlannedReminder, today: date) -> bool:
    """The owner's own reminder, as `catch_up.catch_up_missed` decides it."""
    stale = r.kind in ("event_notice", "set_date") and r.due is not None and r.due < today
    return r.kind != "escalation" and r.recipient_role in ("focal", "leader") and not stale


def hat_of(r: PlannedReminder) -> str:
    """Whose letter a reminder goes in (issue 6 §4, two hats): the leader's tasks — rows to
    the leader's office, asking to date an event, the digest — or the member's duty."""
    if r.recipient_role == "leader" or r.kind in ("set_date", "leader_digest"):
        return "leader"
    return "member"


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
        "letter_id": None,
        "letter_key": None,
        "hat": hat_of(r),
        "created_at": now,
        "updated_at": now,
    }


def _insert_new(session: Session, values: list[dict[str, Any]]) -> int:
    """INSERT … ON CONFLICT (key) DO NOTHING, as one executemany: a scheduler that planned
    the same key a moment earlier (another process, a cron `tracker remind` beside the
    daemon) wins quietly instead of failing this whole transaction on the unique
    constraint. (A multi-row VALUES statement of 200 rows × 25 columns spent most of a
    national first tick in SQLAlchemy's compiler; executemany compiles once.)"""
    if not values:
        return 0
    conn = session.connection()
    stmt: Any
    if conn.dialect.name == "postgresql":
        stmt = postgresql.insert(_ITEMS).on_conflict_do_nothing(index_elements=["key"])
    elif conn.dialect.name == "sqlite":
        stmt = sqlite.insert(_ITEMS).on_conflict_do_nothing(index_elements=["key"])
    else:  # pragma: no cover - the engine only opens SQLite and PostgreSQL
        stmt = insert(_ITEMS)
    result = conn.execute(stmt, values)
    n = result.rowcount
    return int(n) if n is not None and n >= 0 else len(values)
