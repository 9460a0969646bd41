"""A whole 2022–2023 cycle of the shipped config, simulated day by day (issue 3 §5).

One simulation (module fixture) on a copy of a real SQLite database, with the leader acting
between runs as a person would, on the simulated dates:

- 20/06/2022 Mường Chà's half-year report (Điều 7.1, due 30/06) is completed;
- 05/12/2022 the conference (Điều 7.7, Quarter I) is set for 10/03/2023, after the
  "set the date" reminders that start on 1/12;
- 20/02/2023 it is moved to 24/03/2023, after the first draft-report reminder went out
  (draft report: 5 days before the conference, note under Điều 7.9).

The tests then read the timeline (every e-mail, with the simulated instant it went out) and
the copy's outbox rows.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from sqlmodel import Session, select

from jobs.simulate import SentMessage, Simulation
from tracker.calendar.types import TZ, end_of_day, local_date
from tracker.calendar.workdays import WorkCalendar
from tracker.config import load_config
from tracker.config.schema import ClusterConfig
from tracker.db import migrate
from tracker.db.engine import make_engine, session_scope
from tracker.db.models import CycleRow, Obligation, OutboxRow
from tracker.errors import NotFoundError
from tracker.paths import config_dir
from tracker.service import actions, cycles
from tracker.service.actions import Who
from tracker.service.views import due_of
from tracker.workflow import Action, Actor

CFG = load_config(config_dir() / "cum-vung-cao-2022.toml")
CAL = WorkCalendar(CFG.holidays)
LEADER = Who(Actor("truong-cum", "leader"), "thu-ky")
START, END = date(2022, 1, 1), date(2023, 3, 31)
COMPLETED_AT = datetime(2022, 6, 20, 10, tzinfo=TZ)
SCHEDULED_AT = datetime(2022, 12, 5, 10, tzinfo=TZ)
MOVED_AT = datetime(2023, 2, 20, 10, tzinfo=TZ)
FIRST_CONFERENCE, CONFERENCE = date(2023, 3, 10), date(2023, 3, 24)
TET_2023 = [date(2023, 1, 20) + timedelta(days=i) for i in range(7)]


@dataclass
class Cycle:
    messages: list[SentMessage]
    rows: list[OutboxRow]  # the copy's outbox at the end
    obligations: dict[int, Obligation]
    due: dict[int, date | None]  # each obligation's final deadline
    seconds: float  # how long the simulation took

    def ob(self, member: str, milestone: str) -> Obligation:
        return next(
            o
            for o in self.obligations.values()
            if o.member_id == member and o.milestone_id == milestone
        )

    def rows_of(self, ob: Obligation) -> list[OutboxRow]:
        return [r for r in self.rows if r.obligation_id == ob.id]


def _context(session: Session) -> cycles.CycleContext:
    row = cycles.find_cycle(session, cluster_id=None, year=2022, today=date(2023, 1, 1))
    return cycles.load_context(session, row)


def loaded_2022(folder: Path) -> str:
    """A real SQLite file with the shipped cluster's 2022 cycle, loaded on 03/01/2022; its URL."""
    url = f"sqlite:///{folder / 'tracker.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    with session_scope(engine) as s:
        cycles.init_cycle(
            s,
            CFG,
            config_path="config/cum-vung-cao-2022.toml",
            year=2022,
            now=datetime(2022, 1, 3, 9, tzinfo=TZ),
            operator="truong-cum",
            os_user="thu-ky",
        )
    engine.dispose()
    return url


@pytest.fixture(scope="module")
def cycle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cycle]:
    url = loaded_2022(tmp_path_factory.mktemp("simulate"))

    started = time.monotonic()
    with Simulation(url) as sim:
        assert sim.engine is not None
        sim.run(START, COMPLETED_AT.date())
        with session_scope(sim.engine) as s:
            actions.act(
                s,
                _context(s),
                LEADER,
                member_id="muong-cha",
                milestone_id="half_year_report",
                action=Action.COMPLETE,
                now=COMPLETED_AT,
            )
        sim.run(COMPLETED_AT.date() + timedelta(days=1), SCHEDULED_AT.date())
        with session_scope(sim.engine) as s:
            actions.schedule(
                s,
                _context(s),
                LEADER,
                milestone_id="summary_conference",
                day=FIRST_CONFERENCE,
                now=SCHEDULED_AT,
            )
        sim.run(SCHEDULED_AT.date() + timedelta(days=1), MOVED_AT.date())
        with session_scope(sim.engine) as s:
            actions.schedule(
                s,
                _context(s),
                LEADER,
                milestone_id="summary_conference",
                day=CONFERENCE,
                now=MOVED_AT,
            )
        sim.run(MOVED_AT.date() + timedelta(days=1), END)
        seconds = time.monotonic() - started
        with session_scope(sim.engine) as s:
            rows = list(s.exec(select(OutboxRow)).all())
            ctx = _context(s)
            plan = ctx.plan()
            obligations = {o.id: o for o in ctx.obligations if o.id is not None}
            due = {i: due_of(ctx, plan, o).date for i, o in obligations.items()}
        yield Cycle(list(sim.messages), rows, obligations, due, seconds)


