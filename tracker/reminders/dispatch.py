"""One tick of the reminder sender (issue 3 §3): plan → sync → claim → compose → send → mark.

The database decides everything; this module only moves rows through their states:

1. plan every cycle and sync the outbox, collapse missed reminders into one catch-up per
   obligation, to its focal officer, at the next office slot (one short transaction);
2. unless sending is paused, claim the due rows with a lease (one short transaction);
3. build the letters (digests), record each row's letter key, then send each letter
   outside any transaction, a few at a time;
4. record each outcome: sent; a transient failure retried later with backoff; a
   permanent one failed with the server's reply; an authentication or TLS problem pauses
   all sending and gives the claims back, so nothing is lost and nothing counts as tried.

`now` is passed in and used for every timestamp; the only clock read here is the event
loop's monotonic one, to stop starting sends before the claims' lease runs out.
The transport is the caller's: it is reused across ticks (open connections) and closed
by the caller.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Literal

from sqlalchemy import Engine
from sqlmodel import Session

from tracker.calendar.types import local_date
from tracker.config.schema import ClusterConfig
from tracker.db.engine import session_factory, session_scope
from tracker.db.models import CycleRow, OutboxRow
from tracker.reminders import outbox
from tracker.reminders.compose import build_message, render
from tracker.reminders.content import Lang, Letter
from tracker.reminders.letters import CYCLE_KINDS, build_letters
from tracker.reminders.transport.base import DeliveryError, Transport
from tracker.service.cycles import CycleContext, load_context

log = logging.getLogger("tracker.outbox")

Outcome = Literal["sent", "retry", "failed", "paused", "released", "would_send"]

# Start no send after this share of the lease has gone: a send that begins later could
# still be running when another worker may take the claim over.
LEASE_BUDGET = 0.8


@dataclass(frozen=True)
class SendResult:
    """What happened to one letter."""

    outcome: Outcome
    kind: str
    key: str
    email: str
    name: str
    rows: tuple[int, ...]
    items: int
    subject: str = ""
    message_id: str = ""
    detail: str = ""  # the server's reply, or why nothing was sent

    def line(self, lang: str = "vi") -> str:
        """One line for the terminal: what, to whom, what happened."""
        label = _OUTCOME_EN[self.outcome] if lang == "en" else _OUTCOME_VI[self.outcome]
        items = f"{self.items} items" if lang == "en" else f"{self.items} mục"
        text = f"{label}: {self.kind} → {self.name} <{self.email}> ({items})"
        if self.subject:
            text += f" «{self.subject}»"
        if self.detail:
            text += f" — {self.detail}"
        return f"{text} [{self.key}]"


_OUTCOME_VI: dict[Outcome, str] = {
    "sent": "đã gửi",
    "retry": "sẽ gửi lại",
    "failed": "thất bại",
    "paused": "tạm dừng",
    "released": "để lượt sau",
    "would_send": "sẽ gửi",
}
_OUTCOME_EN: dict[Outcome, str] = {
    "sent": "sent",
    "retry": "will retry",
    "failed": "failed",
    "paused": "paused",
    "released": "left for the next tick",
    "would_send": "would send",
}


@dataclass
class TickReport:
    planned_added: int = 0
    cancelled: int = 0  # rows: no longer planned, superseded by a catch-up, or settled
    sent: int = 0  # letters (e-mails)
    retried: int = 0  # letters that will be tried again later
    failed: int = 0  # letters that failed for good (5xx, or out of attempts)
    paused: str | None = None  # why sending is paused (in the tick's `lang`), None if not
    lines: list[str] = field(default_factory=list)  # one per letter, in the tick's `lang`
    results: list[SendResult] = field(default_factory=list)
    superseded: int = 0  # of `cancelled`: missed reminders folded into a catch-up


async def tick(
    engine: Engine,
    transport: Transport,
    *,
    now: datetime,
    worker: str,
    lease: timedelta = timedelta(minutes=5),
    batch: int = 200,
    dry_run: bool = False,
    max_concurrency: int = 4,
    lang: Lang = "vi",
    stop: asyncio.Event | None = None,
) -> TickReport:
    """Plan, then send what is due at `now` through `transport`, as `worker` (unique per
    process). `dry_run`: work out what would go out, write nothing, send nothing. Once
    `stop` is set no new send starts; letters not started are given back for later.
    `lang`: the language of the report (lines, reasons) for whoever runs the command; the
    letters are in each cycle's `mail.lang`."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if dry_run:
        return await asyncio.to_thread(_dry_run, engine, now, batch, lang)

    report = TickReport()
    await asyncio.to_thread(_plan, engine, now, report)
    pause = await asyncio.to_thread(_pause, engine, lang)
    if pause is not None and now < pause[1]:
        report.paused = pause[0]
        return report

    rows = await asyncio.to_thread(
        outbox.claim_due, engine, now=now, worker=worker, lease=lease, limit=batch
    )
    if not rows:
        report.paused = pause[0] if pause is not None else None
        return report
    claimed = [r.id for r in rows if r.id is not None]
    try:
        await _deliver(
            engine,
            transport,
            rows,
            report,
            now=now,
            worker=worker,
            budget=lease.total_seconds() * LEASE_BUDGET,
            limit=max(1, max_concurrency),
            was_paused=pause is not None,
            lang=lang,
            stop=stop,
        )
    except Exception:
        # A bug or a database that went away mid-tick: give back what was not recorded
        # (rows already marked are no longer ours, so they are not touched) rather than
        # leave it to the lease. Cancellation is not caught: a process being killed
        # cannot do this either, and the lease covers both.
        log.exception("tick failed; giving back its unsent claims")
        try:
            await asyncio.to_thread(outbox.release, engine, worker, row_ids=claimed, now=now)
        except Exception:
            log.exception("could not give back the claims; they return when the lease ends")
        raise
    if report.paused is None and pause is not None and report.sent == 0:
        report.paused = pause[0]  # nothing went through: still paused
    return report


