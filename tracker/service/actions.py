"""What operators do to obligations: transitions, scheduling events, ad-hoc requests.

Each function changes rows in the caller's session and appends the audit rows; the caller
commits once, so a refused action writes nothing. `now` is passed in (the core never reads
the clock).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from tracker.calendar.engine import CyclePlan, resolve_window
from tracker.calendar.types import Window, local_date
from tracker.calendar.vndate import vn_date
from tracker.config.schema import EventRule
from tracker.db.models import AuditEntry, CycleRow, Obligation
from tracker.errors import BadInputError, NotFoundError, TrackerError
from tracker.service.cycles import CycleContext, load_context
from tracker.workflow import (
    ACTION_LABEL,
    PENDING,
    REASON_REQUIRED,
    Action,
    Actor,
    State,
    require_leader,
    transition,
)


@dataclass(frozen=True)
class Who:
    """The actor and the OS account behind it, as the audit trail records them.

    `recorded_at`: the real wall clock when the command runs on a replayed clock
    (TRACKER_NOW, jobs/clock.py); the audit keeps it beside the replayed `now`. None: the
    time passed as `now` is the real one. The shell passes it in: the service never reads
    the clock."""

    actor: Actor
    os_user: str
    recorded_at: datetime | None = None

    def audit(
        self, ctx: CycleContext, ob: Obligation | None, now: datetime, action: str, **fields: Any
    ) -> AuditEntry:
        """The append-only audit row for what this operator just did to `ob` (None: to the
        cycle as a whole, e.g. an election)."""
        return AuditEntry(
            cycle_id=ctx.id,
            obligation_id=ob.id if ob is not None else None,
            at=now,
            recorded_at=self.recorded_at or now,
            operator=self.actor.operator_id,
            os_user=self.os_user,
            action=action,
            **fields,
        )


def find_obligation(ctx: CycleContext, member_id: str, milestone_id: str) -> Obligation:
    ctx.require_member(member_id)
    for ob in ctx.obligations:
        if ob.active and ob.member_id == member_id and ob.milestone_id == milestone_id:
            return ob
    if not milestone_id.startswith("request-"):
        ms = ctx.milestone(milestone_id)  # raises for an unknown id
        owners = ", ".join(ctx.owner_of(ms))
        raise NotFoundError(
            f"Mốc '{milestone_id}' không phải nghĩa vụ của '{member_id}' (thuộc: {owners}).",
            f"Milestone '{milestone_id}' is not owed by '{member_id}' (owed by: {owners}).",
        )
    raise NotFoundError(
        f"Không có yêu cầu '{milestone_id}' cho đơn vị '{member_id}'.",
        f"No request '{milestone_id}' for member '{member_id}'.",
    )


def _save(session: Session, ob: Obligation, **values: object) -> None:
    """Write `values` only if nobody changed the row since we read it (version check)."""
    result = session.execute(
        update(Obligation)
        .where(col(Obligation.id) == ob.id, col(Obligation.version) == ob.version)
        .values(version=ob.version + 1, **values)
    )
    if getattr(result, "rowcount", 1) != 1:
        raise TrackerError(
            "Nghĩa vụ vừa được người khác thay đổi. Xem lại bằng"
            f" 'tracker show {ob.member_id} {ob.milestone_id}' rồi thử lại.",
            "Someone else changed this obligation just now. Check"
            f" 'tracker show {ob.member_id} {ob.milestone_id}' and retry.",
        )
    session.refresh(ob)


def act(
    session: Session,
    ctx: CycleContext,
    who: Who,
    *,
    member_id: str,
    milestone_id: str,
    action: Action,
    now: datetime,
    note: str = "",
    ref: str = "",
    on: date | None = None,
) -> Obligation:
    ob = find_obligation(ctx, member_id, milestone_id)
    today = local_date(now)
    if on is not None:
        _check_on(session, ctx, ob, on, today)
    before = State(ob.state)
    # The role and the move first (refused, exit 3); a missing reason is bad input the
    # user corrects by adding --note (exit 2), so it is checked here, after them.
    after = transition(before, action, who.actor, ob.member_id, note.strip() or "-")
    if action in REASON_REQUIRED and not note.strip():
        verb_vi, verb_en = ACTION_LABEL[action]
        raise BadInputError(
            f'Không thể {verb_vi}: cần ghi lý do — thêm --note "…".',
            f'Cannot {verb_en}: a reason is required — add --note "…".',
        )
    day = on or today
    values: dict[str, object] = {"state": after.value}
    if action is Action.SUBMIT:
        values["submitted_on"] = day
    elif action is Action.COMPLETE:
        values["completed_on"] = day
    elif action is Action.RETURN:
        values["submitted_on"] = None  # the member must send a revised document
    elif action is Action.REOPEN:
        values.update(submitted_on=None, completed_on=None)
    _save(session, ob, **values)
    session.add(
        who.audit(
            ctx,
            ob,
            now,
            action.value,
            from_state=before.value,
            to_state=after.value,
            note=note,
            ref=ref,
            on_date=on,
        )
    )
    return ob


def refuse_two_live_cycles(
    session: Session, ctx: CycleContext, today: date, milestone_id: str
) -> None:
    """Without `--cycle` an action takes the newest cycle whose year has begun. From January
    to March two are live: cycle Y-1 still holds its summary conference and what follows it
    in Quarter I (Điều 7.7), and cycle Y has begun. When the milestone exists in both, acting
    on either silently would be a guess: refused (exit 2), naming both choices."""
    if today.month > 3 or ctx.year != today.year:
        return
    previous = session.exec(
        select(CycleRow).where(
            col(CycleRow.cluster_id) == ctx.row.cluster_id, col(CycleRow.year) == ctx.year - 1
        )
    ).first()
    if previous is None:
        return
    other = load_context(session, previous)
    if not (_has_milestone(ctx, milestone_id) and _has_milestone(other, milestone_id)):
        return
    a, b = other.year, ctx.year
    raise BadInputError(
        f"'{milestone_id}' có trong cả chu kỳ {a} (Hội nghị tổng kết trong Quý I/{b}) và"
        f" chu kỳ {b}: thêm --cycle {a} hoặc --cycle {b} vào lệnh.",
        f"'{milestone_id}' exists in both the {a} cycle (its conference is in Quarter I of"
        f" {b}) and the {b} cycle: add --cycle {a} or --cycle {b} to the command.",
    )


def _has_milestone(ctx: CycleContext, milestone_id: str) -> bool:
    if ctx.cfg.find_milestone(milestone_id) is not None:
        return True
    return any(ob.milestone_id == milestone_id and ob.active for ob in ctx.obligations)


def _check_on(session: Session, ctx: CycleContext, ob: Obligation, on: date, today: date) -> None:
    """`--on DAY` is the day the act happened, kept in the audit as `on_date` beside the
    moment it was recorded (`at`, `recorded_at`). A day the act cannot have happened on is
    refused (issue 8 §1): before the cycle's year began (a cycle is the calendar year Y,
    Điều 7), in the future, or before the obligation's last recorded state change — the
    history would otherwise read out of order (submitted before it was returned)."""
    began = date(ctx.year, 1, 1)
    if on < began:
        raise BadInputError(
            f"--on {vn_date(on)} trước khi chu kỳ {ctx.year} bắt đầu ({vn_date(began)});"
            " ghi ngày việc đã diễn ra, hoặc chọn đúng chu kỳ bằng --cycle.",
            f"--on {on.isoformat()} is before the {ctx.year} cycle began"
            f" ({began.isoformat()}); give the day it happened, or the right cycle with --cycle.",
        )
    if on > today:
        raise BadInputError(
            f"--on {vn_date(on)} là ngày trong tương lai (hôm nay {vn_date(today)});"
            " ghi ngày việc đã diễn ra.",
            f"--on {on.isoformat()} is in the future (today is {today.isoformat()});"
            " give the day it happened.",
        )
    last = last_change_day(session, ob)
    if last is not None and on < last:
        raise BadInputError(
            f"--on {vn_date(on)} trước lần thay đổi gần nhất của nghĩa vụ này"
            f" ({vn_date(last)}); xem 'tracker history --member {ob.member_id} --cycle {ctx.year}'.",
            f"--on {on.isoformat()} is before this obligation's last recorded change"
            f" ({last.isoformat()}); see 'tracker history --member {ob.member_id} --cycle {ctx.year}'.",
        )


def last_change_day(session: Session, ob: Obligation) -> date | None:
    """The day of the obligation's last state change: the day it happened (`on_date`) when
    one was given, else the local day it was recorded (`at`)."""
    rows = session.exec(
        select(AuditEntry).where(
            col(AuditEntry.obligation_id) == ob.id, col(AuditEntry.to_state).is_not(None)
        )
    )
    days = [row.on_date or local_date(row.at) for row in rows]
    return max(days, default=None)


def event_window(ctx: CycleContext, milestone_id: str) -> tuple[EventRule, Window]:
    ms = ctx.milestone(milestone_id)
    if not isinstance(ms.rule, EventRule):
        events = ", ".join(m.id for m in ctx.cfg.milestones if isinstance(m.rule, EventRule))
        raise BadInputError(
            f"Mốc '{milestone_id}' không phải sự kiện do Trưởng cụm ấn định ngày."
            f" Các mốc xếp lịch được: {events}.",
            f"Milestone '{milestone_id}' is not an event the leader dates. Schedulable: {events}.",
        )
    return ms.rule, resolve_window(ms.rule.within, ctx.year)


Change = tuple[str, str | None, date | None, date | None]


@dataclass(frozen=True)
class Scheduled:
    """What `schedule` did: the dependents whose date changed (milestone, member, old, new),
    and the (vi, en) warnings the leader overrode with `force` (also in the audit note)."""

    changed: list[Change]
    warnings: list[tuple[str, str]]


def schedule(
    session: Session,
    ctx: CycleContext,
    who: Who,
    *,
    milestone_id: str,
    day: date,
    now: datetime,
    member_id: str | None = None,
    note: str = "",
    force: bool = False,
) -> Scheduled:
    """Set or move an event date (the conference, a member's inspection visit).

    Always refused: a date outside the event's window (Điều 7.4: Oct–Nov; Điều 7.7: Quarter
    I); a day already past (what happened is recorded with `complete --on`, not scheduled);
    a date that would put a still-pending dependent deadline (score summary, draft report)
    in the past. Refused unless `force` (then kept as warnings): a day off (weekend,
    holiday, Tết, configured day off) — people meet and visit on working days — and a
    dependent that would fall before its `not_before` milestone (the score summary before
    the end of January's scoring, Điều 7.6 before Điều 10.2).
    """
    require_leader(who.actor, "xếp lịch", "schedule")
    rule, window = event_window(ctx, milestone_id)
    if rule.per_member and member_id is None:
        raise BadInputError(
            f"Mốc '{milestone_id}' xếp lịch riêng cho từng đơn vị: thêm --member <mã đơn vị>.",
            f"'{milestone_id}' is dated per member: add --member <id>.",
        )
    if not rule.per_member and member_id is not None:
        raise BadInputError(
            f"Mốc '{milestone_id}' là một ngày chung của cả Cụm: bỏ --member.",
            f"'{milestone_id}' is one date for the whole cluster: drop --member.",
        )
    if day not in window:
        raise BadInputError(
            f"Ngày {vn_date(day)} nằm ngoài khung thời gian của mốc '{milestone_id}'"
            f" ({vn_date(window.start)}–{vn_date(window.end)}). Chọn một ngày trong khung.",
            f"{day.isoformat()} is outside the window of '{milestone_id}'"
            f" ({window.start.isoformat()}–{window.end.isoformat()}). Pick a day inside it.",
        )
    today = local_date(now)
    warnings = _event_day_problems(ctx, milestone_id, day, today)
    day_off = bool(warnings)
    owner = member_id if member_id is not None else ctx.owner_of(ctx.milestone(milestone_id))[0]
    ob = find_obligation(ctx, owner, milestone_id)
    key = (milestone_id, member_id)
    old_plan = ctx.plan()
    new_plan = ctx.plan({key: day})
    changed: list[Change] = []
    for dep in ctx.obligations:
        if not dep.active or dep.milestone_id.startswith("request-") or dep is ob:
            continue
        dep_member = dep.member_id
        old = _plan_date(old_plan, dep.milestone_id, dep_member)
        new = _plan_date(new_plan, dep.milestone_id, dep_member)
        if old == new:
            continue
        changed.append((dep.milestone_id, dep_member, old, new))
        if new is not None and new < today and State(dep.state) in PENDING:
            name = ctx.milestone(dep.milestone_id).name
            raise BadInputError(
                f"Không thể xếp lịch {vn_date(day)}: hạn '{name}' của {dep_member} sẽ là"
                f" {vn_date(new)}, đã qua. Chọn ngày muộn hơn hoặc hoàn thành/miễn nghĩa vụ đó trước.",
                f"Cannot schedule {day.isoformat()}: '{dep.milestone_id}' of {dep_member} would be"
                f" due {new.isoformat()}, already past. Pick a later day or settle it first.",
            )
        problem = _not_before_problem(ctx, new_plan, dep.milestone_id, dep_member, new, day)
        if problem is not None and problem not in warnings:
            warnings.append(problem)
    for problem in _order_problems(ctx, new_plan, milestone_id, member_id, day):
        if problem not in warnings:
            warnings.append(problem)
    if warnings and not force:
        only_day_off = len(warnings) == 1 and day_off
        raise BadInputError(
            "; ".join(vi for vi, _ in warnings)
            + (" — chọn một ngày làm việc" if only_day_off else " — chọn ngày khác")
            + ", hoặc thêm --force.",
            "; ".join(en for _, en in warnings)
            + (" — pick a working day" if only_day_off else " — pick another day")
            + ", or add --force.",
        )
    old_day = ob.event_date
    text = f"{old_day.isoformat() if old_day else '—'} → {day.isoformat()}. {note}".strip()
    if warnings:
        # The audit trail keeps what the leader overrode, in the secretariat's language.
        text += " [--force: " + "; ".join(vi for vi, _ in warnings) + "]"
    _save(session, ob, event_date=day)
    session.add(who.audit(ctx, ob, now, "schedule", note=text))
    return Scheduled(changed, warnings)


def _event_day_problems(
    ctx: CycleContext, milestone_id: str, day: date, today: date
) -> list[tuple[str, str]]:
    """Checks every date the leader sets (any milestone `schedule` accepts): a past day is
    refused outright; a day off comes back as a problem that `force` may override."""
    if day < today:
        raise BadInputError(
            f"Ngày {vn_date(day)} đã qua (hôm nay {vn_date(today)}): chỉ xếp lịch từ hôm nay"
            f" trở đi. Việc đã diễn ra thì ghi bằng 'tracker complete {milestone_id} --on NGÀY'.",
            f"{day.isoformat()} is past (today is {today.isoformat()}): schedule today or"
            f" later. Record what already happened with 'tracker complete {milestone_id}"
            " --on DATE'.",
        )
    reason = ctx.calendar.day_off_reason(day)
    if reason is None:
        return []
    return [
        (
            f"Ngày {vn_date(day)} là {reason[0]} (ngày nghỉ)",
            f"{day.isoformat()} is a day off ({reason[1]})",
        )
    ]


def _order_problems(
    ctx: CycleContext, plan: CyclePlan, milestone_id: str, member_id: str | None, day: date
) -> list[tuple[str, str]]:
    """Events the config orders (`before`): the preparatory meeting must come before the
    conference (Điều 7.9). Checked both ways: dating the meeting on or after a dated
    conference, or moving the conference to or before a dated meeting."""
    out: list[tuple[str, str]] = []
    pairs = [
        (ms.id, ms.before)
        for ms in ctx.cfg.milestones
        if ms.before is not None and milestone_id in (ms.id, ms.before)
    ]
    for first_id, then_id in pairs:
        first, then = plan.due(first_id, member_id), plan.due(then_id, member_id)
        if first.scheduled is False or then.scheduled is False:
            continue  # one of them has no date yet: nothing to compare
        if first.date is None or then.date is None or first.date < then.date:
            continue
        a, b = ctx.milestone(first_id), ctx.milestone(then_id)
        out.append(
            (
                f"'{a.name}' ({vn_date(first.date)}) phải diễn ra trước '{b.name}'"
                f" ({vn_date(then.date)}), theo {a.article}",
                f"'{a.id}' ({first.date.isoformat()}) must come before '{b.id}'"
                f" ({then.date.isoformat()}), {a.article}",
            )
        )
    return out


def _not_before_problem(
    ctx: CycleContext,
    plan: CyclePlan,
    milestone_id: str,
    member_id: str,
    new: date | None,
    day: date,
) -> tuple[str, str] | None:
    """A dependent moved before the milestone its config says it must not precede
    (`not_before`): its deadline, or the end of its window, e.g. the score summary
    (Điều 10.2) before the end of January's scoring (Điều 7.6)."""
    ms = ctx.cfg.find_milestone(milestone_id)
    if ms is None or ms.not_before is None or new is None:
        return None
    other = plan.due(ms.not_before, member_id)
    end = other.window.end if other.window is not None else other.date
    if end is None or new >= end:
        return None
    first = ctx.milestone(ms.not_before)
    return (
        f"với ngày {vn_date(day)}, hạn '{ms.name}' ({ms.article}) sẽ là {vn_date(new)}, trước"
        f" khi '{first.name}' ({first.article}) kết thúc ngày {vn_date(end)}",
        f"with {day.isoformat()}, '{ms.id}' ({ms.article}) would be due {new.isoformat()},"
        f" before '{first.id}' ({first.article}) ends on {end.isoformat()}",
    )


def _plan_date(plan: CyclePlan, milestone_id: str, member_id: str) -> date | None:
    return plan.due(milestone_id, member_id).date


def request(
    session: Session,
    ctx: CycleContext,
    who: Who,
    *,
    title: str,
    due: date,
    now: datetime,
    members: list[str] | None = None,
    note: str = "",
    article: str | None = None,
) -> list[Obligation]:
    """An ad-hoc report request with its own due date (Điều 7.3, Điều 4.7). `article`: the
    article the leader's written request cites ("khoản 3 Điều 7", "Điều 4.7"); None: the
    config's `[cluster] request_article`."""
    require_leader(who.actor, "gửi yêu cầu báo cáo", "request a report")
    cited = _parse_article(article) if article is not None else None
    title = title.strip()
    if not title or "\n" in title or "\r" in title:
        raise BadInputError(
            "Tên yêu cầu phải là một dòng, không để trống.",
            "The request title must be one non-empty line.",
        )
    if due < local_date(now):
        raise BadInputError(
            f"Hạn {vn_date(due)} đã qua; chọn hạn từ hôm nay trở đi.",
            f"Due date {due.isoformat()} is past; pick today or later.",
        )
    # A cycle ends with the conference in Quarter I of Y+1 (Điều 7.7); a request due after
    # Y+1 belongs to no cycle the tracker reminds (and 31/12/9999 broke every tick's plan).
    last = date(ctx.year + 1, 12, 31)
    if due > last:
        raise BadInputError(
            f"Hạn {vn_date(due)} quá xa: yêu cầu của chu kỳ {ctx.year} phải có hạn chậm nhất"
            f" ngày {vn_date(last)}. Yêu cầu cho năm sau thì tạo trong chu kỳ năm sau"
            " (--cycle).",
            f"Due date {due.isoformat()} is too far: a request of the {ctx.year} cycle must be"
            f" due by {last.isoformat()}. For a later year, make it in that year's cycle"
            " (--cycle).",
        )
    targets = members or [m.id for m in ctx.cfg.members]
    for mid in targets:
        ctx.require_member(mid)
    used = [
        int(ob.milestone_id.removeprefix("request-"))
        for ob in ctx.obligations
        if ob.milestone_id.startswith("request-")
    ]
    milestone_id = f"request-{max(used, default=0) + 1}"
    summary = f"{title} — hạn {due.isoformat()}" + (f", căn cứ {cited}" if cited else "")
    created = []
    for mid in dict.fromkeys(targets):
        ob = Obligation(
            cycle_id=ctx.id,
            member_id=mid,
            milestone_id=milestone_id,
            assignee="request",
            title=title,
            due_override=due,
            article=cited,
        )
        session.add(ob)
        session.flush()
        ctx.obligations.append(ob)
        created.append(ob)
        session.add(
            who.audit(
                ctx,
                ob,
                now,
                "request",
                to_state=State.OPEN.value,
                note=f"{summary}. {note}".strip(),
            )
        )
    return created


def _parse_article(text: str) -> str:
    """`request --article`: parsed like the config's `article` (a commune cluster's own
    numbering too), stored in the compact form; a typo is refused, not cited."""
    from tracker.config.schema import Article

    if "\n" in text or "\r" in text:
        raise BadInputError("--article phải là một dòng.", "--article must be one line.")
    try:
        return str(Article(text))
    except ValueError as exc:
        raise BadInputError(
            f"--article '{text}' không đọc được ({exc}): viết ví dụ 'khoản 3 Điều 7' hoặc"
            " 'Điều 7.3'.",
            f"--article '{text}' cannot be read ({exc}): write e.g. 'khoản 3 Điều 7' or"
            " 'Điều 7.3'.",
        ) from None
