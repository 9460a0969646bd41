"""`tracker run`: the reminder daemon (issue 3 §4).

APScheduler 3.x is only the clock: one interval job that runs at start-up and then every
`mail.tick_seconds` / TRACKER_TICK_SECONDS (default 30, at most 60; jobs.tick.settings_for). Each run is one `dispatch.tick` — plan, claim
due rows, send, mark — and every decision lives in the outbox table, so a crash loses
nothing: a claim whose holder died is taken again once its lease runs out, with the same
Message-ID.

Stopping (SIGINT / Ctrl-C, SIGTERM): no new tick starts; the tick in flight finishes its
sends and marks them; this worker's remaining claims are released; the scheduler shuts
down; the transport closes its connections; exit code 0. A second signal stops at once
(whatever was being sent is retried after the lease, with the same Message-ID).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from dataclasses import dataclass
from datetime import datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.engine import Engine

from jobs import clock
from jobs.runtime import (
    TickSettings,
    mail_config,
    newest_cycle,
    settings_for,
    transport_for,
    worker_id,
)
from jobs.tick import open_store, tick_once
from tracker.calendar.office_hours import Office
from tracker.calendar.types import TZ
from tracker.calendar.vndate import vn_date
from tracker.db.engine import mask_url, session_scope
from tracker.delivery import claim, pause
from tracker.errors import TrackerError
from tracker.service.cycles import all_cycles, load_context
from tracker.transport import Transport

log = logging.getLogger("tracker.daemon")


class _LocalTimeFormatter(logging.Formatter):
    """Log times in Vietnam time, whatever the server's own time zone is."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return datetime.fromtimestamp(record.created, TZ).strftime("%Y-%m-%d %H:%M:%S")


def _setup_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_LocalTimeFormatter("%(asctime)s %(levelname)s %(message)s"))
    # Our own one line per send at INFO; the library layers (tracker.outbox, …) speak only
    # when something is wrong, so a send is not logged twice.
    base = logging.getLogger("tracker")
    base.addHandler(handler)
    base.setLevel(logging.WARNING)
    log.setLevel(logging.INFO)
    # APScheduler logs every run at INFO and a skipped overlapping run at WARNING; one
    # line per send from us says more.
    logging.getLogger("apscheduler").setLevel(logging.ERROR)


def _t(lang: str, vi: str, en: str) -> str:
    return en if lang == "en" else vi


@dataclass
class _Options:
    lang: str
    interval: float
    worker: str
    settings: TickSettings


class Daemon:
    """The state shared by the scheduler's job and the signal handlers."""

    def __init__(self, engine: Engine, transport: Transport, opts: _Options) -> None:
        self.engine = engine
        self.transport = transport
        self.opts = opts
        self.stop = asyncio.Event()
        self.current: asyncio.Task[None] | None = None
        self.idle = asyncio.Event()  # no job running
        self.idle.set()
        self.ticks = 0
        self.sent = 0
        self.paused: str | None = None  # the pause reason last reported

    async def job(self) -> None:
        """The scheduler's job. The tick runs as our own task behind a shield: APScheduler's
        asyncio executor cancels its jobs on shutdown, and a send must not be cut off."""
        if self.stop.is_set():
            return
        task = asyncio.ensure_future(self._tick())
        self.current = task
        self.idle.clear()
        try:
            # Cancelled only on purpose (a second signal, the scheduler's shutdown): end
            # quietly instead of letting APScheduler log a traceback.
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(task)
        finally:
            self.idle.set()

    async def _tick(self) -> None:
        lang = self.opts.lang
        try:
            report = await tick_once(
                self.engine,
                self.transport,
                now=clock.now(),
                worker=self.opts.worker,
                settings=self.opts.settings,
                stop=self.stop,
                lang="en" if lang == "en" else "vi",
                # One line per letter as it completes, not a burst at the end of the tick.
                on_result=lambda r: log.info(r.line(lang)),
            )
        except TrackerError as exc:
            # A busy or unreachable database, a bad setting: say it, try again next tick.
            log.error(exc.message(lang))
            return
        except Exception:
            log.exception(_t(lang, "Lượt kiểm tra bị lỗi; sẽ thử lại.", "Tick failed; will retry."))
            return
        self.ticks += 1
        self.sent += report.sent
        if report.paused and not self.paused:
            log.error(_t(lang, "Việc gửi thư tạm dừng: ", "Sending is paused: ") + report.paused)
        self.paused = report.paused

    def request_stop(self, signame: str) -> None:
        lang = self.opts.lang
        if not self.stop.is_set():
            log.info(
                _t(
                    lang,
                    f"Nhận {signame}: đang dừng, chờ các thư đang gửi xong…"
                    " (nhấn Ctrl-C lần nữa để dừng ngay)",
                    f"Got {signame}: stopping once the sends in flight finish…"
                    " (press Ctrl-C again to stop at once)",
                )
            )
            self.stop.set()
            return
        log.warning(
            _t(
                lang,
                "Dừng ngay: thư đang gửi dở sẽ được gửi lại sau (cùng Message-ID).",
                "Stopping at once: a send cut off now is retried later (same Message-ID).",
            )
        )
        if self.current is not None and not self.current.done():
            self.current.cancel()

    async def drain(self) -> None:
        """Wait for the tick in flight (a second signal cancels it)."""
        task = self.current
        if task is not None and not task.done():
            await asyncio.wait([task])
        await self.idle.wait()