def test_the_simulation_is_quick_enough(cycle: Cycle) -> None:
    # 455 simulated days; the budget keeps `make test` usable.
    assert cycle.seconds < 60, f"simulating the cycle took {cycle.seconds:.1f} s"
    assert len(cycle.messages) > 100


def test_every_message_goes_out_at_the_office_hour_of_a_working_day(cycle: Cycle) -> None:
    for m in cycle.messages:
        day = m.at.date()
        assert CAL.is_working_day(day), (day, CAL.day_off_reason(day), m.subject)
        assert (m.at.hour, m.at.minute) == (CFG.mail.send_hour, 0)
        assert parsedate_to_datetime(str(m.message["Date"])) == m.at
    days = {m.at.date() for m in cycle.messages}
    # Tết 2023 (20–26 January): silence, with the leader's digest on either side of it.
    assert not days & set(TET_2023)
    assert {date(2023, 1, 19), date(2023, 1, 27)} <= days
    # Weekends and the 2022 National Day holiday are skipped too.
    assert not any(d.weekday() >= 5 for d in days)
    assert not any(CAL.day_off_reason(d) for d in days)


def test_a_reminder_before_every_deadline(cycle: Cycle) -> None:
    before_kinds = {"lead", "window_open", "window_closing", "set_date", "event_notice"}
    checked = 0
    quiet = 0  # events with no notice of their own (the election, held at the conference)
    for ob_id, due in cycle.due.items():
        ob = cycle.obligations[ob_id]
        if due is None or not (START <= due <= END) or not ob.active:
            continue
        ms = CFG.milestone(ob.milestone_id)
        if ms.is_event and ms.reminders is not None and not ms.reminders.event_notice_working_days:
            quiet += 1
            continue
        sent_before = [
            r
            for r in cycle.rows_of(ob)
            if r.state == "sent"
            and r.kind in before_kinds
            and r.sent_at is not None
            and r.sent_at < end_of_day(due)
        ]
        assert sent_before, f"no reminder before {ob.member_id}/{ob.milestone_id} due {due}"
        checked += 1
    # Members' obligations × 5 members, the leader's own milestones: all of them.
    active = [o for o in cycle.obligations.values() if o.active]
    # No visit was dated in this run, so the inspection plan (due before the first visit,
    # Điều 7.5) has no date yet; everything else was checked.
    undated = [o.milestone_id for o in active if cycle.due[o.id] is None]  # type: ignore[index]
    assert undated == ["inspection_plan"]
    assert checked + quiet == len(active) - len(undated)
    # Each focal officer got e-mail before the half-year deadline (30/06/2022).
    focal = {c.email for mem in CFG.members for c in mem.contacts if c.role == "focal"}
    before_june_30 = {m.email for m in cycle.messages if m.at.date() <= date(2022, 6, 30)}
    assert focal <= before_june_30


