"""`tracker simulate`: the daemon's work, day by day, on a simulated clock (issue 3 §4).

Nothing touches the real outbox: the database is copied into a temporary SQLite file
first (SQLite: the sqlite3 backup API, a consistent snapshot even while the daemon writes;
PostgreSQL: every table's rows, ids kept, so reminder keys and Message-IDs are the ones
the real daemon would use) and every tick runs against the copy. Each simulated day gets
one tick at each loaded cycle's office hour (`mail.send_hour`), when the planner sends
everything; the daemon's other ticks of the day find nothing due (the simulated transports
never fail, so there are no retries to pick up). Every message is recorded for the
timeline: in memory by default, or as `.eml` files in a folder.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType

from sqlalchemy import delete, insert
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine, make_url
from sqlmodel import SQLModel, col, select

from jobs.runtime import DEFAULTS
from jobs.tick import TickReport, tick_once
from tracker.calendar.types import TZ
from tracker.db import migrate
from tracker.db import models as m
from tracker.db.engine import make_engine, mask_url, session_scope
from tracker.delivery import claim
from tracker.errors import NotFoundError
from tracker.letters.model import Lang
from tracker.service.cycles import config_from_snapshot
from tracker.transport import FileTransport, MemoryTransport, Transport
from tracker.transport.base import Guard


@dataclass(frozen=True)
class SentMessage:
    """One message of the timeline, as the recipient would get it."""

    at: datetime  # the simulated instant of the tick that sent it (Asia/Ho_Chi_Minh)
    email: str
    name: str
    kind: str  # X-Tracker-Kind: lead, overdue, digest, leader_digest, …
    subject: str
    message_id: str
    key: str  # X-Tracker-Key: the outbox key (or the letter's key for a digest)
    message: EmailMessage


class RecordingTransport:
    """Delivers through `inner` and keeps a timeline entry for each message it took."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.at: datetime = datetime.min.replace(tzinfo=TZ)  # set before each tick
        self.sent: list[SentMessage] = []

    async def send(self, msg: EmailMessage, *, guard: Guard | None = None) -> None:
        await self.inner.send(msg, guard=guard)
        to = msg["To"]
        addresses: tuple[Address, ...] = getattr(to, "addresses", ())
        first = addresses[0] if addresses else Address(addr_spec=str(to or ""))
        self.sent.append(
            SentMessage(
                at=self.at,
                email=first.addr_spec,
                name=first.display_name,
                kind=str(msg.get("X-Tracker-Kind", "")),
                subject=str(msg.get("Subject", "")),
                message_id=str(msg.get("Message-ID", "")),
                key=str(msg.get("X-Tracker-Key", "")),
                message=msg,
            )
        )

    async def aclose(self) -> None:
        await self.inner.aclose()

    def describe(self, lang: str = "vi") -> str:
        return self.inner.describe(lang)


