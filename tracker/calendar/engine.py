"""Turn a cluster config's milestone rules into the dates of one cycle.

The cycle year is an argument, not `cfg.cycle.year`: rules are written relative to the
cycle year (`30/6/Y`, `Q1/Y+1`) so the same file can start any year (Điều 3.3, Điều 11:
the regulation is rewritten yearly, the config with it).

Pure: no clock, no I/O. Event dates the leader set are passed in as `events`.
"""

from __future__ import annotations

import calendar as _stdcal
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from tracker.calendar.types import MONTHS_EN, POLICIES, DueDate, Policy, Window
from tracker.calendar.workdays import WorkCalendar
from tracker.config.schema import (
    ClusterConfig,
    DayOfYear,
    EventRule,
    FixedRule,
    LeaderDatedRule,
    Milestone,
    MonthRule,
    QuarterRule,
    RelativeRule,
    WindowRule,
)
from tracker.errors import BadInputError

EventDates = Mapping[tuple[str, str | None], date]

_QUARTERS_VI = ("I", "II", "III", "IV")
_QUARTERS_EN = ("first", "second", "third", "fourth")


@dataclass(frozen=True)
class CyclePlan:
    """Every milestone's date in one cycle year."""

    year: int
    milestone_ids: tuple[str, ...]
    member_ids: tuple[str, ...]
    _shared: Mapping[str, DueDate] = field(repr=False)
    _per_member: Mapping[str, Mapping[str, DueDate]] = field(repr=False)

    def due(self, milestone_id: str, member_id: str | None = None) -> DueDate:
        """The member's own entry (per-member events and what counts from them), else the
        entry shared by every member. KeyError for an unknown milestone or member id."""
        if milestone_id not in self._shared:
            raise KeyError(milestone_id)
        if member_id is not None:
            if member_id not in self.member_ids:
                raise KeyError(member_id)
            own = self._per_member.get(milestone_id, {}).get(member_id)
            if own is not None:
                return own
        return self._shared[milestone_id]

    def per_member(self, milestone_id: str) -> bool:
        """True when the milestone has one date per member."""
        if milestone_id not in self._shared:
            raise KeyError(milestone_id)
        return bool(self._per_member.get(milestone_id))

    def all(self) -> list[DueDate]:
        """Every entry in config milestone order; a milestone's shared entry comes first,
        then its per-member entries in config member order."""
        out: list[DueDate] = []
        for mid in self.milestone_ids:
            out.append(self._shared[mid])
            own = self._per_member.get(mid, {})
            out.extend(own[m] for m in self.member_ids if m in own)
        return out


def policy_alternatives(d: date, cal: WorkCalendar) -> dict[Policy, date]:
    """What each working-day policy makes of `d` (e.g. 25/12/2022, a Sunday → 25/12, 26/12,
    23/12), so the leader can see the choice the config makes."""
    return {p: cal.apply_policy(d, p)[0] for p in POLICIES}


def effective_policy(cfg: ClusterConfig, ms: Milestone) -> Policy:
    """The working-day policy that dates `ms`: its own `policy`, else the rule's default.

    A `before` rule ("trước ngày Hội nghị tổng kết ít nhất 5 ngày", note under Điều 7.9;
    "chậm nhất 10 ngày trước khi tổ chức hội nghị tổng kết", Điều 10.2) is a minimum
    distance: moving its day off to the next working day would leave fewer than N days,
    so it takes the previous working day whatever `[holidays] default_policy` says. The
    config may still keep the date as written; `next_working_day` on such a rule is
    refused when the config loads (tracker.config.schema)."""
    if ms.policy is not None:
        return ms.policy
    if isinstance(ms.rule, RelativeRule) and ms.rule.direction == "before":
        return "previous_working_day"
    return cfg.holidays.default_policy


