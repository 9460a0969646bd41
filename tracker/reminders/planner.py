"""Which reminders a cycle calls for, and when (issue 3 §1).

Long (~730 lines) on purpose, for now: every reminder kind's rule (lead, windows, overdue,
escalation, event notices, set-date, digests, the board's report) and the isolation of an
item that cannot be planned read as one ladder, and share the slot and key helpers.
Splitting the problem wording into its own module is the next step (it needs
`ObligationView` moved first).

Pure: the caller passes a snapshot of the obligations, the work calendar and `now`; no
clock, no I/O. The output is the whole plan up to a horizon, past reminders included:
planning is idempotent (each reminder has a stable key) and the dispatcher decides what to
do with reminders whose time has passed. A moved due date changes the keys, so the outbox
cancels the old planned rows and keeps the new ones.

Every reminder goes out at the config's office hour on a working day. A day computed
*before* something (lead times, window notices) that is not a working day moves to the
previous working day, so the warning is never late; a day counted *after* the deadline is
counted in working days and is a working day by construction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal

from tracker.calendar.types import TZ, DueDate, Window, local_date
from tracker.calendar.vndate import vn_date
from tracker.calendar.workdays import WorkCalendar
from tracker.config.schema import (
    ClusterConfig,
    EventRule,
    Milestone,
    ReminderPolicy,
)
from tracker.reminders.recipients import (
    Addressee,
    RecipientRole,
    leader_recipients,
    member_contacts,
    province_recipients,
)
from tracker.workflow import PENDING, UNFINISHED

ReminderKind = Literal[
    "lead",
    "window_open",
    "window_closing",
    "overdue",
    "escalation",
    "set_date",  # to the leader: date this event / leader-dated deadline (no date yet)
    "event_notice",  # before an event (visit, meeting, conference): offset = working days
    "leader_digest",
    "province_report",  # cycle-level, to the provincial board, only when configured
]

# The states live in tracker.workflow (one home): an obligation is reminded while it is
# pending (`submitted`: the member says it is sent, so stop nagging while the leader
# checks); the leader's digest runs while anything in the cycle is unfinished, a
# submission waiting for the leader's check included. The names stay for callers.
REMINDED_STATES = PENDING
UNFINISHED_STATES = UNFINISHED
# Digests are re-planned on every tick, so a short look-ahead is enough.
DIGEST_DAYS = 14
# A cycle stays live this long after its last deadline: long enough for the whole overdue
# and escalation ladder, short enough that a past year loaded only to be looked at (the 2022
# cycle in 2026) sends nothing.
CLOSE_AFTER_DAYS = 60
SET_DATE_EVERY_DAYS = 7
# A date the leader sets with no `set_date_from`: ask for it this many days before its
# window ends ("near the end of its window"); an event is never a member's to date.
SET_DATE_DEFAULT_DAYS = 21


@dataclass(frozen=True)
class ObligationView:
    """What the planner needs to know about one obligation row."""

    obligation_id: int
    cycle_id: int
    member_id: str
    # A config milestone id, or "request-<n>" for an ad-hoc request (Điều 7.3).
    milestone_id: str
    state: str  # open | submitted | completed | returned | waived
    # For an ad-hoc request the caller builds a DueDate from the request's date.
    due: DueDate | None


@dataclass(frozen=True)
class PlannedReminder:
    key: str
    obligation_id: int | None  # None for the leader's digest
    cycle_id: int
    kind: ReminderKind
    offset: int
    due: date | None
    recipient_email: str
    recipient_name: str
    recipient_role: RecipientRole
    member_id: str | None
    send_at: datetime  # aware, Asia/Ho_Chi_Minh


@dataclass(frozen=True)
class _Slot:
    """One reminder before it is addressed: several recipients may share it."""

    kind: ReminderKind
    offset: int
    day: date
    recipients: tuple[Addressee, ...]


def reminder_key(
    obligation_id: int, kind: str, offset: int, due: date, email: str, role: str = "focal"
) -> str:
    # An event's notice goes to the leader's unit twice, one per hat (its focal officer
    # as the member, its office as the leader; often one address): the leader hat is in
    # the key. Other keys keep the form earlier releases stored.
    hat = ":leader" if kind == "event_notice" and role == "leader" else ""
    return f"{obligation_id}:{kind}:{offset}:{due.isoformat()}:{email}{hat}"


def digest_key(cycle_id: int, day: date, email: str) -> str:
    return f"digest:{cycle_id}:{day.isoformat()}:{email}"


def policy_for(cfg: ClusterConfig, milestone_id: str) -> ReminderPolicy:
    """The milestone's own reminder policy, else the cluster default (ad-hoc requests too)."""
    ms = cfg.find_milestone(milestone_id)
    if ms is not None and ms.reminders is not None:
        return ms.reminders
    return cfg.reminders