class Simulation:
    """A private copy of the database, a transport and a simulated clock.

    Use as a context manager; `run()` may be called several times, and between runs the
    caller may change the copy through `engine` (complete an obligation, move the
    conference) to see how the reminders follow.
    """

    def __init__(
        self,
        source_url: str,
        *,
        out: Path | None = None,
        cycle: int | None = None,
        cluster: str | None = None,
        lang: Lang = "vi",
    ):
        self._tmp = tempfile.TemporaryDirectory(prefix="tracker-simulate-")
        self.copy_path = Path(self._tmp.name) / "simulate.db"
        self.url = f"sqlite:///{self.copy_path}"
        self.engine: Engine | None = None
        try:
            copy_database(source_url, self.copy_path)
            self.engine = make_engine(self.url)
            _prepare_copy(self.engine, cycle, cluster)
            self.send_hours = _send_hours(self.engine)
        except BaseException:
            self.close()
            raise
        inner: Transport = FileTransport(out) if out is not None else MemoryTransport()
        self.transport = RecordingTransport(inner)
        self.worker = f"simulate:{os.getpid()}"
        self.lang: Lang = lang  # of the ticks' reports (pause reasons); letters follow configs
        self.reports: list[tuple[datetime, TickReport]] = []
        # The first tick that found sending paused (e.g. an --out folder that cannot be
        # written): (when, why). The run stops there, since every later day would fail the
        # same way, and `tracker simulate` fails with the reason.
        self.paused: tuple[datetime, str] | None = None

    @property
    def messages(self) -> list[SentMessage]:
        return self.transport.sent

    def transport_label(self, lang: str = "vi") -> str:
        return self.transport.describe(lang)

    def tick_times(self, day: date) -> list[datetime]:
        return [datetime.combine(day, time(h), tzinfo=TZ) for h in sorted(self.send_hours)]

    def run(
        self, start: date, end: date, *, progress: Callable[[date], None] | None = None
    ) -> list[SentMessage]:
        """Tick through every day from `start` to `end` (inclusive), or until a tick finds
        sending paused (see `paused`); the messages sent."""
        first = len(self.transport.sent)
        asyncio.run(self._run(start, end, progress))
        return self.transport.sent[first:]

    async def _run(self, start: date, end: date, progress: Callable[[date], None] | None) -> None:
        day = start
        while day <= end:
            for at in self.tick_times(day):
                report = await self.tick(at)
                if report.paused is not None:
                    self.paused = (at, report.paused)
                    return
            if progress is not None:
                progress(day)
            day += timedelta(days=1)

    async def tick(self, at: datetime) -> TickReport:
        assert self.engine is not None
        self.transport.at = at
        report = await tick_once(
            self.engine,
            self.transport,
            now=at,
            worker=self.worker,
            settings=DEFAULTS,
            lang=self.lang,
        )
        self.reports.append((at, report))
        return report

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()
            self.engine = None
        self._tmp.cleanup()

    def __enter__(self) -> Simulation:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def copy_database(source_url: str, target: Path) -> None:
    """Copy the database at `source_url` into a new SQLite file `target`."""
    from tracker.db.engine import missing_sqlite_file, not_set_up

    if missing_sqlite_file(source_url):
        # sqlite3.connect would create an empty file, then "no such table" on the copy.
        raise not_set_up(mask_url(source_url))
    parsed = make_url(source_url)
    if parsed.get_backend_name() == "sqlite":
        source = make_engine(source_url)  # checks the file and says what to do if it is bad
        source.dispose()
        src = sqlite3.connect(parsed.database or ":memory:")
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
        return
    _copy_rows(source_url, f"sqlite:///{target}")


def _copy_rows(source_url: str, target_url: str) -> None:
    source = make_engine(source_url)
    target = make_engine(target_url)
    try:
        migrate.upgrade(target)
        with source.connect() as src, target.begin() as dst:
            for table in SQLModel.metadata.sorted_tables:  # parents before children
                rows = [dict(r) for r in src.execute(sa_select(table)).mappings()]
                if rows:
                    dst.execute(insert(table), rows)
    finally:
        source.dispose()
        target.dispose()


def _prepare_copy(engine: Engine, cycle: int | None, cluster: str | None) -> None:
    """Make the copy the simulation's own: only the chosen cycles (`cluster`, `cycle`: the
    year; None = all), no pause left by the real transport, no claim held by a real worker
    (none runs on the copy)."""
    with session_scope(engine) as session:
        loaded = list(session.exec(select(m.CycleRow)))
        if not loaded:
            raise NotFoundError(
                "Cơ sở dữ liệu chưa có chu kỳ nào. Chạy 'tracker init' trước khi chạy thử.",
                "The database holds no cycle yet. Run 'tracker init' before simulating.",
            )
        if cluster is not None and all(r.cluster_id != cluster for r in loaded):
            have = ", ".join(sorted({r.cluster_id for r in loaded}))
            raise NotFoundError(
                f"Không có Cụm '{cluster}' (đã có: {have}).",
                f"No cluster '{cluster}' (loaded: {have}).",
            )
        mine = [r for r in loaded if cluster is None or r.cluster_id == cluster]
        keep = [r for r in mine if cycle is None or r.year == cycle]
        if not keep:
            have = ", ".join(str(y) for y in sorted({r.year for r in mine}))
            raise NotFoundError(
                f"Không có chu kỳ {cycle} (đã có: {have}).",
                f"No {cycle} cycle (loaded: {have}).",
            )
        kept = {r.id for r in keep}
        others = [r.id for r in loaded if r.id not in kept]
        if others:
            for table in (
                m.OutboxRow,
                m.LetterRow,
                m.PlanState,
                m.AuditEntry,
                m.Obligation,
                m.MemberRow,
            ):
                session.exec(delete(table).where(col(table.cycle_id).in_(others)))
            session.exec(delete(m.CycleRow).where(col(m.CycleRow.id).in_(others)))
        session.exec(delete(m.OutboxPause))
        workers = set(
            session.exec(
                select(m.LetterRow.claimed_by).where(col(m.LetterRow.claimed_by).is_not(None))
            )
        )
    for worker in sorted(w for w in workers if w is not None):
        claim.release(engine, worker)


def _send_hours(engine: Engine) -> set[int]:
    with session_scope(engine) as session:
        snapshots = session.exec(select(m.CycleRow.config_json)).all()
        return {config_from_snapshot(text).mail.send_hour for text in snapshots}