async def _deliver(
    engine: Engine,
    transport: Transport,
    rows: Sequence[OutboxRow],
    report: TickReport,
    *,
    now: datetime,
    worker: str,
    budget: float,
    limit: int,
    was_paused: bool,
    lang: Lang,
    stop: asyncio.Event | None = None,
) -> None:
    """Claimed rows → letters → sends → recorded outcomes, into `report`."""
    contexts, problems = await asyncio.to_thread(_load, engine, rows)
    letters: list[tuple[Letter, list[int]]] = []
    for cycle_id in sorted({r.cycle_id for r in rows}):
        mine = [r for r in rows if r.cycle_id == cycle_id]
        try:
            ctx = contexts[cycle_id]
            letters += build_letters(
                mine, {cycle_id: ctx}, today=local_date(now), now=now, problems=problems
            )
        except Exception as exc:
            # One cycle whose letters cannot be built (a snapshot the config schema no
            # longer reads, a bug) must not hold up the others: its rows back off like a
            # failed send and end up failed, visible in `tracker outbox`.
            log.exception("cycle %s: cannot build letters", cycle_id)
            ids = [r.id for r in mine if r.id is not None]
            error = f"letters: {type(exc).__name__}: {exc}"
            retried, failed = await asyncio.to_thread(
                outbox.mark_retry, engine, ids, worker=worker, now=now, error=error
            )
            report.retried += 1 if retried else 0
            report.failed += 1 if failed and not retried else 0
    carried = {i for _, ids in letters for i in ids}
    # (Rows of a cycle that failed above are no longer ours: this leaves them alone.)
    dropped = [r for r in rows if r.id is not None and r.id not in carried]
    settled = [r.id for r in dropped if r.id is not None and r.kind not in CYCLE_KINDS]
    # A leader digest or a province report with nothing in it.
    empty = [r.id for r in dropped if r.id is not None and r.kind in CYCLE_KINDS]
    if settled:
        # Settled between planning and now: nothing to remind of.
        report.cancelled += await asyncio.to_thread(
            outbox.mark_cancelled, engine, settled, worker=worker, now=now
        )
    if empty:
        # A leader digest with nothing in it; a reason sync_plan does not revive.
        report.cancelled += await asyncio.to_thread(
            partial(
                outbox.mark_cancelled,
                engine,
                empty,
                worker=worker,
                now=now,
                reason=outbox.NOTHING_TO_REPORT,
            )
        )
    # Before any send: a worker that takes these rows over rebuilds the same letters.
    await asyncio.to_thread(
        outbox.assign_letters,
        engine,
        [(letter.key, ids) for letter, ids in letters],
        worker=worker,
        now=now,
    )

    sender = _Sender(
        engine,
        transport,
        now=now,
        worker=worker,
        budget=budget,
        limit=limit,
        was_paused=was_paused,
        lang=lang,
        stop=stop,
    )
    cfg_of = {r.id: contexts[r.cycle_id].cfg for r in rows if r.cycle_id in contexts}
    outcomes = await asyncio.gather(
        *(sender.send(letter, ids, cfg_of[ids[0]]) for letter, ids in letters),
        return_exceptions=True,
    )
    errors: list[BaseException] = []
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            errors.append(outcome)
        else:
            _count(report, outcome, lang)
    if sender.pause is not None:
        report.paused = _t(lang, sender.pause.vi, sender.pause.en)
    if errors:
        # Every letter had its chance; now report the first failure (the caller gives
        # back whatever was left unrecorded).
        raise errors[0]