def resolve_window(rule: WindowRule | MonthRule | QuarterRule | EventRule, year: int) -> Window:
    """The window a window, month or quarter rule (or an event's `within`) gives in `year`."""
    if isinstance(rule, EventRule):
        return resolve_window(rule.within, year)
    if isinstance(rule, WindowRule):
        start, end = _resolve_day(rule.start, year), _resolve_day(rule.end, year)
        if end < start:
            raise BadInputError(
                f"Khoảng thời gian {rule.start}–{rule.end} kết thúc trước khi bắt đầu"
                f" ({start:%d/%m/%Y} > {end:%d/%m/%Y}) — sửa 'start'/'end' trong tệp cấu hình.",
                f"The window {rule.start}–{rule.end} ends before it starts"
                f" ({start:%d/%m/%Y} > {end:%d/%m/%Y}) — fix 'start'/'end' in the config file.",
            )
        return Window(start, end)
    if isinstance(rule, MonthRule):
        month, off = rule.parts()
        y = year + off
        return Window(date(y, month, 1), date(y, month, _stdcal.monthrange(y, month)[1]))
    quarter, off = rule.parts()
    y = year + off
    first = 3 * (quarter - 1) + 1
    last = first + 2
    return Window(date(y, first, 1), date(y, last, _stdcal.monthrange(y, last)[1]))


def event_window(cfg: ClusterConfig, milestone_id: str, year: int) -> Window:
    """The window an event milestone's date must fall in (the service layer refuses dates
    outside it before storing). KeyError for an unknown id; ValueError for a milestone
    that is not an event."""
    rule = cfg.milestone(milestone_id).rule
    if not isinstance(rule, EventRule):
        raise ValueError(f"milestone '{milestone_id}' is not an event (rule kind '{rule.kind}')")
    return resolve_window(rule, year)


def _resolve_day(day: DayOfYear, year: int) -> date:
    try:
        return day.resolve(year)
    except ValueError:
        y = year + day.year_offset
        raise BadInputError(
            f"Ngày {day} không có trong năm {y} (năm chu kỳ {year}) — sửa quy tắc trong tệp"
            " cấu hình, ví dụ dùng 28/2 thay cho 29/2.",
            f"The day {day} does not exist in {y} (cycle year {year}) — fix the rule in the"
            " config file, e.g. use 28/2 instead of 29/2.",
        ) from None


# -- rule text ---------------------------------------------------------------------------


def _window_text(rule: WindowRule | MonthRule | QuarterRule, window: Window) -> tuple[str, str]:
    # As the regulation writes them: "vào tháng 01 năm 2023" (Điều 7.6), "trong Quý I năm
    # 2023" (Điều 7.7).
    if isinstance(rule, MonthRule):
        m, y = window.start.month, window.start.year
        return f"trong tháng {m:02d} năm {y}", f"in {MONTHS_EN[m - 1]} {y}"
    if isinstance(rule, QuarterRule):
        q, y = (window.start.month - 1) // 3 + 1, window.start.year
        return (
            f"trong Quý {_QUARTERS_VI[q - 1]} năm {y}",
            f"in the {_QUARTERS_EN[q - 1]} quarter of {y}",
        )
    s, e = window.start, window.end
    return (
        f"từ ngày {_vi_day(s)} đến ngày {_vi_day(e)}",
        f"from {_en_day(s)} to {_en_day(e)}",
    )


def _vi_day(d: date) -> str:
    # The regulation's own spelling of a day: "30/6/2022", "25/12/2022" (Điều 7.1, 7.2).
    return f"{d.day}/{d.month}/{d.year}"


def _en_day(d: date) -> str:
    return f"{d.day} {MONTHS_EN[d.month - 1]} {d.year}"


def _fixed_text(day: date) -> tuple[str, str]:
    # "chậm nhất ngày 30/6/2022" (Điều 7.1): by the end of that day.
    return f"chậm nhất ngày {_vi_day(day)}", f"by {_en_day(day)}"


def _relative_text(rule: RelativeRule, target_vi: str, target_en: str) -> tuple[str, str]:
    # Worded as the regulation words them: "trước thời điểm tổ chức hội nghị ít nhất 5
    # ngày" (note under Điều 7.9) — a minimum distance, which is why a before-rule never
    # moves later (effective_policy).
    if rule.anchor == "start":
        tvi, ten = f"ngày bắt đầu {target_vi}", f"the start of the {target_en}"
    elif rule.anchor == "end":
        tvi, ten = f"ngày kết thúc {target_vi}", f"the end of the {target_en}"
    else:
        tvi, ten = f"ngày {target_vi}", f"the {target_en}"
    if rule.days == 0:
        return f"cùng {tvi}", f"on the day of {ten}"
    working = rule.count == "working"
    unit_vi = "ngày làm việc" if working else "ngày"
    unit_en = ("working day" if working else "day") + ("" if rule.days == 1 else "s")
    if rule.direction == "before":
        return (
            f"trước {tvi} ít nhất {rule.days} {unit_vi}",
            f"at least {rule.days} {unit_en} before {ten}",
        )
    return f"sau {tvi} {rule.days} {unit_vi}", f"{rule.days} {unit_en} after {ten}"


