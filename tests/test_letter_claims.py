"""Issue 7's findings about claims, as tests (§1 "The letter is the unit of delivery"), on
a SQLite file and on PostgreSQL, with real ticks, real threads and processes, and the
real SMTP server on loopback (tests/smtp_server.py) where sending is what is tested.

Each test fails on the old core (tracker/reminders/outbox.py before issue 7): letters
were only a `letter_key` shared by item rows whose sibling query skipped locked rows, the
lease budget was timed from the sender's creation and checked before waiting for an SMTP
connection, leases were never renewed, and the worker id was `hostname:pid`."""

# The SMTP fixtures come from tests/smtp_server.py; pytest finds them by the imported
# names, which the test parameters then shadow on purpose.
# ruff: noqa: F811

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import col, select

from jobs import tick as ticks
from jobs.runtime import worker_id
from jobs.sender import Sender, SendResult
from jobs.tick import TickReport
from tests.smtp_server import (  # noqa: F401
    RecordingHandler,
    SmtpServer,
    smtp_server,
    smtp_server_factory,
)
from tests.test_outbox import JUNE_16, LEASE, OFFICE, init, letters, plan, rows
from tracker.calendar.types import local_date
from tracker.db.engine import make_engine, session_scope
from tracker.db.models import CycleRow, LetterRow, OutboxRow
from tracker.delivery import claim, outcome, queries
from tracker.delivery.states import MAX_ATTEMPTS
from tracker.letters.build import build_letters
from tracker.letters.render import message_id
from tracker.service.cycles import CycleContext, load_context
from tracker.transport import MemoryTransport, SmtpTransport
from tracker.transport.base import Guard, Transport

REPO = Path(__file__).resolve().parent.parent


def smtp(server: SmtpServer, connections: int = 2) -> SmtpTransport:
    return SmtpTransport(
        server.host,
        server.port,
        "plain",
        local_hostname="tracker.test",
        timeout=10,
        max_connections=connections,
    )


def run_tick(
    engine: Engine,
    server: SmtpServer,
    now: datetime,
    *,
    worker: str,
    lease: timedelta = LEASE,
    max_concurrency: int = 4,
    wrap: Callable[[Transport], Transport] | None = None,
) -> TickReport:
    """One real tick (`jobs.tick.tick`) in its own event loop, through SMTP."""

    async def go() -> TickReport:
        transport: Transport = smtp(server)
        if wrap is not None:
            transport = wrap(transport)
        try:
            return await ticks.tick(
                engine,
                transport,
                now=now,
                worker=worker,
                lease=lease,
                max_concurrency=max_concurrency,
            )
        finally:
            await transport.aclose()

    return asyncio.run(go())


def message_ids(server: SmtpServer) -> list[str]:
    return [str(r.message()["Message-ID"]) for r in server.received]


# -- 1. a letter is never split across senders -------------------------------------------