def _count(report: TickReport, result: SendResult, lang: Lang) -> None:
    report.results.append(result)
    report.lines.append(result.line(lang))
    if result.outcome == "sent":
        report.sent += 1
    elif result.outcome == "retry":
        report.retried += 1
    elif result.outcome == "failed":
        report.failed += 1


# -- the database steps (run in a worker thread) ----------------------------------------


def _plan(engine: Engine, now: datetime, report: TickReport) -> None:
    with session_scope(engine) as s:
        _plan_in(s, now, report)


def _plan_in(session: Session, now: datetime, report: TickReport) -> None:
    for sync in outbox.plan_all(session, now):
        report.planned_added += sync.added
        report.cancelled += sync.cancelled
    report.superseded = outbox.catch_up_missed(session, now)
    report.cancelled += report.superseded


def _pause(engine: Engine, lang: Lang) -> tuple[str, datetime] | None:
    with session_scope(engine) as s:
        pause = outbox.pause_info(s)
        if pause is None:
            return None
        return _t(lang, pause.reason_vi, pause.reason_en), pause.retry_at


def _load(
    engine: Engine, rows: Sequence[OutboxRow]
) -> tuple[dict[int, CycleContext], list[tuple[str, str]]]:
    with session_scope(engine) as s:
        return _contexts(s, {r.cycle_id for r in rows}), _problems(s)


def _contexts(session: Session, cycle_ids: Iterable[int]) -> dict[int, CycleContext]:
    """The cycles' contexts; one whose snapshot cannot be read is left out (and logged)."""
    out: dict[int, CycleContext] = {}
    for cid in sorted(cycle_ids):
        row = session.get(CycleRow, cid)
        assert row is not None, f"outbox row of a missing cycle {cid}"  # a foreign key
        try:
            out[cid] = load_context(session, row)
        except Exception:
            log.exception("cycle %s/%s: cannot read its config snapshot", row.cluster_id, row.year)
    return out


def _problems(session: Session) -> list[tuple[str, str]]:
    """What the leader's digest must say needs fixing, as (Vietnamese, English): each
    cycle's letters are in its own config's language."""
    problems: list[tuple[str, str]] = []
    pause = outbox.pause_info(session)
    if pause is not None:
        problems.append((pause.reason_vi, pause.reason_en))
    failed = outbox.state_counts(session)[outbox.FAILED]
    if failed:
        problems.append(
            (
                f"{failed} thư nhắc việc không gửi được (máy chủ thư từ chối). Xem danh sách"
                " bằng 'tracker outbox --state failed', sửa địa chỉ trong tệp cấu hình rồi"
                " chạy 'tracker outbox retry <ID>'.",
                f"{failed} reminder e-mails could not be delivered (the mail server refused"
                " them). List them with 'tracker outbox --state failed', fix the address in"
                " the config file, then run 'tracker outbox retry <ID>'.",
            )
        )
    return problems


