"""The shipped 2022 cluster config, planned by the calendar engine: the dates of the
regulation's table (Điều 7, Điều 10.2), the working-day policies on 25/12/2022 (a Sunday),
events the leader dates, and the same file started for another year."""

from __future__ import annotations

import tomllib
from datetime import date
from typing import Any

import pytest

from tracker.calendar import (
    CyclePlan,
    SkippedDay,
    Window,
    WorkCalendar,
    event_window,
    plan_cycle,
    policy_alternatives,
    resolve_window,
)
from tracker.config import ClusterConfig, load_config, shipped_configs
from tracker.config.loader import parse_config
from tracker.config.schema import MonthRule, QuarterRule
from tracker.errors import BadInputError, ConfigError

CONFERENCE = ("summary_conference", None)


@pytest.fixture(scope="module")
def cfg() -> ClusterConfig:
    return load_config(shipped_configs()[0])


@pytest.fixture(scope="module")
def cal(cfg: ClusterConfig) -> WorkCalendar:
    return WorkCalendar(cfg.holidays)


def _raw() -> dict[str, Any]:
    return tomllib.loads(shipped_configs()[0].read_text(encoding="utf-8"))


def _with_milestones(*extra: dict[str, Any], **holidays: Any) -> ClusterConfig:
    data = _raw()
    data["milestones"].extend(extra)
    data["holidays"].update(holidays)
    return parse_config(data, "test")


def _ms(mid: str, rule: dict[str, Any], assignee: str = "leader") -> dict[str, Any]:
    return {
        "id": mid,
        "name": f"Mốc {mid}",
        "name_en": f"Milestone {mid}",
        "article": "Điều 7",
        "assignee": assignee,
        "rule": rule,
    }


# -- the regulation's table ------------------------------------------------------------


def test_shipped_config_is_2022(cfg: ClusterConfig) -> None:
    assert cfg.cycle.year == 2022


def test_fixed_deadlines(cfg: ClusterConfig, cal: WorkCalendar) -> None:
    plan = plan_cycle(cfg, 2022, cal, {})
    half = plan.due("half_year_report")
    assert half.date == half.as_written == date(2022, 6, 30)  # Điều 7.1
    assert half.window is None and half.scheduled is None and half.skipped == ()
    # As the regulation writes it (Điều 7.1: "chậm nhất ngày 30/6/2022").
    assert half.rule_vi == "chậm nhất ngày 30/6/2022"
    assert half.rule_en == "by 30 June 2022"
    for mid in ("annual_report", "self_score"):  # Điều 7.2, Điều 10.2
        d = plan.due(mid)
        assert d.date == date(2022, 12, 25)
        assert d.policy == "as_written"


def test_25_12_2022_under_each_policy(cfg: ClusterConfig, cal: WorkCalendar) -> None:
    assert date(2022, 12, 25).weekday() == 6
    assert policy_alternatives(date(2022, 12, 25), cal) == {
        "as_written": date(2022, 12, 25),
        "next_working_day": date(2022, 12, 26),
        "previous_working_day": date(2022, 12, 23),
    }


def test_default_policy_from_config_moves_the_sunday_deadline() -> None:
    # Civil Code 2015 Art. 148(5): a limit ending on a day off ends on the next working day.
    cfg = _with_milestones(default_policy="next_working_day")
    plan = plan_cycle(cfg, 2022, WorkCalendar(cfg.holidays), {})
    for mid in ("annual_report", "self_score"):
        d = plan.due(mid)
        assert d.policy == "next_working_day"
        assert d.as_written == date(2022, 12, 25)
        assert d.date == date(2022, 12, 26)
        assert d.skipped == (SkippedDay(date(2022, 12, 25), "Chủ nhật", "Sunday"),)
    # A working day is left alone.
    assert plan.due("half_year_report").date == date(2022, 6, 30)