@pytest.mark.parametrize("locked", ["item", "letter"])
def test_a_letter_is_never_split_across_senders(
    engine: Engine, db_url: str, smtp_server: SmtpServer, locked: str
) -> None:
    """The issue's reproduction: a transient 451 returns a letter to planned; another
    connection holds `SELECT … FOR UPDATE` on one of its item rows (or on the letter row)
    while worker A ticks; then worker B ticks. The old sibling query skipped the locked
    item, so A sent the letter without it and B sent it alone, under the same Message-ID.
    Now A claims the letter whole (it waits for an item lock; it skips a locked letter and
    takes none of it) and every letter goes out once, whole."""
    init(engine)
    plan(engine, JUNE_16)
    # Every letter of the morning is refused for now: back to planned, attempt counted.
    due = letters(engine, state="planned", send_at=JUNE_16.replace(hour=8))
    smtp_server.handler.script_data(*["451 4.3.0 try later"] * len(due))
    first = run_tick(engine, smtp_server, JUNE_16, worker="A0")
    assert (first.sent, first.retried) == (0, len(due)) and smtp_server.received == []
    due_ids = {x.id for x in due}
    [target] = [
        x for x in letters(engine) if x.id in due_ids and len(rows(engine, letter_id=x.id)) > 1
    ]
    parts = rows(engine, letter_id=target.id)
    assert {(r.state, r.attempts) for r in parts} == {("planned", 1)}

    later = JUNE_16 + timedelta(minutes=2)  # past the 1-minute backoff
    holder = make_engine(db_url)
    reports: dict[str, TickReport] = {}

    def a_ticks() -> None:
        reports["A"] = run_tick(engine, smtp_server, later, worker="A")

    try:
        with holder.begin() as conn:  # on SQLite this is BEGIN IMMEDIATE: the write lock
            table = OutboxRow if locked == "item" else LetterRow
            row_id = parts[-1].id if locked == "item" else target.id
            conn.execute(select(table.id).where(col(table.id) == row_id).with_for_update())
            a = threading.Thread(target=a_ticks)
            a.start()
            skipped = locked == "letter" and holder.dialect.name == "postgresql"
            a.join(timeout=60 if skipped else 1.5)
            if skipped:
                # SKIP LOCKED on the letter: A sent the other letters and none of this one.
                assert not a.is_alive()
                assert target.id not in {r.letter_id for r in reports["A"].results}
                [still] = letters(engine, id=target.id)
                assert (still.state, still.claimed_by) == ("planned", None)
                assert {r.state for r in rows(engine, letter_id=target.id)} == {"planned"}
            else:
                # A waits for the lock rather than send part of the letter.
                assert a.is_alive() and smtp_server.received == []
        a.join(timeout=60)
        assert not a.is_alive()
    finally:
        holder.dispose()
    reports["B"] = run_tick(engine, smtp_server, later, worker="B")

    ids = message_ids(smtp_server)
    assert len(ids) == len(set(ids)) == len(due), "a Message-ID went out twice"
    results = [r for rep in reports.values() for r in rep.results if r.outcome == "sent"]
    [carrier] = [r for r in results if r.letter_id == target.id]
    assert sorted(carrier.rows) == sorted(p.id or 0 for p in parts)
    assert (carrier.letter_id in {r.letter_id for r in reports["B"].results}) == skipped
    [done] = letters(engine, id=target.id)
    assert (done.state, done.items, done.attempts, done.message_id) == (
        "sent",
        len(parts),
        2,
        carrier.message_id,
    )
    assert {(r.state, r.message_id, r.attempts) for r in rows(engine, letter_id=target.id)} == {
        ("sent", carrier.message_id, 2)
    }
    assert Counter(ids)[carrier.message_id] == 1


def test_attempts_are_capped_per_letter_not_per_item(
    engine: Engine, smtp_server: SmtpServer
) -> None:
    """A mail server that answers 451 to everything, tick after tick: every attempt counts
    on the letter and all its items together, and each letter fails whole at the cap —
    no item is left planned to go out on its own (the old cap was per row)."""
    init(engine)
    plan(engine, JUNE_16)
    due = letters(engine, state="planned", send_at=JUNE_16.replace(hour=8))
    smtp_server.handler.script_data(*["451 4.3.0 try later"] * (len(due) * MAX_ATTEMPTS))
    office = OFFICE
    now = JUNE_16
    for attempt in range(1, MAX_ATTEMPTS + 1):
        report = run_tick(engine, smtp_server, now, worker=f"A{attempt}")
        assert report.sent == 0 and report.retried + report.failed == len(due), attempt
        mine = [x for x in letters(engine) if x.id in {d.id for d in due}]
        assert {x.attempts for x in mine} == {attempt}
        for x in mine:
            # An item the plan dropped meanwhile (yesterday's digest, once the day rolled
            # over) leaves as cancelled; every item still in the letter shares its count.
            held = [r for r in rows(engine, letter_id=x.id) if r.state != "cancelled"]
            assert held and {r.attempts for r in held} == {attempt}
        if attempt < MAX_ATTEMPTS:
            assert {x.state for x in mine} == {"planned"}
            wake = max(x.next_attempt_at for x in mine if x.next_attempt_at is not None)
            now = wake if office.is_open(wake) else office.next_open(wake)
    assert smtp_server.received == []
    assert {x.state for x in letters(engine) if x.id in {d.id for d in due}} == {"failed"}
    for x in due:
        assert {r.state for r in rows(engine, letter_id=x.id)} <= {"failed", "cancelled"}
        assert rows(engine, letter_id=x.id, state="failed")


