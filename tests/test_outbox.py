"""The outbox's contract (issue 3 §3), on a SQLite file and on PostgreSQL (the `engine`
fixture): planning is idempotent, a moved or settled obligation cancels its pending
reminders, claims never overlap, a dead sender's claim is taken over after its lease, and
only the current holder of a claim may record its outcome."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from tests.test_store import run_together
from tracker.calendar.office_hours import Office
from tracker.calendar.types import TZ
from tracker.calendar.workdays import WorkCalendar
from tracker.config import load_config
from tracker.config.schema import ClusterConfig
from tracker.db.engine import make_engine, session_scope
from tracker.db.models import Obligation, OutboxRow
from tracker.delivery import plan_sync as outbox  # interim: ported by ws-h5
from tracker.errors import BadInputError, NotFoundError
from tracker.paths import config_dir
from tracker.service import actions, cycles
from tracker.service.actions import Who
from tracker.service.cycles import CycleContext
from tracker.workflow import Action, Actor

CFG = load_config(config_dir() / "cum-vung-cao-2022.toml")
LEADER = Who(Actor("truong-cum", "leader"), "thu-ky")
LEASE = timedelta(minutes=5)
FOCAL = {m.id: next(str(c.email) for c in m.contacts if c.role == "focal") for m in CFG.members}
OFFICE = Office(WorkCalendar(CFG.holidays), CFG.mail.send_hour)


def at(y: int, m: int, d: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(y, m, d, hour, minute, tzinfo=TZ)


LOAD = at(2022, 3, 1)
JUNE_16 = at(2022, 6, 16)  # 14 days before the half-year report (30/6, Điều 7.1), a Thursday


# -- helpers other outbox test modules share --------------------------------------------


def init(engine: Engine, cfg: ClusterConfig = CFG, *, now: datetime = LOAD) -> int:
    """Load the 2022 cycle of `cfg`; returns the cycle id."""
    with session_scope(engine) as s:
        cycles.init_cycle(
            s, cfg, config_path="config/test.toml", year=2022, now=now, operator="t", os_user="t"
        )
        row = cycles.find_cycle(s, cluster_id=None, year=2022, today=now.date())
        assert row.id is not None
        return row.id


def context(s: Session) -> CycleContext:
    return cycles.load_context(
        s, cycles.find_cycle(s, cluster_id=None, year=2022, today=LOAD.date())
    )


def plan(engine: Engine, now: datetime) -> list[outbox.SyncReport]:
    with session_scope(engine) as s:
        return outbox.plan_all(s, now)


def act(engine: Engine, member: str, milestone: str, action: Action, now: datetime) -> None:
    with session_scope(engine) as s:
        actions.act(
            s,
            context(s),
            LEADER,
            member_id=member,
            milestone_id=milestone,
            action=action,
            now=now,
            note="test",
        )


def schedule(engine: Engine, milestone: str, day: date, now: datetime) -> None:
    with session_scope(engine) as s:
        actions.schedule(s, context(s), LEADER, milestone_id=milestone, day=day, now=now)


def obligation_id(engine: Engine, member: str, milestone: str) -> int:
    with session_scope(engine) as s:
        ob = s.exec(
            select(Obligation).where(
                Obligation.member_id == member, Obligation.milestone_id == milestone
            )
        ).one()
        assert ob.id is not None
        return ob.id


def rows(engine: Engine, **where: Any) -> list[OutboxRow]:
    with session_scope(engine) as s:
        q = select(OutboxRow).order_by(col(OutboxRow.send_at), col(OutboxRow.id))
        for name, value in where.items():
            q = q.where(getattr(OutboxRow, name) == value)
        return list(s.exec(q).all())


def ids_of(claimed: Iterable[OutboxRow]) -> list[int]:
    out: list[int] = []
    for r in claimed:
        assert r.id is not None
        out.append(r.id)
    return out


def by_state(engine: Engine) -> dict[str, int]:
    with session_scope(engine) as s:
        return outbox.state_counts(s)


# -- planning ---------------------------------------------------------------------------


def test_planning_twice_adds_nothing_the_second_time(engine: Engine) -> None:
    cycle_id = init(engine)
    [first] = plan(engine, JUNE_16)
    assert first.cycle_id == cycle_id and first.error == ""
    assert first.added > 100 and first.cancelled == 0 and first.kept == 0
    total = len(rows(engine))
    assert total == first.added

    [second] = plan(engine, JUNE_16)
    assert (second.added, second.cancelled, second.kept) == (0, 0, total)
    assert len(rows(engine)) == total
    assert by_state(engine) == {**dict.fromkeys(outbox.STATES, 0), "planned": total}


def test_two_schedulers_planning_at_once_insert_each_reminder_once(
    engine: Engine, db_url: str
) -> None:
    init(engine)
    engines = [make_engine(db_url), make_engine(db_url)]
    try:
        results: list[list[outbox.SyncReport]] = []
        errors = run_together([partial(_plan_into, results, e) for e in engines])
        assert errors == []
        added = sum(r.added for rs in results for r in rs)
        assert added == len(rows(engine)) > 100
        keys = [r.key for r in rows(engine)]
        assert len(keys) == len(set(keys))
    finally:
        for e in engines:
            e.dispose()


def _plan_into(results: list[list[outbox.SyncReport]], engine: Engine) -> None:
    results.append(plan(engine, JUNE_16))


def test_a_row_carries_the_planned_reminder(engine: Engine) -> None:
    cycle_id = init(engine)
    plan(engine, JUNE_16)
    ob_id = obligation_id(engine, "muong-cha", "half_year_report")
    key = f"{ob_id}:lead:14:2022-06-30:{FOCAL['muong-cha']}"
    [row] = rows(engine, key=key)
    assert row.cycle_id == cycle_id and row.obligation_id == ob_id
    assert (row.kind, row.offset, row.due) == ("lead", 14, date(2022, 6, 30))
    assert (row.recipient_role, row.member_id) == ("focal", "muong-cha")
    assert row.send_at == at(2022, 6, 16, 8)  # the office hour, in UTC on the way back
    assert (row.state, row.attempts, row.catch_up, row.last_error) == ("planned", 0, False, "")
    assert row.created_at == row.updated_at == JUNE_16


def test_moving_the_conference_moves_the_draft_report_reminders(engine: Engine) -> None:
    init(engine)
    dec = at(2022, 12, 1)
    schedule(engine, "summary_conference", date(2023, 3, 10), dec)
    plan(engine, dec)
    draft = obligation_id(engine, CFG.cycle.leader, "draft_report")
    old = [r for r in rows(engine, obligation_id=draft)]
    # At least 5 days before (note under Điều 7.9): Sunday 5/3 moves back to Friday 3/3.
    assert old and {r.due for r in old} == {date(2023, 3, 3)}

    schedule(engine, "summary_conference", date(2023, 3, 20), dec)
    [report] = plan(engine, dec)
    assert report.cancelled >= len(old) and report.added >= len(old)

    after = rows(engine, obligation_id=draft)
    cancelled = [r for r in after if r.state == "cancelled"]
    planned = [r for r in after if r.state == "planned"]
    assert {r.key for r in cancelled} == {r.key for r in old}
    assert {r.last_error for r in cancelled} == {outbox.UNPLANNED}
    assert planned and {r.due for r in planned} == {date(2023, 3, 15)}


def test_a_completed_obligation_stops_its_reminders_but_keeps_history(engine: Engine) -> None:
    init(engine)
    plan(engine, JUNE_16)
    ob_id = obligation_id(engine, "muong-cha", "half_year_report")
    claimed = outbox.claim_due(engine, now=JUNE_16, worker="A", lease=LEASE, limit=100)
    sent = ids_of(r for r in claimed if r.obligation_id == ob_id)
    assert len(sent) == 1
    assert outbox.mark_sent(
        engine, sent, worker="A", now=JUNE_16, message_id="<x@example.vn>", letter_key="k"
    )
    outbox.release(engine, "A")

    act(engine, "muong-cha", "half_year_report", Action.COMPLETE, at(2022, 6, 20))
    plan(engine, at(2022, 6, 20))

    mine = rows(engine, obligation_id=ob_id)
    assert [r.state for r in mine if r.id == sent[0]] == ["sent"]
    rest = [r for r in mine if r.id != sent[0]]
    assert rest and {r.state for r in rest} == {"cancelled"}
    # Another member's report is still owed and still planned.
    other = obligation_id(engine, "nam-po", "half_year_report")
    assert {r.state for r in rows(engine, obligation_id=other)} >= {"planned"}


def test_a_returned_report_is_reminded_again(engine: Engine) -> None:
    init(engine)
    plan(engine, JUNE_16)
    ob_id = obligation_id(engine, "nam-po", "half_year_report")
    act(engine, "nam-po", "half_year_report", Action.SUBMIT, at(2022, 6, 20))
    plan(engine, at(2022, 6, 20))
    assert {r.state for r in rows(engine, obligation_id=ob_id)} == {"cancelled"}

    act(engine, "nam-po", "half_year_report", Action.RETURN, at(2022, 6, 21))
    [report] = plan(engine, at(2022, 6, 21))
    assert report.revived == len(rows(engine, obligation_id=ob_id))
    assert {r.state for r in rows(engine, obligation_id=ob_id)} == {"planned"}


def test_sync_never_touches_sending_sent_or_failed_rows(engine: Engine) -> None:
    cycle_id = init(engine)
    plan(engine, JUNE_16)
    claimed = outbox.claim_due(engine, now=JUNE_16, worker="A", lease=LEASE, limit=3)
    a, b, c = (r.id for r in claimed)
    assert a is not None and b is not None and c is not None
    outbox.mark_sent(engine, [a], worker="A", now=JUNE_16, message_id="<a@x>", letter_key="a")
    outbox.mark_failed(engine, [b], worker="A", now=JUNE_16, error="550 no such user")
    with session_scope(engine) as s:
        report = outbox.sync_plan(s, cycle_id, [], JUNE_16)  # the plan wants nothing
    assert report.cancelled == by_state(engine)["cancelled"] > 0
    assert {r.id: r.state for r in rows(engine) if r.id in (a, b, c)} == {
        a: "sent",
        b: "failed",
        c: "sending",
    }


# -- claiming ---------------------------------------------------------------------------


def test_claim_takes_due_rows_only(engine: Engine) -> None:
    init(engine)
    plan(engine, JUNE_16)
    early = outbox.claim_due(engine, now=at(2022, 6, 16, 7, 59), worker="A", lease=LEASE, limit=50)
    assert early == []
    claimed = outbox.claim_due(engine, now=JUNE_16, worker="A", lease=LEASE, limit=50)
    # The five lead-14 reminders of the half-year report and the leader's digest; and,
    # as no catch-up ran, the leader's weekly requests to date the pact signing (from
    # 10/3) and its half-year report to the province (from 1/6), all to its office.
    assert sorted(r.kind for r in claimed) == ["lead"] * 5 + ["leader_digest"] + ["set_date"] * 7
    assert {r.recipient_role for r in claimed if r.kind == "set_date"} == {"leader"}
    for r in claimed:
        assert (r.state, r.claimed_by, r.lease_until) == ("sending", "A", JUNE_16 + LEASE)
    assert outbox.claim_due(engine, now=JUNE_16, worker="B", lease=LEASE, limit=50) == []


def test_nothing_is_claimed_outside_office_hours(engine: Engine) -> None:
    init(engine)
    plan(engine, JUNE_16)
    # Due rows exist, but not on a Sunday, nor after 17:00, nor before the office hour.
    for closed in (at(2022, 6, 19, 10), at(2022, 6, 16, 17), at(2022, 6, 17, 7, 59)):
        assert outbox.claim_due(engine, now=closed, worker="A", lease=LEASE, limit=50) == []
        with session_scope(engine) as s:
            assert outbox.due_rows(s, closed, limit=50) == []
    assert outbox.claim_due(engine, now=at(2022, 6, 16, 16, 59), worker="A", lease=LEASE, limit=50)


def test_claim_respects_the_limit_and_the_order(engine: Engine) -> None:
    init(engine)
    plan(engine, JUNE_16)
    first = outbox.claim_due(engine, now=JUNE_16, worker="A", lease=LEASE, limit=2)
    second = outbox.claim_due(engine, now=JUNE_16, worker="A", lease=LEASE, limit=50)
    assert len(first) == 2 and len(second) == 11
    ids = ids_of(first + second)
    assert ids == sorted(ids)


def test_concurrent_workers_never_claim_the_same_row(engine: Engine, db_url: str) -> None:
    init(engine)
    plan(engine, at(2022, 8, 1))  # a month after the deadline: dozens of rows are due
    due = {r.id for r in rows(engine) if r.send_at <= at(2022, 8, 1)}
    assert len(due) > 30
    engines = {name: make_engine(db_url) for name in ("A", "B", "C")}
    got: dict[str, list[int]] = {name: [] for name in engines}

    def worker(name: str) -> None:
        while True:
            batch = outbox.claim_due(
                engines[name], now=at(2022, 8, 1), worker=name, lease=LEASE, limit=3
            )
            if not batch:
                return
            got[name] += [r.id for r in batch if r.id is not None]

    try:
        errors = run_together([partial(worker, n) for n in engines])
    finally:
        for e in engines.values():
            e.dispose()
    assert errors == []
    everything = [i for ids in got.values() for i in ids]
    assert len(everything) == len(set(everything)), "a row was claimed twice"
    assert set(everything) == due
    owner = {r.id: r.claimed_by for r in rows(engine, state="sending")}
    for name, ids in got.items():
        assert all(owner[i] == name for i in ids)


def test_an_expired_lease_is_taken_over_and_the_old_claim_is_void(engine: Engine) -> None:
    init(engine)
    plan(engine, JUNE_16)
    a_rows = outbox.claim_due(engine, now=JUNE_16, worker="A", lease=LEASE, limit=50)
    ids = [r.id for r in a_rows if r.id is not None]
    outbox.assign_letters(engine, [("letter-1", ids)], worker="A", now=JUNE_16)

    # Still A's while the lease runs.
    assert outbox.claim_due(engine, now=JUNE_16 + LEASE, worker="B", lease=LEASE, limit=50) == []
    later = JUNE_16 + LEASE + timedelta(seconds=1)
    b_rows = outbox.claim_due(engine, now=later, worker="B", lease=LEASE, limit=50)
    assert sorted(ids_of(b_rows)) == sorted(ids)
    for r in b_rows:
        # The attempt A never finished counts; the letter (so the Message-ID) is kept.
        assert (r.claimed_by, r.attempts, r.letter_key) == ("B", 1, "letter-1")
        assert r.lease_until == later + LEASE

    # A wakes up and tries to record its send: refused, the rows are B's.
    assert (
        outbox.mark_sent(
            engine, ids, worker="A", now=later, message_id="<a@x>", letter_key="letter-1"
        )
        == 0
    )
    assert outbox.mark_retry(engine, ids, worker="A", now=later, error="late") == (0, 0)
    assert outbox.mark_failed(engine, ids, worker="A", now=later, error="late") == 0
    assert outbox.release(engine, "A") == 0
    assert {r.state for r in rows(engine) if r.id in ids} == {"sending"}

    assert outbox.mark_sent(
        engine, ids, worker="B", now=later, message_id="<b@x>", letter_key="letter-1"
    ) == len(ids)
    done = [r for r in rows(engine) if r.id in ids]
    assert {(r.state, r.claimed_by, r.message_id, r.sent_at) for r in done} == {
        ("sent", "B", "<b@x>", later)
    }
    assert {r.attempts for r in done} == {2}


def test_a_letter_is_claimed_whole(engine: Engine) -> None:
    init(engine)
    plan(engine, JUNE_16)
    claimed = outbox.claim_due(engine, now=JUNE_16, worker="A", lease=LEASE, limit=50)
    ids = [r.id for r in claimed if r.id is not None]
    outbox.mark_retry(
        engine, ids, worker="A", now=JUNE_16, error="451 try later", next_attempt_at=JUNE_16
    )
    with session_scope(engine) as s:
        s.exec(update(OutboxRow).where(col(OutboxRow.id).in_(ids)).values(letter_key="L"))
    # A limit of one still brings the letter's other rows along.
    again = outbox.claim_due(engine, now=JUNE_16, worker="B", lease=LEASE, limit=1)
    assert sorted(ids_of(again)) == sorted(ids)


# -- outcomes ---------------------------------------------------------------------------


def test_transient_failures_back_off_then_fail_after_the_cap(engine: Engine) -> None:
    init(engine)
    plan(engine, JUNE_16)
    now = JUNE_16
    [row] = outbox.claim_due(engine, now=now, worker="A", lease=LEASE, limit=1)
    assert row.id is not None
    assert outbox.mark_retry(engine, [row.id], worker="A", now=now, error="451 4.3.0 busy") == (
        1,
        0,
    )
    [back] = rows(engine, id=row.id)
    assert (back.state, back.attempts, back.claimed_by, back.lease_until) == (
        "planned",
        1,
        None,
        None,
    )
    assert back.next_attempt_at == now + timedelta(minutes=1)
    assert back.last_error == "451 4.3.0 busy"
    assert row.id not in claim_ids(engine, now + timedelta(seconds=59))
    assert claim_ids(engine, now + timedelta(minutes=1)) == [row.id]

    attempts = 1
    now += timedelta(minutes=1)
    while True:
        _, failed = outbox.mark_retry(engine, [row.id], worker="A", now=now, error="421")
        attempts += 1
        [back] = rows(engine, id=row.id)
        assert back.attempts == attempts
        if failed:
            break
        assert back.next_attempt_at == now + outbox.backoff(attempts)
        now = back.next_attempt_at
        if not OFFICE.is_open(now):
            # A retry that comes due in the evening waits for the next office morning.
            assert claim_ids(engine, now) == []
            now = OFFICE.next_open(now)
        assert claim_ids(engine, now) == [row.id]
    assert attempts == outbox.MAX_ATTEMPTS
    assert (back.state, back.last_error) == ("failed", "421")


def claim_ids(engine: Engine, now: datetime) -> list[int]:
    """Claim as worker A, keeping only the ids (filters out the digest and other rows)."""
    return [
        r.id
        for r in outbox.claim_due(engine, now=now, worker="A", lease=LEASE, limit=1)
        if r.id is not None
    ]


def test_backoff_doubles_from_a_minute_up_to_an_hour() -> None:
    waits = [outbox.backoff(n) for n in range(1, 10)]
    minutes = [int(w.total_seconds() // 60) for w in waits]
    assert minutes == [1, 2, 4, 8, 16, 32, 60, 60, 60]


def test_a_permanent_failure_keeps_the_reply_until_retried(engine: Engine) -> None:
    init(engine)
    plan(engine, JUNE_16)
    [row] = outbox.claim_due(engine, now=JUNE_16, worker="A", lease=LEASE, limit=1)
    assert row.id is not None
    reply = "550 5.1.1 <noivu.tuachua@example.vn>: Recipient address rejected"
    assert outbox.mark_failed(engine, [row.id], worker="A", now=JUNE_16, error=reply) == 1
    with session_scope(engine) as s:
        [failed] = outbox.list_rows(s, "failed")
    assert (failed.id, failed.last_error, failed.attempts) == (row.id, reply, 1)
    # A failed row is never claimed again on its own.
    assert row.id not in claim_ids(engine, JUNE_16 + timedelta(days=1))

    later = JUNE_16 + timedelta(days=2)
    retried = outbox.retry(engine, row.id, later)
    assert (retried.state, retried.attempts, retried.next_attempt_at) == ("planned", 0, None)
    assert retried.updated_at == later
    with pytest.raises(BadInputError, match="planned"):
        outbox.retry(engine, row.id, later)
    with pytest.raises(NotFoundError):
        outbox.retry(engine, 999_999, later)


def test_release_gives_claims_back_without_counting_an_attempt(engine: Engine) -> None:
    init(engine)
    plan(engine, JUNE_16)
    claimed = outbox.claim_due(engine, now=JUNE_16, worker="A", lease=LEASE, limit=50)
    ids = [r.id for r in claimed if r.id is not None]
    outbox.assign_letters(engine, [("L1", ids[:2]), ("L2", ids[2:])], worker="A", now=JUNE_16)
    assert outbox.release(engine, "A", row_ids=ids[:2], now=JUNE_16) == 2
    assert outbox.release(engine, "B") == 0  # not B's
    assert outbox.release(engine, "A") == len(ids) - 2
    back = [r for r in rows(engine) if r.id in ids]
    assert {(r.state, r.attempts, r.claimed_by, r.lease_until) for r in back} == {
        ("planned", 0, None, None)
    }
    # The letter stays: a send cut off at shutdown is resent with the same Message-ID.
    assert {r.letter_key for r in back} == {"L1", "L2"}
    assert sorted(claim_ids(engine, JUNE_16) + _rest(engine)) == sorted(ids)


def _rest(engine: Engine) -> list[int]:
    return [
        r.id
        for r in outbox.claim_due(engine, now=JUNE_16, worker="A", lease=LEASE, limit=50)
        if r.id is not None
    ]


def test_list_rows_filters_by_state(engine: Engine) -> None:
    init(engine)
    plan(engine, JUNE_16)
    total = len(rows(engine))
    with session_scope(engine) as s:
        assert len(outbox.list_rows(s)) == total
        assert len(outbox.list_rows(s, "planned", limit=3)) == 3
        assert outbox.list_rows(s, "sent") == []
        with pytest.raises(BadInputError, match="planned, sending, sent, failed, cancelled"):
            outbox.list_rows(s, "delivered")


# -- catch-up ---------------------------------------------------------------------------


def test_after_downtime_one_message_per_obligation_to_its_focal_officer(engine: Engine) -> None:
    init(engine)
    plan(engine, JUNE_16)  # the daemon planned, then was down for 45 days
    back = at(2022, 7, 31)  # a Sunday
    plan(engine, back)
    with session_scope(engine) as s:
        superseded = outbox.catch_up_missed(s, back)
    assert superseded > 0

    due = [r for r in rows(engine, state="planned") if r.catch_up]
    assert due, "something is still owed"
    # Not on the Sunday the daemon came back: on Monday at the office hour.
    assert {r.send_at for r in due} == {at(2022, 8, 1, 8)}
    assert not [r for r in rows(engine, state="planned") if r.send_at <= back]
    # One per obligation, to its owner only: a member's focal officer, or the leader's
    # office for the leader's tasks (dating its report to the province).
    obligations = [r.obligation_id for r in due]
    assert len(obligations) == len(set(obligations)), "one catch-up per obligation"
    assert {r.recipient_role for r in due} == {"focal", "leader"}
    assert {r.kind for r in due if r.recipient_role == "leader"} == {"set_date"}
    # The survivor is the newest missed reminder to the focal officer, flagged as a catch-up.
    ob_id = obligation_id(engine, "muong-cha", "half_year_report")
    [focal] = [r for r in due if r.obligation_id == ob_id]
    assert focal.recipient_email == FOCAL["muong-cha"] and focal.kind == "overdue"
    # Every other missed reminder of the obligation is superseded: the escalations to the
    # member's head and the leader too (a month late, they would only have said what the
    # catch-up says). The provincial board is never reminded.
    older = rows(engine, obligation_id=ob_id, state="cancelled")
    assert {r.recipient_role for r in older} == {"focal", "head", "leader"}
    assert {r.last_error for r in older} == {outbox.SUPERSEDED}
    assert all(r.send_at < focal.send_at for r in older)

    # Idempotent, and the next sync does not bring the superseded rows back.
    with session_scope(engine) as s:
        assert outbox.catch_up_missed(s, back) == 0
    [report] = plan(engine, back)
    assert (report.added, report.cancelled, report.revived) == (0, 0, 0)


def test_escalations_due_today_or_being_retried_are_not_superseded(engine: Engine) -> None:
    init(engine)
    plan(engine, JUNE_16)
    # Thursday 7/7/2022, 5 working days after the half-year deadline (30/6): the leader's
    # escalation is due this morning; the head's (3 working days, 5/7) was missed.
    back = at(2022, 7, 7, 9)
    plan(engine, back)
    ob_id = obligation_id(engine, "muong-cha", "half_year_report")
    trying = next(r for r in rows(engine, obligation_id=ob_id, kind="escalation") if r.offset == 3)
    assert trying.recipient_role == "head" and trying.send_at < at(2022, 7, 7, 0)
    with session_scope(engine) as s:
        # The mail server refused it for now at 08:00 on 5/7: it is being retried.
        s.exec(update(OutboxRow).where(col(OutboxRow.id) == trying.id).values(attempts=1))
        assert outbox.catch_up_missed(s, back) > 0
    planned = [r for r in rows(engine, obligation_id=ob_id, state="planned") if r.send_at <= back]
    assert {(r.kind, r.recipient_role, r.offset) for r in planned} == {
        ("overdue", "focal", 5),  # today's nag: on time, not a catch-up
        ("escalation", "leader", 5),  # due this morning: on time
        ("escalation", "head", 3),  # tried already: delivery goes on
    }
    assert not any(r.catch_up for r in planned)


def test_a_reminder_due_earlier_today_is_on_time_not_a_catch_up(engine: Engine) -> None:
    init(engine)
    late_morning = at(2022, 6, 16, 11)
    plan(engine, late_morning)
    with session_scope(engine) as s:
        outbox.catch_up_missed(s, late_morning)
    due = [
        r
        for r in rows(engine, state="planned")
        if at(2022, 6, 16, 0) <= r.send_at <= late_morning and r.kind != "set_date"
    ]
    assert due and not any(r.catch_up for r in due)
    # Only the leader's requests to date earlier events were missed (install mid-year).
    cancelled = rows(engine, state="cancelled")
    assert cancelled and {r.kind for r in cancelled} == {"set_date"}


# -- pause ------------------------------------------------------------------------------


def test_pause_is_recorded_shown_and_cleared(engine: Engine) -> None:
    with session_scope(engine) as s:
        assert outbox.current_pause(s) is None
        outbox.set_pause(s, now=JUNE_16, reason_vi="Tạm dừng: sai mật khẩu", reason_en="Paused")
    with session_scope(engine) as s:
        assert outbox.current_pause(s) == "Tạm dừng: sai mật khẩu"
        assert outbox.current_pause(s, "en") == "Paused"
        later = JUNE_16 + timedelta(minutes=20)
        outbox.set_pause(s, now=later, reason_vi="Tạm dừng lần 2", reason_en="Again")
    with session_scope(engine) as s:
        info = outbox.pause_info(s)
        assert info is not None
        assert (info.since, info.retry_at) == (JUNE_16, later + outbox.PAUSE_RETRY)
        assert outbox.clear_pause(s) is True
    with session_scope(engine) as s:
        assert outbox.current_pause(s) is None
        assert outbox.clear_pause(s) is False


def test_naive_times_are_refused(engine: Engine) -> None:
    with pytest.raises(ValueError, match="aware"):
        outbox.claim_due(engine, now=datetime(2022, 6, 16), worker="A", lease=LEASE, limit=1)


# -- threads ----------------------------------------------------------------------------


def test_no_catch_up_for_a_past_event_or_a_date_window_that_has_closed(engine: Engine) -> None:
    # Installed on 16/06/2022: the leader was to be asked from March to date the pact
    # signing (Quarter I, Điều 6), whose window closed on 31/03. Months late, that request
    # would only mislead: it is superseded, not caught up. The request to date the report
    # to the province (window until 31/07) is still useful: it goes out once.
    init(engine)
    plan(engine, JUNE_16)
    with session_scope(engine) as s:
        outbox.catch_up_missed(s, JUNE_16)
    asks = rows(engine, kind="set_date")
    pact = [r for r in asks if r.due == date(2022, 3, 31)]
    assert pact and {r.state for r in pact} == {"cancelled"}
    assert {r.last_error for r in pact} == {outbox.SUPERSEDED}
    caught = [r for r in asks if r.catch_up]
    assert len(caught) == 1 and caught[0].due == date(2022, 7, 31)
    assert caught[0].recipient_role == "leader"
