"""One tick of the reminder sender (issue 3 §3, issue 7): plan → bundle → claim → build →
send → mark, and the clock read for it (`tracker remind`, the daemon's job).

The database decides everything; a tick only moves rows through their states:

1. re-plan the cycles whose inputs changed, collapse missed reminders into one catch-up
   per obligation and recipient, bundle new items into letters (one short transaction);
2. unless sending is paused, claim due letters with a lease counted from the claim (one
   short transaction), build each from its items' obligations now, send them outside any
   transaction, a few at a time, renewing the lease while the batch runs, and record each
   outcome as it completes; claim again while a whole batch came back, so a morning when
   11,000 items fall due is one tick, not fifty;
3. an authentication or TLS problem pauses all sending and gives the claims back.

`now` is passed in (the daemon reads `jobs.clock`); the only other clock read is the event
loop's monotonic one, which runs `now` on for leases.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from jobs import clock
from jobs.runtime import (
    DEFAULTS,
    TickSettings,
    mail_config,
    settings_for,
    transport_for,
    worker_id,
)
from jobs.sender import Sender, SendResult, empty_reason, result, stop_renewing
from tracker.calendar.types import local_date
from tracker.db.engine import session_factory, session_scope
from tracker.db.models import CycleRow
from tracker.db.store import open_store as open_store  # the one way; re-exported here
from tracker.delivery import bundle, catch_up, claim, outcome, pause, plan_sync, queries
from tracker.delivery.claim import Claim
from tracker.letters.build import build_letters
from tracker.letters.model import Lang
from tracker.letters.render import render
from tracker.service.cycles import CycleContext, load_context
from tracker.transport import Transport

log = logging.getLogger("tracker.outbox")


# -- the tick ---------------------------------------------------------------------------


@dataclass
class TickReport:
    planned_added: int = 0
    cancelled: int = 0  # items: no longer planned, superseded by a catch-up, or settled
    sent: int = 0  # letters (e-mails)
    retried: int = 0  # letters that will be tried again later
    failed: int = 0  # letters that failed for good (5xx, or out of attempts)
    paused: str | None = None  # why sending is paused (in the tick's `lang`), None if not
    lines: list[str] = field(default_factory=list)  # one per letter, in the tick's `lang`
    results: list[SendResult] = field(default_factory=list)
    superseded: int = 0  # of `cancelled`: missed reminders folded into a catch-up
    replanned: int = 0  # cycles re-planned (their inputs changed)

    def count(self, r: SendResult, lang: Lang) -> None:
        self.results.append(r)
        self.lines.append(r.line(lang))
        if r.outcome == "sent":
            self.sent += 1
        elif r.outcome == "retry":
            self.retried += 1
        elif r.outcome == "failed":
            self.failed += 1


async def tick(
    engine: Engine,
    transport: Transport,
    *,
    now: datetime,
    worker: str,
    lease: timedelta = DEFAULTS.lease,
    batch: int = DEFAULTS.batch,
    dry_run: bool = False,
    max_concurrency: int = DEFAULTS.max_concurrency,
    lang: Lang = "vi",
    stop: asyncio.Event | None = None,
    on_result: Callable[[SendResult], None] | None = None,
    max_batches: int = 50,
) -> TickReport:
    """Plan, then send what is due at `now` through `transport`, as `worker` (unique per
    process). `dry_run`: work out what would go out — every due letter, not one batch —
    write nothing, send nothing. Once `stop` is set no new send starts; letters not
    started are given back. `on_result` hears of each letter as it completes. `lang`: the
    language of the report; the letters are in each cycle's `mail.lang`."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if dry_run:
        return await asyncio.to_thread(_dry_run, engine, now, lang)

    loop = asyncio.get_running_loop()
    started = loop.time()

    def running() -> datetime:
        return now + timedelta(seconds=loop.time() - started)

    report = TickReport()
    await asyncio.to_thread(_plan, engine, now, report)
    paused = await asyncio.to_thread(_pause, engine, lang)
    if paused is not None and now < paused[1]:
        report.paused = paused[0]
        return report

    sender = Sender(
        engine,
        transport,
        now=now,
        clock=running,
        worker=worker,
        lease=lease,
        limit=max_concurrency,
        was_paused=paused is not None,
        lang=lang,
        stop=stop,
        on_result=on_result,
    )
    renewing = asyncio.create_task(sender.renew_forever())
    flushing = asyncio.create_task(sender.flush_forever())
    try:
        for _ in range(max(1, max_batches)):
            got = await asyncio.to_thread(
                claim.claim_letters, engine, now=running(), worker=worker, lease=lease, limit=batch
            )
            if not got:
                break
            sender.hold(got)
            await _deliver(engine, sender, got, report, now=now, lang=lang)
            if len(got) < batch or sender.pause is not None or (stop is not None and stop.is_set()):
                break
    except Exception:
        # A bug or a database that went away mid-tick: give back what was not recorded
        # (letters already marked are no longer ours, so they are not touched) rather than
        # leave it to the lease. Cancellation is not caught: a killed process cannot do
        # this either, and the lease covers both.
        log.exception("tick failed; giving back its unsent claims")
        try:
            await asyncio.to_thread(claim.release, engine, worker, now=now)
        except Exception:
            log.exception("could not give back the claims; they return when the lease ends")
        raise
    finally:
        await stop_renewing(renewing)
        await stop_renewing(flushing)
    if sender.pause is not None:
        report.paused = sender.pause.en if lang == "en" else sender.pause.vi
    elif paused is not None and report.sent == 0:
        report.paused = paused[0]  # nothing went through: still paused
    return report


