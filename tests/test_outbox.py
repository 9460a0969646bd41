"""The delivery core's contract (issue 3 §3, issue 7 §1), on a SQLite file and on
PostgreSQL (the `engine` fixture): planning is idempotent, a moved or settled obligation
cancels its pending items, the letter is the unit of delivery (claimed, retried, capped
and released whole), claims never overlap, a dead sender's claim is taken over after its
lease, and only the current holder of a claim may record its outcome.

Vocabulary: an *item* is an `outbox` row (one reminder to one recipient, `OutboxRow`); a
*letter* is a `letter` row (one e-mail, `LetterRow`) carrying one or more items."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from jobs.tick import TickReport, plan_in
from tests.test_store import run_together
from tracker.calendar.office_hours import Office
from tracker.calendar.types import TZ
from tracker.calendar.workdays import WorkCalendar
from tracker.config import load_config
from tracker.config.schema import ClusterConfig
from tracker.db.engine import make_engine, session_scope
from tracker.db.models import LetterRow, Obligation, OutboxRow
from tracker.delivery import bundle, catch_up, claim, outcome, pause, plan_sync, queries
from tracker.delivery.claim import Claim
from tracker.delivery.plan_sync import SyncReport
from tracker.delivery.states import (
    EMPTY,
    MAX_ATTEMPTS,
    PAUSE_RETRY,
    STATES,
    SUPERSEDED,
    UNPLANNED,
    backoff,
)
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


# -- helpers other delivery test modules share ------------------------------------------


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


def plan(engine: Engine, now: datetime) -> TickReport:
    """What a tick does before sending (`jobs.tick.plan_in`): re-plan the cycles whose
    inputs changed, collapse missed items into one catch-up, bundle items into letters."""
    with session_scope(engine) as s:
        return plan_in(s, now)


def sync(engine: Engine, now: datetime, *, force: bool = False) -> list[SyncReport]:
    """Only the first step of `plan`: items brought in line with the planner
    (`plan_sync.plan_all`), no catch-up, no bundling; its per-cycle reports."""
    with session_scope(engine) as s:
        return plan_sync.plan_all(s, now, force=force)


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
    """Items (`outbox` rows) in send order, filtered by column values."""
    with session_scope(engine) as s:
        q = select(OutboxRow).order_by(col(OutboxRow.send_at), col(OutboxRow.id))
        for name, value in where.items():
            q = q.where(getattr(OutboxRow, name) == value)
        return list(s.exec(q).all())


def letters(engine: Engine, **where: Any) -> list[LetterRow]:
    """Letters (`letter` rows) in send order, filtered by column values."""
    with session_scope(engine) as s:
        q = select(LetterRow).order_by(col(LetterRow.send_at), col(LetterRow.id))
        for name, value in where.items():
            q = q.where(getattr(LetterRow, name) == value)
        return list(s.exec(q).all())


def ids_of(claimed: Iterable[OutboxRow | LetterRow | Claim]) -> list[int]:
    """The ids of items, letters, or the letters of claims."""
    out: list[int] = []
    for r in claimed:
        row = r.letter if isinstance(r, Claim) else r
        assert row.id is not None
        out.append(row.id)
    return out


def by_state(engine: Engine) -> dict[str, int]:
    """How many LETTERS (e-mails) are in each state (`queries.state_counts`)."""
    with session_scope(engine) as s:
        return queries.state_counts(s)


def item_states(engine: Engine) -> dict[str, int]:
    """How many ITEMS are in each state (every state present, 0 when none)."""
    counts = dict.fromkeys(STATES, 0)
    for r in rows(engine):
        counts[r.state] += 1
    return counts


def claim_due(engine: Engine, now: datetime, *, worker: str = "A", limit: int = 50) -> list[Claim]:
    return claim.claim_letters(engine, now=now, worker=worker, lease=LEASE, limit=limit)


def claim_ids(engine: Engine, now: datetime, *, limit: int = 1) -> list[int]:
    """Claim as worker A; the claimed letters' ids."""
    return ids_of(claim_due(engine, now, limit=limit))


def letter_of(engine: Engine, item_id: int) -> LetterRow:
    [item] = rows(engine, id=item_id)
    assert item.letter_id is not None, f"item {item_id} is in no letter"
    [row] = letters(engine, id=item.letter_id)
    return row


def sent(engine: Engine, c: Claim, *, worker: str, now: datetime, mid: str) -> bool:
    """Record `c` as sent by `worker`, carrying all its items."""
    assert c.letter.id is not None
    return outcome.mark_sent(
        engine,
        c.letter.id,
        worker=worker,
        now=now,
        message_id=mid,
        subject="s",
        carried=outcome.item_ids(c.items),
    )