def test_per_milestone_policy_via_model_copy(cfg: ClusterConfig, cal: WorkCalendar) -> None:
    milestones = [
        m.model_copy(update={"policy": "previous_working_day"}) if m.id == "annual_report" else m
        for m in cfg.milestones
    ]
    changed = cfg.model_copy(update={"milestones": milestones})
    plan = plan_cycle(changed, 2022, cal, {})
    annual = plan.due("annual_report")
    assert annual.policy == "previous_working_day"
    assert annual.as_written == date(2022, 12, 25)
    assert annual.date == date(2022, 12, 23)
    assert [s.day for s in annual.skipped] == [date(2022, 12, 24), date(2022, 12, 25)]
    assert [s.reason_vi for s in annual.skipped] == ["Thứ bảy", "Chủ nhật"]
    # The other milestone on the same day keeps the default.
    assert plan.due("self_score").date == date(2022, 12, 25)


def test_cross_inspection_window_and_one_visit(cfg: ClusterConfig, cal: WorkCalendar) -> None:
    visit = date(2022, 10, 12)
    plan = plan_cycle(cfg, 2022, cal, {("cross_inspection", "muong-cha"): visit})
    window = Window(date(2022, 10, 1), date(2022, 11, 30))  # Điều 7.4
    assert event_window(cfg, "cross_inspection", 2022) == window

    dated = plan.due("cross_inspection", "muong-cha")
    assert (dated.member_id, dated.date, dated.as_written) == ("muong-cha", visit, visit)
    assert dated.scheduled is True and dated.window == window

    other = plan.due("cross_inspection", "nam-po")
    assert other.member_id == "nam-po"
    assert other.scheduled is False
    assert other.date == date(2022, 11, 30)  # must happen by the window's end

    shared = plan.due("cross_inspection")
    assert shared.member_id is None and shared.window == window
    assert shared.scheduled is False and shared.date == date(2022, 11, 30)
    assert shared.rule_vi == (
        "ngày Trưởng cụm ấn định cho từng đơn vị, từ ngày 1/10/2022 đến ngày 30/11/2022"
    )


def test_every_visit_dated_makes_the_shared_entry_scheduled(
    cfg: ClusterConfig, cal: WorkCalendar
) -> None:
    events: dict[tuple[str, str | None], date] = {
        ("cross_inspection", m.id): date(2022, 10, 3 + 7 * i) for i, m in enumerate(cfg.members)
    }
    plan = plan_cycle(cfg, 2022, cal, events)
    assert plan.due("cross_inspection").scheduled is True
    assert plan.per_member("cross_inspection")
    assert not plan.per_member("summary_conference")


def test_inspection_plan_is_due_working_days_before_the_first_visit(
    cfg: ClusterConfig, cal: WorkCalendar
) -> None:
    # Điều 7.5: agreed and notified in writing before the inspection; the shipped config
    # chose 5 working days before the first visit. No visit dated: no date yet.
    assert plan_cycle(cfg, 2022, cal, {}).due("inspection_plan").date is None
    # One visit dated (Wed 12/10/2022): the plan is due before it, Wed 5/10.
    one = {("cross_inspection", "muong-cha"): date(2022, 10, 12)}
    assert plan_cycle(cfg, 2022, cal, one).due("inspection_plan").date == date(2022, 10, 5)
    # Every visit dated, the first on Mon 3/10/2022: 5 working days before is Mon 26/9.
    events: dict[tuple[str, str | None], date] = {
        ("cross_inspection", m.id): date(2022, 10, 3 + 7 * i) for i, m in enumerate(cfg.members)
    }
    d = plan_cycle(cfg, 2022, cal, events).due("inspection_plan")
    assert d.date == date(2022, 9, 26)
    assert d.depends_on == "cross_inspection"
    # The leader owes it once: no per-member entries (the leader's own visit must not date it).
    assert not plan_cycle(cfg, 2022, cal, events).per_member("inspection_plan")


def test_score_matching_is_january_next_year(cfg: ClusterConfig, cal: WorkCalendar) -> None:
    d = plan_cycle(cfg, 2022, cal, {}).due("score_matching")  # Điều 7.6
    assert d.window == Window(date(2023, 1, 1), date(2023, 1, 31))
    assert d.date == date(2023, 1, 31)
    assert d.scheduled is None
    assert (d.rule_vi, d.rule_en) == ("trong tháng 01 năm 2023", "in January 2023")


