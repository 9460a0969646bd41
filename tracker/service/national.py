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
from typing import Any

from sqlalchemy import ColumnElement, and_, case, cast, func, select
from sqlalchemy.dialects.postgresql import JSON
from sqlmodel import Session, col

from tracker.calendar.engine import CyclePlan, plan_cycle
from tracker.calendar.workdays import shared_calendar
from tracker.config.schema import ClusterConfig
from tracker.db.models import ClusterRow, CycleRow, LetterRow, MemberRow, Obligation
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
    """{cycle id: failed e-mails}: letters, one row per e-mail (issue 7 §5), not items."""
    q = (
        select(col(LetterRow.cycle_id), func.count())
        .where(col(LetterRow.state) == "failed")
        .group_by(col(LetterRow.cycle_id))
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


Events = dict[tuple[str, str | None], date]


def _overdue(
    session: Session,
    cycles: dict[int, _Cycle],
    owed: dict[int, dict[str, int]],
    today: date,
) -> dict[int, int]:
    configs = _plan_configs(session, cycles)
    events = _events(session, cycles, configs)
    plans: dict[tuple[int, int, frozenset[tuple[tuple[str, str | None], date]]], CyclePlan] = {}
    out: dict[int, int] = defaultdict(int)
    per_member: dict[tuple[int, str], CyclePlan] = {}
    seen: dict[int, dict[str, bool]] = {}
    for cid, row in cycles.items():
        cfg = configs[cid]
        ev = events.get(cid, {})
        key = (id(cfg), row.year, frozenset(ev.items()))
        plan = plans.get(key)
        if plan is None:
            plan = plans[key] = plan_cycle(cfg, row.year, shared_calendar(cfg.holidays), ev)
        kinds = _kinds(cfg, seen)
        for mid, n in owed.get(cid, {}).items():
            if kinds.get(mid, True):
                continue  # an event is held on its day, never overdue (or a dropped milestone)
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


def _kinds(cfg: ClusterConfig, seen: dict[int, dict[str, bool]]) -> dict[str, bool]:
    """{milestone id: is an event}, once per parsed config of this call (find_milestone
    is a scan); keyed by id() only while `configs` keeps every config alive."""
    got = seen.get(id(cfg))
    if got is None:
        got = seen[id(cfg)] = {ms.id: ms.is_event for ms in cfg.milestones}
    return got


def _late(plan: CyclePlan, milestone: str, member: str | None, today: date) -> bool:
    try:
        due = plan.due(milestone, member).date
    except KeyError:  # a member the plan does not know: the shared date, as for the leader
        due = plan.due(milestone).date
    # The state only matters as "still owed" here: every row counted is pending.
    return standing(State.OPEN, due, today, due_soon_days=0).overdue


def _plan_configs(session: Session, cycles: dict[int, _Cycle]) -> dict[int, ClusterConfig]:
    """{cycle id: a config that plans exactly as the cycle's own}.

    Parsing a snapshot costs ≈1.4 ms (1.4 s for 1,000 clusters, over the budget), and no two
    clusters share a snapshot (the cluster id is in it). A plan depends only on the
    milestones, the holidays, the year, the leader's dates and the member ids (
    tracker/calendar/engine.py), so cycles whose milestones and holidays are the same text
    (the database extracts both from the JSON) share one parsed config. The member ids
    matter only once a member has its own date (a visit): such a cycle, if its members
    differ from the shared config's, gets its own snapshot parsed."""
    ids = list(cycles)
    group_of: dict[int, tuple[str, str]] = {}
    for start in range(0, len(ids), 500):  # bounded IN lists on every backend
        q = select(col(CycleRow.id), *_plan_parts(session)).where(
            col(CycleRow.id).in_(ids[start : start + 500])
        )
        for cid, milestones, holidays in session.connection().execute(q):
            group_of[cid] = (str(milestones), str(holidays))
    first: dict[tuple[str, str], int] = {}
    for cid, group in group_of.items():
        first.setdefault(group, cid)
    parsed = _parse(session, sorted(set(first.values())))
    return {cid: parsed[first[group]] for cid, group in group_of.items()}


def _plan_parts(session: Session) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """The snapshot's milestones and holidays, extracted by the database (no JSON crosses
    into Python but these two, compared as text)."""
    column = col(CycleRow.config_json)
    if session.get_bind().dialect.name == "postgresql":
        doc = cast(column, JSON)
        return doc["milestones"].astext, doc["holidays"].astext
    return func.json_extract(column, "$.milestones"), func.json_extract(column, "$.holidays")


def _parse(session: Session, ids: list[int]) -> dict[int, ClusterConfig]:
    out: dict[int, ClusterConfig] = {}
    for start in range(0, len(ids), 500):
        q = select(col(CycleRow.id), col(CycleRow.config_json)).where(
            col(CycleRow.id).in_(ids[start : start + 500])
        )
        for cid, text in session.connection().execute(q):
            if cid is not None:
                out[cid] = config_from_snapshot(text)
    return out


def _events(
    session: Session, cycles: dict[int, _Cycle], configs: dict[int, ClusterConfig]
) -> dict[int, Events]:
    """The dates the leader set, per cycle, keyed as `CycleContext.events` keys them. A
    cycle with a member's own date whose members differ from its shared config's gets its
    own config in `configs` (see `_plan_configs`)."""
    out: dict[int, Events] = defaultdict(dict)
    q = select(
        col(Obligation.cycle_id),
        col(Obligation.milestone_id),
        col(Obligation.member_id),
        col(Obligation.event_date),
    ).where(col(Obligation.active), col(Obligation.event_date).is_not(None))
    for cid, mid, member, day in session.connection().execute(q):
        if cid not in cycles or day is None:
            continue
        ms = configs[cid].find_milestone(mid)
        per_member = ms is not None and getattr(ms.rule, "per_member", False)
        out[cid][(mid, member if per_member else None)] = day
    own = [cid for cid, ev in out.items() if any(m is not None for _, m in ev)]
    if own:
        members: dict[int, set[str]] = defaultdict(set)
        for start in range(0, len(own), 500):
            q2 = select(col(MemberRow.cycle_id), col(MemberRow.member_id)).where(
                col(MemberRow.active), col(MemberRow.cycle_id).in_(own[start : start + 500])
            )
            for cid, member in session.connection().execute(q2):
                members[cid].add(member)
        differ = [cid for cid in own if members[cid] != {m.id for m in configs[cid].members}]
        configs.update(_parse(session, differ))
    return out