# -- planning ---------------------------------------------------------------------------


def test_planning_twice_adds_nothing_the_second_time(engine: Engine) -> None:
    cycle_id = init(engine)
    [first] = sync(engine, JUNE_16)
    assert first.cycle_id == cycle_id and first.error == "" and first.replanned
    # 60 days ahead (plan_sync.HORIZON_DAYS) plus what is already due.
    assert first.added > 50 and first.cancelled == 0 and first.kept == 0
    total = len(rows(engine))
    assert total == first.added
    report = plan(engine, JUNE_16)  # catch-up and bundling; nothing re-planned
    assert (report.replanned, report.planned_added) == (0, 0)
    made = len(letters(engine))
    assert made > 0

    # Nothing changed: the cycle is not even re-planned.
    [second] = sync(engine, JUNE_16)
    assert (second.replanned, second.added, second.cancelled, second.kept) == (False, 0, 0, 0)
    # Re-planned anyway (`force`), it adds nothing, cancels nothing, brings nothing back.
    [forced] = sync(engine, JUNE_16, force=True)
    assert (forced.added, forced.cancelled, forced.revived, forced.kept) == (0, 0, 0, total)
    again = plan(engine, JUNE_16)
    assert (again.planned_added, again.cancelled, again.superseded) == (0, 0, 0)
    assert len(rows(engine)) == total and len(letters(engine)) == made
    assert by_state(engine) == {**dict.fromkeys(STATES, 0), "planned": made}
    # Every item still planned is in a planned letter.
    planned = rows(engine, state="planned")
    assert planned and all(r.letter_id is not None for r in planned)
    assert {letter_of(engine, r.id or 0).state for r in planned} == {"planned"}


def test_two_schedulers_planning_at_once_insert_each_item_once(engine: Engine, db_url: str) -> None:
    init(engine)
    engines = [make_engine(db_url), make_engine(db_url)]
    try:
        results: list[TickReport] = []
        errors = run_together([partial(_plan_into, results, e) for e in engines])
        assert errors == []
        added = sum(r.planned_added for r in results)
        assert added == len(rows(engine)) > 50
        keys = [r.key for r in rows(engine)]
        assert len(keys) == len(set(keys))
    finally:
        for e in engines:
            e.dispose()
    # Bundled once too: every planned item in exactly one letter, one open letter per bundle.
    planned = rows(engine, state="planned")
    assert all(r.letter_id is not None for r in planned)
    open_ = letters(engine, state="planned")
    bundles = [x.bundle for x in open_]
    assert len(bundles) == len(set(bundles))
    assert {r.letter_id for r in planned} == {x.id for x in open_}


def _plan_into(results: list[TickReport], engine: Engine) -> None:
    results.append(plan(engine, JUNE_16))


def test_an_item_carries_the_planned_reminder_and_points_at_its_letter(engine: Engine) -> None:
    cycle_id = init(engine)
    plan(engine, JUNE_16)
    ob_id = obligation_id(engine, "muong-cha", "half_year_report")
    key = f"{ob_id}:lead:14:2022-06-30:{FOCAL['muong-cha']}"
    [row] = rows(engine, key=key)
    assert row.cycle_id == cycle_id and row.obligation_id == ob_id
    assert (row.kind, row.offset, row.due) == ("lead", 14, date(2022, 6, 30))
    assert (row.recipient_role, row.member_id, row.hat) == ("focal", "muong-cha", "member")
    assert row.send_at == at(2022, 6, 16, 8)  # the office hour, in UTC on the way back
    assert (row.state, row.attempts, row.catch_up, row.last_error) == ("planned", 0, False, "")
    assert row.created_at == row.updated_at == JUNE_16
    # Its letter: the member hat's daily letter to that address, `<bundle>#1`.
    mail = letter_of(engine, row.id or 0)
    bundle_name = f"day:{cycle_id}:2022-06-16:{FOCAL['muong-cha'].lower()}:member"
    assert (mail.bundle, mail.key, row.letter_key) == (bundle_name, f"{bundle_name}#1", mail.key)
    assert (mail.state, mail.send_at, mail.attempts, mail.hat) == (
        "planned",
        row.send_at,
        0,
        "member",
    )
    assert mail.recipient_email.lower() == FOCAL["muong-cha"].lower()
    # The leader's tasks go in the leader hat's letter to its office, not in this one.
    leader = [r for r in rows(engine, letter_id=mail.id)]
    assert {r.hat for r in leader} == {"member"}
    leader_items = rows(engine, kind="leader_digest")
    assert leader_items and {r.hat for r in leader_items} == {"leader"}