@dataclass(frozen=True)
class PlanProblem:
    """One item the planner could not plan, in words (Vietnamese, English) that say which
    item, why, and what to do. `obligation_id` None: a letter about the whole cycle (the
    leader's digest, the board's report), named by its kind in `milestone_id`."""

    obligation_id: int | None
    milestone_id: str
    member_id: str | None
    error_vi: str
    error_en: str


@dataclass(frozen=True)
class PlanOutcome:
    """What a cycle's planning gives: the reminders of every item that could be planned,
    and one problem per item that could not (issue 7: one bad item never stops the rest)."""

    reminders: list[PlannedReminder]
    problems: list[PlanProblem]


class _Unplannable(Exception):
    """An item's own data cannot be planned; the words say which key to fix and how."""

    def __init__(self, vi: str, en: str) -> None:
        super().__init__(en)
        self.vi = vi
        self.en = en


# What bad data raises in date arithmetic and look-ups (a day past 9999, 29/2 in a common
# year). Anything else is a bug and must still fail loudly.
_DATA_ERRORS = (ArithmeticError, ValueError, LookupError)

# A cycle ends with the conference in Quarter I of Y+1 (Điều 7.7): an ad-hoc request due
# after 31/12 of Y+1 belongs to no cycle the tracker reminds. `tracker request` refuses
# such a date (tracker.service.actions.request); older databases still hold some.
REQUEST_REACH_YEARS = 1


def request_reach(year: int) -> date:
    """The last day an ad-hoc request of cycle `year` may be due."""
    return date(year + REQUEST_REACH_YEARS, 12, 31)


def plan_reminders(
    cfg: ClusterConfig,
    year: int,
    cycle_id: int,
    obligations: Sequence[ObligationView],
    cal: WorkCalendar,
    *,
    leader_id: str,
    now: datetime,
    horizon_days: int = 400,
) -> list[PlannedReminder]:
    """The reminders of `plan_outcome` without its problems (callers that only send)."""
    return plan_outcome(
        cfg,
        year,
        cycle_id,
        obligations,
        cal,
        leader_id=leader_id,
        now=now,
        horizon_days=horizon_days,
    ).reminders