# -- planning ----------------------------------------------------------------------------


@dataclass
class _Resolved:
    shared: DueDate
    per_member: dict[str, DueDate]


class _Planner:
    def __init__(
        self, cfg: ClusterConfig, year: int, cal: WorkCalendar, events: EventDates
    ) -> None:
        self.cfg = cfg
        self.year = year
        self.cal = cal
        self.events = events
        self.member_ids = tuple(m.id for m in cfg.members)
        self.done: dict[str, _Resolved] = {}

    def resolve(self, milestone_id: str) -> _Resolved:
        # Depth-first in dependency order; config validation already rejects loops among
        # relative rules, so the recursion ends.
        if milestone_id in self.done:
            return self.done[milestone_id]
        ms = self.cfg.milestone(milestone_id)
        policy = effective_policy(self.cfg, ms)
        rule = ms.rule
        if isinstance(rule, RelativeRule):
            res = self._relative(ms.id, rule, policy)
        elif isinstance(rule, EventRule):
            res = self._event(ms.id, rule, policy)
        elif isinstance(rule, FixedRule):
            written = _resolve_day(rule.date, self.year)
            text = _fixed_text(written)
            res = _Resolved(self._dated(ms.id, None, written, policy, None, None, text), {})
        else:
            window = resolve_window(rule, self.year)
            text = _window_text(rule, window)
            # A window-like rule must be done by the window's last day.
            res = _Resolved(self._dated(ms.id, None, window.end, policy, window, None, text), {})
        self.done[milestone_id] = res
        return res

    def _dated(
        self,
        milestone_id: str,
        member_id: str | None,
        written: date,
        policy: Policy,
        window: Window | None,
        scheduled: bool | None,
        text: tuple[str, str],
        depends_on: str | None = None,
    ) -> DueDate:
        final, skipped = self.cal.apply_policy(written, policy)
        return DueDate(
            milestone_id=milestone_id,
            member_id=member_id,
            as_written=written,
            date=final,
            window=window,
            policy=policy,
            scheduled=scheduled,
            rule_vi=text[0],
            rule_en=text[1],
            skipped=skipped,
            depends_on=depends_on,
        )

    def _event(self, milestone_id: str, rule: EventRule, policy: Policy) -> _Resolved:
        # The leader dates it inside its window: the conference in Q1 (Điều 7.7), one
        # cross-inspection visit per member in October–November (Điều 7.4).
        window = resolve_window(rule, self.year)
        wvi, wen = _window_text(rule.within, window)
        if isinstance(rule, LeaderDatedRule):
            # Điều 4.5, 4.6: the province's guidance gives the day; the leader enters it.
            text = (
                f"ngày Trưởng cụm ấn định theo hướng dẫn của tỉnh, {wvi}",
                f"a date the leader sets from the province's guidance, {wen}",
            )
            return _Resolved(self._event_entry(milestone_id, None, window, policy, text), {})
        if not rule.per_member:
            text = (f"ngày Trưởng cụm ấn định, {wvi}", f"a date set by the leader, {wen}")
            return _Resolved(self._event_entry(milestone_id, None, window, policy, text), {})
        text = (
            f"ngày Trưởng cụm ấn định cho từng đơn vị, {wvi}",
            f"a date set by the leader for each member, {wen}",
        )
        own = {m: self._event_entry(milestone_id, m, window, policy, text) for m in self.member_ids}
        # The shared entry stands for the whole window: done by its end, and "scheduled"
        # only once every member has its date.
        shared = self._dated(
            milestone_id,
            None,
            window.end,
            policy,
            window,
            all(d.scheduled for d in own.values()),
            text,
        )
        return _Resolved(shared, own)

    def _event_entry(
        self,
        milestone_id: str,
        member_id: str | None,
        window: Window,
        policy: Policy,
        text: tuple[str, str],
    ) -> DueDate:
        given = self.events.get((milestone_id, member_id))
        if given is None:
            # Not dated yet: it must still happen by the window's end.
            return self._dated(milestone_id, member_id, window.end, policy, window, False, text)
        # The leader chose this exact day (a meeting, a visit); a policy must not move it.
        return DueDate(
            milestone_id=milestone_id,
            member_id=member_id,
            as_written=given,
            date=given,
            window=window,
            policy=policy,
            scheduled=True,
            rule_vi=text[0],
            rule_en=text[1],
        )

    def _relative(self, milestone_id: str, rule: RelativeRule, policy: Policy) -> _Resolved:
        # E.g. scores to the province ≥ 10 days (Điều 10.2) and the draft report ≥ 5 days
        # (note under Điều 7.9) before the conference; counted from its final date.
        target = self.resolve(rule.to)
        tms = self.cfg.milestone(rule.to)
        text = _relative_text(rule, tms.name, tms.name_en)

        def entry(member_id: str | None, base: date | None) -> DueDate:
            if base is None:
                # Counting from a date nobody has set yet: unscheduled, never guessed.
                return DueDate(
                    milestone_id=milestone_id,
                    member_id=member_id,
                    as_written=None,
                    date=None,
                    window=None,
                    policy=policy,
                    scheduled=None,
                    rule_vi=text[0],
                    rule_en=text[1],
                    depends_on=rule.to,
                )
            written = self._count(base, rule)
            return self._dated(milestone_id, member_id, written, policy, None, None, text, rule.to)

        if rule.anchor != "date":
            return _Resolved(entry(None, _window_bound(target.shared, rule.anchor)), {})
        if not target.per_member:
            return _Resolved(entry(None, _anchor_date(target.shared)), {})
        # One entry for the leader's single obligation (the inspection plan before the
        # first visit, Điều 7.5): it must hold for every member, so it counts from the
        # earliest member date (before: as soon as one visit is dated, the plan is due
        # before it) or the latest (after: only once every member is dated).
        dates = [_anchor_date(d) for d in target.per_member.values()]
        known = [d for d in dates if d is not None]
        base: date | None = None
        if rule.direction == "before" and known:
            base = min(known)
        elif known and len(known) == len(dates):
            base = max(known)
        if self.cfg.milestone(milestone_id).assignee != "members":
            # The leader owes it once: no per-member entries, or the leader's own member's
            # visit would date it (plan.due prefers a member's own entry).
            return _Resolved(entry(None, base), {})
        own = {m: entry(m, _anchor_date(d)) for m, d in target.per_member.items()}
        return _Resolved(entry(None, base), own)

    def _count(self, base: date, rule: RelativeRule) -> date:
        signed = rule.days if rule.direction == "after" else -rule.days
        if rule.count == "working":
            return self.cal.add_working_days(base, signed)
        return base + timedelta(days=signed)