def test_moving_the_conference_moves_the_draft_report_reminders(engine: Engine) -> None:
    init(engine)
    dec = at(2022, 12, 1)
    schedule(engine, "summary_conference", date(2023, 3, 10), dec)
    feb = at(2023, 2, 1)  # the draft's reminders are inside the planning horizon
    plan(engine, feb)
    draft = obligation_id(engine, CFG.cycle.leader, "draft_report")
    old = rows(engine, obligation_id=draft, state="planned")
    # At least 5 days before (note under Điều 7.9): Sunday 5/3 moves back to Friday 3/3.
    assert old and {r.due for r in old} == {date(2023, 3, 3)}
    old_letters = {r.letter_id for r in old}
    assert None not in old_letters

    schedule(engine, "summary_conference", date(2023, 3, 20), feb)
    [report] = sync(engine, feb)
    assert report.cancelled >= len(old) and report.added >= len(old)
    plan(engine, feb)

    after = rows(engine, obligation_id=draft)
    cancelled = [r for r in after if r.state == "cancelled"]
    planned = [r for r in after if r.state == "planned"]
    assert {r.key for r in cancelled} == {r.key for r in old}
    assert {r.last_error for r in cancelled} == {UNPLANNED}
    assert planned and {r.due for r in planned} == {date(2023, 3, 15)}
    # The new items are in letters of their own days; a letter left with none of its
    # items is cancelled, never sent stale.
    for r in planned:
        mail = letter_of(engine, r.id or 0)
        assert mail.state == "planned" and mail.send_at <= r.send_at
    for lid in old_letters:
        [mail] = letters(engine, id=lid)
        if not rows(engine, letter_id=lid, state="planned"):
            assert (mail.state, mail.last_error) == ("cancelled", EMPTY)


def test_a_completed_obligation_stops_its_reminders_but_keeps_history(engine: Engine) -> None:
    init(engine)
    plan(engine, JUNE_16)
    ob_id = obligation_id(engine, "muong-cha", "half_year_report")
    claimed = claim_due(engine, JUNE_16)
    [mine] = [c for c in claimed if any(i.obligation_id == ob_id for i in c.items)]
    assert sent(engine, mine, worker="A", now=JUNE_16, mid="<x@example.vn>")
    claim.release(engine, "A")
    sent_items = ids_of(mine.items)
    assert len(sent_items) == 1

    act(engine, "muong-cha", "half_year_report", Action.COMPLETE, at(2022, 6, 20))
    plan(engine, at(2022, 6, 20))

    items = rows(engine, obligation_id=ob_id)
    assert [(r.state, r.message_id) for r in items if r.id in sent_items] == [
        ("sent", "<x@example.vn>")
    ]
    rest = [r for r in items if r.id not in sent_items]
    assert rest and {r.state for r in rest} == {"cancelled"}
    [history] = letters(engine, id=mine.letter.id)
    assert (history.state, history.message_id, history.items) == ("sent", "<x@example.vn>", 1)
    # Its letters that held nothing else are cancelled, not sent stale.
    for lid in {r.letter_id for r in rest} - {None, mine.letter.id}:
        [mail] = letters(engine, id=lid)
        if not rows(engine, letter_id=lid, state="planned"):
            assert mail.state == "cancelled"
    assert not [r for r in rows(engine, state="planned") if r.obligation_id == ob_id]
    # Another member's report is still owed and still planned, in a planned letter.
    other = obligation_id(engine, "nam-po", "half_year_report")
    owed = rows(engine, obligation_id=other, state="planned")
    assert owed and {letter_of(engine, r.id or 0).state for r in owed} == {"planned"}


def test_a_returned_report_is_reminded_again(engine: Engine) -> None:
    init(engine)
    plan(engine, JUNE_16)
    ob_id = obligation_id(engine, "nam-po", "half_year_report")
    act(engine, "nam-po", "half_year_report", Action.SUBMIT, at(2022, 6, 20))
    plan(engine, at(2022, 6, 20))
    assert {r.state for r in rows(engine, obligation_id=ob_id)} == {"cancelled"}

    act(engine, "nam-po", "half_year_report", Action.RETURN, at(2022, 6, 21))
    [report] = sync(engine, at(2022, 6, 21))
    assert report.revived == len(rows(engine, obligation_id=ob_id))
    plan(engine, at(2022, 6, 21))
    owed = rows(engine, obligation_id=ob_id)
    assert {r.state for r in owed} == {"planned"}
    # Back in letters that will go out, not in the letters cancelled when it was submitted.
    assert {letter_of(engine, r.id or 0).state for r in owed} == {"planned"}


