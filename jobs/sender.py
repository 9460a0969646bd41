"""The sending loop (issue 7 §1): claimed letters → e-mails → recorded outcomes.

A letter is claimed whole (tracker.delivery.claim); here it is built from its items'
obligations *now* (a settled item is left out, a letter with nothing left is cancelled,
never sent stale), sent outside any transaction, a few at a time, and marked. The lease
is checked after a send slot is taken and again, through the transport's `guard`, once
the SMTP connection is ready and immediately before the message is handed over; a
background task renews the worker's leases while a long batch runs. The first
authentication/TLS problem pauses all sending: letters not yet started are given back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import Engine

from tracker.config.schema import ClusterConfig
from tracker.db.engine import session_scope
from tracker.delivery import claim as claims
from tracker.delivery import outcome, pause
from tracker.delivery.claim import Claim
from tracker.delivery.states import NOTHING_TO_REPORT, UNPLANNED
from tracker.letters.build import CYCLE_KINDS
from tracker.letters.model import Lang, Letter
from tracker.letters.render import build_message
from tracker.transport.base import DeliveryError, LeaseLost, Transport

log = logging.getLogger("tracker.outbox")

# Sends are recorded in batches — one transaction per FLUSH_EVERY letters, or whatever
# has gone after FLUSH_SECONDS — not one commit per e-mail. A sender killed in between
# resends those few (with the same Message-ID); the window is kept short for that reason.
FLUSH_EVERY = 50
FLUSH_SECONDS = 0.2

Outcome = Literal["sent", "retry", "failed", "paused", "released", "would_send", "cancelled"]


@dataclass(frozen=True)
class SendResult:
    """What happened to one letter."""

    outcome: Outcome
    kind: str
    key: str
    email: str
    name: str
    rows: tuple[int, ...]  # the items it carried
    items: int
    letter_id: int | None = None
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
    "cancelled": "huỷ",
}
_OUTCOME_EN: dict[Outcome, str] = {
    "sent": "sent",
    "retry": "will retry",
    "failed": "failed",
    "paused": "paused",
    "released": "left for the next tick",
    "would_send": "would send",
    "cancelled": "cancelled",
}


def result(
    outcome_: Outcome,
    letter: Letter,
    ids: Sequence[int],
    *,
    letter_id: int | None = None,
    subject: str = "",
    message_id: str = "",
    detail: str = "",
) -> SendResult:
    return SendResult(
        outcome=outcome_,
        kind=letter.kind,
        key=letter.key,
        email=letter.recipient.email,
        name=letter.recipient.name,
        rows=tuple(ids),
        items=len(letter.items) or len(letter.overdue) + len(letter.due_this_week),
        letter_id=letter_id,
        subject=subject,
        message_id=message_id,
        detail=detail,
    )


def empty_reason(claim: Claim) -> str:
    """Why a claimed letter with nothing to say is cancelled: a digest or board report with
    nothing to report is not brought back that day; settled items are UNPLANNED."""
    if any(i.kind in CYCLE_KINDS for i in claim.items):
        return NOTHING_TO_REPORT
    return UNPLANNED


class Sender:
    """Sends the letters of one tick, at most `limit` at a time, and records each result
    as it completes (`on_result`)."""

    def __init__(
        self,
        engine: Engine,
        transport: Transport,
        *,
        now: datetime,
        clock: Callable[[], datetime],
        worker: str,
        lease: timedelta,
        limit: int,
        was_paused: bool,
        lang: Lang = "vi",
        stop: asyncio.Event | None = None,
        on_result: Callable[[SendResult], None] | None = None,
    ) -> None:
        self.engine = engine
        self.transport = transport
        self.now = now  # the tick's time: what the letters and the records say
        self.clock = clock  # the tick's time running on: what leases are measured by
        self.worker = worker
        self.lease = lease
        # Start no send this close to a lease's end: the send itself may take up to the
        # SMTP timeout, and another sender may take the letter once the lease is over.
        self.margin = min(timedelta(seconds=30), lease * 0.2)
        self.slots = asyncio.Semaphore(max(1, limit))
        self.pause: DeliveryError | None = None
        self.was_paused = was_paused
        self.lang = lang
        self.stop = stop
        self.on_result = on_result
        self.leases: dict[int, datetime] = {}
        self.pending: list[outcome.Sent] = []
        self.flushing = asyncio.Lock()

    # -- leases -------------------------------------------------------------------------

    def hold(self, claims_: Sequence[Claim]) -> None:
        for c in claims_:
            assert c.letter.id is not None and c.letter.lease_until is not None
            self.leases[c.letter.id] = c.letter.lease_until

    def _check(self, letter_id: int) -> None:
        until = self.leases.get(letter_id)
        if until is None or self.clock() + self.margin >= until:
            raise LeaseLost(letter_id)

    async def renew_forever(self) -> None:
        """Renew this worker's leases every third of a lease while the batch runs."""
        period = self.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(period)
            now = self.clock()
            try:
                n = await asyncio.to_thread(
                    claims.renew, self.engine, self.worker, now=now, lease=self.lease
                )
            except Exception:
                log.exception("could not renew the leases; sends stop when they run out")
                continue
            if n:
                for lid, until in list(self.leases.items()):
                    if until > now:
                        self.leases[lid] = now + self.lease

    async def flush_forever(self) -> None:
        """Record what has been sent every FLUSH_SECONDS while the batch runs."""
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            try:
                await self.flush()
            except Exception:
                log.exception("could not record sent letters; retrying")

    # -- one letter ---------------------------------------------------------------------

    async def send(
        self, claim: Claim, letter: Letter, carried: list[int], cfg: ClusterConfig
    ) -> SendResult:
        lid = claim.letter.id
        assert lid is not None
        async with self.slots:
            if self.pause is not None:
                return await self._release(
                    lid, letter, carried, self._say(self.pause.vi, self.pause.en)
                )
            if self.stop is not None and self.stop.is_set():
                # The daemon is stopping: finish what is on the wire, start nothing new.
                why = self._say(
                    "đang dừng, sẽ gửi khi chạy lại", "stopping, will be sent after a restart"
                )
                return await self._release(lid, letter, carried, why)
            try:
                self._check(lid)
            except LeaseLost:
                return await self._out_of_time(lid, letter, carried)
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
                return await self._failed(
                    lid, letter, carried, f"compose: {type(exc).__name__}: {exc}"
                )
            try:
                await self.transport.send(msg, guard=lambda: self._check(lid))
            except LeaseLost:
                return await self._out_of_time(lid, letter, carried)
            except DeliveryError as err:
                return await self._undelivered(lid, letter, carried, err)
            except Exception as exc:
                # Not a classified delivery problem (a bug in a transport, a closed one):
                # keep the letter and try again later rather than lose it.
                log.exception("unexpected error sending %s", letter.key)
                return await self._retry(lid, letter, carried, f"{type(exc).__name__}: {exc}")
            return await self._sent(
                lid, letter, carried, str(msg["Message-ID"]), str(msg["Subject"])
            )

    def _say(self, vi: str, en: str) -> str:
        return en if self.lang == "en" else vi

    def _report(self, r: SendResult) -> SendResult:
        if self.on_result is not None:
            self.on_result(r)
        return r

    async def _sent(
        self, lid: int, letter: Letter, carried: list[int], message_id: str, subject: str
    ) -> SendResult:
        # Recorded in batches (`flush`): one transaction per FLUSH_EVERY letters, not one
        # per e-mail. A crash before the flush resends these with the same Message-ID.
        self.pending.append(outcome.Sent(lid, message_id, subject, tuple(carried)))
        if len(self.pending) >= FLUSH_EVERY:
            await self.flush()
        log.info(
            "sent %s to %s key=%s items=%d message-id=%s",
            letter.kind,
            letter.recipient.email,
            letter.key,
            len(carried),
            message_id,
        )
        return self._report(
            result("sent", letter, carried, letter_id=lid, subject=subject, message_id=message_id)
        )

    async def flush(self) -> None:
        """Record the sends not yet recorded, in one transaction."""
        async with self.flushing:
            batch, self.pending = self.pending, []
            if not batch:
                return
            done = await asyncio.to_thread(
                outcome.mark_sent_many, self.engine, batch, worker=self.worker, now=self.now
            )
            for x in batch:
                self.leases.pop(x.letter_id, None)
                if x.letter_id not in done:
                    # Our lease ran out mid-send and another worker holds the letter now:
                    # it will send it again, with this same Message-ID.
                    log.warning(
                        "sent letter %s but another worker claimed it meanwhile", x.letter_id
                    )
            if self.was_paused:
                self.was_paused = False
                await asyncio.to_thread(_clear_pause, self.engine)
                log.info("sending resumed: a message went through")

    async def _undelivered(
        self, lid: int, letter: Letter, carried: list[int], err: DeliveryError
    ) -> SendResult:
        if err.pause:
            if self.pause is None:
                self.pause = err
                await asyncio.to_thread(_set_pause, self.engine, err, self.now)
                log.error("sending paused: %s", err.en)
            return await self._release(lid, letter, carried, self._say(err.vi, err.en))
        if err.permanent:
            return await self._failed(lid, letter, carried, reply(err))
        return await self._retry(lid, letter, carried, reply(err))

    async def _retry(self, lid: int, letter: Letter, carried: list[int], error: str) -> SendResult:
        what = await asyncio.to_thread(
            outcome.mark_retry, self.engine, lid, worker=self.worker, now=self.now, error=error
        )
        if what == "failed":
            log.error(
                "failed %s to %s key=%s: out of attempts: %s",
                letter.kind,
                letter.recipient.email,
                letter.key,
                error,
            )
            return self._report(result("failed", letter, carried, letter_id=lid, detail=error))
        log.warning(
            "retry %s to %s key=%s: %s", letter.kind, letter.recipient.email, letter.key, error
        )
        return self._report(result("retry", letter, carried, letter_id=lid, detail=error))

    async def _failed(self, lid: int, letter: Letter, carried: list[int], error: str) -> SendResult:
        await asyncio.to_thread(
            outcome.mark_failed, self.engine, lid, worker=self.worker, now=self.now, error=error
        )
        log.error(
            "failed %s to %s key=%s: %s", letter.kind, letter.recipient.email, letter.key, error
        )
        return self._report(result("failed", letter, carried, letter_id=lid, detail=error))

    async def _out_of_time(self, lid: int, letter: Letter, carried: list[int]) -> SendResult:
        why = self._say(
            "hết thời hạn giữ thư của lượt gửi này, sẽ gửi ở lượt sau",
            "this sender's claim ran out, will be sent on a later tick",
        )
        return await self._release(lid, letter, carried, why)

    async def _release(self, lid: int, letter: Letter, carried: list[int], why: str) -> SendResult:
        await asyncio.to_thread(
            claims.release, self.engine, self.worker, letter_ids=[lid], now=self.now
        )
        self.leases.pop(lid, None)
        outcome_: Outcome = "paused" if self.pause is not None else "released"
        log.info("%s %s to %s key=%s", outcome_, letter.kind, letter.recipient.email, letter.key)
        return self._report(result(outcome_, letter, carried, letter_id=lid, detail=why))


async def stop_renewing(task: asyncio.Task[None]) -> None:
    """Cancel a background task of the batch (lease renewal, recording) and wait for it."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _set_pause(engine: Engine, err: DeliveryError, now: datetime) -> None:
    with session_scope(engine) as s:
        pause.set_pause(s, now=now, reason_vi=err.vi, reason_en=err.en, reply=reply(err))


def _clear_pause(engine: Engine) -> None:
    with session_scope(engine) as s:
        pause.clear_pause(s)


def reply(err: DeliveryError) -> str:
    """What the server said (kept on the letter and shown by `tracker outbox`)."""
    text = err.reply or err.en
    return f"{err.smtp_code} {text}" if err.smtp_code is not None else text


def _domain(address: str) -> str:
    """The Message-ID's right-hand side: the sender's domain, in ASCII."""
    domain = address.rpartition("@")[2]
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return domain