def _dry_run(engine: Engine, now: datetime, batch: int, lang: Lang) -> TickReport:
    """The same steps as a tick, in one transaction that is rolled back: the report is
    exactly what a tick would do now, and nothing is written."""
    report = TickReport()
    session = session_factory(engine)()
    try:
        _plan_in(session, now, report)
        pause = outbox.pause_info(session)
        if pause is not None:
            report.paused = _t(lang, pause.reason_vi, pause.reason_en)
        rows = outbox.due_rows(session, now, limit=batch)
        contexts = _contexts(session, {r.cycle_id for r in rows})
        rows = [r for r in rows if r.cycle_id in contexts]  # the others are logged
        letters = build_letters(
            rows,
            contexts,
            today=local_date(now),
            now=now,
            problems=_problems(session),
        )
        for letter, ids in letters:
            _count(report, _result("would_send", letter, ids, subject=render(letter).subject), lang)
    finally:
        session.rollback()
        session.close()
    return report


# -- sending ----------------------------------------------------------------------------


class _Sender:
    """Sends the letters of one tick, at most `limit` at a time, and records each result.
    The first authentication/TLS problem stops every send not yet started."""

    def __init__(
        self,
        engine: Engine,
        transport: Transport,
        *,
        now: datetime,
        worker: str,
        budget: float,
        limit: int,
        was_paused: bool,
        lang: Lang = "vi",
        stop: asyncio.Event | None = None,
    ) -> None:
        self.engine = engine
        self.lang = lang
        self.stop = stop
        self.transport = transport
        self.now = now
        self.worker = worker
        self.budget = budget
        self.slots = asyncio.Semaphore(limit)
        self.started = asyncio.get_running_loop().time()
        self.pause: DeliveryError | None = None
        self.was_paused = was_paused

    async def send(self, letter: Letter, ids: list[int], cfg: ClusterConfig) -> SendResult:
        async with self.slots:
            if self.pause is not None:
                return await self._release(letter, ids, self._say(self.pause.vi, self.pause.en))
            if self.stop is not None and self.stop.is_set():
                # The daemon is stopping: finish what is on the wire, start nothing new.
                why = self._say(
                    "đang dừng, sẽ gửi khi chạy lại", "stopping, will be sent after a restart"
                )
                return await self._release(letter, ids, why)
            if asyncio.get_running_loop().time() - self.started > self.budget:
                why = self._say(
                    "hết thời gian của lượt gửi này, sẽ gửi ở lượt sau",
                    "this tick ran out of time, will be sent on the next one",
                )
                return await self._release(letter, ids, why)
            try:
                msg = build_message(
                    letter,
                    from_addr=str(cfg.mail.from_address),
                    from_name=cfg.mail.from_name,
                    reply_to=str(cfg.mail.reply_to) if cfg.mail.reply_to else None,
                    now=self.now,
                    domain=_domain(str(cfg.mail.from_address)),
                )
            except Exception as exc:
                # A letter that cannot be built (a template or data problem) would fail the
                # same way on every tick: fail it now and show why.
                log.exception("cannot compose %s for %s", letter.key, letter.recipient.email)
                return await self._failed(letter, ids, f"compose: {type(exc).__name__}: {exc}")
            try:
                await self.transport.send(msg)
            except DeliveryError as err:
                return await self._undelivered(letter, ids, err)
            except Exception as exc:
                # Not a classified delivery problem (a bug in a transport, a closed one):
                # keep the rows and try again later rather than lose them.
                log.exception("unexpected error sending %s", letter.key)
                return await self._retry(letter, ids, f"{type(exc).__name__}: {exc}")
            return await self._sent(letter, ids, str(msg["Message-ID"]), str(msg["Subject"]))

    def _say(self, vi: str, en: str) -> str:
        return _t(self.lang, vi, en)

    async def _sent(
        self, letter: Letter, ids: list[int], message_id: str, subject: str
    ) -> SendResult:
        marked = await asyncio.to_thread(
            outbox.mark_sent,
            self.engine,
            ids,
            worker=self.worker,
            now=self.now,
            message_id=message_id,
            letter_key=letter.key,
        )
        if marked < len(ids):
            # Our lease ran out mid-send and another worker holds the rest: it will send
            # them again, with this same Message-ID.
            log.warning(
                "sent %s but %d of %d rows were claimed by another worker meanwhile",
                letter.key,
                len(ids) - marked,
                len(ids),
            )
        if self.was_paused:
            self.was_paused = False
            await asyncio.to_thread(_clear_pause, self.engine)
            log.info("sending resumed: a message went through")
        log.info(
            "sent %s to %s key=%s rows=%d message-id=%s",
            letter.kind,
            letter.recipient.email,
            letter.key,
            len(ids),
            message_id,
        )
        return _result("sent", letter, ids, subject=subject, message_id=message_id)

    async def _undelivered(self, letter: Letter, ids: list[int], err: DeliveryError) -> SendResult:
        if err.pause:
            if self.pause is None:
                self.pause = err
                await asyncio.to_thread(_set_pause, self.engine, err, self.now)
                log.error("sending paused: %s", err.en)
            return await self._release(letter, ids, self._say(err.vi, err.en))
        if err.permanent:
            return await self._failed(letter, ids, _reply(err))
        return await self._retry(letter, ids, _reply(err))

    async def _retry(self, letter: Letter, ids: list[int], error: str) -> SendResult:
        retried, failed = await asyncio.to_thread(
            outbox.mark_retry, self.engine, ids, worker=self.worker, now=self.now, error=error
        )
        if failed and not retried:
            log.error(
                "failed %s to %s key=%s: out of attempts: %s",
                letter.kind,
                letter.recipient.email,
                letter.key,
                error,
            )
            return _result("failed", letter, ids, detail=error)
        log.warning(
            "retry %s to %s key=%s: %s", letter.kind, letter.recipient.email, letter.key, error
        )
        return _result("retry", letter, ids, detail=error)

    async def _failed(self, letter: Letter, ids: list[int], error: str) -> SendResult:
        await asyncio.to_thread(
            outbox.mark_failed, self.engine, ids, worker=self.worker, now=self.now, error=error
        )
        log.error(
            "failed %s to %s key=%s: %s", letter.kind, letter.recipient.email, letter.key, error
        )
        return _result("failed", letter, ids, detail=error)

    async def _release(self, letter: Letter, ids: list[int], why: str) -> SendResult:
        await asyncio.to_thread(outbox.release, self.engine, self.worker, row_ids=ids, now=self.now)
        outcome: Outcome = "paused" if self.pause is not None else "released"
        log.info("%s %s to %s key=%s", outcome, letter.kind, letter.recipient.email, letter.key)
        return _result(outcome, letter, ids, detail=why)


