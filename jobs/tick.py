"""One tick with the clock read here: `tracker remind` (cron) and the daemon's job.

`tracker.reminders.dispatch.tick` does the work (plan, claim, send, mark) with `now` passed
in; this module only adds what the pure layers must not do: read the clock, open the
database, choose the transport from the loaded config.
"""

from __future__ import annotations

import asyncio
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from jobs import clock
from tracker.config.schema import Mail
from tracker.db.engine import session_scope
from tracker.db.models import CycleRow
from tracker.db.store import open_store as open_store  # the one way; re-exported here
from tracker.errors import NotFoundError
from tracker.reminders import dispatch, outbox
from tracker.reminders.content import Lang
from tracker.reminders.dispatch import TickReport
from tracker.reminders.transport import Transport, make_transport
from tracker.service.cycles import config_from_snapshot


@dataclass(frozen=True)
class TickSettings:
    """How much one tick may do. The lease must outlast the slowest send of a batch (SMTP
    times out after 30 s per attempt), or a second worker could take over a live claim."""

    lease: timedelta = timedelta(minutes=5)
    batch: int = 200
    max_concurrency: int = 4


DEFAULTS = TickSettings()


def worker_id() -> str:
    """Who holds a claim: this host and process, so a restart is a different worker."""
    return f"{socket.gethostname()}:{os.getpid()}"


def newest_cycle(session: Session) -> CycleRow:
    """The cycle loaded most recently: its `[mail]` section is the leader's latest word on
    where mail goes (every cycle's reminders still go out, through that one transport)."""
    row = session.exec(select(CycleRow).order_by(col(CycleRow.loaded_at).desc())).first()
    if row is None:
        raise NotFoundError(
            "Cơ sở dữ liệu chưa có chu kỳ nào. Chạy 'tracker init' để nạp cấu hình của Cụm.",
            "The database holds no cycle yet. Run 'tracker init' to load the cluster's config.",
        )
    return row


def mail_config(engine: Engine) -> Mail:
    with session_scope(engine) as session:
        return config_from_snapshot(newest_cycle(session).config_json).mail


def transport_for(engine: Engine) -> Transport:
    """The transport the config names; a relative mail folder is anchored at the working
    directory now, so the banner and the logs show where mail really goes."""
    return make_transport(mail_config(engine), os.environ, base_dir=Path.cwd())


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
) -> TickReport:
    """One tick; `lang` is the report's language (the letters follow each cycle's config)."""
    return await dispatch.tick(
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
    )


def run_once(db_url: str, at: datetime | None, dry_run: bool, lang: Lang = "vi") -> TickReport:
    """One tick at `at` (default: now), for cron users. `dry_run` plans and shows what
    would go out and writes nothing: not the outbox, not a mail file."""
    if at is not None and at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    engine = open_store(db_url)
    try:
        transport = transport_for(engine)
        return asyncio.run(_one(engine, transport, at or clock.now(), dry_run, lang))
    finally:
        engine.dispose()


async def _one(
    engine: Engine, transport: Transport, now: datetime, dry_run: bool, lang: Lang
) -> TickReport:
    worker = worker_id()
    try:
        return await tick_once(
            engine, transport, now=now, worker=worker, dry_run=dry_run, lang=lang
        )
    finally:
        try:
            if not dry_run:
                # Nothing should be left claimed after a finished tick; if the tick failed
                # half-way, give its claims back now instead of after the lease.
                await asyncio.to_thread(outbox.release, engine, worker)
        finally:
            await transport.aclose()
