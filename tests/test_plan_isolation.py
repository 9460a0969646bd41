"""Planning isolates failure (issue 7): one item that cannot be planned is a problem, said in
words in both languages, and every other item of the cycle plans as before."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

from tests.test_planner import (
    CAL,
    CFG,
    CYCLE_ID,
    EVENTS,
    LEADER,
    START,
    WHOLE_CYCLE,
    _adhoc,
    find,
    obligations,
    of,
)
from tracker.calendar.engine import plan_cycle
from tracker.calendar.types import TZ, DueDate
from tracker.config.schema import ClusterConfig, DayOfYear, ProvinceReportPolicy
from tracker.reminders.planner import (
    ObligationView,
    PlannedReminder,
    PlanOutcome,
    plan_outcome,
    plan_reminders,
)

JULY = datetime(2022, 7, 15, 9, tzinfo=TZ)


def outcome(
    obs: list[ObligationView],
    cfg: ClusterConfig = CFG,
    now: datetime = START,
    year: int = 2022,
) -> PlanOutcome:
    return plan_outcome(
        cfg, year, CYCLE_ID, obs, CAL, leader_id=LEADER, now=now, horizon_days=WHOLE_CYCLE
    )


def without(planned: list[PlannedReminder], obligation_id: int) -> list[PlannedReminder]:
    return [r for r in planned if r.obligation_id != obligation_id]


def _cycle() -> list[ObligationView]:
    return obligations(plan_cycle(CFG, 2022, CAL, EVENTS))


# -- a request due 31/12/9999 (rows older databases still hold) -------------------------


def test_a_request_due_in_9999_is_one_problem_and_the_rest_of_the_cycle_plans() -> None:
    good = _cycle()
    bad = _adhoc(900, "nam-po", date(9999, 12, 31))
    got = outcome([*good, bad])
    assert got.reminders == outcome(good).reminders  # every other item as before
    assert of(got.reminders, bad) == []
    [problem] = got.problems
    assert (problem.obligation_id, problem.milestone_id, problem.member_id) == (
        900,
        "request-900",
        "nam-po",
    )
    assert "31/12/9999" in problem.error_vi and "9999-12-31" in problem.error_en
    # What to do, in both languages: waive it and request again with a date in the cycle.
    assert "tracker waive request-900 --member nam-po" in problem.error_vi
    assert "tracker waive request-900 --member nam-po" in problem.error_en
    assert "31/12/2023" in problem.error_vi and "2023-12-31" in problem.error_en


def test_plan_reminders_stays_a_list_without_the_bad_item() -> None:
    good = _cycle()
    bad = _adhoc(900, "nam-po", date(9999, 12, 31))
    planned = plan_reminders(
        CFG, 2022, CYCLE_ID, [*good, bad], CAL, leader_id=LEADER, now=START,
        horizon_days=WHOLE_CYCLE,
    )  # fmt: skip
    assert planned == outcome(good).reminders


def test_a_far_request_does_not_keep_the_cycle_alive_for_ever() -> None:
    # 2100 does not overflow a date, but a cycle live until 2100 would send the leader a
    # digest every working day for 78 years: it is a problem too, and the 2022 cycle
    # closes as it would without it.
    good = _cycle()
    bad = _adhoc(901, "muong-nhe", date(2100, 1, 1))
    later = datetime(2024, 6, 3, 9, tzinfo=TZ)
    got = outcome([*good, bad], now=later)
    assert got.reminders == []
    assert [p.obligation_id for p in got.problems] == [901]


def test_a_finished_request_with_a_bad_date_is_left_out_silently() -> None:
    # Nothing is owed on it, so nothing is to plan or fix; it only must not break the rest.
    good = _cycle()
    done = replace(_adhoc(902, "nam-po", date(9999, 12, 31)), state="completed")
    got = outcome([*good, done])
    assert got.reminders == outcome(good).reminders
    assert got.problems == []


# -- a config `set_date_from = "29/2/Y"` in a non-leap year ----------------------------


def _leap_day_conference() -> ClusterConfig:
    ms = [
        m.model_copy(update={"set_date_from": DayOfYear(day=29, month=2, year_offset=0)})
        if m.id == "summary_conference"
        else m
        for m in CFG.milestones
    ]
    return CFG.model_copy(update={"milestones": ms})


def test_set_date_from_29_february_in_2022_is_one_problem_naming_the_config_key() -> None:
    cfg = _leap_day_conference()
    events = {k: v for k, v in EVENTS.items() if k[0] != "summary_conference"}
    obs = obligations(plan_cycle(cfg, 2022, CAL, events), cfg)
    got = outcome(obs, cfg)
    conference = find(obs, "summary_conference")
    assert of(got.reminders, conference) == []
    [problem] = got.problems
    assert problem.obligation_id == conference.obligation_id
    assert problem.milestone_id == "summary_conference"
    assert problem.member_id == LEADER
    assert "29/2/Y" in problem.error_vi and "29/2/Y" in problem.error_en
    assert "2022" in problem.error_vi and "2022" in problem.error_en
    assert "set_date_from" in problem.error_vi and "set_date_from" in problem.error_en
    # Everything else is planned as with a valid day.
    reference = outcome(obligations(plan_cycle(CFG, 2022, CAL, events)))
    assert got.reminders == without(reference.reminders, conference.obligation_id)


def test_the_same_file_in_a_leap_year_plans_29_february() -> None:
    cfg = _leap_day_conference()
    events = {k: v for k, v in EVENTS.items() if k[0] != "summary_conference"}
    obs = obligations(plan_cycle(cfg, 2024, CAL, events), cfg)
    got = outcome(obs, cfg, now=datetime(2024, 1, 2, 9, tzinfo=TZ), year=2024)
    assert got.problems == []
    conference = find(obs, "summary_conference")
    first = of(got.reminders, conference, "set_date")[0]
    assert first.send_at.date() == date(2024, 2, 29)


# -- cycle-level letters ----------------------------------------------------------------


def test_a_cycle_letter_that_cannot_be_planned_is_a_problem_without_an_obligation() -> None:
    # An older database's conference dated 1/1/0001: the board's report stops the day
    # before the conference, which does not exist. The report is a problem of the cycle
    # (obligation_id None); the conference's own notices are one more; the leader's
    # digest and every other item still plan.
    board = ProvinceReportPolicy(overdue_at_least=10)
    cfg = CFG.model_copy(
        update={"reminders": CFG.reminders.model_copy(update={"report_to_province": board})}
    )
    obs = _cycle()
    conference = find(obs, "summary_conference")
    assert conference.due is not None
    broken_due: DueDate = replace(conference.due, date=date(1, 1, 1), as_written=date(1, 1, 1))
    broken = [replace(o, due=broken_due) if o is conference else o for o in obs]
    got = outcome(broken, cfg, now=JULY)
    by_kind = {(p.obligation_id, p.milestone_id) for p in got.problems}
    assert by_kind == {(None, "province_report"), (conference.obligation_id, "summary_conference")}
    cycle_problem = next(p for p in got.problems if p.obligation_id is None)
    assert cycle_problem.member_id is None
    assert cycle_problem.error_vi and cycle_problem.error_en
    assert any(r.kind == "leader_digest" for r in got.reminders)
    assert not any(r.kind == "province_report" for r in got.reminders)
    half = find(broken, "half_year_report", "nam-po")
    assert of(got.reminders, half, "overdue")


def test_a_good_cycle_has_no_problems_and_the_same_plan_as_plan_reminders() -> None:
    obs = _cycle()
    got = outcome(obs)
    assert got.problems == []
    assert got.reminders == plan_reminders(
        CFG, 2022, CYCLE_ID, obs, CAL, leader_id=LEADER, now=START, horizon_days=WHOLE_CYCLE
    )