def _t(lang: Lang, vi: str, en: str) -> str:
    return en if lang == "en" else vi


def _set_pause(engine: Engine, err: DeliveryError, now: datetime) -> None:
    with session_scope(engine) as s:
        outbox.set_pause(s, now=now, reason_vi=err.vi, reason_en=err.en, reply=_reply(err))


def _clear_pause(engine: Engine) -> None:
    with session_scope(engine) as s:
        outbox.clear_pause(s)


def _result(
    outcome: Outcome,
    letter: Letter,
    ids: Sequence[int],
    *,
    subject: str = "",
    message_id: str = "",
    detail: str = "",
) -> SendResult:
    return SendResult(
        outcome=outcome,
        kind=letter.kind,
        key=letter.key,
        email=letter.recipient.email,
        name=letter.recipient.name,
        rows=tuple(ids),
        items=len(letter.items) or len(letter.overdue) + len(letter.due_this_week),
        subject=subject,
        message_id=message_id,
        detail=detail,
    )


def _reply(err: DeliveryError) -> str:
    """What the server said (kept on the row and shown by `tracker outbox`)."""
    reply = err.reply or err.en
    return f"{err.smtp_code} {reply}" if err.smtp_code is not None else reply


def _domain(address: str) -> str:
    """The Message-ID's right-hand side: the sender's domain, in ASCII."""
    domain = address.rpartition("@")[2]
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return domain