# -- 2. the lease is counted from the claim ---------------------------------------------


class Stamped:
    """A real transport, wrapped to note when each send really starts: the moment its
    guard lets it through (after a connection slot is taken, just before MAIL FROM)."""

    def __init__(self, inner: Transport, on_start: Callable[[EmailMessage], None]) -> None:
        self.inner = inner
        self.on_start = on_start

    async def send(self, msg: EmailMessage, *, guard: Guard | None = None) -> None:
        def checked() -> None:
            if guard is not None:
                guard()
            self.on_start(msg)

        await self.inner.send(msg, guard=checked)

    async def aclose(self) -> None:
        await self.inner.aclose()

    def describe(self, lang: str = "vi") -> str:
        return self.inner.describe(lang)


def _due(engine: Engine, now: datetime) -> int:
    with session_scope(engine) as s:
        return len(queries.due_letters(s, now))


def _contexts(engine: Engine, cycle_ids: set[int]) -> dict[int, CycleContext]:
    out: dict[int, CycleContext] = {}
    with session_scope(engine) as s:
        for cid in cycle_ids:
            row = s.get(CycleRow, cid)
            assert row is not None
            out[cid] = load_context(s, row)
    return out


def test_a_send_never_starts_after_its_lease_counted_from_the_claim(
    engine: Engine, smtp_server_factory: Callable[..., SmtpServer]
) -> None:
    """The issue's reproduction: a 2 s lease, sends that take 1.2 s, 2 SMTP connections
    and 4 sends in flight. The Sender is driven here as a tick drives it (claim, hold,
    build, send) but without the tick's renewal task, so that only the lease checks stand
    between a stale claim and a send (a tick whose renewals fail, a database gone away,
    is in the same position).

    - The lease is counted from the claim: the claim comes 1.8 s after the Sender was
      made (a slow plan), so a budget timed from the Sender, as before, would refuse
      every send; the first two go out.
    - It is checked again once the connection slot is taken: the fifth and sixth sends
      get a connection only after two rounds of 1.2 s, past the lease minus its margin,
      so they are refused and given back, not sent. (The third and fourth start at about
      1.2 s and go out unless the machine is slow; either way no send starts late.)"""
    server = smtp_server_factory(handler=RecordingHandler(delay=1.2))
    cycle_id = init(engine)
    plan(engine, JUNE_16)
    lease = timedelta(seconds=2)
    starts: list[float] = []
    outcome_: list[SendResult] = []
    # A dry run first (it writes nothing): the templates are compiled before the clock
    # starts, as they are after a daemon's first tick, so the sends start at the claim.
    warm = asyncio.run(ticks.tick(engine, MemoryTransport(), now=JUNE_16, worker="W", dry_run=True))
    assert len(warm.results) == 6

    async def go() -> float:
        loop = asyncio.get_running_loop()
        t0 = loop.time()

        def clock() -> datetime:
            return JUNE_16 + timedelta(seconds=loop.time() - t0)

        transport = Stamped(smtp(server, 2), lambda _m: starts.append(loop.time()))
        sender = Sender(
            engine,
            transport,
            now=JUNE_16,
            clock=clock,
            worker="A",
            lease=lease,
            limit=4,
            was_paused=False,
        )
        try:
            # The cycle and its office hours read before the claim (a tick has them from
            # planning), so the sends start as soon as it is made.
            contexts = await asyncio.to_thread(_contexts, engine, {cycle_id})
            await asyncio.to_thread(_due, engine, JUNE_16)
            await asyncio.sleep(1.8)  # a slow plan before the claim
            claimed_at = loop.time()
            got = await asyncio.to_thread(
                claim.claim_letters, engine, now=clock(), worker="A", lease=lease, limit=50
            )
            assert len(got) == 6
            sender.hold(got)
            jobs = []
            for c in got:
                [(letter, carried)] = build_letters(
                    c.items,
                    contexts,
                    today=local_date(JUNE_16),
                    now=JUNE_16,
                    problems=[],
                )
                cfg = contexts[c.letter.cycle_id].cfg
                jobs.append(sender.send(c, letter, carried, cfg))
            outcome_.extend(await asyncio.gather(*jobs))
            await sender.flush()  # sends are recorded in batches, as a tick does
            return claimed_at
        finally:
            await transport.aclose()

    claimed_at = asyncio.run(go())
    margin = sender_margin(lease)
    assert starts and all(t - claimed_at < (lease - margin).total_seconds() for t in starts)
    counts = Counter(r.outcome for r in outcome_)
    assert set(counts) == {"sent", "released"} and counts.total() == 6, counts
    assert counts["sent"] >= 2 and counts["released"] >= 2, counts
    assert len(server.received) == counts["sent"] == len(starts)
    released = [r.letter_id for r in outcome_ if r.outcome == "released"]
    for x in letters(engine):
        if x.id in released:
            # Given back whole, not counted as an attempt: the next tick sends it.
            assert (x.state, x.claimed_by, x.lease_until, x.attempts) == ("planned", None, None, 0)
            assert {r.state for r in rows(engine, letter_id=x.id)} == {"planned"}
    again = run_tick(engine, server, JUNE_16 + timedelta(minutes=1), worker="B")
    assert again.sent == counts["released"]
    ids = message_ids(server)
    assert len(ids) == len(set(ids)) == 6