def plan_outcome(
    cfg: ClusterConfig,
    year: int,
    cycle_id: int,
    obligations: Sequence[ObligationView],
    cal: WorkCalendar,
    *,
    leader_id: str,
    now: datetime,
    horizon_days: int = 400,
) -> PlanOutcome:
    """Every reminder the obligations call for up to `now + horizon_days`, sorted by send
    time then key (reminders whose time has passed are kept, see the module doc), and a
    problem for each item that cannot be planned: that item is left out, the rest of the
    cycle plans as if it were not there."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    problems: list[PlanProblem] = []
    usable: list[ObligationView] = []
    for ob in obligations:
        trouble = _unusable(ob, year, cfg)
        if trouble is None:
            usable.append(ob)
        elif ob.state in REMINDED_STATES:
            # A finished item owes nothing: there is nothing to plan or to fix, it only
            # must not stretch the cycle's live period (to 9999, or past the last date).
            problems.append(_problem(ob, *trouble))
    opens, closes = live_period(year, usable)
    today = local_date(now)
    if today > closes:
        return PlanOutcome([], problems)
    limit = now + timedelta(days=horizon_days)
    send_hour = cfg.mail.send_hour
    planned: dict[str, PlannedReminder] = {}

    def add(rs: Iterable[PlannedReminder]) -> None:
        for r in rs:
            if r.send_at <= limit:
                planned.setdefault(r.key, r)

    for ob in usable:
        if ob.state not in REMINDED_STATES or ob.due is None:
            continue
        try:
            # Built whole before any is kept: an item that fails half-way adds nothing.
            add(_obligation_reminders(cfg, year, cal, ob, ob.due, leader_id, send_hour))
        except _Unplannable as exc:
            problems.append(_problem(ob, exc.vi, exc.en))
        except _DATA_ERRORS as exc:
            problems.append(_problem(ob, *_cannot_plan(ob, exc, year)))

    # The whole cycle's letters run while anything in it is unfinished, an item that
    # could not be planned included (the leader must hear of it).
    if any(ob.state in UNFINISHED_STATES for ob in obligations):

        def cycle_letter(
            kind: ReminderKind,
            key: str,
            day: date,
            rcpt: Addressee,
            *,
            offset: int = 0,
            member_id: str | None = None,
        ) -> PlannedReminder:
            # A letter about the whole cycle (the leader's digest, the board's report):
            # no obligation of its own; its day is in the key.
            return PlannedReminder(
                key=key,
                obligation_id=None,
                cycle_id=cycle_id,
                kind=kind,
                offset=offset,
                due=None,
                recipient_email=rcpt.email,
                recipient_name=rcpt.name,
                recipient_role=rcpt.role,
                member_id=member_id,
                send_at=_at(day, send_hour),
            )

        def digests() -> list[PlannedReminder]:
            out: list[PlannedReminder] = []
            for i in range(DIGEST_DAYS):
                day = today + timedelta(days=i)
                # Not before the cycle's year begins: the 2023 cycle, loaded in June 2022,
                # must not send the leader a second digest every day.
                if not opens <= day <= closes or not cal.is_working_day(day):
                    continue
                for rcpt in leader_recipients(cfg, leader_id):
                    key = digest_key(cycle_id, day, rcpt.email)
                    out.append(cycle_letter("leader_digest", key, day, rcpt, member_id=leader_id))
            return out

        def reports() -> list[PlannedReminder]:
            board = cfg.reminders.report_to_province
            if board is None:
                return []
            return [
                cycle_letter(
                    "province_report",
                    province_report_key(cycle_id, day, rcpt.email),
                    day,
                    rcpt,
                    offset=board.overdue_at_least,
                )
                for day in _report_days(cfg, cal, usable, leader_id, today, opens, closes)
                for rcpt in province_recipients(cfg)
            ]

        for kind, build in (("leader_digest", digests), ("province_report", reports)):
            try:
                add(build())
            except _DATA_ERRORS as exc:
                problems.append(_cycle_problem(kind, exc))

    return PlanOutcome(sorted(planned.values(), key=lambda r: (r.send_at, r.key)), problems)


def _obligation_reminders(
    cfg: ClusterConfig,
    year: int,
    cal: WorkCalendar,
    ob: ObligationView,
    ob_due: DueDate,
    leader_id: str,
    send_hour: int,
) -> list[PlannedReminder]:
    ms = cfg.find_milestone(ob.milestone_id)
    return [
        PlannedReminder(
            key=reminder_key(ob.obligation_id, slot.kind, slot.offset, due, rcpt.email, rcpt.role),
            obligation_id=ob.obligation_id,
            cycle_id=ob.cycle_id,
            kind=slot.kind,
            offset=slot.offset,
            due=due,
            recipient_email=rcpt.email,
            recipient_name=rcpt.name,
            recipient_role=rcpt.role,
            member_id=ob.member_id,
            send_at=_at(slot.day, send_hour),
        )
        for slot, due in _slots(cfg, year, cal, ob, ob_due, ms, leader_id)
        for rcpt in slot.recipients
    ]


# -- problems ---------------------------------------------------------------------------


def _unusable(ob: ObligationView, year: int, cfg: ClusterConfig) -> tuple[str, str] | None:
    """Why the obligation's dates cannot take part in the cycle at all (vi, en), or None."""
    last = _last_day(ob)
    if last is None:
        return None
    if cfg.find_milestone(ob.milestone_id) is None and last > request_reach(year):
        reach = request_reach(year)
        fix_vi, fix_en = _fix_request(ob, year)
        return (
            f"hạn {vn_date(last)} nằm ngoài chu kỳ {year} (yêu cầu của chu kỳ này phải có hạn"
            f" chậm nhất {vn_date(reach)}), nên không được nhắc. {fix_vi}",
            f"due {last.isoformat()} is outside the {year} cycle (a request of this cycle must"
            f" be due by {reach.isoformat()}), so it is not reminded. {fix_en}",
        )
    try:
        last + timedelta(days=CLOSE_AFTER_DAYS)
    except OverflowError:
        fix_vi, fix_en = _fix_item(ob, year)
        return (
            f"ngày {vn_date(last)} nằm ngoài chu kỳ {year}, nên không được nhắc. {fix_vi}",
            f"its date {last.isoformat()} is outside the {year} cycle, so it is not"
            f" reminded. {fix_en}",
        )
    return None