def test_unscheduled_conference_leaves_its_dependants_undated(
    cfg: ClusterConfig, cal: WorkCalendar
) -> None:
    plan = plan_cycle(cfg, 2022, cal, {})
    conf = plan.due("summary_conference")  # Điều 7.7
    assert conf.window == Window(date(2023, 1, 1), date(2023, 3, 31))
    assert conf.scheduled is False
    assert conf.date == date(2023, 3, 31)
    assert conf.rule_vi == "ngày Trưởng cụm ấn định, trong Quý I năm 2023"
    for mid in ("draft_report", "score_summary", "leader_election"):
        d = plan.due(mid)
        assert d.date is None and d.as_written is None and d.unscheduled, mid
        assert d.depends_on == "summary_conference"
    # The preparatory meeting is an event the leader dates itself (Điều 7.9).
    assert plan.due("preparatory_meeting").scheduled is False


def test_conference_on_10_3_2023_dates_its_dependants(
    cfg: ClusterConfig, cal: WorkCalendar
) -> None:
    plan = plan_cycle(cfg, 2022, cal, {CONFERENCE: date(2023, 3, 10)})
    conf = plan.due("summary_conference")
    assert conf.scheduled is True and conf.date == date(2023, 3, 10)
    # 5/3/2023 is a Sunday: "ít nhất 5 ngày" takes the previous working day, Friday 3/3.
    assert plan.due("draft_report").as_written == date(2023, 3, 5)
    assert plan.due("draft_report").date == date(2023, 3, 3)  # note under Điều 7.9
    assert plan.due("score_summary").date == date(2023, 2, 28)  # Điều 10.2
    assert plan.due("leader_election").date == date(2023, 3, 10)
    assert plan.due("draft_report").rule_vi == "trước ngày Hội nghị tổng kết ít nhất 5 ngày"
    assert plan.due("draft_report").rule_en == "at least 5 days before the Summary conference"
    assert plan.due("score_summary").rule_vi == "trước ngày Hội nghị tổng kết ít nhất 10 ngày"
    assert plan.due("leader_election").rule_vi == "cùng ngày Hội nghị tổng kết"
    assert plan.due("leader_election").rule_en == "on the day of the Summary conference"


# Conference → (score summary, draft report): "ít nhất 10 ngày" (Điều 10.2) and "ít nhất 5
# ngày" (note under Điều 7.9) before it; a day off moves them to the previous working day.
BEFORE_RULE_TABLE = [
    # 19/02/2023 is a Sunday: the draft report goes back to Friday 17/02.
    (date(2023, 2, 24), date(2023, 2, 14), date(2023, 2, 17)),
    # 05/03/2023 is a Sunday: back to Friday 03/03.
    (date(2023, 3, 10), date(2023, 2, 28), date(2023, 3, 3)),
    # 24/01/2023 is the third day of Tết (20–26/01 off): back to Thursday 19/01.
    # (schedule accepts this conference only with --force: before the end of January.)
    (date(2023, 2, 3), date(2023, 1, 19), date(2023, 1, 27)),
]


@pytest.mark.parametrize(("conference", "score_summary", "draft"), BEFORE_RULE_TABLE)
@pytest.mark.parametrize("default_policy", ["as_written", "next_working_day"])
def test_at_least_n_days_before_never_lands_later(
    conference: date, score_summary: date, draft: date, default_policy: str
) -> None:
    # Whatever the [holidays] default, a before-rule without its own policy moves earlier.
    cfg = _with_milestones(default_policy=default_policy)
    plan = plan_cycle(cfg, 2022, WorkCalendar(cfg.holidays), {CONFERENCE: conference})
    for mid, want, days in (("score_summary", score_summary, 10), ("draft_report", draft, 5)):
        d = plan.due(mid)
        assert d.date == want, mid
        assert d.policy == "previous_working_day"
        assert d.as_written is not None and d.date <= d.as_written
        assert (conference - d.date).days >= days
        assert all(s.day > d.date for s in d.skipped)


