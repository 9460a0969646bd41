"""The reminder planner against the shipped 2022 config and the real work calendar."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.calendar.engine import CyclePlan, plan_cycle
from tracker.calendar.types import TZ, DueDate, Window
from tracker.calendar.workdays import WorkCalendar
from tracker.config import ClusterConfig, load_config, shipped_configs
from tracker.config.schema import ReminderPolicy
from tracker.reminders.planner import (
    CLOSE_AFTER_DAYS,
    DIGEST_DAYS,
    ObligationView,
    PlannedReminder,
    live_period,
    plan_reminders,
)

CFG = load_config(shipped_configs()[0])
CAL = WorkCalendar(CFG.holidays)
LEADER = CFG.cycle.leader  # tua-chua
CYCLE_ID = 7
CONFERENCE = date(2023, 3, 10)
EVENTS: Mapping[tuple[str, str | None], date] = {
    ("summary_conference", None): CONFERENCE,
    ("cross_inspection", "muong-cha"): date(2022, 10, 12),
}
START = datetime(2022, 1, 1, 9, 0, tzinfo=TZ)  # before the cycle's first reminder
WHOLE_CYCLE = 600  # days: from START past the conference in Q1 2023
TET_2023 = {date(2023, 1, 20) + timedelta(days=i) for i in range(7)}

FOCAL = {m.id: next(c.email for c in m.contacts if c.role == "focal") for m in CFG.members}
HEAD = {m.id: next(c.email for c in m.contacts if c.role == "head") for m in CFG.members}
# The leader's office: the `leader` operator's address (its tasks and digest).
OFFICE = next(str(op.email) for op in CFG.operators if op.role == "leader")


def obligations(
    plan: CyclePlan, cfg: ClusterConfig = CFG, states: Mapping[tuple[str, str], str] | None = None
) -> list[ObligationView]:
    """The rows the service creates: one per member for `members` milestones, one owned by
    the leader (or next leader) otherwise; ids in config order."""
    states = states or {}
    out: list[ObligationView] = []
    for ms in cfg.milestones:
        if ms.assignee == "members":
            owners = [m.id for m in cfg.members]
        elif ms.assignee == "next_leader":
            owners = [cfg.cycle.next_leader or LEADER]
        else:
            owners = [LEADER]
        for owner in owners:
            due = plan.due(ms.id, owner if ms.assignee == "members" else None)
            out.append(
                ObligationView(
                    obligation_id=len(out) + 1,
                    cycle_id=CYCLE_ID,
                    member_id=owner,
                    milestone_id=ms.id,
                    state=states.get((ms.id, owner), "open"),
                    due=due,
                )
            )
    return out


def find(obs: list[ObligationView], milestone_id: str, member_id: str = LEADER) -> ObligationView:
    return next(o for o in obs if o.milestone_id == milestone_id and o.member_id == member_id)


def plan(
    obs: list[ObligationView],
    cfg: ClusterConfig = CFG,
    now: datetime = START,
    horizon_days: int = WHOLE_CYCLE,
) -> list[PlannedReminder]:
    return plan_reminders(
        cfg, 2022, CYCLE_ID, obs, CAL, leader_id=LEADER, now=now, horizon_days=horizon_days
    )


def of(
    reminders: list[PlannedReminder], obligation: ObligationView, kind: str | None = None
) -> list[PlannedReminder]:
    return [
        r
        for r in reminders
        if r.obligation_id == obligation.obligation_id and (kind is None or r.kind == kind)
    ]


def at8(d: date) -> datetime:
    return datetime.combine(d, time(8), tzinfo=TZ)


@pytest.fixture(scope="module")
def cycle_obs() -> list[ObligationView]:
    return obligations(plan_cycle(CFG, 2022, CAL, EVENTS))


@pytest.fixture(scope="module")
def whole_cycle(cycle_obs: list[ObligationView]) -> list[PlannedReminder]:
    return plan(cycle_obs)


# -- the calendar is respected ----------------------------------------------------------


def test_no_reminder_on_a_weekend_or_holiday_over_the_whole_cycle(
    whole_cycle: list[PlannedReminder],
) -> None:
    assert len(whole_cycle) > 300
    days = {r.send_at.date() for r in whole_cycle}
    off = sorted(d for d in days if not CAL.is_working_day(d))
    assert off == []
    assert all(d.weekday() < 5 for d in days)
    assert not days & TET_2023
    # National Day and the New Year's Day observed are days off that reminders must avoid.
    assert not days & {date(2022, 9, 1), date(2022, 9, 2), date(2023, 1, 2)}


def test_every_send_time_is_08_00_in_vietnam(whole_cycle: list[PlannedReminder]) -> None:
    for r in whole_cycle:
        assert r.send_at.tzinfo is not None
        assert r.send_at.utcoffset() == timedelta(hours=7)
        assert r.send_at.astimezone(TZ).time() == time(8, 0)


def test_sorted_by_send_time_then_key(whole_cycle: list[PlannedReminder]) -> None:
    assert whole_cycle == sorted(whole_cycle, key=lambda r: (r.send_at, r.key))
    assert len({r.key for r in whole_cycle}) == len(whole_cycle)


# -- lead reminders ----------------------------------------------------------------------


def test_annual_report_due_on_a_sunday_is_reminded_on_the_working_days_before(
    cycle_obs: list[ObligationView], whole_cycle: list[PlannedReminder]
) -> None:
    ob = find(cycle_obs, "annual_report", "muong-nhe")
    assert ob.due is not None and ob.due.date == date(2022, 12, 25)  # a Sunday, as written
    lead = {r.offset: r.send_at for r in of(whole_cycle, ob, "lead")}
    # 14 → Sun 11/12 → Fri 9/12; 7 → Sun 18/12 → Fri 16/12; 3 → Thu 22/12;
    # 1 → Sat 24/12 and 0 → Sun 25/12 both land on Fri 23/12: one reminder, offset 0.
    assert lead == {
        14: at8(date(2022, 12, 9)),
        7: at8(date(2022, 12, 16)),
        3: at8(date(2022, 12, 22)),
        0: at8(date(2022, 12, 23)),
    }
    for r in of(whole_cycle, ob, "lead"):
        assert r.recipient_email == FOCAL["muong-nhe"]
        assert r.recipient_role == "focal"
        assert r.member_id == "muong-nhe"
        assert r.due == date(2022, 12, 25)
        assert r.key == f"{ob.obligation_id}:lead:{r.offset}:2022-12-25:{FOCAL['muong-nhe']}"


def test_half_year_report_gets_all_five_lead_reminders(
    cycle_obs: list[ObligationView], whole_cycle: list[PlannedReminder]
) -> None:
    ob = find(cycle_obs, "half_year_report", "nam-po")  # due Thu 30/6/2022
    lead = {r.offset: r.send_at.date() for r in of(whole_cycle, ob, "lead")}
    assert lead == {
        14: date(2022, 6, 16),
        7: date(2022, 6, 23),
        3: date(2022, 6, 27),
        1: date(2022, 6, 29),
        0: date(2022, 6, 30),
    }


def test_every_open_obligation_is_reminded_before_its_deadline(
    cycle_obs: list[ObligationView], whole_cycle: list[PlannedReminder]
) -> None:
    deadlines = [o for o in cycle_obs if not CFG.milestone(o.milestone_id).is_event]
    dated = [o for o in deadlines if o.due is not None and o.due.scheduled is not False]
    # The conference and one visit are set: every deadline has a date but the leader's
    # reports to the province, which the province's guidance dates (Điều 4.5, 4.6).
    assert {o.milestone_id for o in deadlines if o not in dated} == {
        "province_half_year_report",
        "province_annual_report",
    }
    for ob in dated:
        assert ob.due is not None and ob.due.date is not None
        before = [r for r in of(whole_cycle, ob, "lead") if r.send_at.date() <= ob.due.date]
        assert before, f"no lead reminder for {ob.milestone_id}/{ob.member_id}"
        # The last warning is on the deadline's own day or the working day before it.
        assert max(r.send_at.date() for r in before) == CAL.previous_working_day(ob.due.date)


def test_lead_times_collapsing_across_tet_keep_the_smaller_offset() -> None:
    # Due Fri 27/1/2023, the first working day after Tết (20–26/1): lead 1 → Thu 26/1,
    # 3 → Tue 24/1 and 7 → Fri 20/1 all move back to Thu 19/1 — one reminder, offset 1.
    obs = [_adhoc(1, "dien-bien-dong", date(2023, 1, 27))]
    lead = {r.offset: r.send_at.date() for r in plan(obs) if r.kind == "lead"}
    assert lead == {14: date(2023, 1, 13), 1: date(2023, 1, 19), 0: date(2023, 1, 27)}


# -- windows -----------------------------------------------------------------------------


def test_window_open_moves_back_before_new_year_and_closing_before_tet(
    cycle_obs: list[ObligationView],
) -> None:
    cfg = CFG.model_copy(
        update={"reminders": ReminderPolicy(lead_days=[0], window_closing_days=10)}
    )
    ob = find(cycle_obs, "score_matching", "dien-bien-dong")  # January 2023
    got = {(r.kind, r.offset): r.send_at.date() for r in plan([ob], cfg)}
    # 1/1/2023 is a Sunday and New Year's Day: the notice goes on Fri 30/12/2022.
    assert got[("window_open", 0)] == date(2022, 12, 30)
    # 31/1 − 10 days = Sat 21/1, in Tết: Thu 19/1.
    assert got[("window_closing", 10)] == date(2023, 1, 19)


def test_window_closing_on_a_lead_day_is_not_sent_twice(
    cycle_obs: list[ObligationView], whole_cycle: list[PlannedReminder]
) -> None:
    ob = find(cycle_obs, "score_matching", "muong-cha")
    # Closing 3 days before 31/1 = Sat 28/1 → Fri 27/1, the day lead 3 already goes out.
    kinds = {(r.kind, r.offset): r.send_at.date() for r in of(whole_cycle, ob)}
    assert kinds[("lead", 3)] == date(2023, 1, 27)
    assert ("window_closing", 3) not in kinds
    assert kinds[("window_open", 0)] == date(2022, 12, 30)


def test_a_visit_is_an_event_with_notices_before_it_and_no_nag_after(
    cycle_obs: list[ObligationView], whole_cycle: list[PlannedReminder]
) -> None:
    ob = find(cycle_obs, "cross_inspection", "muong-cha")  # visit on Wed 12/10/2022
    got = {(r.kind, r.offset, r.recipient_role): r.send_at.date() for r in of(whole_cycle, ob)}
    # 7 and 1 working days before: Mon 3/10 and Tue 11/10, to the visited member's focal
    # officer and to the leader's office; nothing before or after that.
    assert got == {
        ("event_notice", 7, "focal"): date(2022, 10, 3),
        ("event_notice", 7, "leader"): date(2022, 10, 3),
        ("event_notice", 1, "focal"): date(2022, 10, 11),
        ("event_notice", 1, "leader"): date(2022, 10, 11),
    }
    assert {r.recipient_email for r in of(whole_cycle, ob) if r.recipient_role == "focal"} == {
        FOCAL["muong-cha"]
    }


def test_an_undated_visit_asks_the_leader_never_the_member(
    cycle_obs: list[ObligationView], whole_cycle: list[PlannedReminder]
) -> None:
    ob = find(cycle_obs, "cross_inspection", "nam-po")  # no date set
    rows = of(whole_cycle, ob)
    assert rows and {r.kind for r in rows} == {"set_date"}
    assert {(r.recipient_role, r.recipient_email) for r in rows} == {("leader", OFFICE)}
    # From set_date_from (1/9/2022, National Day: Mon 5/9) weekly until the window ends.
    assert rows[0].send_at.date() == date(2022, 9, 5)
    assert rows[-1].send_at.date() <= date(2022, 11, 30)


def test_the_conference_gets_notices_to_every_member_and_no_overdue(
    cycle_obs: list[ObligationView], whole_cycle: list[PlannedReminder]
) -> None:
    ob = find(cycle_obs, "summary_conference")  # Fri 10/3/2023
    rows = of(whole_cycle, ob)
    assert {r.kind for r in rows} == {"event_notice"}
    assert {r.send_at.date() for r in rows} == {date(2023, 3, 1), date(2023, 3, 9)}
    assert {r.recipient_email for r in rows if r.recipient_role == "focal"} == set(FOCAL.values())
    assert {r.recipient_email for r in rows if r.recipient_role == "leader"} == {OFFICE}
    # The election is held at the conference: its notice is the conference's.
    assert of(whole_cycle, find(cycle_obs, "leader_election")) == []


def test_the_leaders_tasks_go_to_its_office_and_its_member_duties_to_its_focal_officer(
    cycle_obs: list[ObligationView], whole_cycle: list[PlannedReminder]
) -> None:
    task = of(whole_cycle, find(cycle_obs, "score_summary"))
    assert task and {(r.recipient_role, r.recipient_email) for r in task} == {("leader", OFFICE)}
    duty = of(whole_cycle, find(cycle_obs, "annual_report", LEADER))
    assert {(r.recipient_role, r.recipient_email) for r in duty if r.kind != "escalation"} == {
        ("focal", FOCAL[LEADER])
    }


def test_leader_dated_reports_to_the_province_ask_for_their_date_then_remind() -> None:
    obs = obligations(plan_cycle(CFG, 2022, CAL, EVENTS))
    report = find(obs, "province_half_year_report")
    got = of(plan(obs), report)
    assert {r.kind for r in got} == {"set_date"}
    assert got[0].send_at.date() == date(2022, 6, 1)
    dated = obligations(
        plan_cycle(
            CFG, 2022, CAL, {**EVENTS, ("province_half_year_report", None): date(2022, 7, 15)}
        )
    )
    kinds = {r.kind for r in of(plan(dated), find(dated, "province_half_year_report"))}
    assert kinds == {"lead", "window_open", "overdue"}  # no escalation: its own work


# -- states ------------------------------------------------------------------------------


def test_completed_waived_and_submitted_obligations_get_no_reminders() -> None:
    states = {
        ("annual_report", "muong-cha"): "completed",
        ("annual_report", "nam-po"): "waived",
        ("annual_report", "muong-nhe"): "submitted",
        ("annual_report", "dien-bien-dong"): "returned",
    }
    obs = obligations(plan_cycle(CFG, 2022, CAL, EVENTS), states=states)
    got = plan(obs)
    for member in ("muong-cha", "nam-po", "muong-nhe"):
        assert of(got, find(obs, "annual_report", member)) == []
    # Returned to the member for changes: it owes the report again.
    assert len(of(got, find(obs, "annual_report", "dien-bien-dong"), "lead")) == 4
    assert len(of(got, find(obs, "annual_report", "tua-chua"), "lead")) == 4


def test_a_finished_cycle_plans_nothing_not_even_the_digest(
    cycle_obs: list[ObligationView],
) -> None:
    done = [_with_state(o, "completed" if o.obligation_id % 2 else "waived") for o in cycle_obs]
    assert plan(done) == []
    # One submission waiting for the leader's check: the digest runs, nobody is nagged.
    waiting = [*done[1:], _with_state(cycle_obs[0], "submitted")]
    got = plan(waiting, now=datetime(2022, 7, 4, 7, 0, tzinfo=TZ))
    assert got
    assert {r.kind for r in got} == {"leader_digest"}


def test_a_member_dropped_from_the_config_is_not_reminded() -> None:
    got = plan([_adhoc(1, "no-longer-here", date(2022, 6, 30))])
    assert [r for r in got if r.kind != "leader_digest"] == []


# -- the conference ----------------------------------------------------------------------


def test_draft_report_reminders_move_with_the_conference(
    cycle_obs: list[ObligationView], whole_cycle: list[PlannedReminder]
) -> None:
    moved_events = {**EVENTS, ("summary_conference", None): date(2023, 3, 17)}
    moved_obs = obligations(plan_cycle(CFG, 2022, CAL, moved_events))
    moved = plan(moved_obs)
    for milestone in ("draft_report", "score_summary", "summary_conference"):
        before = of(whole_cycle, find(cycle_obs, milestone))
        after = of(moved, find(moved_obs, milestone))
        assert before and after
        assert not {r.key for r in before} & {r.key for r in after}
        assert {r.send_at for r in before} != {r.send_at for r in after}
    draft = find(moved_obs, "draft_report")
    # At least 5 days before 17/3 is Sunday 12/3: back to Friday 10/3 (note under Điều 7.9).
    assert draft.due is not None and draft.due.date == date(2023, 3, 10)
    lead = {r.offset: r.send_at.date() for r in of(moved, draft, "lead")}
    # 14 → Fri 24/2; 7 → Fri 3/3; 3 → Tue 7/3; 1 → Thu 9/3; 0 → Fri 10/3.
    assert lead == {
        14: date(2023, 2, 24),
        7: date(2023, 3, 3),
        3: date(2023, 3, 7),
        1: date(2023, 3, 9),
        0: date(2023, 3, 10),
    }
    assert {r.recipient_email for r in of(moved, draft) if r.kind != "escalation"} == {
        FOCAL[LEADER]
    }
    # What does not depend on the conference keeps its keys.
    annual = find(cycle_obs, "annual_report", "nam-po")
    assert of(whole_cycle, annual) == of(moved, find(moved_obs, "annual_report", "nam-po"))


def test_an_unset_conference_reminds_the_leader_to_set_it_from_1_december() -> None:
    events = {k: v for k, v in EVENTS.items() if k[0] != "summary_conference"}
    obs = obligations(plan_cycle(CFG, 2022, CAL, events))
    got = plan(obs)
    conference = find(obs, "summary_conference")
    set_date = of(got, conference, "set_date")
    assert [r.kind for r in of(got, conference)] == ["set_date"] * len(set_date)
    assert set_date[0].send_at == at8(date(2022, 12, 1))
    assert set_date[0].offset == 0
    days = [r.send_at.date() for r in set_date]
    assert days[-1] <= date(2023, 3, 31)
    assert all(CAL.is_working_day(d) for d in days)
    offsets = [r.offset for r in set_date]
    assert offsets == list(range(0, offsets[-1] + 1, 7))
    assert offsets[-1] == 119  # 30/3/2023, the last weekly day before the quarter ends
    # Thu 26/1/2023 is in Tết: that week's reminder waits for Fri 27/1.
    assert dict(zip(offsets, days, strict=True))[56] == date(2023, 1, 27)
    for r in set_date:
        assert (r.recipient_role, r.recipient_email) == ("leader", OFFICE)
        assert r.due == date(2023, 3, 31)
    # Nothing is reminded against the dates that count from the conference.
    for milestone in ("score_summary", "draft_report", "leader_election"):
        ob = find(obs, milestone)
        assert ob.due is not None and ob.due.date is None
        assert of(got, ob) == []


# -- after the deadline ------------------------------------------------------------------


def test_overdue_nags_every_two_working_days_five_times(
    cycle_obs: list[ObligationView], whole_cycle: list[PlannedReminder]
) -> None:
    ob = find(cycle_obs, "half_year_report", "nam-po")  # due Thu 30/6/2022
    nags = of(whole_cycle, ob, "overdue")
    assert [(r.offset, r.send_at.date()) for r in nags] == [
        (1, date(2022, 7, 1)),
        (3, date(2022, 7, 5)),
        (5, date(2022, 7, 7)),
        (7, date(2022, 7, 11)),
        (9, date(2022, 7, 13)),
    ]
    for r in nags:
        assert CAL.working_days_between(date(2022, 6, 30), r.send_at.date()) == r.offset
        assert r.recipient_email == FOCAL["nam-po"]
    gaps = [
        CAL.working_days_between(a.send_at.date(), b.send_at.date())
        for a, b in itertools.pairwise(nags)
    ]
    assert gaps == [2, 2, 2, 2]


def test_overdue_spacing_and_count_follow_the_policy() -> None:
    cfg = CFG.model_copy(
        update={"reminders": ReminderPolicy(overdue_every_working_days=3, overdue_max=3)}
    )
    # Due Thu 1/9/2022, National Day (1–2/9): day 1 late is Mon 5/9.
    got = plan([_adhoc(1, "muong-cha", date(2022, 9, 1))], cfg)
    nags = [(r.offset, r.send_at.date()) for r in got if r.kind == "overdue"]
    assert nags == [(1, date(2022, 9, 5)), (4, date(2022, 9, 8)), (7, date(2022, 9, 13))]
    none = CFG.model_copy(update={"reminders": ReminderPolicy(overdue_max=0)})
    assert [
        r for r in plan([_adhoc(1, "muong-cha", date(2022, 9, 1))], none) if r.kind == "overdue"
    ] == []


def test_escalation_climbs_from_head_to_leader_and_never_to_the_province(
    cycle_obs: list[ObligationView], whole_cycle: list[PlannedReminder]
) -> None:
    ob = find(cycle_obs, "half_year_report", "nam-po")
    rungs = [
        (r.offset, r.send_at.date(), r.recipient_role, r.recipient_email)
        for r in of(whole_cycle, ob, "escalation")
    ]
    assert rungs == [
        (3, date(2022, 7, 5), "head", HEAD["nam-po"]),
        (5, date(2022, 7, 7), "leader", OFFICE),
    ]
    assert all(r.member_id == "nam-po" for r in of(whole_cycle, ob, "escalation"))


def test_the_leader_is_not_escalated_to_about_its_own_work(
    cycle_obs: list[ObligationView], whole_cycle: list[PlannedReminder]
) -> None:
    task = find(cycle_obs, "score_summary")
    assert of(whole_cycle, task, "escalation") == []
    duty = find(cycle_obs, "half_year_report", LEADER)
    roles = [(r.offset, r.recipient_role) for r in of(whole_cycle, duty, "escalation")]
    assert roles == [(3, "head")]


def test_escalation_skips_missing_rungs() -> None:
    cfg = CFG.model_copy(
        update={
            "province_board": None,
            "reminders": ReminderPolicy(escalate_head_after=None, escalate_leader_after=4),
        }
    )
    got = plan([_adhoc(1, "muong-nhe", date(2022, 6, 30))], cfg)
    rungs = [(r.offset, r.recipient_role) for r in got if r.kind == "escalation"]
    assert rungs == [(4, "leader")]


def test_a_milestone_policy_overrides_the_cluster_default(
    cycle_obs: list[ObligationView],
) -> None:
    milestones = [
        m.model_copy(update={"reminders": ReminderPolicy(lead_days=[2], overdue_max=0)})
        if m.id == "half_year_report"
        else m
        for m in CFG.milestones
    ]
    cfg = CFG.model_copy(update={"milestones": milestones})
    half = find(cycle_obs, "half_year_report", "muong-cha")
    annual = find(cycle_obs, "annual_report", "muong-cha")
    got = plan([half, annual], cfg)
    assert [(r.offset, r.send_at.date()) for r in of(got, half, "lead")] == [(2, date(2022, 6, 28))]
    assert of(got, half, "overdue") == []
    assert len(of(got, annual, "lead")) == 4


# -- the leader's digest -----------------------------------------------------------------


def test_leader_digest_every_working_day_for_the_next_two_weeks(
    cycle_obs: list[ObligationView],
) -> None:
    now = datetime(2022, 12, 19, 10, 30, tzinfo=TZ)  # Monday, after the send hour
    digests = [r for r in plan(cycle_obs, now=now) if r.kind == "leader_digest"]
    days = [r.send_at.date() for r in digests]
    first, last = date(2022, 12, 19), date(2022, 12, 19) + timedelta(days=DIGEST_DAYS - 1)
    expected = [
        first + timedelta(days=i)
        for i in range((last - first).days + 1)
        if CAL.is_working_day(first + timedelta(days=i))
    ]
    assert days == expected
    assert len(days) == 10  # two weeks of Mondays to Fridays; 1/1/2023 is a Sunday
    for r in digests:
        assert r.obligation_id is None and r.due is None and r.offset == 0
        assert r.recipient_email == FOCAL[LEADER] and r.recipient_role == "leader"
        assert r.key == f"digest:{CYCLE_ID}:{r.send_at.date().isoformat()}:{FOCAL[LEADER]}"


# -- idempotence and horizon -------------------------------------------------------------


def test_planning_twice_gives_the_same_plan(
    cycle_obs: list[ObligationView], whole_cycle: list[PlannedReminder]
) -> None:
    assert plan(cycle_obs) == whole_cycle
    assert plan(list(reversed(cycle_obs))) == whole_cycle


def test_nothing_beyond_the_horizon_and_past_reminders_are_kept(
    cycle_obs: list[ObligationView],
) -> None:
    now = datetime(2022, 8, 1, 9, 0, tzinfo=TZ)
    got = plan(cycle_obs, now=now, horizon_days=30)
    assert got
    assert max(r.send_at for r in got) <= now + timedelta(days=30)
    half = find(cycle_obs, "half_year_report", "muong-cha")
    # June's reminders are still in the plan: the dispatcher decides about the past.
    assert len(of(got, half, "lead")) == 5


def test_now_must_be_timezone_aware(cycle_obs: list[ObligationView]) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        plan(cycle_obs, now=datetime(2022, 8, 1, 9, 0))


# -- property ----------------------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(
    due=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)),
    window_days=st.none() | st.integers(min_value=0, max_value=90),
    lead_days=st.lists(st.integers(min_value=0, max_value=120), max_size=6),
    closing=st.none() | st.integers(min_value=0, max_value=60),
    every=st.integers(min_value=1, max_value=30),
    nags=st.integers(min_value=0, max_value=10),
)
def test_every_reminder_lands_on_a_working_day(
    due: date,
    window_days: int | None,
    lead_days: list[int],
    closing: int | None,
    every: int,
    nags: int,
) -> None:
    policy = ReminderPolicy(
        lead_days=lead_days,
        window_closing_days=closing,
        overdue_every_working_days=every,
        overdue_max=nags,
    )
    cfg = CFG.model_copy(update={"reminders": policy})
    window = None if window_days is None else Window(due - timedelta(days=window_days), due)
    now = at8(due) - timedelta(days=150)
    got = plan_reminders(
        cfg,
        due.year,
        CYCLE_ID,
        [_adhoc(3, "muong-cha", due, window)],
        CAL,
        leader_id=LEADER,
        now=now,
    )
    assert got
    for r in got:
        assert CAL.is_working_day(r.send_at.date()), r
        assert r.send_at.time() == time(8, 0) and r.send_at.tzinfo is TZ
    lead = [r.send_at.date() for r in got if r.kind == "lead"]
    if lead_days:
        assert max(lead) == CAL.previous_working_day(due - timedelta(days=min(lead_days)))
        assert all(d <= due for d in lead)


# -- helpers -----------------------------------------------------------------------------


def _adhoc(
    obligation_id: int, member_id: str, due: date, window: Window | None = None
) -> ObligationView:
    """An ad-hoc request (Điều 7.3): the caller builds its DueDate from the request."""
    return ObligationView(
        obligation_id=obligation_id,
        cycle_id=CYCLE_ID,
        member_id=member_id,
        milestone_id=f"request-{obligation_id}",
        state="open",
        due=DueDate(
            milestone_id=f"request-{obligation_id}",
            member_id=member_id,
            as_written=due,
            date=due,
            window=window,
            policy="as_written",
            scheduled=None,
            rule_vi="theo văn bản yêu cầu",
            rule_en="as requested",
        ),
    )


def _with_state(ob: ObligationView, state: str) -> ObligationView:
    return ObligationView(
        ob.obligation_id, ob.cycle_id, ob.member_id, ob.milestone_id, state, ob.due
    )


def test_a_past_cycle_loaded_to_look_at_sends_nothing() -> None:
    # The 2022 cycle loaded in 2026 to be looked at: every deadline is years past.
    cfg = load_config(shipped_configs()[0])
    cal = WorkCalendar(cfg.holidays)
    plan = plan_cycle(cfg, 2022, cal, {})
    views = [
        ObligationView(i, 1, m.id, "half_year_report", "open", plan.due("half_year_report", m.id))
        for i, m in enumerate(cfg.members, start=1)
    ]
    now = datetime(2026, 11, 30, 9, tzinfo=TZ)
    assert plan_reminders(cfg, 2022, 1, views, cal, leader_id="tua-chua", now=now) == []
    assert live_period(2022, views)[1] == date(2022, 12, 31) + timedelta(days=CLOSE_AFTER_DAYS)


def test_next_years_cycle_sends_no_leader_digest_before_its_year() -> None:
    cfg = load_config(shipped_configs()[0])
    cal = WorkCalendar(cfg.holidays)
    plan = plan_cycle(cfg, 2023, cal, {})
    views = [
        ObligationView(
            1, 2, "tua-chua", "half_year_report", "open", plan.due("half_year_report", "tua-chua")
        )
    ]
    now = datetime(2022, 12, 28, 9, tzinfo=TZ)
    planned = plan_reminders(cfg, 2023, 2, views, cal, leader_id="tua-chua", now=now)
    digests = [r for r in planned if r.kind == "leader_digest"]
    assert digests, "January 2023 digests are within the 14-day look-ahead"
    assert all(r.send_at.date() >= date(2023, 1, 1) for r in digests)


# -- the provincial board ----------------------------------------------------------------


def test_the_provincial_board_gets_nothing_by_default(whole_cycle: list[PlannedReminder]) -> None:
    assert [r for r in whole_cycle if r.recipient_role == "province"] == []


def test_a_configured_report_to_the_board_lists_members_lapses_only_before_the_conference(
    cycle_obs: list[ObligationView],
) -> None:
    from tracker.config.schema import ProvinceReportPolicy

    cfg = CFG.model_copy(
        update={
            "reminders": CFG.reminders.model_copy(
                update={"report_to_province": ProvinceReportPolicy(overdue_at_least=10)}
            )
        }
    )
    # Only Nậm Pồ's half-year report (due Thu 30/6/2022) is still owed; the leader's own
    # unit's lapse and the leader's tasks are never reported.
    owed = {("half_year_report", "nam-po"), ("half_year_report", LEADER), ("score_summary", LEADER)}
    obs = [
        o
        if (o.milestone_id, o.member_id) in owed
        else ObligationView(
            o.obligation_id, o.cycle_id, o.member_id, o.milestone_id, "completed", o.due
        )
        for o in cycle_obs
    ]
    days: list[date] = []
    for start in (date(2022, 7, 1), date(2022, 7, 15), date(2023, 2, 20), date(2023, 3, 6)):
        got = plan(obs, cfg, now=at8(start))
        days += [r.send_at.date() for r in got if r.kind == "province_report"]
        assert all(
            r.recipient_role == "province" and r.obligation_id is None
            for r in got
            if r.kind == "province_report"
        )
    days = sorted(set(days))
    assert days, "a report is planned once the lapse is 10 working days old"
    # Not before Nậm Pồ is 10 working days late (14/7/2022), every 5th working day, and
    # never on or after the conference day (10/3/2023).
    assert days[0] >= date(2022, 7, 14)
    assert all(CAL.is_working_day(d) for d in days)
    assert all(d < CONFERENCE for d in days)
    start_of_year = date(2021, 12, 31)
    assert all(CAL.working_days_between(start_of_year, d) % 5 == 0 for d in days)
    # With every member obligation done, nothing is reported.
    done = [
        o
        if o.member_id == LEADER
        else ObligationView(
            o.obligation_id, o.cycle_id, o.member_id, o.milestone_id, "completed", o.due
        )
        for o in obs
    ]
    assert [
        r for r in plan(done, cfg, now=at8(date(2022, 7, 15))) if r.kind == "province_report"
    ] == []


def test_a_next_leader_task_is_the_leaders_until_a_next_leader_is_named() -> None:
    from tracker.reminders.planner import is_leader_task

    pact = CFG.milestone("pact_signing").model_copy(update={"assignee": "next_leader"})
    # Nobody named: the task falls to the leader, whose office is written to.
    assert is_leader_task(pact, LEADER, LEADER)
    # A named next leader (Mường Nhé) owns it as that member's own work: its focal officer.
    assert not is_leader_task(pact, "muong-nhe", LEADER)
    assert is_leader_task(CFG.milestone("score_summary"), LEADER, LEADER)
    assert not is_leader_task(CFG.milestone("annual_report"), LEADER, LEADER)
    assert not is_leader_task(None, LEADER, LEADER)  # an ad-hoc request is a member's