def _last_day(ob: ObligationView) -> date | None:
    if ob.due is None:
        return None
    days = (ob.due.date, ob.due.as_written, ob.due.window.end if ob.due.window else None)
    return max((d for d in days if d is not None), default=None)


def _fix_request(ob: ObligationView, year: int) -> tuple[str, str]:
    waive = (
        f'tracker waive {ob.milestone_id} --member {ob.member_id} --cycle {year} --note "hạn sai"'
    )
    return (
        f"Sửa: miễn yêu cầu sai bằng `{waive}` rồi gửi lại yêu cầu với hạn đúng bằng"
        f" `tracker request … --cycle {year}`.",
        f"To fix: waive the wrong request with `{waive}` and request it again with the"
        f" right due date with `tracker request … --cycle {year}`.",
    )


def _fix_item(ob: ObligationView, year: int) -> tuple[str, str]:
    if ob.milestone_id.startswith("request-"):
        return _fix_request(ob, year)
    show = f"tracker show {ob.member_id} {ob.milestone_id} --cycle {year}"
    return (
        f"Xem ngày và lý do bằng `{show}`, rồi sửa quy tắc của mốc '{ob.milestone_id}' trong"
        " tệp cấu hình (hoặc ngày đã xếp bằng `tracker schedule`).",
        f"See the date and why with `{show}`, then fix the rule of milestone"
        f" '{ob.milestone_id}' in the config file (or the date set with `tracker schedule`).",
    )


def _problem(ob: ObligationView, why_vi: str, why_en: str) -> PlanProblem:
    return PlanProblem(
        obligation_id=ob.obligation_id,
        milestone_id=ob.milestone_id,
        member_id=ob.member_id,
        error_vi=f"Không lập được lịch nhắc cho '{ob.milestone_id}' của '{ob.member_id}': {why_vi}",
        error_en=f"Cannot plan reminders for '{ob.milestone_id}' of '{ob.member_id}': {why_en}",
    )


def _cannot_plan(ob: ObligationView, exc: Exception, year: int) -> tuple[str, str]:
    fix_vi, fix_en = _fix_item(ob, year)
    return (
        f"ngày của nghĩa vụ không tính được ({type(exc).__name__}: {exc}). {fix_vi}",
        f"its dates cannot be computed ({type(exc).__name__}: {exc}). {fix_en}",
    )