def sender_margin(lease: timedelta) -> timedelta:
    """The margin a Sender keeps before a lease's end (jobs/sender.py)."""
    return min(timedelta(seconds=30), lease * 0.2)


def test_a_long_batch_keeps_its_leases_by_renewing_them(
    engine: Engine, db_url: str, smtp_server_factory: Callable[..., SmtpServer]
) -> None:
    """A real tick with the same 2 s lease and 1.2 s sends: six letters over two
    connections take 3.6 s, longer than the lease. The tick renews its leases while the
    batch runs, so every send starts with its lease (in the database) still ahead of it
    by more than the margin, all six go out, and a second worker claiming mid-batch gets
    nothing."""
    server = smtp_server_factory(handler=RecordingHandler(delay=1.2))
    init(engine)
    plan(engine, JUNE_16)
    lease = timedelta(seconds=2)
    margin = sender_margin(lease)
    domain = "example.vn"
    start = {"t0": 0.0}
    seen: list[tuple[float, datetime]] = []  # (tick time, the letter's lease then)

    def on_start(msg: EmailMessage) -> None:
        key = {message_id(x.key, domain): x for x in letters(engine)}[str(msg["Message-ID"])].key
        [x] = letters(engine, key=key)
        assert x.lease_until is not None and x.claimed_by == "A"
        seen.append((time.monotonic() - start["t0"], x.lease_until))

    b_got: list[int] = []

    def b_claims() -> None:
        time.sleep(2.6)  # past the first lease: only renewal keeps B out
        other = make_engine(db_url)
        try:
            b_got.extend(
                len(c.items)
                for c in claim.claim_letters(
                    other,
                    now=JUNE_16 + timedelta(seconds=time.monotonic() - start["t0"]),
                    worker="B",
                    lease=lease,
                    limit=50,
                )
            )
        finally:
            other.dispose()

    b = threading.Thread(target=b_claims)
    start["t0"] = time.monotonic()
    b.start()
    report = run_tick(
        engine,
        server,
        JUNE_16,
        worker="A",
        lease=lease,
        max_concurrency=4,
        wrap=lambda t: Stamped(t, on_start),
    )
    b.join(timeout=30)
    assert b_got == [], "another worker took a letter whose sender was still at work"
    assert report.sent == 6 and len(server.received) == 6
    assert len(seen) == 6 and max(t for t, _ in seen) > lease.total_seconds()
    for t, until in seen:
        assert JUNE_16 + timedelta(seconds=t) + margin < until