def test_reminders_stop_once_an_obligation_is_completed(cycle: Cycle) -> None:
    done = cycle.ob("muong-cha", "half_year_report")
    rows = cycle.rows_of(done)
    sent = [r for r in rows if r.state == "sent"]
    assert sent, "the 14-day reminder (16/06) went out before the completion"
    assert all(r.sent_at is not None and r.sent_at < COMPLETED_AT for r in sent)
    assert any(r.state == "cancelled" for r in rows)
    assert not any(r.kind in ("overdue", "escalation") and r.state == "sent" for r in rows)
    after = [
        m for m in cycle.messages if m.email == "noivu.muongcha@example.vn" and m.at > COMPLETED_AT
    ]
    assert after, "Mường Chà still gets reminders for its other deadlines"
    for m in after:
        body = m.message.get_body(("plain",))
        assert body is not None
        assert "Báo cáo sơ kết 6 tháng" not in body.get_content(), (m.at, m.subject)

    # Nậm Pồ did not report: reminded while overdue, and its head told (escalation).
    late = cycle.rows_of(cycle.ob("nam-po", "half_year_report"))
    overdue = [r for r in late if r.kind == "overdue" and r.state == "sent"]
    assert overdue and all(
        r.sent_at is not None and local_date(r.sent_at) > date(2022, 6, 30) for r in overdue
    )
    assert any(
        r.kind == "escalation" and r.state == "sent" and r.recipient_email.startswith("chutich.")
        for r in late
    )


def test_the_leader_is_asked_to_set_the_conference_date_until_it_is_set(cycle: Cycle) -> None:
    conf = cycle.ob(CFG.cycle.leader, "summary_conference")
    asked = [r for r in cycle.rows_of(conf) if r.kind == "set_date" and r.state == "sent"]
    assert asked
    assert all(
        r.sent_at is not None and date(2022, 12, 1) <= local_date(r.sent_at) <= SCHEDULED_AT.date()
        for r in asked
    )
    assert conf.event_date == CONFERENCE


def test_draft_report_reminders_move_with_the_conference(cycle: Cycle) -> None:
    draft = cycle.ob(CFG.cycle.leader, "draft_report")
    # At least 5 days before (note under Điều 7.9): Sunday 05/03 and Sunday 19/03/2023 move
    # back to the Fridays before them.
    first_due = FIRST_CONFERENCE - timedelta(days=7)  # Friday 03/03/2023
    final_due = CONFERENCE - timedelta(days=7)  # Friday 17/03/2023
    assert cycle.due[draft.id] == final_due  # type: ignore[index]
    rows = cycle.rows_of(draft)
    old = [r for r in rows if r.due == first_due]
    new = [r for r in rows if r.due == final_due]
    # Before the move: the 14-day reminder for 03/03 went out (Friday 17/02) …
    old_sent = [r for r in old if r.state == "sent"]
    assert old_sent and all(r.sent_at is not None and r.sent_at < MOVED_AT for r in old_sent)
    assert {local_date(r.sent_at) for r in old_sent if r.sent_at} == {date(2023, 2, 17)}
    # … after it, the rest for 03/03 were cancelled and the 17/03 ones went out instead.
    assert all(r.state == "cancelled" for r in old if r not in old_sent)
    assert any(r.state == "cancelled" for r in old)
    new_sent = [r for r in new if r.state == "sent"]
    assert new_sent
    assert all(r.sent_at is not None and r.sent_at > MOVED_AT for r in new_sent)
    leads = [r for r in new_sent if r.kind == "lead"]
    assert leads and all(r.sent_at is not None and r.sent_at < end_of_day(final_due) for r in leads)
    # Never done, it is overdue from the new date on, not the old one.
    overdue = [r for r in new_sent if r.kind == "overdue"]
    assert overdue and all(r.sent_at and local_date(r.sent_at) > final_due for r in overdue)
    # The score summary (10 days before, Điều 10.2) moved the same way.
    summary = cycle.rows_of(cycle.ob(CFG.cycle.leader, "score_summary"))
    late_sent = [r for r in summary if r.state == "sent" and r.sent_at and r.sent_at > MOVED_AT]
    assert late_sent and {r.due for r in late_sent} == {CONFERENCE - timedelta(days=10)}
    # What the leader read after the move names the new draft deadline.
    leader = next(c.email for c in CFG.member(CFG.cycle.leader).contacts if c.role == "focal")
    texts = [
        m.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        for m in cycle.messages
        if m.email == leader and m.at > MOVED_AT
    ]
    assert any(
        "Gửi dự thảo báo cáo tổng kết" in t and "ngày 17 tháng 3 năm 2023" in t for t in texts
    )


# ---------------------------------------------------------------- the copy


def _init(url: str, *years: int, cfg: ClusterConfig = CFG) -> None:
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        for year in years:
            with session_scope(engine) as s:
                cycles.init_cycle(
                    s,
                    cfg,
                    config_path="config/cum-vung-cao-2022.toml",
                    year=year,
                    now=datetime(2022, 1, 3, 9, tzinfo=TZ),
                    operator="truong-cum",
                    os_user="thu-ky",
                )
    finally:
        engine.dispose()