def _cycle_problem(kind: str, exc: Exception) -> PlanProblem:
    what_vi, what_en = {
        "leader_digest": ("thư tổng hợp hằng ngày gửi Trưởng cụm", "the leader's daily digest"),
        "province_report": (
            "báo cáo gửi Ban Thi đua - Khen thưởng tỉnh",
            "the report to the provincial board",
        ),
    }[kind]
    return PlanProblem(
        obligation_id=None,
        milestone_id=kind,
        member_id=None,
        error_vi=f"Không lập được lịch {what_vi} ({type(exc).__name__}: {exc}); các nhắc"
        " việc khác vẫn gửi. Kiểm tra ngày các mốc bằng `tracker calendar` và sửa ngày sai"
        " (tệp cấu hình hoặc `tracker schedule`).",
        error_en=f"Cannot plan {what_en} ({type(exc).__name__}: {exc}); the other reminders"
        " still go. Check the milestones' dates with `tracker calendar` and fix the wrong"
        " one (the config file or `tracker schedule`).",
    )


def province_report_key(cycle_id: int, day: date, email: str) -> str:
    return f"province:{cycle_id}:{day.isoformat()}:{email}"


def _report_days(
    cfg: ClusterConfig,
    cal: WorkCalendar,
    obligations: Sequence[ObligationView],
    leader_id: str,
    today: date,
    opens: date,
    closes: date,
) -> list[date]:
    """The days the cluster reports members' overdue obligations to the provincial board
    (only when configured): every N-th working day of the cycle year on which some member
    obligation is at least K working days overdue, and never on or after the day of the
    milestone named by `until` (the summary conference: the board hears the results
    there, Điều 7.8–7.9). The leader's own lapses and events are never reported."""
    board = cfg.reminders.report_to_province
    if board is None:
        return []
    stop = closes
    for ob in obligations:
        if ob.milestone_id == board.until and ob.due is not None:
            if ob.due.scheduled is not False and ob.due.date is not None:
                stop = min(stop, ob.due.date - timedelta(days=1))  # the day before it
            elif ob.due.window is not None:
                stop = min(stop, ob.due.window.end)  # not dated yet: its window's end
    reportable = [
        ob.due.date
        for ob in obligations
        if ob.state in REMINDED_STATES
        and ob.member_id != leader_id
        and ob.due is not None
        and ob.due.date is not None
        and not _is_event(cfg, ob.milestone_id)
        and _assignee(cfg, ob.milestone_id) == "members"
    ]
    days: list[date] = []
    start = date(opens.year, 1, 1) - timedelta(days=1)
    for i in range(DIGEST_DAYS):
        day = today + timedelta(days=i)
        if not opens <= day <= stop or not cal.is_working_day(day):
            continue
        if cal.working_days_between(start, day) % board.every_working_days:
            continue
        if any(cal.working_days_between(d, day) >= board.overdue_at_least for d in reportable):
            days.append(day)
    return days


def _is_event(cfg: ClusterConfig, milestone_id: str) -> bool:
    ms = cfg.find_milestone(milestone_id)
    return ms is not None and ms.is_event


def _assignee(cfg: ClusterConfig, milestone_id: str) -> str:
    # Ad-hoc requests (Điều 7.3) are the members' too.
    ms = cfg.find_milestone(milestone_id)
    return "members" if ms is None else ms.assignee


def live_period(year: int, obligations: Iterable[ObligationView]) -> tuple[date, date]:
    """The days a cycle sends reminders: from 1 January of its year until CLOSE_AFTER_DAYS
    after its last known date (deadline or window end)."""
    last = date(year, 12, 31)
    for ob in obligations:
        if ob.due is None:
            continue
        for d in (ob.due.date, ob.due.as_written, ob.due.window.end if ob.due.window else None):
            if d is not None and d > last:
                last = d
    return date(year, 1, 1), last + timedelta(days=CLOSE_AFTER_DAYS)


# -- per obligation ---------------------------------------------------------------------


