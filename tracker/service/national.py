"""The national summary (`tracker status --all-clusters`, issue 7 §2): one line per cluster's
current cycle — members, obligations still owed, overdue ones, failed mail — for a database
holding a whole province's or the country's clusters.

Cost: a handful of GROUP BY queries, never one ORM object per obligation. "Overdue" needs
each obligation's due date, which comes from its cycle's plan (config + year + the dates the
leader set): the counts are grouped by (cycle, milestone), and each distinct
(config snapshot, year, event dates) is parsed and planned once. Only the milestones whose
date differs per member (counted from each member's own visit) are read per obligation.
At 1,000 clusters × 10 members that is exact and well under a second (README, issue 7).

Rules reused, not restated: "still owed" is `workflow.PENDING` and "overdue" is
`tracker.status.standing` (a deadline ends at 24:00 on its day; an event is never overdue).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlmodel import Session, col

from tracker.calendar.engine import CyclePlan, plan_cycle
from tracker.calendar.workdays import shared_calendar
from tracker.config.schema import ClusterConfig
from tracker.db.models import ClusterRow, CycleRow, MemberRow, Obligation, OutboxRow
from tracker.service.cycles import config_from_snapshot
from tracker.status import standing
from tracker.workflow import PENDING, State

_PENDING = sorted(s.value for s in PENDING)
_REQUEST = "request-%"  # ad-hoc requests (Điều 7.3): dated by their own due_override


@dataclass(frozen=True)
class ClusterSummary:
    cluster_id: str
    name: str
    cycle: int
    members: int
    open: int  # still owed (workflow.PENDING: open or returned)
    overdue: int
    failed_mail: int

    def as_json(self) -> dict[str, object]:
        return {
            "cluster": self.cluster_id,
            "name": self.name,
            "cycle": self.cycle,
            "members": self.members,
            "open": self.open,
            "overdue": self.overdue,
            "failed_mail": self.failed_mail,
        }


SUMMARY_FIELDS = ("cluster", "name", "cycle", "members", "open", "overdue", "failed_mail")


@dataclass(frozen=True)
class _Cycle:
    """The columns of a cycle row the summary needs (never the config snapshot)."""

    id: int
    cluster_id: str
    year: int
    config_hash: str


def current_cycles(session: Session, today: date, year: int | None = None) -> dict[int, _Cycle]:
    """{cycle id: row} — one cycle per cluster: `year` when given (clusters without it are
    left out), else the one `cycles.find_cycle` picks (the newest whose year has begun,
    else the newest). Only the columns the summary needs, never the config snapshots."""
    q = select(
        col(CycleRow.id), col(CycleRow.cluster_id), col(CycleRow.year), col(CycleRow.config_hash)
    )
    by_cluster: dict[str, list[_Cycle]] = defaultdict(list)
    for cid, cluster, yr, digest in session.connection().execute(q.order_by(col(CycleRow.year))):
        if cid is not None:  # always set on a stored row
            by_cluster[cluster].append(_Cycle(cid, cluster, yr, digest))
    out: dict[int, _Cycle] = {}
    for rows in by_cluster.values():
        if year is not None:
            chosen = next((r for r in rows if r.year == year), None)
        else:
            begun = [r for r in rows if r.year <= today.year]
            chosen = (begun or rows)[-1]
        if chosen is not None:
            out[chosen.id] = chosen
    return out


def failed_mail_by_cycle(session: Session) -> dict[int, int]:
    """{cycle id: failed e-mails}. The one query that reads the outbox, so that it can be
    pointed at the `letter` table (one row per e-mail) when the delivery core has it."""
    q = (
        select(col(OutboxRow.cycle_id), func.count())
        .where(col(OutboxRow.state) == "failed")
        .group_by(col(OutboxRow.cycle_id))
    )
    return {cid: n for cid, n in session.connection().execute(q)}


def national_summary(
    session: Session, today: date, *, year: int | None = None
) -> list[ClusterSummary]:
    """One ClusterSummary per cluster (its current cycle, or `year`), by cluster id."""
    cycles = current_cycles(session, today, year)
    names: dict[str, str] = dict(
        session.connection().execute(select(col(ClusterRow.id), col(ClusterRow.name))).all()
    )
    members = _members(session)
    failed = failed_mail_by_cycle(session)
    owed, requests = _owed_counts(session, today)
    overdue = _overdue(session, cycles, owed, today)
    out: list[ClusterSummary] = []
    for cid, row in cycles.items():
        req_open, req_overdue = requests.get(cid, (0, 0))
        out.append(
            ClusterSummary(
                cluster_id=row.cluster_id,
                name=names.get(row.cluster_id, row.cluster_id),
                cycle=row.year,
                members=members.get(cid, 0),
                open=sum(owed.get(cid, {}).values()) + req_open,
                overdue=overdue.get(cid, 0) + req_overdue,
                failed_mail=failed.get(cid, 0),
            )
        )
    out.sort(key=lambda s: s.cluster_id)
    return out


def _members(session: Session) -> dict[int, int]:
    q = (
        select(col(MemberRow.cycle_id), func.count())
        .where(col(MemberRow.active))
        .group_by(col(MemberRow.cycle_id))
    )
    return {cid: n for cid, n in session.connection().execute(q)}


def _owed(*extra: ColumnElement[bool]) -> ColumnElement[bool]:
    return and_(col(Obligation.active), col(Obligation.state).in_(_PENDING), *extra)


def _owed_counts(
    session: Session, today: date
) -> tuple[dict[int, dict[str, int]], dict[int, tuple[int, int]]]:
    """({cycle: {milestone: still owed}}, {cycle: (requests owed, requests overdue)})."""
    by_ms: dict[int, dict[str, int]] = defaultdict(dict)
    q = (
        select(col(Obligation.cycle_id), col(Obligation.milestone_id), func.count())
        .where(_owed(col(Obligation.milestone_id).not_like(_REQUEST)))
        .group_by(col(Obligation.cycle_id), col(Obligation.milestone_id))
    )
    for cid, mid, n in session.connection().execute(q):
        by_ms[cid][mid] = n
    # A request's day is its own (due_override): overdue from the day after, in SQL.
    late = case((col(Obligation.due_override) < today, 1), else_=0)
    rq = (
        select(col(Obligation.cycle_id), func.count(), func.sum(late))
        .where(_owed(col(Obligation.milestone_id).like(_REQUEST)))
        .group_by(col(Obligation.cycle_id))
    )
    requests = {cid: (n, int(k or 0)) for cid, n, k in session.connection().execute(rq)}
    return by_ms, requests


def _overdue(
    session: Session,
    cycles: dict[int, _Cycle],
    owed: dict[int, dict[str, int]],
    today: date,
) -> dict[int, int]:
    configs = _configs(session, cycles)
    events = _events(session, cycles, configs)
    plans: dict[tuple[str, int, frozenset[tuple[tuple[str, str | None], date]]], CyclePlan] = {}
    out: dict[int, int] = defaultdict(int)
    per_member: dict[tuple[int, str], CyclePlan] = {}
    for cid, row in cycles.items():
        cfg = configs[row.config_hash]
        ev = events.get(cid, {})
        key = (row.config_hash, row.year, frozenset(ev.items()))
        plan = plans.get(key)
        if plan is None:
            plan = plans[key] = plan_cycle(cfg, row.year, shared_calendar(cfg.holidays), ev)
        for mid, n in owed.get(cid, {}).items():
            ms = cfg.find_milestone(mid)
            if ms is None or ms.is_event:
                continue  # an event is held on its day, never overdue
            if plan.per_member(mid):
                per_member[(cid, mid)] = plan  # dated from each member's own visit
            elif _late(plan, mid, None, today):
                out[cid] += n
    if per_member:
        mids = sorted({mid for _cid, mid in per_member})
        q = select(
            col(Obligation.cycle_id), col(Obligation.milestone_id), col(Obligation.member_id)
        ).where(_owed(col(Obligation.milestone_id).in_(mids)))
        for cid, mid, member in session.connection().execute(q):
            plan_ = per_member.get((cid, mid))
            if plan_ is not None and _late(plan_, mid, member, today):
                out[cid] += 1
    return out


def _late(plan: CyclePlan, milestone: str, member: str | None, today: date) -> bool:
    try:
        due = plan.due(milestone, member).date
    except KeyError:  # a member the plan does not know: the shared date, as for the leader
        due = plan.due(milestone).date
    # The state only matters as "still owed" here: every row counted is pending.
    return standing(State.OPEN, due, today, due_soon_days=0).overdue


def _configs(session: Session, cycles: dict[int, _Cycle]) -> dict[str, ClusterConfig]:
    """Each distinct config snapshot, read and parsed once."""
    wanted: dict[str, int] = {}
    for cid, row in cycles.items():
        wanted.setdefault(row.config_hash, cid)
    out: dict[str, ClusterConfig] = {}
    ids = list(wanted.values())
    for start in range(0, len(ids), 500):  # bounded IN lists on every backend
        q = select(col(CycleRow.config_hash), col(CycleRow.config_json)).where(
            col(CycleRow.id).in_(ids[start : start + 500])
        )
        for digest, text in session.connection().execute(q):
            out[digest] = config_from_snapshot(text)
    return out


def _events(
    session: Session, cycles: dict[int, _Cycle], configs: dict[str, ClusterConfig]
) -> dict[int, dict[tuple[str, str | None], date]]:
    """The dates the leader set, per cycle, keyed as `CycleContext.events` keys them."""
    out: dict[int, dict[tuple[str, str | None], date]] = defaultdict(dict)
    q = select(
        col(Obligation.cycle_id),
        col(Obligation.milestone_id),
        col(Obligation.member_id),
        col(Obligation.event_date),
    ).where(col(Obligation.active), col(Obligation.event_date).is_not(None))
    for cid, mid, member, day in session.connection().execute(q):
        row = cycles.get(cid)
        if row is None or day is None:
            continue
        ms = configs[row.config_hash].find_milestone(mid)
        per_member = ms is not None and getattr(ms.rule, "per_member", False)
        out[cid][(mid, member if per_member else None)] = day
    return out
