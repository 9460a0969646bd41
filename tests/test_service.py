"""Issue 2 §4 through the service layer: cycles and their obligations, reloads, the audit
trail, scheduling, ad-hoc requests, several clusters and cycles in one database.

One contract suite, run on a SQLite file and on PostgreSQL (the `engine` fixture).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from tracker.calendar.types import TZ
from tracker.config import load_config
from tracker.config.schema import ClusterConfig
from tracker.db.engine import session_scope
from tracker.db.models import AuditEntry, CycleRow, MemberRow, Obligation
from tracker.errors import BadInputError, NotFoundError, PermissionDeniedError, TrackerError
from tracker.paths import config_dir
from tracker.service import actions, cycles, views
from tracker.service.actions import Who
from tracker.service.cycles import CycleContext, InitReport
from tracker.workflow import Action, Actor

CFG = load_config(config_dir() / "cum-vung-cao-2022.toml")
CLUSTER = CFG.cluster.id
LEADER_ID = CFG.cycle.leader  # tua-chua
MEMBERS = [m.id for m in CFG.members]
LEADER = Who(Actor("truong-cum", "leader"), "thu-ky")
MUONG_CHA = Who(Actor("muong-cha", "member:muong-cha"), "nv-muongcha")
VIEWER = Who(Actor("ban-tdkt", "viewer"), "ban")


def at(y: int, m: int, d: int, hour: int = 9) -> datetime:
    return datetime(y, m, d, hour, tzinfo=TZ)


LOAD = at(2022, 3, 1)
MAY_2 = at(2022, 5, 2)


def init(
    engine: Engine,
    cfg: ClusterConfig = CFG,
    *,
    year: int = 2022,
    now: datetime = LOAD,
    force: bool = False,
) -> InitReport:
    with session_scope(engine) as s:
        return cycles.init_cycle(
            s,
            cfg,
            config_path="config/test.toml",
            year=year,
            now=now,
            operator="truong-cum",
            os_user="thu-ky",
            force=force,
        )


def context(
    s: Session, *, year: int | None = 2022, cluster: str | None = None, today: date | None = None
) -> CycleContext:
    row = cycles.find_cycle(s, cluster_id=cluster, year=year, today=today or date(2022, 3, 1))
    return cycles.load_context(s, row)


def run(engine: Engine, fn: Callable[[Session, CycleContext], Any], **kw: Any) -> Any:
    """Do one thing in its own transaction (the CLI's unit of work)."""
    with session_scope(engine) as s:
        return fn(s, context(s, **kw))


def act(
    engine: Engine,
    member: str,
    milestone: str,
    action: Action,
    *,
    who: Who = LEADER,
    now: datetime = LOAD,
    **kw: Any,
) -> Obligation:
    def do(s: Session, ctx: CycleContext) -> Obligation:
        return actions.act(
            s,
            ctx,
            who,
            member_id=member,
            milestone_id=milestone,
            action=action,
            now=now,
            **kw,
        )

    result: Obligation = run(engine, do)
    return result


def obligations(engine: Engine, year: int = 2022) -> dict[tuple[str, str], Obligation]:
    with session_scope(engine) as s:
        ctx = context(s, year=year)
        return {(o.member_id, o.milestone_id): o for o in ctx.obligations}


def audit_rows(engine: Engine) -> list[AuditEntry]:
    with session_scope(engine) as s:
        return list(s.exec(select(AuditEntry).order_by(col(AuditEntry.id))))


def due_dates(engine: Engine, today: date, year: int = 2022) -> dict[tuple[str, str], date | None]:
    with session_scope(engine) as s:
        rows = views.status_rows(context(s, year=year), today)
    return {(r.member, r.milestone): r.due for r in rows}


def variant(cfg: ClusterConfig, change: Callable[[dict[str, Any]], None]) -> ClusterConfig:
    """A changed copy of a config, validated like a file would be."""
    data = cfg.model_dump()
    change(data)
    return ClusterConfig.model_validate(data)


def expected_obligations(cfg: ClusterConfig) -> set[tuple[str, str]]:
    """Counted from the config: every member × member milestone, the leader's milestones."""
    out: set[tuple[str, str]] = set()
    for ms in cfg.milestones:
        if ms.assignee == "members":
            out |= {(m.id, ms.id) for m in cfg.members}
        elif ms.assignee == "next_leader" and cfg.cycle.next_leader:
            out.add((cfg.cycle.next_leader, ms.id))
        else:
            out.add((cfg.cycle.leader, ms.id))
    return out


# ---------------------------------------------------------------- init


def test_init_creates_one_obligation_per_member_milestone_and_leader_milestone(
    engine: Engine,
) -> None:
    report = init(engine)
    wanted = expected_obligations(CFG)
    member_ms = [m for m in CFG.milestones if m.assignee == "members"]
    leader_ms = [m for m in CFG.milestones if m.assignee != "members"]
    assert len(wanted) == len(MEMBERS) * len(member_ms) + len(leader_ms)
    assert (len(MEMBERS), len(member_ms), len(leader_ms)) == (5, 5, 9)  # the shipped file
    assert report.created and len(report.added) == len(wanted) == 34
    obs = obligations(engine)
    assert set(obs) == wanted
    assert all(o.state == "open" and o.active for o in obs.values())
    # The pact signing (Điều 6) is the year's leader's event.
    assert obs[(LEADER_ID, "pact_signing")].assignee == "leader"
    with session_scope(engine) as s:
        row = s.exec(select(CycleRow)).one()
        assert (row.cluster_id, row.year, row.leader_id) == (CLUSTER, 2022, LEADER_ID)
        assert row.config_version == CFG.cycle.version
        assert cycles.config_from_snapshot(row.config_json) == CFG
        members = s.exec(select(MemberRow)).all()
        assert sorted(m.member_id for m in members) == sorted(MEMBERS)
    [entry] = audit_rows(engine)
    assert (entry.action, entry.operator, entry.os_user, entry.obligation_id) == (
        "init",
        "truong-cum",
        "thu-ky",
        None,
    )
    assert entry.at == LOAD


def test_init_again_is_a_refresh_that_changes_nothing(engine: Engine) -> None:
    init(engine)
    before = {k: o.id for k, o in obligations(engine).items()}
    report = init(engine, now=at(2022, 4, 1))
    assert not report.created and report.added == () and report.retired == ()
    assert {k: o.id for k, o in obligations(engine).items()} == before
    assert [a.action for a in audit_rows(engine)] == ["init", "reload"]


def test_a_named_next_leader_owns_the_pact_signing(engine: Engine) -> None:
    def next_leader(d: dict[str, Any]) -> None:
        d["cycle"].update(next_leader="muong-nhe")
        pact = next(m for m in d["milestones"] if m["id"] == "pact_signing")
        pact["assignee"] = "next_leader"

    init(engine, variant(CFG, next_leader))
    obs = obligations(engine)
    assert ("muong-nhe", "pact_signing") in obs
    assert (LEADER_ID, "pact_signing") not in obs


def test_a_new_leader_in_the_config_takes_over_the_leaders_obligations(engine: Engine) -> None:
    init(engine)
    schedule(engine, "summary_conference", date(2023, 3, 10), now=at(2022, 12, 1))
    act(engine, LEADER_ID, "inspection_plan", Action.COMPLETE, now=at(2022, 9, 20))
    init(engine, variant(CFG, lambda d: d["cycle"].update(leader="muong-cha")), now=at(2022, 12, 2))
    obs = obligations(engine)
    conference = obs[("muong-cha", "summary_conference")]
    assert conference.active and conference.event_date == date(2023, 3, 10)
    assert obs[("muong-cha", "inspection_plan")].state == "completed"
    assert (LEADER_ID, "summary_conference") not in obs  # moved, not copied
    # Its history moved with it; Tủa Chùa keeps its own member obligations.
    assert obs[(LEADER_ID, "annual_report")].active
    with session_scope(engine) as s:
        hist = views.history(s, context(s), member="muong-cha")
    assert any(h.milestone == "summary_conference" and h.action == "schedule" for h in hist)


# ---------------------------------------------------------------- reloading a changed config

NEW_MEMBER = {
    "id": "muong-lay",
    "name": "Thị xã Mường Lay",
    "kind": "district",
    "contacts": [{"role": "focal", "name": "Lò Văn Tư", "email": "noivu.muonglay@example.vn"}],
}
NEW_MILESTONE = {
    "id": "quarter_3_report",
    "name": "Báo cáo quý III",
    "name_en": "Third-quarter report",
    "article": "Điều 7.3",
    "assignee": "members",
    "rule": {"kind": "fixed", "date": "30/9/Y"},
}


def _grow(d: dict[str, Any]) -> None:
    d["members"].append(NEW_MEMBER)
    d["milestones"].append(NEW_MILESTONE)
    # The half-year report moved from 30/6 to 15/7.
    d["milestones"][0]["rule"]["date"] = {"day": 15, "month": 7, "year_offset": 0}
    d["cycle"]["version"] = "2022.2"


def test_reload_with_a_new_member_a_moved_date_and_a_new_milestone_keeps_everything(
    engine: Engine,
) -> None:
    init(engine)
    act(engine, "muong-cha", "half_year_report", Action.SUBMIT, who=MUONG_CHA, ref="Số: 12/BC")
    act(engine, "muong-cha", "half_year_report", Action.COMPLETE, now=at(2022, 7, 2))
    act(engine, "nam-po", "annual_report", Action.WAIVE, note="Thiên tai, miễn theo QĐ 5")
    run(
        engine,
        lambda s, c: actions.schedule(
            s, c, LEADER, milestone_id="summary_conference", day=date(2023, 3, 10), now=LOAD
        ),
    )
    before_obs = obligations(engine)
    before_audit = [(a.id, a.action, a.note) for a in audit_rows(engine)]

    report = init(engine, variant(CFG, _grow), now=at(2022, 8, 1))

    assert not report.created and report.retired == ()
    new_keys = {("muong-lay", m.id) for m in CFG.milestones if m.assignee == "members"}
    new_keys |= {(m, "quarter_3_report") for m in [*MEMBERS, "muong-lay"]}
    assert set(report.added) == {f"{m}/{ms}" for m, ms in new_keys}
    after = obligations(engine)
    assert set(after) == set(before_obs) | new_keys
    for key, old in before_obs.items():
        new = after[key]
        assert (new.id, new.state, new.submitted_on, new.completed_on, new.event_date) == (
            old.id,
            old.state,
            old.submitted_on,
            old.completed_on,
            old.event_date,
        ), key
    assert after[("muong-cha", "half_year_report")].state == "completed"
    assert after[("nam-po", "annual_report")].state == "waived"
    assert after[(LEADER_ID, "summary_conference")].event_date == date(2023, 3, 10)
    # History is append-only: every old row is still there, the reload added one.
    audit = [(a.id, a.action, a.note) for a in audit_rows(engine)]
    assert audit[: len(before_audit)] == before_audit
    assert audit[-1][1] == "reload" and "2022.2" in audit[-1][2]
    # The plan follows the new config.
    dues = due_dates(engine, date(2022, 8, 1))
    assert dues[("muong-cha", "half_year_report")] == date(2022, 7, 15)
    assert dues[("muong-lay", "quarter_3_report")] == date(2022, 9, 30)
    assert dues[(LEADER_ID, "draft_report")] == date(2023, 3, 3)  # 5/3 is a Sunday
    # muong-cha finished on 2 July: on time against the moved date.
    with session_scope(engine) as s:
        row = next(
            r
            for r in views.status_rows(context(s), date(2022, 8, 1), member="muong-cha")
            if r.milestone == "half_year_report"
        )
    assert not row.standing.late


def _drop(member: str) -> Callable[[dict[str, Any]], None]:
    def change(d: dict[str, Any]) -> None:
        d["members"] = [m for m in d["members"] if m["id"] != member]
        d["operators"] = [o for o in d["operators"] if o["role"] != f"member:{member}"]

    return change


def test_removing_a_member_with_history_needs_force_and_keeps_its_audit(engine: Engine) -> None:
    init(engine)
    act(engine, "nam-po", "half_year_report", Action.SUBMIT, ref="Số: 7/BC-UBND")
    snapshot_before = _db_state(engine)

    smaller = variant(CFG, _drop("nam-po"))
    with pytest.raises(BadInputError) as info:
        init(engine, smaller, now=at(2022, 9, 1))
    assert "nam-po" in info.value.vi and "--force" in info.value.vi and "--force" in info.value.en
    # The refused reload wrote nothing: the whole transaction was rolled back.
    assert _db_state(engine) == snapshot_before

    report = init(engine, smaller, now=at(2022, 9, 1), force=True)
    assert report.removed_members == ("nam-po",)
    assert {r.split("/")[0] for r in report.retired} == {"nam-po"}
    obs = obligations(engine)
    assert all(not o.active for (m, _), o in obs.items() if m == "nam-po")
    assert all(o.active for (m, _), o in obs.items() if m != "nam-po")
    with session_scope(engine) as s:
        ctx = context(s)
        assert all(r.member != "nam-po" for r in views.status_rows(ctx, date(2022, 9, 1)))
        kept = views.history(s, ctx, member="nam-po")
        row = s.exec(select(MemberRow).where(MemberRow.member_id == "nam-po")).one()
        assert row.active is False
    assert [(h.action, h.ref) for h in kept] == [("submit", "Số: 7/BC-UBND")]


def _db_state(engine: Engine) -> tuple[object, ...]:
    with session_scope(engine) as s:
        cycle = s.exec(select(CycleRow)).one()
        return (
            cycle.config_hash,
            cycle.loaded_at,
            s.exec(select(func.count()).select_from(AuditEntry)).one(),
            sorted((o.member_id, o.milestone_id, o.active) for o in s.exec(select(Obligation))),
            sorted((m.member_id, m.active) for m in s.exec(select(MemberRow))),
        )


def test_removing_a_member_without_history_needs_no_force(engine: Engine) -> None:
    init(engine)
    report = init(engine, variant(CFG, _drop("muong-nhe")))
    assert report.removed_members == ("muong-nhe",)
    assert ("muong-nhe", "annual_report") not in {
        k for k, o in obligations(engine).items() if o.active
    }


def test_a_removed_member_that_comes_back_gets_its_obligations_back(engine: Engine) -> None:
    init(engine)
    act(engine, "nam-po", "half_year_report", Action.SUBMIT)
    init(engine, variant(CFG, _drop("nam-po")), force=True)
    init(engine)
    ob = obligations(engine)[("nam-po", "half_year_report")]
    assert ob.active and ob.state == "submitted"


# ---------------------------------------------------------------- transitions and the audit


def test_act_writes_one_audit_row_with_everything(engine: Engine) -> None:
    init(engine)
    when = at(2022, 7, 1, 10)
    ob = act(
        engine,
        "muong-cha",
        "half_year_report",
        Action.SUBMIT,
        who=MUONG_CHA,
        now=when,
        note="Gửi qua hệ thống văn bản điện tử",
        ref="Số: 123/BC-UBND",
        on=date(2022, 6, 29),
    )
    assert ob.state == "submitted" and ob.submitted_on == date(2022, 6, 29) and ob.version == 2
    entry = audit_rows(engine)[-1]
    assert entry.obligation_id == ob.id
    assert (entry.operator, entry.os_user, entry.action) == ("muong-cha", "nv-muongcha", "submit")
    assert (entry.from_state, entry.to_state) == ("open", "submitted")
    assert (entry.note, entry.ref, entry.on_date) == (
        "Gửi qua hệ thống văn bản điện tử",
        "Số: 123/BC-UBND",
        date(2022, 6, 29),
    )
    assert entry.at == when
    # Submitted before the due day: not late, not overdue.
    with session_scope(engine) as s:
        row = next(
            r
            for r in views.status_rows(context(s), date(2022, 7, 5), member="muong-cha")
            if r.milestone == "half_year_report"
        )
    assert not row.standing.late and not row.standing.overdue


def test_the_dates_each_action_sets_and_clears(engine: Engine) -> None:
    init(engine)
    key = ("muong-cha", "annual_report")
    act(engine, *key, Action.SUBMIT, who=MUONG_CHA, now=at(2022, 12, 20))
    ob = act(engine, *key, Action.RETURN, now=at(2022, 12, 21), note="Thiếu biểu mẫu 2")
    assert (ob.state, ob.submitted_on) == ("returned", None)
    ob = act(engine, *key, Action.SUBMIT, who=MUONG_CHA, now=at(2022, 12, 27))
    ob = act(engine, *key, Action.COMPLETE, now=at(2022, 12, 28))
    assert (ob.submitted_on, ob.completed_on) == (date(2022, 12, 27), date(2022, 12, 28))
    with session_scope(engine) as s:
        [row] = [
            r
            for r in views.status_rows(context(s), date(2023, 1, 5), member="muong-cha")
            if r.milestone == "annual_report"
        ]
    assert row.standing.late  # the revised report came after 25/12
    ob = act(engine, *key, Action.REOPEN, now=at(2023, 1, 5), note="Số liệu sai")
    assert (ob.state, ob.submitted_on, ob.completed_on) == ("open", None, None)
    trail = [(a.action, a.from_state, a.to_state) for a in audit_rows(engine)[1:]]
    assert trail == [
        ("submit", "open", "submitted"),
        ("return", "submitted", "returned"),
        ("submit", "returned", "submitted"),
        ("complete", "submitted", "completed"),
        ("reopen", "completed", "open"),
    ]


def test_a_refused_action_writes_nothing(engine: Engine) -> None:
    init(engine)
    act(engine, "muong-cha", "self_score", Action.WAIVE, note="Sáp nhập đơn vị")
    before = _db_state(engine)
    with pytest.raises(TrackerError, match="Không thể hoàn thành: nghĩa vụ đã được miễn"):
        act(engine, "muong-cha", "self_score", Action.COMPLETE)
    with pytest.raises(PermissionDeniedError):
        act(engine, "nam-po", "self_score", Action.SUBMIT, who=MUONG_CHA)
    with pytest.raises(PermissionDeniedError):
        act(engine, "muong-cha", "self_score", Action.REOPEN, who=VIEWER, note="x")
    with pytest.raises(BadInputError, match="tương lai"):
        act(engine, "nam-po", "self_score", Action.SUBMIT, on=date(2022, 3, 2))
    assert _db_state(engine) == before


def test_unknown_member_or_milestone_not_owed(engine: Engine) -> None:
    init(engine)
    with pytest.raises(NotFoundError, match="muong-xyz"):
        act(engine, "muong-xyz", "annual_report", Action.COMPLETE)
    with pytest.raises(NotFoundError) as info:
        act(engine, "muong-cha", "summary_conference", Action.COMPLETE)
    assert LEADER_ID in info.value.en  # says who owes it
    with pytest.raises(NotFoundError, match="no_such_milestone"):
        act(engine, "muong-cha", "no_such_milestone", Action.COMPLETE)


def test_a_stale_read_cannot_overwrite_a_newer_change(engine: Engine) -> None:
    init(engine)
    with session_scope(engine) as s:
        stale = context(s)  # read, then the transaction ends
    act(engine, "muong-cha", "annual_report", Action.SUBMIT, who=MUONG_CHA)
    before = _db_state(engine)
    with pytest.raises(TrackerError, match="người khác"), session_scope(engine) as s:
        actions.act(
            s,
            stale,
            LEADER,
            member_id="muong-cha",
            milestone_id="annual_report",
            action=Action.WAIVE,
            now=LOAD,
            note="x",
        )
    assert _db_state(engine) == before


# ---------------------------------------------------------------- schedule


def schedule(
    engine: Engine,
    milestone: str,
    day: date,
    *,
    now: datetime,
    member: str | None = None,
    who: Who = LEADER,
) -> list[tuple[str, str | None, date | None, date | None]]:
    return scheduled(engine, milestone, day, now=now, member=member, who=who).changed


def scheduled(
    engine: Engine,
    milestone: str,
    day: date,
    *,
    now: datetime,
    member: str | None = None,
    who: Who = LEADER,
    force: bool = False,
    note: str = "",
) -> actions.Scheduled:
    result: actions.Scheduled = run(
        engine,
        lambda s, c: actions.schedule(
            s,
            c,
            who,
            milestone_id=milestone,
            day=day,
            now=now,
            member_id=member,
            force=force,
            note=note,
        ),
    )
    return result


def test_scheduling_the_conference_dates_its_dependents(engine: Engine) -> None:
    init(engine)
    dec1 = at(2022, 12, 1)
    dues = due_dates(engine, dec1.date())
    assert dues[(LEADER_ID, "draft_report")] is None  # unscheduled until the conference is
    changed = schedule(engine, "summary_conference", date(2023, 3, 10), now=dec1)
    conf = date(2023, 3, 10)
    assert {(ms, old, new) for ms, _, old, new in changed} == {
        ("score_summary", None, conf - timedelta(days=10)),  # Điều 10.2
        # Note under Điều 7.9: 5/3 is a Sunday, "ít nhất 5 ngày" moves back to Friday 3/3.
        ("draft_report", None, conf - timedelta(days=7)),
        ("leader_election", None, conf),
    }
    dues = due_dates(engine, dec1.date())
    assert dues[(LEADER_ID, "summary_conference")] == conf
    assert dues[(LEADER_ID, "draft_report")] == date(2023, 3, 3)
    assert dues[(LEADER_ID, "score_summary")] == date(2023, 2, 28)
    entry = audit_rows(engine)[-1]
    assert (entry.action, entry.operator) == ("schedule", "truong-cum")
    assert "2023-03-10" in entry.note

    # Moving it recomputes the dependents again.
    changed = schedule(engine, "summary_conference", date(2023, 3, 24), now=dec1)
    assert ("draft_report", date(2023, 3, 3), date(2023, 3, 17)) in {  # 19/3 is a Sunday
        (ms, old, new) for ms, _, old, new in changed
    }
    assert due_dates(engine, dec1.date())[(LEADER_ID, "score_summary")] == date(2023, 3, 14)
    assert obligations(engine)[(LEADER_ID, "summary_conference")].event_date == date(2023, 3, 24)


@pytest.mark.parametrize("day", [date(2022, 12, 31), date(2023, 4, 1), date(2024, 2, 1)])
def test_the_conference_must_be_in_quarter_one(engine: Engine, day: date) -> None:
    init(engine)
    before = _db_state(engine)
    with pytest.raises(BadInputError) as info:
        schedule(engine, "summary_conference", day, now=at(2022, 12, 1))
    assert "01/01/2023" in info.value.vi and "31/03/2023" in info.value.vi
    assert "2023-01-01" in info.value.en and "2023-03-31" in info.value.en
    assert _db_state(engine) == before


def test_a_date_that_puts_a_pending_dependent_in_the_past_is_refused(engine: Engine) -> None:
    init(engine)
    mar1 = at(2023, 3, 1)
    before = _db_state(engine)
    # 8 March: the score summary (≥ 10 days before: Sunday 26/2, so Friday 24 February)
    # would be due already.
    with pytest.raises(BadInputError) as info:
        schedule(engine, "summary_conference", date(2023, 3, 8), now=mar1)
    assert "score_summary" in info.value.en and "2023-02-24" in info.value.en
    assert _db_state(engine) == before
    # Once the score summary is sent, the same date only needs the draft report (3 March).
    act(engine, LEADER_ID, "score_summary", Action.COMPLETE, now=mar1)
    schedule(engine, "summary_conference", date(2023, 3, 8), now=mar1)
    assert due_dates(engine, mar1.date())[(LEADER_ID, "draft_report")] == date(2023, 3, 3)
    # A dependent due today is not in the past.
    schedule(engine, "summary_conference", date(2023, 3, 6), now=mar1)
    assert due_dates(engine, mar1.date())[(LEADER_ID, "draft_report")] == date(2023, 3, 1)


def test_inspection_visits_are_dated_per_member(engine: Engine) -> None:
    init(engine)
    now = at(2022, 9, 15)
    schedule(engine, "cross_inspection", date(2022, 10, 12), now=now, member="muong-cha")
    dues = due_dates(engine, now.date())
    assert dues[("muong-cha", "cross_inspection")] == date(2022, 10, 12)
    assert dues[("nam-po", "cross_inspection")] == date(2022, 11, 30)  # window's end
    with pytest.raises(BadInputError, match="--member"):
        schedule(engine, "cross_inspection", date(2022, 10, 13), now=now)
    with pytest.raises(BadInputError, match="30/11/2022"):
        schedule(engine, "cross_inspection", date(2022, 12, 1), now=now, member="nam-po")
    with pytest.raises(BadInputError, match="--member"):
        schedule(engine, "summary_conference", date(2023, 3, 1), now=now, member="muong-cha")


# Issue 6 §2: dates the leader sets are checked. (event, member, day, now, reason in the message)
DAY_OFF_TABLE = [
    ("summary_conference", None, date(2023, 2, 19), "Chủ nhật"),
    ("summary_conference", None, date(2023, 3, 11), "Thứ bảy"),
    ("cross_inspection", "muong-cha", date(2022, 10, 15), "Thứ bảy"),
    ("cross_inspection", "nam-po", date(2022, 10, 16), "Chủ nhật"),
]


@pytest.mark.parametrize(("milestone", "member", "day", "reason"), DAY_OFF_TABLE)
def test_an_event_on_a_day_off_needs_force(
    engine: Engine, milestone: str, member: str | None, day: date, reason: str
) -> None:
    init(engine)
    now = at(2022, 9, 15)
    before = _db_state(engine)
    with pytest.raises(BadInputError) as info:
        schedule(engine, milestone, day, now=now, member=member)
    assert info.value.exit_code == 2
    assert info.value.vi == (
        f"Ngày {day:%d/%m/%Y} là {reason} (ngày nghỉ) — chọn một ngày làm việc, hoặc thêm --force."
    )
    assert f"{day.isoformat()} is a day off" in info.value.en
    assert _db_state(engine) == before
    # --force accepts it, says why, and the audit keeps the warning.
    result = scheduled(engine, milestone, day, now=now, member=member, force=True, note="Họp")
    assert result.warnings == [
        (f"Ngày {day:%d/%m/%Y} là {reason} (ngày nghỉ)", result.warnings[0][1])
    ]
    entry = audit_rows(engine)[-1]
    assert entry.action == "schedule"
    assert entry.note == (
        f"— → {day.isoformat()}. Họp [--force: Ngày {day:%d/%m/%Y} là {reason} (ngày nghỉ)]"
    )


def test_holidays_and_configured_days_off_are_days_off_too(engine: Engine) -> None:
    cfg = variant(CFG, lambda d: d["holidays"].update(extra_days_off=["2022-10-20"]))
    init(engine, cfg)
    now = at(2022, 9, 15)
    with pytest.raises(BadInputError) as info:
        schedule(engine, "cross_inspection", date(2022, 10, 20), now=now, member="nam-po")
    assert "20/10/2022 là Ngày nghỉ theo cấu hình (ngày nghỉ)" in info.value.vi
    # Tết: 24/01/2023 is its third day (and the score summary would fall in early January).
    with pytest.raises(BadInputError) as info:
        schedule(engine, "summary_conference", date(2023, 1, 24), now=now)
    assert "Ngày 24/01/2023 là Mùng ba Tết Nguyên Đán (ngày nghỉ)" in info.value.vi
    assert "score_summary" in info.value.en and "--force" in info.value.en


@pytest.mark.parametrize(
    ("milestone", "member", "day", "now"),
    [
        ("cross_inspection", "muong-cha", date(2022, 10, 12), at(2022, 10, 13)),
        ("summary_conference", None, date(2023, 3, 9), at(2023, 3, 10)),
    ],
)
def test_a_past_event_day_is_refused_even_with_force(
    engine: Engine, milestone: str, member: str | None, day: date, now: datetime
) -> None:
    init(engine)
    for force in (False, True):
        with pytest.raises(BadInputError) as info:
            scheduled(engine, milestone, day, now=now, member=member, force=force)
        assert f"Ngày {day:%d/%m/%Y} đã qua" in info.value.vi
        assert f"tracker complete {milestone} --on" in info.value.en
    if milestone == "cross_inspection":  # (a conference today would date its reports past)
        # Today is not past (the inspection plan, Điều 7.5, was notified before the visits).
        act(engine, LEADER_ID, "inspection_plan", Action.COMPLETE, now=now)
        scheduled(engine, milestone, now.date(), now=now, member=member)


# Conference → score summary; refused when that falls before the end of January (31/01/2023,
# score_matching, Điều 7.6) — `not_before = "score_matching"` on score_summary.
NOT_BEFORE_TABLE = [
    (date(2023, 2, 3), date(2023, 1, 19), True),  # 24/01 is Tết: back to 19/01
    (date(2023, 2, 9), date(2023, 1, 30), True),
    (date(2023, 2, 10), date(2023, 1, 31), False),  # the last day of the scoring month
    (date(2023, 2, 24), date(2023, 2, 14), False),
]


@pytest.mark.parametrize(("conference", "score_summary", "refused"), NOT_BEFORE_TABLE)
def test_the_score_summary_comes_after_the_scoring_month(
    engine: Engine, conference: date, score_summary: date, refused: bool
) -> None:
    init(engine)
    dec1 = at(2022, 12, 1)
    if refused:
        with pytest.raises(BadInputError) as info:
            schedule(engine, "summary_conference", conference, now=dec1)
        summary, matching = CFG.milestone("score_summary"), CFG.milestone("score_matching")
        assert info.value.vi == (
            f"với ngày {conference:%d/%m/%Y}, hạn '{summary.name}' (Điều 10.2) sẽ là"
            f" {score_summary:%d/%m/%Y}, trước khi '{matching.name}' (Điều 7.6) kết thúc ngày"
            " 31/01/2023 — chọn ngày khác, hoặc thêm --force."
        )
        assert "before 'score_matching' (Điều 7.6) ends on 2023-01-31" in info.value.en
        assert obligations(engine)[(LEADER_ID, "summary_conference")].event_date is None
        result = scheduled(engine, "summary_conference", conference, now=dec1, force=True)
        assert len(result.warnings) == 1
        assert "[--force: với ngày" in audit_rows(engine)[-1].note
    else:
        assert scheduled(engine, "summary_conference", conference, now=dec1).warnings == []
    assert due_dates(engine, dec1.date())[(LEADER_ID, "score_summary")] == score_summary


def test_only_events_can_be_scheduled_and_only_by_the_leader(engine: Engine) -> None:
    init(engine)
    now = at(2022, 12, 1)
    with pytest.raises(BadInputError) as info:
        schedule(engine, "annual_report", date(2022, 12, 20), now=now)
    assert "summary_conference" in info.value.en and "cross_inspection" in info.value.en
    with pytest.raises(PermissionDeniedError):
        schedule(engine, "summary_conference", date(2023, 3, 10), now=now, who=MUONG_CHA)
    with pytest.raises(NotFoundError):
        schedule(engine, "nothing", date(2023, 3, 10), now=now)


# ---------------------------------------------------------------- ad-hoc requests


def request(
    engine: Engine,
    title: str,
    due: date,
    members: list[str] | None,
    *,
    now: datetime = MAY_2,
    who: Who = LEADER,
) -> list[tuple[str, str, date | None]]:
    def do(s: Session, c: CycleContext) -> list[tuple[str, str, date | None]]:
        made = actions.request(s, c, who, title=title, due=due, now=now, members=members)
        return [(o.milestone_id, o.member_id, o.due_override) for o in made]

    result: list[tuple[str, str, date | None]] = run(engine, do)
    return result


def test_requests_are_numbered_obligations_with_their_own_due_date(engine: Engine) -> None:
    init(engine)
    first = request(engine, "Báo cáo công tác phòng chống lụt bão", date(2022, 5, 20), ["nam-po"])
    assert first == [("request-1", "nam-po", date(2022, 5, 20))]
    second = request(
        engine, "Báo cáo số liệu hộ nghèo", date(2022, 6, 10), ["muong-cha", "muong-nhe"]
    )
    assert second == [
        ("request-2", "muong-cha", date(2022, 6, 10)),
        ("request-2", "muong-nhe", date(2022, 6, 10)),
    ]
    third = request(engine, "Báo cáo nhanh", date(2022, 6, 1), None)
    assert {m for _, m, _ in third} == set(MEMBERS)  # default: every member
    with session_scope(engine) as s:
        ctx = context(s)
        rows = {(r.member, r.milestone): r for r in views.status_rows(ctx, date(2022, 5, 21))}
        detail = views.detail(s, ctx, date(2022, 5, 21), member="nam-po", milestone="request-1")
    r = rows[("nam-po", "request-1")]
    assert (r.due, r.name_vi, r.article) == (
        date(2022, 5, 20),
        "Báo cáo công tác phòng chống lụt bão",
        "Điều 7.3",
    )
    assert r.standing.overdue and r.standing.days_left == -1
    assert not rows[("muong-cha", "request-2")].standing.overdue
    assert [h.action for h in detail.history] == ["request"]
    # A member answers a request like any other obligation, and a reload keeps it.
    act(engine, "muong-cha", "request-2", Action.SUBMIT, who=MUONG_CHA, now=at(2022, 6, 1))
    init(engine)
    assert obligations(engine)[("muong-cha", "request-2")].state == "submitted"
    assert obligations(engine)[("nam-po", "request-1")].active


def test_bad_requests_are_refused(engine: Engine) -> None:
    init(engine)
    before = _db_state(engine)
    with pytest.raises(BadInputError, match="đã qua"):
        request(engine, "Muộn", date(2022, 5, 1), None)
    with pytest.raises(NotFoundError, match="ha-noi"):
        request(engine, "Sai đơn vị", date(2022, 6, 1), ["muong-cha", "ha-noi"])
    with pytest.raises(BadInputError):
        request(engine, "Hai\ndòng", date(2022, 6, 1), None)
    with pytest.raises(BadInputError):
        request(engine, "   ", date(2022, 6, 1), None)
    with pytest.raises(PermissionDeniedError):
        request(engine, "Không phải Trưởng cụm", date(2022, 6, 1), None, who=MUONG_CHA)
    assert _db_state(engine) == before


# ---------------------------------------------------------------- several clusters, cycles

SMALL = """
[cluster]
id = "cum-mien-nui"
name = "Cụm thi đua miền núi"
name_en = "Mountain cluster"
province = "Điện Biên"

[cycle]
year = 2022
leader = "xa-a"

[[members]]
id = "xa-a"
name = "Xã A"
kind = "commune"
[[members.contacts]]
role = "focal"
name = "Cán bộ A"
email = "a@example.vn"

[[members]]
id = "xa-b"
name = "Xã B"
kind = "commune"
[[members.contacts]]
role = "focal"
name = "Cán bộ B"
email = "b@example.vn"

[[milestones]]
id = "annual_report"
name = "Báo cáo năm"
name_en = "Annual report"
article = "Điều 7.2"
assignee = "members"
rule = { kind = "fixed", date = "15/12/Y" }

[[milestones]]
id = "summary_conference"
name = "Hội nghị tổng kết"
name_en = "Summary conference"
article = "Điều 7.7"
assignee = "leader"
rule = { kind = "event", within = { kind = "quarter", quarter = "Q1/Y+1" } }
"""


def test_several_clusters_in_one_database(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "cum-mien-nui-2022.toml"
    path.write_text(SMALL, encoding="utf-8")
    small = load_config(path)
    init(engine)
    init(engine, small)
    with session_scope(engine) as s:
        with pytest.raises(BadInputError) as info:
            cycles.find_cycle(s, cluster_id=None, year=2022, today=date(2022, 3, 1))
        assert "--cluster" in info.value.vi and "--cluster" in info.value.en
        assert "cum-mien-nui" in info.value.en and CLUSTER in info.value.en
        with pytest.raises(NotFoundError, match="cum-khac"):
            cycles.find_cycle(s, cluster_id="cum-khac", year=2022, today=date(2022, 3, 1))
        ctx = context(s, cluster="cum-mien-nui")
        assert set((o.member_id, o.milestone_id) for o in ctx.obligations) == {
            ("xa-a", "annual_report"),
            ("xa-b", "annual_report"),
            ("xa-a", "summary_conference"),
        }
        assert len(context(s, cluster=CLUSTER).obligations) == 34
    # Same milestone ids in two clusters stay apart.
    with session_scope(engine) as s:
        c = context(s, cluster="cum-mien-nui")
        actions.act(
            s,
            c,
            LEADER,
            member_id="xa-a",
            milestone_id="annual_report",
            action=Action.COMPLETE,
            now=LOAD,
        )
    with session_scope(engine) as s:
        big = context(s, cluster=CLUSTER)
        assert all(o.state == "open" for o in big.obligations)


def test_several_cycles_live_at_once(engine: Engine) -> None:
    init(engine, year=2022)
    init(engine, year=2023, now=at(2023, 1, 3))
    with session_scope(engine) as s:
        find = cycles.find_cycle
        # Without --cycle: the newest cycle whose year has begun.
        assert find(s, cluster_id=None, year=None, today=date(2022, 12, 31)).year == 2022
        assert find(s, cluster_id=None, year=None, today=date(2023, 2, 1)).year == 2023
        # 2022's conference is held in 2023: the 2022 cycle is still there to act on.
        assert find(s, cluster_id=None, year=2022, today=date(2023, 2, 1)).year == 2022
        with pytest.raises(NotFoundError) as info:
            find(s, cluster_id=None, year=2024, today=date(2023, 2, 1))
        assert "2022, 2023" in info.value.vi and "tracker init --cycle 2024" in info.value.en
    schedule(engine, "summary_conference", date(2023, 3, 10), now=at(2023, 2, 1))
    act(engine, "muong-cha", "score_matching", Action.COMPLETE, now=at(2023, 2, 1))
    d22 = due_dates(engine, date(2023, 2, 1), year=2022)
    d23 = due_dates(engine, date(2023, 2, 1), year=2023)
    assert d22[("muong-cha", "half_year_report")] == date(2022, 6, 30)
    assert d23[("muong-cha", "half_year_report")] == date(2023, 6, 30)
    assert d22[(LEADER_ID, "draft_report")] == date(2023, 3, 3)
    assert d23[(LEADER_ID, "draft_report")] is None
    assert d23[(LEADER_ID, "summary_conference")] == date(2024, 3, 31)
    assert obligations(engine, 2023)[("muong-cha", "score_matching")].state == "open"
    assert obligations(engine, 2022)[("muong-cha", "score_matching")].state == "completed"


def test_an_empty_database_says_to_run_init(engine: Engine) -> None:
    with session_scope(engine) as s, pytest.raises(NotFoundError) as info:
        cycles.find_cycle(s, cluster_id=None, year=None, today=date(2022, 3, 1))
    assert "tracker init" in info.value.vi and "tracker init" in info.value.en


def test_a_cycles_config_snapshot_is_parsed_once_and_equals_the_loaded_config() -> None:
    text = cycles.config_snapshot(CFG)
    first = cycles.config_from_snapshot(text)
    assert first == CFG
    assert cycles.config_from_snapshot(text) is first  # the daemon re-reads it every tick