def _anchor_date(target: DueDate) -> date | None:
    # An event not dated yet carries its window's end as a deadline, but nothing may be
    # counted from that: the real date can be any day of the window.
    return None if target.scheduled is False else target.date


def _window_bound(target: DueDate, anchor: str) -> date | None:
    # A milestone without a window (a fixed day, a relative day) is a one-day window.
    if target.window is not None:
        return target.window.start if anchor == "start" else target.window.end
    return target.date


def plan_cycle(cfg: ClusterConfig, year: int, cal: WorkCalendar, events: EventDates) -> CyclePlan:
    """Every milestone's date in cycle `year`.

    `events` holds the dates the leader set: `(milestone_id, None)` for a shared event
    (the conference), `(milestone_id, member_id)` for a per-member one (each visit).
    Entries for other milestones are ignored.
    """
    planner = _Planner(cfg, year, cal, events)
    for ms in cfg.milestones:
        planner.resolve(ms.id)
    ids = tuple(ms.id for ms in cfg.milestones)
    return CyclePlan(
        year=year,
        milestone_ids=ids,
        member_ids=planner.member_ids,
        _shared={mid: planner.done[mid].shared for mid in ids},
        _per_member={
            mid: planner.done[mid].per_member for mid in ids if planner.done[mid].per_member
        },
    )