def test_what_a_before_rule_skipped_is_named() -> None:
    cfg = _with_milestones()
    plan = plan_cycle(cfg, 2022, WorkCalendar(cfg.holidays), {CONFERENCE: date(2023, 2, 3)})
    score = plan.due("score_summary")
    assert score.as_written == date(2023, 1, 24)
    assert [(s.day.day, s.reason_vi) for s in score.skipped] == [
        (20, "29 Tết"),
        (21, "Giao thừa Tết Nguyên Đán"),
        (22, "Tết Nguyên Đán"),
        (23, "Mùng hai Tết Nguyên Đán"),
        (24, "Mùng ba Tết Nguyên Đán"),
    ]
    draft = plan_cycle(cfg, 2022, WorkCalendar(cfg.holidays), {CONFERENCE: date(2023, 2, 24)})
    assert [(s.day, s.reason_vi, s.reason_en) for s in draft.due("draft_report").skipped] == [
        (date(2023, 2, 18), "Thứ bảy", "Saturday"),
        (date(2023, 2, 19), "Chủ nhật", "Sunday"),
    ]


def test_a_before_rule_may_keep_the_date_as_written() -> None:
    cfg = _with_milestones()
    milestones = [
        m.model_copy(update={"policy": "as_written"}) if m.id == "draft_report" else m
        for m in cfg.milestones
    ]
    cfg = cfg.model_copy(update={"milestones": milestones})
    plan = plan_cycle(cfg, 2022, WorkCalendar(cfg.holidays), {CONFERENCE: date(2023, 2, 24)})
    assert plan.due("draft_report").date == date(2023, 2, 19)
    assert plan.due("draft_report").policy == "as_written"
    assert plan.due("score_summary").date == date(2023, 2, 14)


def test_pact_signing_is_an_event_the_years_leader_dates(
    cfg: ClusterConfig, cal: WorkCalendar
) -> None:
    # Điều 6: organised by the leader of the year it launches (elected the year before),
    # on a day it sets in Quarter I of its own cycle; no invented deadline.
    d = plan_cycle(cfg, 2022, cal, {}).due("pact_signing")
    assert d.window == Window(date(2022, 1, 1), date(2022, 3, 31))
    assert d.scheduled is False
    assert cfg.milestone("pact_signing").is_event


def test_event_date_outside_its_window_is_reported_as_given(
    cfg: ClusterConfig, cal: WorkCalendar
) -> None:
    # Refusing it is the service layer's job (with event_window); the engine never hides it.
    plan = plan_cycle(cfg, 2022, cal, {CONFERENCE: date(2023, 4, 15)})
    conf = plan.due("summary_conference")
    assert conf.date == date(2023, 4, 15)
    assert conf.date not in event_window(cfg, "summary_conference", 2022)


def test_event_date_is_not_moved_by_a_policy() -> None:
    cfg = _with_milestones(default_policy="next_working_day")
    # Saturday 11/3/2023: the leader chose it, the conference happens that day.
    plan = plan_cycle(cfg, 2022, WorkCalendar(cfg.holidays), {CONFERENCE: date(2023, 3, 11)})
    assert plan.due("summary_conference").date == date(2023, 3, 11)
    # 5 days before is Monday 6/3; 10 days before is Wednesday 1/3; unmoved working days.
    assert plan.due("draft_report").date == date(2023, 3, 6)
    assert plan.due("score_summary").date == date(2023, 3, 1)


# -- another cycle year from the same file ---------------------------------------------


def test_same_file_for_2026(cfg: ClusterConfig, cal: WorkCalendar) -> None:
    plan = plan_cycle(cfg, 2026, cal, {CONFERENCE: date(2027, 3, 12)})
    assert plan.year == 2026
    assert plan.due("half_year_report").date == date(2026, 6, 30)
    assert plan.due("annual_report").date == date(2026, 12, 25)
    assert plan.due("inspection_plan").date is None  # no visit dated yet
    assert plan.due("cross_inspection").window == Window(date(2026, 10, 1), date(2026, 11, 30))
    assert plan.due("score_matching").window == Window(date(2027, 1, 1), date(2027, 1, 31))
    assert plan.due("summary_conference").window == Window(date(2027, 1, 1), date(2027, 3, 31))
    # 7/3/2027 is a Sunday: back to Friday 5/3 ("ít nhất 5 ngày").
    assert plan.due("draft_report").date == date(2027, 3, 5)
    assert plan.due("score_summary").date == date(2027, 3, 2)