async def _deliver(
    engine: Engine,
    sender: Sender,
    got: Sequence[Claim],
    report: TickReport,
    *,
    now: datetime,
    lang: Lang,
) -> None:
    """Claimed letters → built letters → sends → recorded outcomes, into `report`."""
    cycle_ids = {c.letter.cycle_id for c in got}
    contexts, problems = await asyncio.to_thread(_load, engine, cycle_ids)
    jobs = []
    for cycle_id in sorted(cycle_ids):
        mine = [c for c in got if c.letter.cycle_id == cycle_id]
        ctx = contexts.get(cycle_id)
        try:
            if ctx is None:
                raise RuntimeError("the cycle's config snapshot cannot be read")
            # One build per cycle and batch: the cycle's plan and obligations are worked
            # out once, not once per letter. Each item carries its letter's key, so each
            # claimed letter comes back as (at most) one e-mail.
            built = {
                letter.key: (letter, ids)
                for letter, ids in build_letters(
                    [i for c in mine for i in c.items],
                    {cycle_id: ctx},
                    today=local_date(now),
                    now=now,
                    problems=problems.get(cycle_id, []),
                )
            }
        except Exception as exc:
            # Letters that cannot be built (a snapshot the schema no longer reads, a bug)
            # must not hold up the others: they back off like a failed send and end up
            # failed, visible in `tracker outbox`.
            log.exception("cycle %s: its letters cannot be built", cycle_id)
            for c in mine:
                what = await asyncio.to_thread(
                    outcome.mark_retry,
                    engine,
                    c.letter.id or 0,
                    worker=sender.worker,
                    now=now,
                    error=f"letters: {type(exc).__name__}: {exc}",
                )
                report.retried += what == "retry"
                report.failed += what == "failed"
            continue
        for c in mine:
            lid = c.letter.id
            assert lid is not None
            found = built.get(c.letter.key)
            if found is None:
                # Every item settled since planning, or a digest with nothing to say.
                if await asyncio.to_thread(
                    outcome.mark_cancelled,
                    engine,
                    lid,
                    worker=sender.worker,
                    now=now,
                    reason=empty_reason(c),
                ):
                    report.cancelled += len(c.items)
                continue
            letter, carried = found
            jobs.append(sender.send(c, letter, carried, ctx.cfg))
    outcomes = await asyncio.gather(*jobs, return_exceptions=True)
    await sender.flush()  # the sends not yet recorded, in one transaction
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    for o in outcomes:
        if isinstance(o, SendResult):
            report.count(o, lang)
    if errors:
        raise errors[0]  # every letter had its chance; now report the first failure


def _plan(engine: Engine, now: datetime, report: TickReport) -> None:
    with session_scope(engine) as s:
        plan_in(s, now, report)


def plan_in(session: Session, now: datetime, report: TickReport | None = None) -> TickReport:
    """The planning half of a tick, in the caller's transaction."""
    report = report if report is not None else TickReport()
    changed = False
    for sync in plan_sync.plan_all(session, now):
        report.planned_added += sync.added
        report.cancelled += sync.cancelled
        if sync.replanned:
            report.replanned += 1
            changed = changed or bool(sync.added or sync.cancelled or sync.revived)
    report.superseded = catch_up.catch_up_missed(session, now)
    report.cancelled += report.superseded
    bundled = bundle.bundle(session, now)
    if changed or report.superseded or bundled:
        bundle.cancel_empty(session, now)
    return report