def test_sync_never_touches_sending_sent_or_failed_items(engine: Engine) -> None:
    cycle_id = init(engine)
    plan(engine, JUNE_16)
    a, b, c = claim_due(engine, JUNE_16, limit=3)
    assert sent(engine, a, worker="A", now=JUNE_16, mid="<a@x>")
    assert b.letter.id is not None
    assert outcome.mark_failed(
        engine, b.letter.id, worker="A", now=JUNE_16, error="550 no such user"
    )
    held = {i.id: s for s, x in (("sent", a), ("failed", b), ("sending", c)) for i in x.items}
    before = item_states(engine)["cancelled"]  # superseded by the catch-up
    with session_scope(engine) as s:
        report = plan_sync.sync_plan(s, cycle_id, [], JUNE_16)  # the plan wants nothing
        bundle.cancel_empty(s, JUNE_16)
    assert report.cancelled == item_states(engine)["cancelled"] - before > 0
    assert item_states(engine)["planned"] == 0
    assert {r.id: r.state for r in rows(engine) if r.id in held} == held
    assert [x.state for x in letters(engine) if x.id in ids_of([a, b, c])] == [
        "sent",
        "failed",
        "sending",
    ]
    # Every other letter had only planned items: all cancelled, nothing left to send.
    assert by_state(engine) == {
        **dict.fromkeys(STATES, 0),
        "sent": 1,
        "failed": 1,
        "sending": 1,
        "cancelled": len(letters(engine)) - 3,
    }


# -- claiming ---------------------------------------------------------------------------


def test_claim_takes_due_letters_only(engine: Engine) -> None:
    init(engine)
    plan(engine, JUNE_16)
    assert claim_due(engine, at(2022, 6, 16, 7, 59)) == []
    claimed = claim_due(engine, JUNE_16)
    # One letter per recipient and hat for the day: the five lead-14 reminders of the
    # half-year report (one member letter each), and the leader hat's letter to the
    # leader's office with its digest and the one request to date an event that the
    # catch-up kept (its half-year report to the province, window until 31/7).
    kinds = sorted(tuple(sorted(i.kind for i in c.items)) for c in claimed)
    assert kinds == [("lead",)] * 5 + [("leader_digest", "set_date")]
    assert {c.letter.hat for c in claimed} == {"member", "leader"}
    for c in claimed:
        assert (c.letter.state, c.letter.claimed_by, c.letter.lease_until) == (
            "sending",
            "A",
            JUNE_16 + LEASE,
        )
        assert c.items and {i.state for i in c.items} == {"sending"}
    # The items moved with their letters; nothing else is sending.
    assert item_states(engine)["sending"] == sum(len(c.items) for c in claimed)
    assert claim_due(engine, JUNE_16, worker="B") == []


def test_nothing_is_claimed_outside_office_hours(engine: Engine) -> None:
    init(engine)
    plan(engine, JUNE_16)
    # Due letters exist, but not on a Sunday, nor after 17:00, nor before the office hour.
    for closed in (at(2022, 6, 19, 10), at(2022, 6, 16, 17), at(2022, 6, 17, 7, 59)):
        assert claim_due(engine, closed) == []
        with session_scope(engine) as s:
            assert queries.due_letters(s, closed) == []
    with session_scope(engine) as s:
        assert len(queries.due_letters(s, at(2022, 6, 16, 16, 59))) == 6
    assert claim_due(engine, at(2022, 6, 16, 16, 59))


def test_claim_respects_the_limit_and_the_order(engine: Engine) -> None:
    init(engine)
    plan(engine, JUNE_16)
    first = claim_due(engine, JUNE_16, limit=2)
    second = claim_due(engine, JUNE_16, limit=50)
    assert len(first) == 2 and len(second) == 4
    got = [c.letter for c in first + second]
    assert [(x.send_at, x.id) for x in got] == sorted((x.send_at, x.id) for x in got)