def _slots(
    cfg: ClusterConfig,
    year: int,
    cal: WorkCalendar,
    ob: ObligationView,
    due: DueDate,
    ms: Milestone | None,
    leader_id: str,
) -> list[tuple[_Slot, date]]:
    """The obligation's reminders with the due date their key carries."""
    # Two hats (Điều 3.2): what the leader's unit owes as a member goes to its focal
    # officer, like every member's; the leader's tasks go to the leader's office.
    leader_task = is_leader_task(ms, ob.member_id, leader_id)
    office = leader_recipients(cfg, leader_id)
    owner = office if leader_task else member_contacts(cfg, ob.member_id, "focal")
    if not owner:
        return []

    set_from = _set_date_from(ms, due, year)
    if set_from is not None:
        # Not dated yet: the leader (never the member) is asked to date it, until its
        # window ends; nothing else is planned against a date nobody has set.
        end = due.window.end if due.window is not None else due.date
        if end is None:
            return []
        return [(s, end) for s in _set_date(cal, set_from, end, office)]
    if due.date is None:
        # Unscheduled: it counts from an event with no date yet (the draft report before
        # an unset conference); never remind against a guessed date.
        return []

    policy = policy_for(cfg, ob.milestone_id)
    if ms is not None and ms.is_event:
        # An event happens on its day: notices before it to the people concerned, and
        # nothing after it (it is recorded as held, never "overdue").
        return [(s, due.date) for s in _notices(cfg, cal, due.date, policy, ob, office)]
    slots = _lead(cal, due.date, policy, owner)
    lead_days = {s.day for s in slots}
    slots += _window(cal, due.date, due.window, policy, owner, lead_days)
    slots += _overdue(cal, due.date, policy, owner)
    if not leader_task:
        # The leader is not escalated to about its own work, nor about its own unit's.
        slots += _escalation(cfg, cal, due.date, policy, ob.member_id, leader_id)
    return [(s, due.date) for s in slots]


def is_leader_task(ms: Milestone | None, owner: str, leader_id: str) -> bool:
    """A task of the cycle's leader (its office's letters), not a member's duty: a `leader`
    milestone, or a `next_leader` one that falls to the leader while no next leader is
    named. A named next leader's task is that member's own (its focal officer)."""
    if ms is None:
        return False
    return ms.assignee == "leader" or (ms.assignee == "next_leader" and owner == leader_id)


def _set_date_from(ms: Milestone | None, due: DueDate, year: int) -> date | None:
    """For a date the leader sets (an event: the conference, a visit, Điều 7.4, 7.7; or a
    deadline the province's guidance dates, Điều 4.5–4.6) not set yet: the day to start
    asking the leader for it. None otherwise."""
    if ms is None or not ms.leader_dates or due.scheduled is not False:
        return None
    if ms.set_date_from is not None:
        try:
            return ms.set_date_from.resolve(year)
        except ValueError:
            # 29/2/Y in a common year: the loader refuses it for the file's own year, but
            # the same file may start another year (and older snapshots were not checked).
            y = year + ms.set_date_from.year_offset
            raise _Unplannable(
                f'ngày bắt đầu nhắc xếp lịch set_date_from = "{ms.set_date_from}" không có'
                f" trong năm {y} (chu kỳ {year}). Sửa khóa set_date_from của mốc '{ms.id}'"
                " trong tệp cấu hình (ví dụ 28/2/Y hoặc 1/3/Y) rồi nạp lại bằng"
                f" `tracker init --cycle {year}`.",
                f'the day to start asking for its date, set_date_from = "{ms.set_date_from}",'
                f" does not exist in {y} (cycle {year}). Fix set_date_from of"
                f" milestone '{ms.id}' in the config file (e.g. 28/2/Y or 1/3/Y) and reload it with"
                f" `tracker init --cycle {year}`.",
            ) from None
    if due.window is None:
        return None
    return max(due.window.start, due.window.end - timedelta(days=SET_DATE_DEFAULT_DAYS))