def _pause(engine: Engine, lang: Lang) -> tuple[str, datetime] | None:
    with session_scope(engine) as s:
        p = pause.pause_info(s)
        if p is None:
            return None
        return (p.reason_en if lang == "en" else p.reason_vi), p.retry_at


def _load(
    engine: Engine, cycle_ids: set[int]
) -> tuple[dict[int, CycleContext], dict[int, list[tuple[str, str]]]]:
    with session_scope(engine) as s:
        return _contexts(s, cycle_ids), {
            cid: queries.delivery_problems(s, cid) for cid in cycle_ids
        }


def _contexts(session: Session, cycle_ids: set[int]) -> dict[int, CycleContext]:
    """The cycles' contexts; one whose snapshot cannot be read is left out (and logged)."""
    out: dict[int, CycleContext] = {}
    for cid in sorted(cycle_ids):
        row = session.get(CycleRow, cid)
        assert row is not None, f"letter of a missing cycle {cid}"  # a foreign key
        try:
            out[cid] = load_context(session, row)
        except Exception:
            log.exception("cycle %s/%s: cannot read its config snapshot", row.cluster_id, row.year)
    return out


def _dry_run(engine: Engine, now: datetime, lang: Lang) -> TickReport:
    """The same steps as a tick, in one transaction that is rolled back: the report is
    exactly what a tick would send now — every due letter — and nothing is written."""
    report = TickReport()
    session = session_factory(engine)()
    try:
        plan_in(session, now, report)
        p = pause.pause_info(session)
        if p is not None:
            report.paused = p.reason_en if lang == "en" else p.reason_vi
        due = queries.due_letters(session, now)
        contexts = _contexts(session, {d.cycle_id for d in due})
        problems = {cid: queries.delivery_problems(session, cid) for cid in contexts}
        for d in due:
            if d.cycle_id not in contexts:
                continue  # logged
            items = [
                i for i in queries.items_of(session, d.id or 0) if i.state in ("planned", "sending")
            ]
            built = build_letters(
                items,
                {d.cycle_id: contexts[d.cycle_id]},
                today=local_date(now),
                now=now,
                problems=problems[d.cycle_id],
            )
            for letter, ids in built:
                report.count(
                    result(
                        "would_send", letter, ids, letter_id=d.id, subject=render(letter).subject
                    ),
                    lang,
                )
    finally:
        session.rollback()
        session.close()
    return report


# -- the shells' entry points -----------------------------------------------------------


async def tick_once(
    engine: Engine,
    transport: Transport,
    *,
    now: datetime,
    worker: str,
    dry_run: bool = False,
    settings: TickSettings = DEFAULTS,
    stop: asyncio.Event | None = None,
    lang: Lang = "vi",
    on_result: Callable[[SendResult], None] | None = None,
) -> TickReport:
    """One tick; `lang` is the report's language (the letters follow each cycle's config)."""
    return await tick(
        engine,
        transport,
        now=now,
        worker=worker,
        lease=settings.lease,
        batch=settings.batch,
        dry_run=dry_run,
        max_concurrency=settings.max_concurrency,
        lang=lang,
        stop=stop,
        on_result=on_result,
    )


def run_once(db_url: str, at: datetime | None, dry_run: bool, lang: Lang = "vi") -> TickReport:
    """One tick at `at` (default: now), for cron users. `dry_run` plans and shows what
    would go out and writes nothing: not the outbox, not a mail file."""
    if at is not None and at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    engine = open_store(db_url)
    try:
        settings = settings_for(mail_config(engine))
        transport = transport_for(engine, settings)
        return asyncio.run(_one_tick(engine, transport, at or clock.now(), dry_run, lang, settings))
    finally:
        engine.dispose()


async def _one_tick(
    engine: Engine,
    transport: Transport,
    now: datetime,
    dry_run: bool,
    lang: Lang,
    settings: TickSettings,
) -> TickReport:
    worker = worker_id()
    try:
        return await tick_once(
            engine, transport, now=now, worker=worker, dry_run=dry_run, lang=lang, settings=settings
        )
    finally:
        try:
            if not dry_run:
                # Nothing should be left claimed after a finished tick; if the tick failed
                # half-way, give its claims back now instead of after the lease.
                await asyncio.to_thread(claim.release, engine, worker)
        finally:
            await transport.aclose()