def test_concurrent_workers_never_claim_the_same_letter(engine: Engine, db_url: str) -> None:
    init(engine)
    # Planned on 16/6 (60 days ahead), then only claimed on 1/8: six weeks of letters are
    # due at once, dozens of them.
    plan(engine, JUNE_16)
    aug = at(2022, 8, 1)
    with session_scope(engine) as s:
        due = {x.id for x in queries.due_letters(s, aug)}
    assert len(due) > 30
    engines = {name: make_engine(db_url) for name in ("A", "B", "C")}
    got: dict[str, list[int]] = {name: [] for name in engines}
    items: dict[str, list[int]] = {name: [] for name in engines}

    def worker(name: str) -> None:
        while True:
            batch = claim.claim_letters(engines[name], now=aug, worker=name, lease=LEASE, limit=3)
            if not batch:
                return
            got[name] += ids_of(batch)
            items[name] += [i for c in batch for i in ids_of(c.items)]

    try:
        errors = run_together([partial(worker, n) for n in engines])
    finally:
        for e in engines.values():
            e.dispose()
    assert errors == []
    everything = [i for ids in got.values() for i in ids]
    assert len(everything) == len(set(everything)), "a letter was claimed twice"
    assert set(everything) == due
    carried = [i for ids in items.values() for i in ids]
    assert len(carried) == len(set(carried)), "an item went to two workers"
    owner = {x.id: x.claimed_by for x in letters(engine, state="sending")}
    item_owner = {r.id: owner[r.letter_id] for r in rows(engine, state="sending")}
    for name in engines:
        assert all(owner[i] == name for i in got[name])
        assert all(item_owner[i] == name for i in items[name])


def test_an_expired_lease_is_taken_over_and_the_old_claim_is_void(engine: Engine) -> None:
    init(engine)
    plan(engine, JUNE_16)
    a_claims = claim_due(engine, JUNE_16)
    ids = ids_of(a_claims)
    keys = {c.letter.id: c.letter.key for c in a_claims}

    # Still A's while the lease runs.
    assert claim_due(engine, JUNE_16 + LEASE, worker="B") == []
    later = JUNE_16 + LEASE + timedelta(seconds=1)
    b_claims = claim_due(engine, later, worker="B")
    assert sorted(ids_of(b_claims)) == sorted(ids)
    for c in b_claims:
        # The attempt A never finished counts; the key (so the Message-ID) is kept.
        assert (c.letter.claimed_by, c.letter.attempts, c.letter.key) == (
            "B",
            1,
            keys[c.letter.id],
        )
        assert c.letter.lease_until == later + LEASE
        assert c.items and {i.state for i in c.items} == {"sending"}

    # A wakes up and tries to record its sends: refused, the letters are B's.
    lid = ids[0]
    assert not outcome.mark_sent(
        engine, lid, worker="A", now=later, message_id="<a@x>", subject="s", carried=[]
    )
    assert outcome.mark_retry(engine, lid, worker="A", now=later, error="late") == "lost"
    assert not outcome.mark_failed(engine, lid, worker="A", now=later, error="late")
    assert not outcome.mark_cancelled(engine, lid, worker="A", now=later)
    assert claim.renew(engine, "A", now=later, lease=LEASE) == 0
    assert claim.release(engine, "A") == 0
    assert {x.state for x in letters(engine) if x.id in ids} == {"sending"}
    assert {x.claimed_by for x in letters(engine) if x.id in ids} == {"B"}

    for c in b_claims:
        assert sent(engine, c, worker="B", now=later, mid=f"<b{c.letter.id}@x>")
    done = [x for x in letters(engine) if x.id in ids]
    assert {(x.state, x.claimed_by, x.sent_at, x.attempts) for x in done} == {
        ("sent", "B", later, 2)
    }
    assert {x.message_id for x in done} == {f"<b{i}@x>" for i in ids}
    carried = [r for r in rows(engine) if r.letter_id in ids]
    assert carried and {r.state for r in carried} == {"sent"}
    assert all(r.message_id == f"<b{r.letter_id}@x>" for r in carried)


def test_a_letter_is_claimed_whole(engine: Engine) -> None:
    init(engine)
    plan(engine, JUNE_16)
    claimed = claim_due(engine, JUNE_16)
    [leader] = [c for c in claimed if len(c.items) > 1]
    lid = leader.letter.id
    assert lid is not None
    assert (
        outcome.mark_retry(
            engine, lid, worker="A", now=JUNE_16, error="451 try later", next_attempt_at=JUNE_16
        )
        == "retry"
    )
    claim.release(engine, "A")
    # Retried whole: every item is back with the letter, counting the attempt.
    back = rows(engine, letter_id=lid)
    assert {(r.state, r.attempts, r.last_error) for r in back} == {("planned", 1, "451 try later")}
    # The limit counts letters: claimed one at a time, each comes with all its items.
    seen: dict[int, list[int]] = {}
    while batch := claim_due(engine, JUNE_16, worker="B", limit=1):
        [one] = batch
        seen[one.letter.id or 0] = sorted(ids_of(one.items))
    assert seen[lid] == sorted(ids_of(leader.items)) and len(seen[lid]) == 2
    assert seen == {c.letter.id: sorted(ids_of(c.items)) for c in claimed}