# -- Tết in working-day counts ---------------------------------------------------------


def test_relative_working_days_skip_tet_2023() -> None:
    cfg = _with_milestones(
        _ms("before_tet", {"kind": "fixed", "date": "19/1/Y+1"}),
        _ms(
            "after_tet_working",
            {
                "kind": "relative",
                "to": "before_tet",
                "days": 3,
                "direction": "after",
                "count": "working",
            },
        ),
        _ms(
            "after_tet_calendar",
            {"kind": "relative", "to": "before_tet", "days": 3, "direction": "after"},
        ),
        _ms(
            "scores_before_conference",
            {
                "kind": "relative",
                "to": "summary_conference",
                "days": 5,
                "direction": "before",
                "count": "working",
            },
        ),
    )
    cal = WorkCalendar(cfg.holidays)
    for d in (date(2023, 1, 20), date(2023, 1, 23), date(2023, 1, 26)):
        assert not cal.is_working_day(d)
    plan = plan_cycle(cfg, 2022, cal, {CONFERENCE: date(2023, 1, 31)})
    # Thu 19/1 + 3 working days: Fri 27/1, Mon 30/1, Tue 31/1 (20–26/1 is Tết).
    working = plan.due("after_tet_working")
    assert working.date == date(2023, 1, 31)
    assert working.rule_vi == "sau ngày Mốc before_tet 3 ngày làm việc"
    assert working.rule_en == "3 working days after the Milestone before_tet"
    assert plan.due("scores_before_conference").rule_vi == (
        "trước ngày Hội nghị tổng kết ít nhất 5 ngày làm việc"
    )
    assert plan.due("after_tet_calendar").date == date(2023, 1, 22)
    # Conference Tue 31/1: 5 working days before = 30, 27, 19, 18, 17 → Tue 17/1.
    assert plan.due("scores_before_conference").date == date(2023, 1, 17)


# -- chains and per-member dependants --------------------------------------------------


def _chain_config() -> ClusterConfig:
    return _with_milestones(
        _ms(
            "draft_reminder",
            {"kind": "relative", "to": "draft_report", "days": 2, "direction": "before"},
        ),
        _ms(
            "visit_minutes",
            {"kind": "relative", "to": "cross_inspection", "days": 3, "direction": "after"},
            assignee="members",
        ),
        _ms(
            "visit_prep",
            {"kind": "relative", "to": "cross_inspection", "days": 7, "direction": "before"},
        ),
        _ms(
            "minutes_filed",
            {"kind": "relative", "to": "visit_minutes", "days": 1, "direction": "after"},
        ),
        _ms(
            "after_inspections",
            {
                "kind": "relative",
                "to": "cross_inspection",
                "anchor": "end",
                "days": 2,
                "direction": "after",
            },
        ),
    )


def test_chain_from_an_unscheduled_event_stays_unscheduled() -> None:
    cfg = _chain_config()
    cal = WorkCalendar(cfg.holidays)
    assert plan_cycle(cfg, 2022, cal, {}).due("draft_reminder").date is None
    dated = plan_cycle(cfg, 2022, cal, {CONFERENCE: date(2023, 3, 10)})
    # The draft report moved back from Sunday 5/3 to Friday 3/3; two days before is 1/3.
    assert dated.due("draft_reminder").date == date(2023, 3, 1)
    assert dated.due("draft_reminder").depends_on == "draft_report"


