"""Loading a cluster config into the database as a cycle, and finding a cycle again.

A cycle keeps a snapshot of the config it was loaded from: the daemon and the CLI plan from
what the leader loaded, not from a file that may have been edited since.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property, lru_cache

from sqlalchemy import insert
from sqlmodel import Session, col, select

from tracker.calendar.engine import CyclePlan, plan_cycle
from tracker.calendar.workdays import HolidayTable, WorkCalendar, shared_calendar
from tracker.config.schema import TRUSTED, ClusterConfig, Milestone
from tracker.db.models import AuditEntry, ClusterRow, CycleRow, MemberRow, Obligation
from tracker.errors import BadInputError, NotFoundError


def config_snapshot(cfg: ClusterConfig) -> str:
    return cfg.model_dump_json()


def holiday_years(year: int) -> range:
    """The years whose public holidays the cycle `year` keeps. Its dates lie in Y-1 … Y+1
    (a reminder before a January deadline, the conference and reports in Q1 of Y+1), and a
    calendar answering for a day of year X reads X-1, X and X+1 (a make-up Saturday may be
    listed under the next year's holiday): Y-2 … Y+2."""
    return range(year - 2, year + 3)


def holiday_table_json(cfg: ClusterConfig, year: int) -> str:
    """The holiday table stored with the cycle (`CycleRow.holiday_json`): the package's
    answers as installed when the cycle is loaded. A newer package (a holiday decreed
    later) reaches a loaded cycle with the next `tracker init`, like a config change."""
    return HolidayTable.from_package(cfg.holidays.country, holiday_years(year)).to_json()


def config_from_snapshot(text: str) -> ClusterConfig:
    """The config a cycle keeps, parsed once per process for the same text: the daemon and
    `tracker simulate` read every cycle's snapshot on every tick. The models are frozen, so
    callers can share one instance."""
    return _parse_snapshot(text)


# Enough for a province's clusters (a national tick parses each changed cycle once, and
# office hours and bundling keep their own small caches by config hash); bounded, because
# a parsed config is tens of kilobytes and a national database holds a thousand.
@lru_cache(maxsize=256)
def _parse_snapshot(text: str) -> ClusterConfig:
    # Validated when it was loaded from its file, so skip what is slow to re-check (e-mail
    # addresses). Validated, not model_construct'ed: nested models, dates and defaults
    # come out exactly as from the file.
    return ClusterConfig.model_validate_json(text, context=TRUSTED)


@dataclass
class CycleContext:
    """A cycle row with its config, work calendar and obligations, ready to plan."""

    row: CycleRow
    cfg: ClusterConfig
    obligations: list[Obligation] = field(default_factory=list)

    @property
    def id(self) -> int:
        assert self.row.id is not None
        return self.row.id

    @property
    def year(self) -> int:
        return self.row.year

    @cached_property
    def calendar(self) -> WorkCalendar:
        # From the holiday table stored at init when the cycle has one: no `holidays`
        # import for the years it holds (NULL on a cycle loaded before migration 0007).
        return shared_calendar(self.cfg.holidays, self.row.holiday_json)

    def events(self) -> dict[tuple[str, str | None], date]:
        """Dates the leader set: the conference (shared) and each member's visit."""
        out: dict[tuple[str, str | None], date] = {}
        for ob in self.obligations:
            if ob.event_date is None or not ob.active:
                continue
            ms = self.cfg.find_milestone(ob.milestone_id)
            per_member = ms is not None and getattr(ms.rule, "per_member", False)
            out[(ob.milestone_id, ob.member_id if per_member else None)] = ob.event_date
        return out

    def plan(self, extra_events: dict[tuple[str, str | None], date] | None = None) -> CyclePlan:
        events = self.events()
        events.update(extra_events or {})
        return plan_cycle(self.cfg, self.year, self.calendar, events)

    def milestone(self, milestone_id: str) -> Milestone:
        ms = self.cfg.find_milestone(milestone_id)
        if ms is None:
            known = ", ".join(m.id for m in self.cfg.milestones)
            raise NotFoundError(
                f"Không có mốc '{milestone_id}' trong chu kỳ {self.year}. Các mốc: {known}.",
                f"No milestone '{milestone_id}' in the {self.year} cycle. Milestones: {known}.",
            )
        return ms

    def require_member(self, member_id: str) -> None:
        """Refuse a member id the cycle's config does not have, listing the valid ones."""
        known = [m.id for m in self.cfg.members]
        if member_id not in known:
            raise NotFoundError(
                f"Không có đơn vị '{member_id}'. Các đơn vị: {', '.join(known)}.",
                f"No member '{member_id}'. Members: {', '.join(known)}.",
            )

    def owner_of(self, ms: Milestone) -> list[str]:
        """Member ids that owe `ms`: every active member, or the (next) leader."""
        if ms.assignee == "members":
            return [m.id for m in self.cfg.members]
        if ms.assignee == "next_leader" and self.cfg.cycle.next_leader:
            return [self.cfg.cycle.next_leader]
        return [self.row.leader_id]


def load_context(session: Session, row: CycleRow) -> CycleContext:
    obligations = list(
        session.exec(
            select(Obligation).where(Obligation.cycle_id == row.id).order_by(col(Obligation.id))
        )
    )
    return CycleContext(row=row, cfg=config_from_snapshot(row.config_json), obligations=obligations)


def find_cycle(
    session: Session, *, cluster_id: str | None, year: int | None, today: date
) -> CycleRow:
    """The cycle a command acts on.

    Without --cycle: the newest loaded cycle whose year has begun (2022's conference is held
    in 2023, so in January 2023 a user passes --cycle 2022 to act on it).
    """
    clusters = list(session.exec(select(ClusterRow).order_by(col(ClusterRow.id))))
    if not clusters:
        raise NotFoundError(
            "Chưa nạp cụm thi đua nào. Chạy 'tracker init --config <tệp .toml>' trước.",
            "No cluster loaded yet. Run 'tracker init --config <file.toml>' first.",
        )
    if cluster_id is None:
        if len(clusters) > 1:
            vi, en = _some_ids([c.id for c in clusters])
            raise BadInputError(
                f"Cơ sở dữ liệu có nhiều cụm ({vi}): thêm --cluster <mã cụm>.",
                f"The database holds several clusters ({en}): add --cluster <id>.",
            )
        cluster_id = clusters[0].id
    elif cluster_id not in {c.id for c in clusters}:
        vi, en = _some_ids([c.id for c in clusters])
        raise NotFoundError(
            f"Không có cụm '{cluster_id}'. Các cụm đã nạp: {vi}.",
            f"No cluster '{cluster_id}'. Loaded clusters: {en}.",
        )
    rows = list(
        session.exec(
            select(CycleRow).where(CycleRow.cluster_id == cluster_id).order_by(col(CycleRow.year))
        )
    )
    if year is not None:
        for r in rows:
            if r.year == year:
                return r
        have = ", ".join(str(r.year) for r in rows) or "(chưa có)"
        raise NotFoundError(
            f"Cụm '{cluster_id}' chưa có chu kỳ {year} (đã có: {have})."
            f" Chạy 'tracker init --cycle {year}' để tạo.",
            f"Cluster '{cluster_id}' has no {year} cycle (loaded: {have})."
            f" Run 'tracker init --cycle {year}' to create it.",
        )
    if not rows:
        raise NotFoundError(
            f"Cụm '{cluster_id}' chưa có chu kỳ nào. Chạy 'tracker init'.",
            f"Cluster '{cluster_id}' has no cycle yet. Run 'tracker init'.",
        )
    begun = [r for r in rows if r.year <= today.year]
    return (begun or rows)[-1]


_SHOWN_IDS = 10


def _some_ids(ids: list[str]) -> tuple[str, str]:
    """The first cluster ids, (vi, en): a national database's 1,000 would make a 10 KB line
    (issue 7); the rest are counted and `status --all-clusters` lists them all."""
    if len(ids) <= _SHOWN_IDS:
        return ", ".join(ids), ", ".join(ids)
    shown, rest = ", ".join(ids[:_SHOWN_IDS]), len(ids) - _SHOWN_IDS
    return (
        f"{shown} … và {rest} cụm khác; xem `tracker status --all-clusters`",
        f"{shown} … and {rest} more; see `tracker status --all-clusters`",
    )


def all_cycles(session: Session) -> list[CycleRow]:
    return list(
        session.exec(select(CycleRow).order_by(col(CycleRow.cluster_id), col(CycleRow.year)))
    )


@dataclass(frozen=True)
class InitReport:
    cluster_id: str
    year: int
    created: bool  # a new cycle, rather than a refresh
    added: tuple[str, ...]  # "member/milestone" pairs that got a new obligation
    retired: tuple[str, ...]  # obligations no longer in the plan (kept, inactive)
    removed_members: tuple[str, ...]


def init_cycle(
    session: Session,
    cfg: ClusterConfig,
    *,
    config_path: str,
    year: int,
    now: datetime,
    operator: str,
    os_user: str,
    force: bool = False,
    recorded_at: datetime | None = None,
) -> InitReport:
    """Create or refresh the cycle `year` of `cfg`'s cluster; keeps every state and history.

    The caller commits: everything happens in the caller's one transaction, so a refused
    reload (a member with history removed without --force) writes nothing.
    """
    snapshot = config_snapshot(cfg)
    digest = hashlib.sha256(snapshot.encode()).hexdigest()
    cluster = session.get(ClusterRow, cfg.cluster.id)
    if cluster is None:
        cluster = ClusterRow(
            id=cfg.cluster.id, name=cfg.cluster.name, timezone=cfg.cluster.timezone
        )
    cluster.name = cfg.cluster.name
    session.add(cluster)
    row = session.exec(
        select(CycleRow).where(CycleRow.cluster_id == cfg.cluster.id, CycleRow.year == year)
    ).first()
    created = row is None
    leader, elected_note = _leader_for(session, cfg, year)
    if row is None:
        row = CycleRow(
            cluster_id=cfg.cluster.id,
            year=year,
            leader_id=leader,
            config_version=cfg.cycle.version,
            config_path=config_path,
            config_hash=digest,
            config_json=snapshot,
            loaded_at=now,
        )
    row.leader_id = leader
    row.config_version = cfg.cycle.version
    row.config_path = config_path
    row.config_hash = digest
    row.config_json = snapshot
    row.holiday_json = holiday_table_json(cfg, year)
    row.loaded_at = now
    session.add(row)
    session.flush()
    ctx = load_context(session, row)
    # Every rule must be datable in this year (29/2 in a non-leap year is not): refuse
    # here, inside the caller's transaction, rather than break every later command.
    ctx.plan()

    removed = _sync_members(session, ctx, force=force)
    added, retired = _sync_obligations(session, ctx)
    session.add(
        AuditEntry(
            cycle_id=ctx.id,
            at=now,
            # The wall clock when `now` is a replayed one (jobs/clock.py), else `now`.
            recorded_at=recorded_at or now,
            operator=operator,
            os_user=os_user,
            action="init" if created else "reload",
            note="; ".join(
                x for x in (_summary(config_path, cfg, added, retired, removed), elected_note) if x
            ),
        )
    )
    return InitReport(cfg.cluster.id, year, created, tuple(added), tuple(retired), tuple(removed))


def _leader_for(session: Session, cfg: ClusterConfig, year: int) -> tuple[str, str]:
    """The cycle's leader and why: the member the previous cycle's conference elected
    (Điều 7.9, `tracker elect`), else the config's `cycle.leader`."""
    before = session.exec(
        select(CycleRow).where(CycleRow.cluster_id == cfg.cluster.id, CycleRow.year == year - 1)
    ).first()
    elected = before.elected_leader_id if before is not None else None
    if elected is None:
        return cfg.cycle.leader, ""
    if elected not in {m.id for m in cfg.members}:
        raise BadInputError(
            f"Hội nghị tổng kết năm {year - 1} đã bầu '{elected}' làm Trưởng cụm năm {year},"
            " nhưng cấu hình không có đơn vị này. Thêm đơn vị vào [[members]], hoặc ghi lại"
            f" kết quả bầu bằng 'tracker elect <mã đơn vị> --cycle {year - 1}'.",
            f"The {year - 1} conference elected '{elected}' to lead {year}, but the config has"
            " no such member. Add it to [[members]], or record the election again with"
            f" 'tracker elect <member id> --cycle {year - 1}'.",
        )
    return elected, f"Trưởng cụm: {elected} (được bầu tại Hội nghị tổng kết năm {year - 1})"


def take_leader(
    session: Session,
    ctx: CycleContext,
    member_id: str,
    *,
    now: datetime,
    who: tuple[str, str],
    recorded_at: datetime | None = None,
) -> None:
    """Make `member_id` the cycle's leader: the leader's rows (state, dates, history) move
    to it, as when a reloaded config names another leader. `who`: (operator, OS user)."""
    if ctx.row.leader_id == member_id:
        return
    old = ctx.row.leader_id
    ctx.row.leader_id = member_id
    session.add(ctx.row)
    added, _retired = _sync_obligations(session, ctx)
    session.add(
        AuditEntry(
            cycle_id=ctx.id,
            at=now,
            recorded_at=recorded_at or now,
            operator=who[0],
            os_user=who[1],
            action="leader",
            note=f"Trưởng cụm: {old} → {member_id} (kết quả bầu tại Hội nghị tổng kết năm"
            f" {ctx.year - 1}); {', '.join(added)}",
        )
    )


def _sync_members(session: Session, ctx: CycleContext, *, force: bool) -> list[str]:
    wanted = {m.id: m for m in ctx.cfg.members}
    rows = {
        r.member_id: r for r in session.exec(select(MemberRow).where(MemberRow.cycle_id == ctx.id))
    }
    removed = [mid for mid, r in rows.items() if mid not in wanted and r.active]
    with_history = [mid for mid in removed if _has_history(session, ctx, mid)]
    if with_history and not force:
        names = ", ".join(with_history)
        raise BadInputError(
            f"Cấu hình mới bỏ đơn vị đã có lịch sử: {names}. Nếu đúng ý, chạy lại với --force"
            " (lịch sử vẫn được giữ).",
            f"The new config drops members that have history: {names}. If intended, run again"
            " with --force (their history is kept).",
        )
    for mid, m in wanted.items():
        r = rows.get(mid) or MemberRow(cycle_id=ctx.id, member_id=mid, name=m.name)
        r.name, r.active = m.name, True
        session.add(r)
    for mid in removed:
        rows[mid].active = False
        session.add(rows[mid])
    return removed


def _has_history(session: Session, ctx: CycleContext, member_id: str) -> bool:
    ids = [ob.id for ob in ctx.obligations if ob.member_id == member_id]
    if not ids:
        return False
    return (
        session.exec(select(AuditEntry.id).where(col(AuditEntry.obligation_id).in_(ids))).first()
        is not None
    )


def _sync_obligations(session: Session, ctx: CycleContext) -> tuple[list[str], list[str]]:
    existing = {(ob.member_id, ob.milestone_id): ob for ob in ctx.obligations}
    wanted: set[tuple[str, str]] = set()
    added: list[str] = []
    fresh: list[dict[str, object]] = []
    for ms in ctx.cfg.milestones:
        for member_id in ctx.owner_of(ms):
            key = (member_id, ms.id)
            wanted.add(key)
            ob = existing.get(key)
            if ob is None and ms.assignee != "members":
                # The leader's work belongs to the office, not the unit: when the config
                # names another leader, its rows (state, conference date, history) follow.
                ob = next(
                    (
                        o
                        for o in ctx.obligations
                        if o.milestone_id == ms.id and o.active and o.assignee == ms.assignee
                    ),
                    None,
                )
                if ob is not None:
                    added.append(f"{ob.member_id}→{member_id}/{ms.id}")
                    del existing[(ob.member_id, ms.id)]
                    ob.member_id = member_id
                    existing[key] = ob
            if ob is None:
                # New rows go in with one executemany below, not as ORM objects: loading
                # 1,000 clusters spent most of its time building and flushing them.
                fresh.append(
                    {
                        "cycle_id": ctx.id,
                        "member_id": member_id,
                        "milestone_id": ms.id,
                        "assignee": ms.assignee,
                        "state": "open",
                        "active": True,
                        "version": 1,
                    }
                )
                added.append(f"{member_id}/{ms.id}")
                continue
            if not ob.active or ob.assignee != ms.assignee:
                ob.active, ob.assignee = True, ms.assignee
                session.add(ob)
    members = {m.id for m in ctx.cfg.members}
    retired: list[str] = []
    for key, ob in existing.items():
        is_request = ob.assignee == "request"
        keep = key in wanted or (is_request and ob.member_id in members)
        if ob.active and not keep:
            ob.active = False
            retired.append(f"{ob.member_id}/{ob.milestone_id}")
            session.add(ob)
    session.flush()
    if fresh:
        session.connection().execute(insert(Obligation.__table__), fresh)  # type: ignore[attr-defined]
        # The context sees its rows as a later `load_context` would.
        ctx.obligations[:] = list(
            session.exec(
                select(Obligation).where(Obligation.cycle_id == ctx.id).order_by(col(Obligation.id))
            )
        )
    return added, retired


def _summary(
    path: str,
    cfg: ClusterConfig,
    added: Iterable[str],
    retired: Iterable[str],
    removed: Iterable[str],
) -> str:
    # The audit trail is read by the secretariat: Vietnamese, like every default text.
    parts = [f"{path} (phiên bản {cfg.cycle.version})"]
    for label, items in (
        ("thêm nghĩa vụ", added),
        ("thôi áp dụng", retired),
        ("gỡ đơn vị", removed),
    ):
        items = list(items)
        if items:
            parts.append(f"{label}: {', '.join(items)}")
    return "; ".join(parts)