# -- outcomes ---------------------------------------------------------------------------


def test_transient_failures_back_off_then_fail_after_the_cap(engine: Engine) -> None:
    init(engine)
    plan(engine, JUNE_16)
    now = JUNE_16
    [first] = claim_due(engine, now, limit=1)
    lid = first.letter.id
    assert lid is not None
    assert outcome.mark_retry(engine, lid, worker="A", now=now, error="451 4.3.0 busy") == "retry"
    [back] = letters(engine, id=lid)
    assert (back.state, back.attempts, back.claimed_by, back.lease_until) == (
        "planned",
        1,
        None,
        None,
    )
    assert back.next_attempt_at == now + timedelta(minutes=1)
    assert back.last_error == "451 4.3.0 busy"
    assert {(r.state, r.attempts) for r in rows(engine, letter_id=lid)} == {("planned", 1)}
    assert lid not in claim_ids(engine, now + timedelta(seconds=59))
    assert claim_ids(engine, now + timedelta(minutes=1)) == [lid]

    attempts = 1
    now += timedelta(minutes=1)
    while True:
        what = outcome.mark_retry(engine, lid, worker="A", now=now, error="421")
        attempts += 1
        [back] = letters(engine, id=lid)
        assert back.attempts == attempts
        if what == "failed":
            break
        assert what == "retry"
        assert back.next_attempt_at == now + backoff(attempts)
        now = back.next_attempt_at
        if not OFFICE.is_open(now):
            # A retry that comes due in the evening waits for the next office morning.
            assert claim_ids(engine, now) == []
            now = OFFICE.next_open(now)
        assert claim_ids(engine, now) == [lid]
    # The cap is the letter's: all its items fail with it, none is left to go alone.
    assert attempts == MAX_ATTEMPTS
    assert (back.state, back.last_error, back.next_attempt_at) == ("failed", "421", None)
    assert {(r.state, r.attempts) for r in rows(engine, letter_id=lid)} == {
        ("failed", MAX_ATTEMPTS)
    }