def test_relative_to_per_member_visits() -> None:
    cfg = _chain_config()
    cal = WorkCalendar(cfg.holidays)
    plan = plan_cycle(cfg, 2022, cal, {("cross_inspection", "muong-cha"): date(2022, 10, 12)})
    assert plan.due("visit_minutes", "muong-cha").date == date(2022, 10, 15)
    assert plan.due("visit_minutes", "muong-cha").member_id == "muong-cha"
    assert plan.due("visit_minutes", "nam-po").date is None
    # The leader owes minutes_filed once: it counts from the shared entry, which (after
    # the visits) needs every visit dated.
    assert not plan.per_member("minutes_filed")
    assert plan.due("minutes_filed", "muong-cha").date is None
    assert plan.due("visit_minutes").date is None
    # Before the visits, one dated visit is enough: it is the first one known.
    assert plan.due("visit_prep").date == date(2022, 10, 5)
    # Counting from the window's end needs no visit date.
    assert plan.due("after_inspections").date == date(2022, 12, 2)

    visits: dict[tuple[str, str | None], date] = {
        ("cross_inspection", m.id): date(2022, 10, 10 + 5 * i) for i, m in enumerate(cfg.members)
    }
    plan = plan_cycle(cfg, 2022, cal, visits)
    # One shared entry must hold for every member: after → the latest visit, before → the
    # earliest one.
    assert plan.due("visit_minutes").date == date(2022, 11, 2)
    assert plan.due("minutes_filed").date == date(2022, 11, 3)
    assert plan.due("visit_prep").date == date(2022, 10, 3)


def test_all_is_in_config_order_with_members_after_the_shared_entry(
    cfg: ClusterConfig, cal: WorkCalendar
) -> None:
    plan = plan_cycle(cfg, 2022, cal, {})
    entries = plan.all()
    ids = [e.milestone_id for e in entries]
    order = [m.id for m in cfg.milestones]
    assert sorted(set(ids), key=ids.index) == order
    cross = [e.member_id for e in entries if e.milestone_id == "cross_inspection"]
    assert cross == [None, *(m.id for m in cfg.members)]
    assert len(entries) == len(order) + len(cfg.members)


def test_due_refuses_unknown_ids(cfg: ClusterConfig, cal: WorkCalendar) -> None:
    plan: CyclePlan = plan_cycle(cfg, 2022, cal, {})
    with pytest.raises(KeyError):
        plan.due("no_such_milestone")
    with pytest.raises(KeyError):
        plan.due("cross_inspection", "no-such-member")
    # A member of a milestone shared by everybody gets the shared entry.
    assert plan.due("annual_report", "nam-po") is plan.due("annual_report")


# -- windows and bad rules -------------------------------------------------------------


def test_resolve_window_months_and_quarters() -> None:
    feb = MonthRule(kind="month", month="2/Y")
    assert resolve_window(feb, 2024) == Window(date(2024, 2, 1), date(2024, 2, 29))
    assert resolve_window(feb, 2023) == Window(date(2023, 2, 1), date(2023, 2, 28))
    q4 = QuarterRule(kind="quarter", quarter="Q4/Y")
    assert resolve_window(q4, 2022) == Window(date(2022, 10, 1), date(2022, 12, 31))
    q2 = QuarterRule(kind="quarter", quarter="Q2/Y+1")
    assert resolve_window(q2, 2022) == Window(date(2023, 4, 1), date(2023, 6, 30))


def test_event_window_of_a_non_event_is_refused(cfg: ClusterConfig) -> None:
    with pytest.raises(ValueError, match="not an event"):
        event_window(cfg, "annual_report", 2022)
    with pytest.raises(KeyError):
        event_window(cfg, "nope", 2022)


def test_29_february_in_a_common_year_is_a_clear_error() -> None:
    # The loader refuses 29/2/Y in a common `[cycle] year` (test_config); a 2024 file
    # started for 2023 is refused by the engine.
    data = _raw()
    data["milestones"].append(_ms("leap", {"kind": "fixed", "date": "29/2/Y"}))
    data["cycle"]["year"] = 2024
    cfg = parse_config(data, "test")
    cal = WorkCalendar(cfg.holidays)
    assert plan_cycle(cfg, 2024, cal, {}).due("leap").date == date(2024, 2, 29)
    with pytest.raises(BadInputError) as err:
        plan_cycle(cfg, 2023, cal, {})
    assert "29/2/Y" in err.value.vi and "2023" in err.value.en


def test_backwards_window_is_a_clear_error() -> None:
    # The config refuses it when loaded, naming the rule (before any cycle is planned).
    with pytest.raises(ConfigError, match=r"ends .* before it starts"):
        _with_milestones(_ms("backwards", {"kind": "window", "start": "30/11/Y", "end": "1/10/Y"}))
