"""Read models for the CLI and the reports: status rows, one obligation's detail, the
calendar, the audit trail. Derived facts come from `today`, passed in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, select

from tracker.calendar.engine import CyclePlan, policy_alternatives
from tracker.calendar.types import TZ, DueDate, Policy, Window
from tracker.config.schema import Article, ClusterConfig, RelativeRule
from tracker.db.models import AuditEntry, Obligation
from tracker.service.cycles import CycleContext
from tracker.status import Standing, standing
from tracker.workflow import State


@dataclass(frozen=True)
class StatusRow:
    cluster_id: str
    cycle: int
    member: str
    member_name: str
    milestone: str
    name_vi: str
    name_en: str
    article: str
    state: State
    due: date | None
    window: Window | None
    scheduled: bool | None  # events: whether the leader set the date
    standing: Standing
    obligation_id: int
    # An event (a visit, a meeting, the conference): `due` is the day it is held; it is
    # recorded as held, never overdue.
    event: bool = False

    def as_json(self) -> dict[str, object]:
        return {
            "cluster": self.cluster_id,
            "cycle": self.cycle,
            "member": self.member,
            "member_name": self.member_name,
            "milestone": self.milestone,
            "name": self.name_vi,
            "name_en": self.name_en,
            "article": self.article,
            "state": self.state.value,
            "due": self.due.isoformat() if self.due else None,
            "window_start": self.window.start.isoformat() if self.window else None,
            "window_end": self.window.end.isoformat() if self.window else None,
            "scheduled": self.scheduled,
            "days_left": self.standing.days_left,
            "overdue": self.standing.overdue,
            "due_soon": self.standing.due_soon,
            "late": self.standing.late,
            "event": self.event,
        }


def due_of(ctx: CycleContext, plan: CyclePlan, ob: Obligation) -> DueDate:
    """The DueDate of an obligation: from the plan, or the request's own date (Điều 7.3)."""
    if ob.milestone_id.startswith("request-"):
        assert ob.due_override is not None
        return DueDate(
            milestone_id=ob.milestone_id,
            member_id=ob.member_id,
            as_written=ob.due_override,
            date=ob.due_override,
            window=None,
            policy="as_written",
            scheduled=None,
            rule_vi="hạn trong văn bản yêu cầu của Trưởng cụm",
            rule_en="the date in the leader's request",
        )
    return plan.due(ob.milestone_id, ob.member_id)


def article_of(cfg: ClusterConfig, ob: Obligation) -> Article | None:
    """The article an obligation comes from: its milestone's; for an ad-hoc request the one
    the leader's request cited (`request --article`), else the config's
    `[cluster] request_article` ("khoản 3 Điều 7" in the shipped config) — never a
    hard-coded article, so a commune cluster's own numbering is cited."""
    if ob.milestone_id.startswith("request-"):
        if ob.article:
            return Article(ob.article)
        return cfg.cluster.request_article
    ms = cfg.find_milestone(ob.milestone_id)
    return ms.article if ms is not None else None


def names_of(ctx: CycleContext, ob: Obligation) -> tuple[str, str, str]:
    """(Vietnamese name, English name, article) of an obligation."""
    if ob.milestone_id.startswith("request-"):
        title = ob.title or ob.milestone_id
        article = article_of(ctx.cfg, ob)
        return title, title, str(article) if article is not None else ""
    ms = ctx.milestone(ob.milestone_id)
    return ms.name, ms.name_en, ms.article


def is_event(ctx: CycleContext, ob: Obligation) -> bool:
    """An event (a visit, a meeting, the conference): held on its day, never overdue."""
    ms = ctx.cfg.find_milestone(ob.milestone_id)
    return ms is not None and ms.is_event


def status_rows(
    ctx: CycleContext,
    today: date,
    *,
    member: str | None = None,
    overdue_only: bool = False,
) -> list[StatusRow]:
    plan = ctx.plan()
    member_names = {m.id: m.name for m in ctx.cfg.members}
    order = {m.id: i for i, m in enumerate(ctx.cfg.milestones)}
    rows: list[StatusRow] = []
    for ob in ctx.obligations:
        if not ob.active or (member is not None and ob.member_id != member):
            continue
        due = due_of(ctx, plan, ob)
        event = is_event(ctx, ob)
        st = standing(
            State(ob.state),
            due.date,
            today,
            due_soon_days=ctx.cfg.cycle.due_soon_days,
            submitted_on=ob.submitted_on,
            completed_on=ob.completed_on,
            event=event,
        )
        if overdue_only and not st.overdue:
            continue
        name_vi, name_en, article = names_of(ctx, ob)
        assert ob.id is not None
        rows.append(
            StatusRow(
                cluster_id=ctx.cfg.cluster.id,
                cycle=ctx.year,
                member=ob.member_id,
                member_name=member_names.get(ob.member_id, ob.member_id),
                milestone=ob.milestone_id,
                name_vi=name_vi,
                name_en=name_en,
                article=article,
                state=State(ob.state),
                due=due.date,
                window=due.window,
                scheduled=due.scheduled,
                standing=st,
                obligation_id=ob.id,
                event=event,
            )
        )
    member_order = {m.id: i for i, m in enumerate(ctx.cfg.members)}
    rows.sort(
        key=lambda r: (
            member_order.get(r.member, 99),
            order.get(r.milestone, 1000),
            r.milestone,
        )
    )
    return rows