# -- 3. release frees only our claims ---------------------------------------------------


def test_release_frees_only_the_letters_whose_claim_is_ours(engine: Engine) -> None:
    """Two workers of one process (or two containers whose processes are all pid 1 on
    one host name): their ids share host:pid, yet each releases only its own claims (the
    old `hostname:pid` id made them one worker, and release freed both)."""
    init(engine)
    plan(engine, JUNE_16)
    one, two = worker_id(), worker_id()
    assert one.rsplit(":", 1)[0] == two.rsplit(":", 1)[0] and one != two
    mine = claim.claim_letters(engine, now=JUNE_16, worker=one, lease=LEASE, limit=2)
    theirs = claim.claim_letters(engine, now=JUNE_16, worker=two, lease=LEASE, limit=50)
    assert len(mine) == 2 and len(theirs) == 4
    theirs_ids = {c.letter.id for c in theirs}

    assert claim.release(engine, one, now=JUNE_16) == 2
    for x in letters(engine):
        if x.id in theirs_ids:
            assert (x.state, x.claimed_by, x.lease_until) == ("sending", two, JUNE_16 + LEASE)
            assert {r.state for r in rows(engine, letter_id=x.id)} == {"sending"}
    # Nor may the other worker record an outcome, or renew, for them.
    lid = next(iter(theirs_ids))
    assert lid is not None
    assert not outcome.mark_sent(
        engine, lid, worker=one, now=JUNE_16, message_id="<x@y>", subject="s", carried=[]
    )
    assert claim.renew(engine, one, now=JUNE_16, lease=LEASE) == 0
    assert claim.release(engine, two, now=JUNE_16) == 4
    assert {x.state for x in letters(engine, state="sending")} == set()


# -- 4. a unique worker id per process start ---------------------------------------------


def test_worker_ids_differ_within_a_process_and_between_processes() -> None:
    here = [worker_id(), worker_id()]
    code = "from jobs.runtime import worker_id; import os; print(worker_id(), os.getpid())"
    children = []
    for _ in range(2):
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.split()
        children.append((out[0], int(out[1])))
    ids = here + [wid for wid, _ in children]
    assert len(set(ids)) == 4
    host = socket.gethostname()
    for wid in here:
        h, own, rand = wid.split(":")
        assert (h, int(own)) == (host, os.getpid()) and len(rand) >= 8
    for wid, child in children:
        assert wid.split(":")[:2] == [host, str(child)] and child != os.getpid()


# -- 5. renew never revives an expired lease --------------------------------------------


def test_renew_does_not_extend_an_expired_lease(engine: Engine) -> None:
    init(engine)
    plan(engine, JUNE_16)
    got = claim.claim_letters(engine, now=JUNE_16, worker="A", lease=LEASE, limit=50)
    ids = {c.letter.id for c in got}
    n = len(got)

    def leases() -> set[tuple[str | None, datetime | None]]:
        return {(x.claimed_by, x.lease_until) for x in letters(engine) if x.id in ids}

    # While it runs, renewing extends it from the renewal's time.
    assert claim.renew(engine, "A", now=JUNE_16 + timedelta(minutes=4), lease=LEASE) == n
    until = JUNE_16 + timedelta(minutes=9)
    assert leases() == {("A", until)}
    # At its end, and after, it is not renewed: another worker may be sending already.
    assert claim.renew(engine, "A", now=until, lease=LEASE) == 0
    late = until + timedelta(minutes=1)
    assert claim.renew(engine, "A", now=late, lease=LEASE) == 0
    assert leases() == {("A", until)}
    taken = claim.claim_letters(engine, now=late, worker="B", lease=LEASE, limit=50)
    assert {c.letter.id for c in taken} == ids
    assert claim.renew(engine, "A", now=late, lease=LEASE) == 0
    assert leases() == {("B", late + LEASE)}