def test_backoff_doubles_from_a_minute_up_to_an_hour() -> None:
    waits = [backoff(n) for n in range(1, 10)]
    minutes = [int(w.total_seconds() // 60) for w in waits]
    assert minutes == [1, 2, 4, 8, 16, 32, 60, 60, 60]


def test_a_permanent_failure_keeps_the_reply_until_retried(engine: Engine) -> None:
    init(engine)
    plan(engine, JUNE_16)
    [c] = claim_due(engine, JUNE_16, limit=1)
    lid = c.letter.id
    assert lid is not None
    reply = "550 5.1.1 <noivu.tuachua@example.vn>: Recipient address rejected"
    assert outcome.mark_failed(engine, lid, worker="A", now=JUNE_16, error=reply)
    with session_scope(engine) as s:
        [failed] = queries.list_letters(s, state="failed")
        assert queries.failed_letters(s) == 1
        assert queries.delivery_problems(s)  # `tracker status` and the digest say so
    assert (failed.id, failed.last_error, failed.attempts) == (lid, reply, 1)
    assert {(r.state, r.last_error) for r in rows(engine, letter_id=lid)} == {("failed", reply)}
    # A failed letter is never claimed again on its own.
    assert lid not in claim_ids(engine, JUNE_16 + timedelta(days=1), limit=50)

    later = JUNE_16 + timedelta(days=2)
    retried = queries.retry(engine, lid, later)
    assert (retried.state, retried.attempts, retried.next_attempt_at) == ("planned", 0, None)
    assert retried.updated_at == later
    assert {r.state for r in rows(engine, letter_id=lid)} == {"planned"}
    with pytest.raises(BadInputError, match="planned"):
        queries.retry(engine, lid, later)
    with pytest.raises(NotFoundError):
        queries.retry(engine, 999_999, later)


def test_release_gives_claims_back_without_counting_an_attempt(engine: Engine) -> None:
    init(engine)
    plan(engine, JUNE_16)
    claimed = claim_due(engine, JUNE_16)
    ids = ids_of(claimed)
    keys = {c.letter.id: c.letter.key for c in claimed}
    assert claim.release(engine, "A", letter_ids=ids[:2], now=JUNE_16) == 2
    assert claim.release(engine, "A", letter_ids=[], now=JUNE_16) == 0
    assert claim.release(engine, "B") == 0  # not B's
    assert claim.release(engine, "A") == len(ids) - 2
    back = [x for x in letters(engine) if x.id in ids]
    assert {(x.state, x.attempts, x.claimed_by, x.lease_until) for x in back} == {
        ("planned", 0, None, None)
    }
    assert {r.state for r in rows(engine) if r.letter_id in ids} == {"planned"}
    # The key stays: a send cut off at shutdown is resent with the same Message-ID.
    assert {x.id: x.key for x in back} == keys
    assert sorted(claim_ids(engine, JUNE_16) + claim_ids(engine, JUNE_16, limit=50)) == sorted(ids)


def test_list_letters_newest_first_by_state(engine: Engine) -> None:
    init(engine)
    plan(engine, JUNE_16)
    live = [x for x in letters(engine) if x.state != "cancelled"]
    with session_scope(engine) as s:
        listed = queries.list_letters(s, limit=None)
        assert [x.id for x in listed] == [
            x.id for x in sorted(live, key=lambda x: (x.send_at, x.id or 0), reverse=True)
        ]
        assert len(queries.list_letters(s)) == min(50, len(live))
        assert len(queries.list_letters(s, state="planned", limit=3)) == 3
        assert queries.list_letters(s, state="sent") == []
        with pytest.raises(BadInputError, match="planned, sending, sent, failed, cancelled"):
            queries.list_letters(s, state="delivered")
        # Each line says what its letter holds.
        [leader] = [x for x in listed if x.items > 1 and x.send_at == at(2022, 6, 16, 8)]
        assert (leader.kinds, leader.hat) == ("leader_digest, set_date", "leader")
        held = queries.items_of(s, leader.id)
        assert {r.kind for r in held} == {"leader_digest", "set_date"}
        assert {r.letter_id for r in held} == {leader.id}
    with session_scope(engine) as s:
        assert queries.state_counts(s)["planned"] == len(live)


# -- catch-up ---------------------------------------------------------------------------


def test_after_downtime_one_message_per_obligation_to_its_focal_officer(engine: Engine) -> None:
    init(engine)
    plan(engine, JUNE_16)  # the daemon planned, then was down for 45 days
    back = at(2022, 7, 31)  # a Sunday
    report = plan(engine, back)
    assert report.superseded > 0

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
    assert {r.last_error for r in older} == {SUPERSEDED}
    assert all(r.send_at < focal.send_at for r in older)
    # The catch-ups go in Monday's letters, one per recipient and hat; the letters of
    # the days the daemon was down are left empty and cancelled.
    monday = {letter_of(engine, r.id or 0).id for r in due}
    for lid in monday:
        [mail] = letters(engine, id=lid)
        assert (mail.state, mail.send_at) == ("planned", at(2022, 8, 1, 8))
    stale = [x for x in letters(engine) if x.send_at < at(2022, 7, 31, 0)]
    assert stale and {(x.state, x.last_error) for x in stale} == {("cancelled", EMPTY)}

    # Idempotent, and the next plan does not bring the superseded items back.
    with session_scope(engine) as s:
        assert catch_up.catch_up_missed(s, back) == 0
    [resync] = sync(engine, back, force=True)
    assert (resync.added, resync.cancelled, resync.revived) == (0, 0, 0)
    again = plan(engine, back)
    assert (again.planned_added, again.cancelled, again.superseded) == (0, 0, 0)


def test_escalations_due_today_or_being_retried_are_not_superseded(engine: Engine) -> None:
    init(engine)
    plan(engine, JUNE_16)
    ob_id = obligation_id(engine, "muong-cha", "half_year_report")
    # Tuesday 5/7, 08:00, 3 working days after the half-year deadline (30/6): the mail
    # server refuses the escalation to the member's head for now; its letter is retried.
    jul_5 = at(2022, 7, 5, 8)
    plan(engine, jul_5)
    [trying] = [
        r
        for r in rows(engine, obligation_id=ob_id, kind="escalation")
        if r.offset == 3 and r.recipient_role == "head"
    ]
    [c] = [c for c in claim_due(engine, jul_5) if trying.id in ids_of(c.items)]
    assert c.letter.id is not None
    assert outcome.mark_retry(engine, c.letter.id, worker="A", now=jul_5, error="451") == "retry"
    claim.release(engine, "A")
    # Thursday 7/7/2022, 5 working days after: the leader's escalation is due this morning.
    back = at(2022, 7, 7, 9)
    report = plan(engine, back)
    assert report.superseded > 0
    planned = [r for r in rows(engine, obligation_id=ob_id, state="planned") if r.send_at <= back]
    assert {(r.kind, r.recipient_role, r.offset) for r in planned} == {
        ("overdue", "focal", 5),  # today's nag: on time, not a catch-up
        ("escalation", "leader", 5),  # due this morning: on time
        ("escalation", "head", 3),  # tried already: delivery goes on
    }
    assert not any(r.catch_up for r in planned)
    # The one being retried stays in its letter, which is still due.
    assert letter_of(engine, trying.id or 0).id == c.letter.id
    assert c.letter.id in claim_ids(engine, back, limit=50)


def test_a_reminder_due_earlier_today_is_on_time_not_a_catch_up(engine: Engine) -> None:
    init(engine)
    late_morning = at(2022, 6, 16, 11)
    plan(engine, late_morning)
    today = at(2022, 6, 16, 0)
    due = [
        r
        for r in rows(engine, state="planned")
        if today <= r.send_at <= late_morning and r.kind != "set_date"
    ]
    assert due and not any(r.catch_up for r in due)
    # Only the leader's requests to date earlier events were missed (install mid-year):
    # one catch-up, nothing older left to go out, nothing else cancelled.
    assert {(r.kind, r.due) for r in rows(engine) if r.catch_up} == {
        ("set_date", date(2022, 7, 31))
    }
    assert not [r for r in rows(engine, state="planned") if r.send_at < today]
    assert {r.kind for r in rows(engine, state="cancelled")} <= {"set_date"}


def test_no_catch_up_for_a_past_event_or_a_date_window_that_has_closed(engine: Engine) -> None:
    # Installed on 16/06/2022: the leader was to be asked from March to date the pact
    # signing (Quarter I, Điều 6), whose window closed on 31/03. Months late, that request
    # would only mislead: it is superseded, not caught up. The request to date the report
    # to the province (window until 31/07) is still useful: it goes out once.
    init(engine)
    with session_scope(engine) as s:
        wanted, _ = plan_sync.plan_for(context(s), JUNE_16)
    assert [r for r in wanted if r.kind == "set_date" and r.due == date(2022, 3, 31)]
    plan(engine, JUNE_16)
    asks = rows(engine, kind="set_date")
    # The planner asks for them, but none goes out: each is superseded, or (the day of a
    # first plan already over) never written at all.
    pact = [r for r in asks if r.due == date(2022, 3, 31)]
    assert {(r.state, r.last_error) for r in pact} <= {("cancelled", SUPERSEDED)}
    caught = [r for r in asks if r.catch_up]
    assert len(caught) == 1 and caught[0].due == date(2022, 7, 31)
    assert caught[0].recipient_role == "leader" and caught[0].state == "planned"
    assert letter_of(engine, caught[0].id or 0).hat == "leader"


# -- pause ------------------------------------------------------------------------------


def test_pause_is_recorded_shown_and_cleared(engine: Engine) -> None:
    with session_scope(engine) as s:
        assert pause.current_pause(s) is None
        pause.set_pause(s, now=JUNE_16, reason_vi="Tạm dừng: sai mật khẩu", reason_en="Paused")
    with session_scope(engine) as s:
        assert pause.current_pause(s) == "Tạm dừng: sai mật khẩu"
        assert pause.current_pause(s, "en") == "Paused"
        assert queries.delivery_problems(s)[0][0].startswith("Việc gửi thư nhắc đang TẠM DỪNG")
        later = JUNE_16 + timedelta(minutes=20)
        pause.set_pause(s, now=later, reason_vi="Tạm dừng lần 2", reason_en="Again")
    with session_scope(engine) as s:
        info = pause.pause_info(s)
        assert info is not None
        assert (info.since, info.retry_at) == (JUNE_16, later + PAUSE_RETRY)
        assert pause.clear_pause(s) is True
    with session_scope(engine) as s:
        assert pause.current_pause(s) is None
        assert pause.clear_pause(s) is False


def test_naive_times_are_refused(engine: Engine) -> None:
    naive = datetime(2022, 6, 16, 9)
    with pytest.raises(ValueError, match="aware"):
        claim.claim_letters(engine, now=naive, worker="A", lease=LEASE, limit=1)
    with pytest.raises(ValueError, match="aware"):
        claim.renew(engine, "A", now=naive, lease=LEASE)
    with pytest.raises(ValueError, match="aware"):
        outcome.mark_retry(engine, 1, worker="A", now=naive, error="x")
    with pytest.raises(ValueError, match="aware"):
        queries.retry(engine, 1, naive)
    with session_scope(engine) as s, pytest.raises(ValueError, match="aware"):
        plan_in(s, naive)