def _outbox_count(url: str) -> int:
    engine = make_engine(url)
    try:
        with session_scope(engine) as s:
            return len(s.exec(select(OutboxRow)).all())
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_a_postgresql_database_is_simulated_on_a_sqlite_copy(pg_url: str) -> None:
    _init(pg_url, 2022)
    with Simulation(pg_url) as sim:
        assert sim.url.startswith("sqlite:///")
        messages = sim.run(date(2022, 6, 16), date(2022, 6, 16))
    focal = {c.email for mem in CFG.members for c in mem.contacts if c.role == "focal"}
    assert {m.email for m in messages} == focal
    assert _outbox_count(pg_url) == 0  # the real outbox is untouched


def test_cycle_option_keeps_only_that_cycle(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'two.db'}"
    _init(url, 2022, 2023)
    # 16/06/2022 is 14 days before the 2022 half-year report, 16/06/2023 before 2023's.
    with Simulation(url, cycle=2023) as sim:
        june_2022 = sim.run(date(2022, 6, 16), date(2022, 6, 16))
        june_2023 = sim.run(date(2023, 6, 16), date(2023, 6, 16))
    assert not any("30/06/2022" in m.subject for m in june_2022)
    assert any("30/06/2023" in m.subject for m in june_2023)
    with Simulation(url, cycle=2022) as sim:
        june_2022 = sim.run(date(2022, 6, 16), date(2022, 6, 16))
    assert sum("30/06/2022" in m.subject for m in june_2022) >= len(CFG.members) - 1
    with pytest.raises(NotFoundError, match="2030"):
        Simulation(url, cycle=2030)
    assert _outbox_count(url) == 0


def _cycles_in(sim: Simulation) -> set[tuple[str, int]]:
    assert sim.engine is not None
    with session_scope(sim.engine) as s:
        return {(r.cluster_id, r.year) for r in s.exec(select(CycleRow))}


def test_cycle_and_cluster_options_pick_cycles_by_cluster_and_year(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'two-clusters.db'}"
    _init(url, 2022, 2023)
    other = CFG.model_copy(
        update={"cluster": CFG.cluster.model_copy(update={"id": "cum-khac", "name": "Cụm khác"})}
    )
    _init(url, 2022, 2023, cfg=other)
    ours = CFG.cluster.id
    with Simulation(url, cycle=2022) as sim:
        assert _cycles_in(sim) == {(ours, 2022), ("cum-khac", 2022)}
    with Simulation(url, cycle=2022, cluster="cum-khac") as sim:
        assert _cycles_in(sim) == {("cum-khac", 2022)}
        messages = sim.run(date(2022, 6, 16), date(2022, 6, 16))
        assert messages and all("Cụm khác" in m.subject for m in messages)
    with Simulation(url, cluster=ours) as sim:
        assert _cycles_in(sim) == {(ours, 2022), (ours, 2023)}
    with pytest.raises(NotFoundError, match="cum-nao-do"):
        Simulation(url, cluster="cum-nao-do")
    with pytest.raises(NotFoundError, match="2030"):
        Simulation(url, cycle=2030, cluster="cum-khac")
    assert _outbox_count(url) == 0


@pytest.mark.parametrize(
    ("start", "first_working_day"),
    [
        (date(2022, 6, 19), date(2022, 6, 20)),  # a Sunday
        (date(2023, 1, 22), date(2023, 1, 27)),  # a Sunday in Tết (20–26/01/2023)
    ],
)
def test_a_simulation_started_on_a_day_off_waits_for_the_next_working_day(
    tmp_path: Path, start: date, first_working_day: date
) -> None:
    """`tracker simulate --from 2023-01-22` once sent 11 e-mails on that Sunday in Tết: the
    months of reminders missed before it, caught up at once."""
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    _init(url, 2022)
    with Simulation(url) as sim:
        messages = sim.run(start, first_working_day)
    assert messages, "the catch-up goes out on the first working day"
    assert {m.at for m in messages} == {
        datetime.combine(first_working_day, datetime.min.time(), TZ).replace(hour=8)
    }
    focal = {c.email for mem in CFG.members for c in mem.contacts if c.role == "focal"}
    assert focal <= {m.email for m in messages}