@dataclass(frozen=True)
class HistoryRow:
    # When it happened, in the cluster's time (Asia/Ho_Chi_Minh); the CLI words it.
    at: datetime
    operator: str
    os_user: str
    action: str
    member: str | None
    milestone: str | None
    from_state: str | None
    to_state: str | None
    note: str
    ref: str
    on_date: date | None
    # The real time the row was written, when it differs from `at` (a replayed clock,
    # TRACKER_NOW); None when they agree.
    recorded_at: datetime | None = None


def history(session: Session, ctx: CycleContext, *, member: str | None = None) -> list[HistoryRow]:
    by_id = {ob.id: ob for ob in ctx.obligations}
    q = select(AuditEntry).where(AuditEntry.cycle_id == ctx.id).order_by(col(AuditEntry.id))
    out: list[HistoryRow] = []
    for a in session.exec(q):
        ob = by_id.get(a.obligation_id) if a.obligation_id is not None else None
        if member is not None and (ob is None or ob.member_id != member):
            continue
        out.append(
            HistoryRow(
                # Stored in UTC; people read the cluster's local time (Asia/Ho_Chi_Minh).
                at=a.at.astimezone(TZ),
                operator=a.operator,
                os_user=a.os_user,
                action=a.action,
                member=ob.member_id if ob else None,
                milestone=ob.milestone_id if ob else None,
                from_state=a.from_state,
                to_state=a.to_state,
                note=a.note,
                ref=a.ref,
                on_date=a.on_date,
                recorded_at=_recorded(a),
            )
        )
    return out


def _recorded(a: AuditEntry) -> datetime | None:
    # Shown only when the command ran on a replayed clock (to the minute, as `at` is shown).
    at = a.at.astimezone(TZ).replace(second=0, microsecond=0)
    real = a.recorded_at.astimezone(TZ).replace(second=0, microsecond=0)
    return None if real == at else a.recorded_at.astimezone(TZ)


@dataclass(frozen=True)
class Detail:
    row: StatusRow
    due: DueDate
    alternatives: dict[Policy, date]  # what each working-day policy would give
    deliverable_vi: str
    deliverable_en: str
    history: list[HistoryRow]
    # Where the working-day policy comes from, in words (vi, en); None for a date the
    # leader set (an event) or a request, which no policy moves.
    policy_source: tuple[str, str] | None = None
    # Why the due date itself is a day off ("Chủ nhật", "Quốc khánh"), as (vi, en), when
    # the policy kept the deadline on it; None on a working day.
    day_off: tuple[str, str] | None = None


def detail(
    session: Session, ctx: CycleContext, today: date, *, member: str, milestone: str
) -> Detail:
    from tracker.service.actions import find_obligation  # only `show` needs the actions

    ob = find_obligation(ctx, member, milestone)
    row = next(r for r in status_rows(ctx, today, member=member) if r.obligation_id == ob.id)
    due = due_of(ctx, ctx.plan(), ob)
    alternatives = (
        policy_alternatives(due.as_written, ctx.calendar) if due.as_written is not None else {}
    )
    deliverable = ("", "")
    source: tuple[str, str] | None = None
    if not milestone.startswith("request-") and due.scheduled is not True:
        ms = ctx.milestone(milestone)
        deliverable = (ms.deliverable, ms.deliverable_en)
        before = isinstance(ms.rule, RelativeRule) and ms.rule.direction == "before"
        if before:
            # Refused by the config for a before-rule: not an alternative to offer.
            alternatives.pop("next_working_day", None)
        if ms.policy is not None:
            source = ("theo cấu hình của mốc", "set on the milestone")
        elif before:
            source = (
                'mặc định của quy tắc "trước … ít nhất N ngày": không được dời muộn hơn',
                'the default of an "at least N days before" rule: it must not move later',
            )
        else:
            source = ("mặc định trong [holidays] của cấu hình", "the config's [holidays] default")
    elif not milestone.startswith("request-"):
        ms = ctx.milestone(milestone)
        deliverable = (ms.deliverable, ms.deliverable_en)
        alternatives = {}  # the leader chose this exact day; no policy moves it
    hist = [h for h in history(session, ctx, member=member) if h.milestone == milestone]
    day_off = ctx.calendar.day_off_reason(due.date) if due.date is not None else None
    return Detail(row, due, alternatives, deliverable[0], deliverable[1], hist, source, day_off)


def calendar(ctx: CycleContext) -> list[DueDate]:
    return ctx.plan().all()