def run_daemon(db_url: str, *, lang: str = "vi") -> int:
    """Run until SIGINT/SIGTERM; 0 after a clean stop. Setup problems (no database, no
    cycle, bad settings) raise TrackerError, which the CLI prints as one line."""
    # A garbage replay clock would otherwise fail every tick, in the log only.
    clock.check()
    engine = open_store(db_url)
    try:
        with session_scope(engine) as session:
            newest_cycle(session)  # fails with "run tracker init" when there is none
            loaded = [f"{c.cluster_id} {c.year}" for c in all_cycles(session)]
            # A pause (SMTP login or TLS refused) tells the user to fix it and restart: a
            # restart reads the credentials anew, so it tries again at once.
            pause.clear_pause(session)
        settings = settings_for(mail_config(engine))
        transport = transport_for(engine, settings)
        opts = _Options(
            lang=lang, interval=settings.tick_seconds, worker=worker_id(), settings=settings
        )
        _setup_logging()
        return asyncio.run(_serve(engine, transport, opts, loaded))
    finally:
        engine.dispose()


async def _serve(engine: Engine, transport: Transport, opts: _Options, loaded: list[str]) -> int:
    daemon = Daemon(engine, transport, opts)
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        loop.add_signal_handler(sig, daemon.request_stop, sig.name)
    scheduler = AsyncIOScheduler(timezone=TZ)
    scheduler.add_job(
        daemon.job,
        "interval",
        seconds=opts.interval,
        id="tick",
        name="reminder tick",
        # The first tick at start-up; APScheduler runs on the wall clock, not a replayed one.
        next_run_time=clock.real_now(),
        max_instances=1,  # a slow tick is never overlapped by the next one
        coalesce=True,  # after a stall (suspend, long batch): one run, not a burst
        misfire_grace_time=None,  # however late, still run
    )
    try:
        scheduler.start()
        # Printed once the signal handlers are in place: from here Ctrl-C stops cleanly.
        _banner(engine, transport, opts, loaded)
        await daemon.stop.wait()
        scheduler.pause()  # no new tick from here on
        await daemon.drain()
        released = await asyncio.to_thread(claim.release, engine, opts.worker)
        scheduler.shutdown(wait=True)
        await asyncio.sleep(0)  # AsyncIOScheduler shuts down on the next loop turn
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
        await transport.aclose()
    log.info(
        _t(
            opts.lang,
            f"Đã dừng. Đã gửi {daemon.sent} thư trong {daemon.ticks} lượt kiểm tra;"
            f" trả lại {released} thư đang giữ.",
            f"Stopped. Sent {daemon.sent} message(s) in {daemon.ticks} tick(s);"
            f" released {released} claim(s).",
        )
    )
    return 0


def _banner(engine: Engine, transport: Transport, opts: _Options, loaded: list[str]) -> None:
    lang = opts.lang
    lines = [
        _t(
            lang,
            "Trình nhắc việc của Cụm thi đua đang chạy.",
            "The cluster reminder daemon is running.",
        ),
        _t(lang, "  Cơ sở dữ liệu: ", "  Database: ") + mask_url(engine.url),
        _t(lang, "  Chu kỳ: ", "  Cycles: ") + ", ".join(loaded),
        _t(lang, "  Thư gửi tới: ", "  Mail goes to: ") + transport.describe(lang),
        _t(
            lang,
            f"  Kiểm tra mỗi {opts.interval:g} giây (giờ Việt Nam, Asia/Ho_Chi_Minh).",
            f"  Checks every {opts.interval:g} s (Vietnam time, Asia/Ho_Chi_Minh).",
        ),
        _t(lang, "  Mã tiến trình: ", "  Worker: ") + opts.worker,
        _t(
            lang,
            "  Dừng: nhấn Ctrl-C (hoặc gửi SIGTERM); thư đang gửi sẽ gửi xong trước khi dừng.",
            "  Stop: press Ctrl-C (or send SIGTERM); sends in flight finish first.",
        ),
    ]
    lines.append(_office_line(engine, lang))
    fake = clock.fake_start()
    if fake is not None:
        name = clock.variable()
        lines.append(
            _t(
                lang,
                f"  CHÚ Ý: đồng hồ phát lại {name}={fake.isoformat()} (chạy tiếp từ thời điểm đó).",
                f"  NOTE: replay clock {name}={fake.isoformat()} (runs on from that instant).",
            )
        )
    print("\n".join(lines), flush=True)


def _office_line(engine: Engine, lang: str) -> str:
    """When mail can go out, so a user who starts the daemon on a Sunday evening knows why
    nothing is sent yet (reminders go out in office hours on working days only)."""
    with session_scope(engine) as session:
        ctx = load_context(session, newest_cycle(session))
    office = Office(ctx.calendar, ctx.cfg.mail.send_hour)
    now = clock.now()
    opens = office.next_open(now).astimezone(TZ)
    hours = f"{office.send_hour:02d}:00–{office.closes_hour:02d}:00"
    if opens <= now:
        return _t(
            lang,
            f"  Giờ gửi thư: {hours} các ngày làm việc (đang trong giờ gửi).",
            f"  Sending hours: {hours} on working days (open now).",
        )
    return _t(
        lang,
        f"  Giờ gửi thư: {hours} các ngày làm việc; lần gửi tới sớm nhất:"
        f" {opens:%H:%M} ngày {vn_date(opens.date())}.",
        f"  Sending hours: {hours} on working days; next sending from"
        f" {opens:%H:%M} on {opens.date().isoformat()}.",
    )
