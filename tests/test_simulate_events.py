"""Issue 6, "done when": the whole 2022–2023 cycle simulated day by day with the leader
dating what the regulation leaves to it — every cross-inspection visit (Điều 7.4, set on
05/09/2022), the summary conference on 24/02/2023 and the preparatory meeting the day
before (Điều 7.7, 7.9, set on 05/12/2022) — and recording two visits as held.

Then: no letter to the provincial board, no overdue letter or escalation about a visit or
any other event, nothing on a day off, every event announced before it happens, the
leader (never a member) asked to date what has no date, and the leader's tasks in letters
of their own, apart from its unit's member duties.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from sqlmodel import select

from jobs.simulate import SentMessage, Simulation
from tests.test_simulate import _context, loaded_2022
from tracker.calendar.types import TZ
from tracker.calendar.workdays import WorkCalendar
from tracker.config import load_config
from tracker.db.engine import session_scope
from tracker.db.models import Obligation, OutboxRow
from tracker.paths import config_dir
from tracker.service import actions
from tracker.service.actions import Who
from tracker.workflow import Action, Actor

CFG = load_config(config_dir() / "cum-vung-cao-2022.toml")
CAL = WorkCalendar(CFG.holidays)
LEADER = Who(Actor("truong-cum", "leader"), "thu-ky")
START, END = date(2022, 1, 1), date(2023, 3, 31)
VISITS = {
    "tua-chua": date(2022, 10, 3),
    "dien-bien-dong": date(2022, 10, 6),
    "muong-cha": date(2022, 10, 12),
    "muong-nhe": date(2022, 10, 19),
    "nam-po": date(2022, 10, 26),
}
VISITS_SET = datetime(2022, 9, 5, 10, tzinfo=TZ)
CONFERENCE = date(2023, 2, 24)
PREPARATORY = date(2023, 2, 23)
CONFERENCE_SET = datetime(2022, 12, 5, 10, tzinfo=TZ)
HELD = datetime(2022, 10, 27, 10, tzinfo=TZ)
EVENTS = {ms.id for ms in CFG.milestones if ms.is_event}
OFFICE = next(str(op.email) for op in CFG.operators if op.role == "leader")
FOCAL = {m.id: next(c.email for c in m.contacts if c.role == "focal") for m in CFG.members}
BOARD = CFG.province_board.email if CFG.province_board else "-"


@dataclass
class Run:
    messages: list[SentMessage]
    rows: list[OutboxRow]
    obligations: dict[int, Obligation]

    def milestone(self, row: OutboxRow) -> str | None:
        if row.obligation_id is None:
            return None
        return self.obligations[row.obligation_id].milestone_id

    def sent(self) -> list[OutboxRow]:
        return [r for r in self.rows if r.state == "sent"]


_ctx = _context


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    url = loaded_2022(tmp_path_factory.mktemp("events"))
    with Simulation(url) as sim:
        assert sim.engine is not None
        sim.run(START, VISITS_SET.date())
        with session_scope(sim.engine) as s:
            for member, day in VISITS.items():
                actions.schedule(
                    s,
                    _ctx(s),
                    LEADER,
                    milestone_id="cross_inspection",
                    member_id=member,
                    day=day,
                    now=VISITS_SET,
                )
        sim.run(VISITS_SET.date() + timedelta(days=1), HELD.date())
        with session_scope(sim.engine) as s:
            for member in ("tua-chua", "muong-cha"):  # minutes filed; the others never are
                actions.act(
                    s,
                    _ctx(s),
                    LEADER,
                    member_id=member,
                    milestone_id="cross_inspection",
                    action=Action.COMPLETE,
                    now=HELD,
                    on=VISITS[member],
                    ref=f"Biên bản kiểm tra {member}",
                )
        sim.run(HELD.date() + timedelta(days=1), CONFERENCE_SET.date())
        with session_scope(sim.engine) as s:
            for milestone, day in (
                ("summary_conference", CONFERENCE),
                ("preparatory_meeting", PREPARATORY),
            ):
                actions.schedule(
                    s, _ctx(s), LEADER, milestone_id=milestone, day=day, now=CONFERENCE_SET
                )
        sim.run(CONFERENCE_SET.date() + timedelta(days=1), END)
        with session_scope(sim.engine) as s:
            rows = list(s.exec(select(OutboxRow)).all())
            obligations = {o.id: o for o in _ctx(s).obligations if o.id is not None}
        yield Run(list(sim.messages), rows, obligations)


def parsed(m: SentMessage) -> EmailMessage:
    raw = m.message.as_bytes()
    msg = message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def test_the_provincial_board_gets_no_letter(run: Run) -> None:
    assert run.messages
    assert not [m for m in run.messages if m.email.lower() == BOARD.lower()]
    assert not [r for r in run.rows if r.recipient_role == "province"]


def test_nothing_goes_out_on_a_day_off(run: Run) -> None:
    for m in run.messages:
        assert CAL.is_working_day(m.at.date()), (m.at, CAL.day_off_reason(m.at.date()))


def test_no_overdue_letter_or_escalation_about_an_event(run: Run) -> None:
    for r in run.rows:
        if run.milestone(r) in EVENTS:
            assert r.kind in ("event_notice", "set_date"), (run.milestone(r), r.kind)
    # Three visits were never recorded as held, and nobody was nagged about them.
    unrecorded = [
        o
        for o in run.obligations.values()
        if o.milestone_id == "cross_inspection" and o.state == "open"
    ]
    assert len(unrecorded) == 3


def test_every_visit_is_announced_to_its_member_and_the_leaders_office(run: Run) -> None:
    for member, day in VISITS.items():
        ob = next(
            o
            for o in run.obligations.values()
            if o.milestone_id == "cross_inspection" and o.member_id == member
        )
        notices = [r for r in run.sent() if r.obligation_id == ob.id and r.kind == "event_notice"]
        got = {(r.offset, r.recipient_role, r.recipient_email) for r in notices}
        assert got == {
            (n, role, email)
            for n in (7, 1)
            for role, email in (("focal", FOCAL[member]), ("leader", OFFICE))
        }, member
        assert all(r.sent_at is not None and r.sent_at.date() < day for r in notices)


def test_the_conference_and_the_meeting_are_announced_to_every_member(run: Run) -> None:
    for milestone, day in (
        ("summary_conference", CONFERENCE),
        ("preparatory_meeting", PREPARATORY),
    ):
        ob = next(o for o in run.obligations.values() if o.milestone_id == milestone)
        notices = [r for r in run.sent() if r.obligation_id == ob.id and r.kind == "event_notice"]
        assert {r.recipient_email for r in notices if r.recipient_role == "focal"} == set(
            FOCAL.values()
        )
        assert all(r.sent_at is not None and r.sent_at.date() < day for r in notices)


def test_only_the_leader_is_asked_to_date_things(run: Run) -> None:
    asks = [r for r in run.rows if r.kind == "set_date"]
    assert asks
    assert {(r.recipient_role, r.recipient_email) for r in asks} == {("leader", OFFICE)}
    # The visits were dated on 05/09/2022: no request to date them after that.
    visit_asks = [r for r in asks if run.milestone(r) == "cross_inspection" and r.state == "sent"]
    assert visit_asks and all(r.sent_at and r.sent_at < VISITS_SET for r in visit_asks)


def test_dependants_of_the_24_february_conference(run: Run) -> None:
    # Score summary ≥ 10 days before (Điều 10.2), draft report ≥ 5 days before (note under
    # Điều 7.9): the reminders carry the deadlines the calendar computed.
    by = {o.milestone_id: o for o in run.obligations.values() if o.member_id == "tua-chua"}
    dues = {
        run.milestone(r): r.due
        for r in run.rows
        if r.kind == "lead" and run.milestone(r) in ("score_summary", "draft_report")
    }
    assert by["score_summary"].id is not None
    assert dues["score_summary"] == date(2023, 2, 14)
    # 19/02/2023 is a Sunday: "ít nhất 5 ngày" moves back to Friday 17/02, never later.
    assert dues["draft_report"] == date(2023, 2, 17)


def test_the_leaders_two_hats_are_different_letters(run: Run) -> None:
    leader_focal = FOCAL["tua-chua"]
    member_letters = [parsed(m) for m in run.messages if m.email == leader_focal]
    office_letters = [parsed(m) for m in run.messages if m.email == OFFICE]
    assert member_letters and office_letters
    # Each letter is one hat: the X-Tracker-Key of a letter carries rows of one role.
    letter_roles: dict[str, set[str]] = {}
    for r in run.sent():
        if r.letter_key is not None:
            letter_roles.setdefault(r.letter_key, set()).add(r.recipient_role)
    assert all(len(roles) == 1 for roles in letter_roles.values()), letter_roles


def test_the_leaders_office_reads_whose_visit_is_coming(run: Run) -> None:
    texts = [
        parsed(m).get_body(("plain",)).get_content()  # type: ignore[union-attr]
        for m in run.messages
        if m.email == OFFICE and m.kind == "leader_digest"
    ]
    assert any("Kiểm tra chéo – Huyện Mường Chà" in t for t in texts)


def test_a_relative_deadline_is_worded_as_the_regulation_writes_it(run: Run) -> None:
    texts = [
        parsed(m).get_body(("plain",)).get_content()  # type: ignore[union-attr]
        for m in run.messages
        if m.email == OFFICE
    ]
    assert any(
        "Gửi dự thảo báo cáo tổng kết" in t
        and "Quy định: trước ngày Hội nghị tổng kết ít nhất 5 ngày" in t
        and "chậm nhất ngày 17 tháng 02 năm 2023" in t  # months 1–2 take a zero (NĐ 30)
        for t in texts
    )