def _notices(
    cfg: ClusterConfig,
    cal: WorkCalendar,
    day: date,
    policy: ReminderPolicy,
    ob: ObligationView,
    office: tuple[Addressee, ...],
) -> list[_Slot]:
    """Notices N working days before an event. A member's visit concerns that member and
    the leader's office; a cluster event (the conference, a meeting) every member and the
    leader's office."""
    if _per_member(cfg, ob.milestone_id):
        people = member_contacts(cfg, ob.member_id, "focal")
    else:
        people = tuple(r for m in cfg.members for r in member_contacts(cfg, m.id, "focal"))
    recipients = (*people, *office)
    by_day: dict[date, int] = {}
    for n in sorted(set(policy.event_notice_working_days)):
        by_day.setdefault(cal.add_working_days(day, -n) if n else day, n)
    return [_Slot("event_notice", n, d, recipients) for d, n in by_day.items()]


def _per_member(cfg: ClusterConfig, milestone_id: str) -> bool:
    ms = cfg.find_milestone(milestone_id)
    return ms is not None and isinstance(ms.rule, EventRule) and ms.rule.per_member


def _set_date(
    cal: WorkCalendar, start: date, end: date, office: tuple[Addressee, ...]
) -> list[_Slot]:
    # "From" the configured day: a nominal day that is off moves *forward* (moving back
    # would remind before the day the config says to start).
    slots: list[_Slot] = []
    seen: set[date] = set()
    nominal = start
    while nominal <= end:
        day = cal.next_working_day(nominal)
        if day <= end and day not in seen:
            seen.add(day)
            slots.append(_Slot("set_date", (nominal - start).days, day, office))
        nominal += timedelta(days=SET_DATE_EVERY_DAYS)
    return slots


def _lead(
    cal: WorkCalendar, due: date, policy: ReminderPolicy, owner: tuple[Addressee, ...]
) -> list[_Slot]:
    by_day: dict[date, int] = {}
    for n in sorted(set(policy.lead_days)):
        # Two lead times that land on the same working day are one reminder: the one
        # closer to the deadline, which tells the true days left.
        by_day.setdefault(cal.previous_working_day(due - timedelta(days=n)), n)
    return [_Slot("lead", n, day, owner) for day, n in by_day.items()]


def _window(
    cal: WorkCalendar,
    due: date,
    window: Window | None,
    policy: ReminderPolicy,
    owner: tuple[Addressee, ...],
    lead_days: set[date],
) -> list[_Slot]:
    if window is None:
        return []
    slots: list[_Slot] = []
    if policy.window_open and window.start <= due:
        slots.append(_Slot("window_open", 0, cal.previous_working_day(window.start), owner))
    c = policy.window_closing_days
    closing = None if c is None else window.end - timedelta(days=c)
    # An event dated early in its window (an inspection visit in October) is over before
    # the window closes: its overdue nags, not a closing notice, follow it.
    if c is not None and closing is not None and window.start < closing <= due:
        day = cal.previous_working_day(closing)
        # A lead reminder on the same day already says how many days are left.
        if day not in lead_days:
            slots.append(_Slot("window_closing", c, day, owner))
    return slots


def _overdue(
    cal: WorkCalendar, due: date, policy: ReminderPolicy, owner: tuple[Addressee, ...]
) -> list[_Slot]:
    # The 1st working day late, then every N working days, at most M times.
    return [
        _Slot("overdue", k, cal.add_working_days(due, k), owner)
        for k in range(
            1,
            1 + policy.overdue_max * policy.overdue_every_working_days,
            policy.overdue_every_working_days,
        )
    ]


def _escalation(
    cfg: ClusterConfig,
    cal: WorkCalendar,
    due: date,
    policy: ReminderPolicy,
    member_id: str,
    leader_id: str,
) -> list[_Slot]:
    # The member's head, then the leader; the leader's own unit only to its head (the
    # leader's office sees it in its digest). Never the provincial board.
    rungs: Iterable[tuple[int | None, tuple[Addressee, ...]]] = (
        (policy.escalate_head_after, member_contacts(cfg, member_id, "head")),
        (
            None if member_id == leader_id else policy.escalate_leader_after,
            leader_recipients(cfg, leader_id),
        ),
    )
    return [
        _Slot("escalation", k, cal.add_working_days(due, k), rcpts)
        for k, rcpts in rungs
        if k is not None and rcpts
    ]


# -- helpers ----------------------------------------------------------------------------


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=TZ)
