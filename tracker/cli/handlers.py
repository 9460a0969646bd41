"""What each CLI command does: read the clock, open the store, call tracker.service, print.
One short function per command (~460 lines in all); the reminder and election commands
live in their own modules.

The clock is jobs/clock.py, the one the daemon reads too: `TRACKER_NOW` (replay clock, see
the README) reaches every command the same way.

Imported only when a command runs (see app.py), so it may import the database stack.
Every TrackerError becomes one line on stderr and its exit code; nothing else is caught
here except Ctrl-C, so a real bug still shows its traceback to the developers.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from jobs import clock
from tracker.calendar.types import TZ, local_date
from tracker.cli import render
from tracker.cli.app import Settings
from tracker.config import load_config, shipped_configs
from tracker.config.schema import ClusterConfig
from tracker.db.engine import (
    default_database_url,
    make_engine,
    mask_url,
    session_scope,
    unavailable_error,
)
from tracker.db.store import open_store
from tracker.errors import BadInputError, TrackerError
from tracker.service import cycles, views

if TYPE_CHECKING:
    from tracker.service import actions

Handler = Callable[[Settings, dict[str, Any]], int]
_HANDLERS: dict[str, Handler] = {}
_LAZY = {"elect": "tracker.cli.election_cmds"}


def handler(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        _HANDLERS[name] = fn
        return fn

    return register


def dispatch(settings: Settings, name: str, kwargs: dict[str, Any]) -> int:
    if name not in _HANDLERS:
        # The reminder and election commands register themselves when their module is
        # imported: only when one of them runs, so `tracker status` does not pay for it
        # (bench/README.md).
        import importlib

        importlib.import_module(_LAZY.get(name, "tracker.cli.reminder_cmds"))
    _freeze_imports()
    # The library logs in English for developers; the user gets the command's own one-line,
    # localised messages. Without a handler Python would print warnings on stderr as well
    # (`tracker run` installs its own log handler, which still receives everything).
    logging.getLogger("tracker").addHandler(logging.NullHandler())
    try:
        # A garbage replay clock is refused before any command (run included) starts work.
        clock.check()
        if name in PAGED and _pager_wanted(settings):
            return _paged(settings, _HANDLERS[name], kwargs)
        return _HANDLERS[name](settings, kwargs)
    except OperationalError as exc:
        # The database went away or stayed locked past the busy timeout somewhere no
        # session_scope wrapped it (a module's own connection): still one line, exit 1.
        return _fail(settings, unavailable_error(exc, settings.db or default_database_url()))
    except TrackerError as exc:
        return _fail(settings, exc)
    except KeyboardInterrupt:
        return 130


# Listings that grow with the year: on a terminal they go through a pager, like git's log;
# piped or redirected, never (issue 8 §2).
PAGED = frozenset({"outbox", "history", "calendar"})


def _pager_wanted(settings: Settings) -> bool:
    return not settings.no_pager and sys.stdout.isatty() and os.environ.get("TERM") != "dumb"


def _paged(settings: Settings, fn: Handler, kwargs: dict[str, Any]) -> int:
    """Run `fn` with its output collected, then show it through $PAGER (else `less`).
    With LESS=FRX, as git sets it: a listing that fits on one screen is printed and less
    quits at once, colours pass through, the screen is not cleared. An empty PAGER, or
    `cat`, or a pager not installed prints directly."""
    import io
    import shlex
    import shutil
    import subprocess
    from contextlib import redirect_stdout

    buffer = io.StringIO()
    with redirect_stdout(buffer):
        code = fn(settings, kwargs)
    text = buffer.getvalue()
    command = shlex.split(os.environ.get("PAGER", "less"))
    if not text or not command or command[0] == "cat" or shutil.which(command[0]) is None:
        typer.echo(text, nl=False)
        return code
    env = dict(os.environ)
    env.setdefault("LESS", "FRX")
    try:
        proc = subprocess.Popen(command, stdin=subprocess.PIPE, env=env)
        assert proc.stdin is not None
        with proc.stdin:
            proc.stdin.write(text.encode("utf-8"))
        proc.wait()
    except BrokenPipeError:  # the reader quit the pager before the end: nothing is wrong
        proc.wait()
    return code


def color_wanted(settings: Settings) -> bool:
    """Colour only on a terminal, and never with --no-color or NO_COLOR."""
    return sys.stdout.isatty() and not settings.no_color


def _fail(settings: Settings, exc: TrackerError) -> int:
    prefix = "Lỗi" if settings.lang == "vi" else "Error"
    typer.echo(f"{prefix}: {exc.message(settings.lang)}", err=True)
    return exc.exit_code


_imports_frozen = False


def _freeze_imports() -> None:
    """Move what is alive now (the modules, classes and config models just imported) out of
    the garbage collector's way, once per process.

    They live until the process ends, yet every full collection, and the last one when the
    process exits, walked all of them again: about 70 ms of a `tracker status` run that
    takes 0.5 s (bench/README.md). Objects the command creates afterwards (engine, session,
    rows) are collected as usual. Here rather than at import, so that a program importing
    this module for a helper (jobs/tick.py) keeps its collector as it was.
    """
    global _imports_frozen
    from tracker.cli import app

    # Only in the short-lived `tracker` process (app.main); a program or test that calls the
    # CLI in-process keeps its collector as it was.
    if app.FREEZE_GC and not _imports_frozen:
        gc.freeze()
        _imports_frozen = True


# ---------------------------------------------------------------- shared helpers


def now() -> datetime:
    """Now, as every command sees it: jobs/clock.py, the replay clock included (tests
    travel with time-machine or set TRACKER_NOW)."""
    return clock.now()


def os_user() -> str:
    import getpass  # with termios: only the commands that record who acted need it

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "unknown")


def parse_day(text: str, option: str) -> date:
    text = text.strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise BadInputError(
        f"{option} '{text}' không phải ngày hợp lệ: viết 2023-03-10 hoặc 10/03/2023.",
        f"{option} '{text}' is not a valid date: write 2023-03-10 or 10/03/2023.",
    )


def parse_at(text: str | None) -> datetime:
    """--at: a date (taken at 08:00 local) or an ISO date-time; naive means Vietnam time."""
    if text is None:
        return now()
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        try:
            value = datetime.combine(parse_day(text, "--at"), time(8))
        except BadInputError:
            raise BadInputError(
                f"--at '{text}' không phải ngày giờ hợp lệ: viết 2022-12-26, 26/12/2022"
                " hoặc 2022-12-26T14:30.",
                f"--at '{text}' is not a valid date or time: write 2022-12-26, 26/12/2022"
                " or 2022-12-26T14:30.",
            ) from None
    if len(text.strip()) <= 10 and "T" not in text and " " not in text.strip():
        value = datetime.combine(value.date(), time(8))
    value = value if value.tzinfo else value.replace(tzinfo=TZ)
    try:
        year = value.astimezone(TZ).year
    except OverflowError:  # 9999-12-31T23:59-23:59 is past the end of the calendar in Vietnam
        year = 0
    if not 2000 <= year <= 2100:
        shown = text if len(text) <= 40 else text[:39] + "…"
        raise BadInputError(
            f"--at '{shown}' nằm ngoài khoảng tracker làm việc (năm 2000–2100, giờ Việt Nam).",
            f"--at '{shown}' is outside the years the tracker works with (2000–2100,"
            " Vietnam time).",
        )
    return value


def parse_cycle(text: str | None, today: date) -> int | None:
    if text is None:
        return None
    if text.strip().lower() in ("current", "now", "hien-tai"):
        return today.year
    if text.strip().isdigit() and 2000 <= int(text) <= 2100:
        return int(text)
    raise BadInputError(
        f"--cycle '{text}' không hợp lệ: ghi năm (ví dụ 2022) hoặc 'current'.",
        f"--cycle '{text}' is invalid: give a year (e.g. 2022) or 'current'.",
    )


def _engine(settings: Settings) -> Engine:
    return make_engine(settings.db or default_database_url())


@contextmanager
def _store(settings: Settings, *, write: bool = True) -> Iterator[Session]:
    """One transaction on the store (tracker/db/store.py, the daemon's way too). `write=False`
    for the read-only commands: a deferred, read-only transaction that neither waits for
    nor blocks a writer (issue 7)."""
    engine = open_store(settings.db or default_database_url())
    try:
        with session_scope(engine, write=write) as session:
            yield session
    finally:
        engine.dispose()


def _context(
    session: Session, settings: Settings, cycle: str | None, at: datetime
) -> cycles.CycleContext:
    today = local_date(at)
    row = cycles.find_cycle(
        session, cluster_id=settings.cluster, year=parse_cycle(cycle, today), today=today
    )
    return cycles.load_context(session, row)


def _action_context(
    session: Session, settings: Settings, cycle: str | None, at: datetime, milestone: str
) -> cycles.CycleContext:
    """The cycle an action changes: as `_context`, but without --cycle an action on a
    milestone that two live cycles hold (January–March) is refused with both choices."""
    from tracker.service import actions

    ctx = _context(session, settings, cycle, at)
    if cycle is None:
        actions.refuse_two_live_cycles(session, ctx, local_date(at), milestone)
    return ctx


# What a confirmation says each action did, (vi, en), with {m} the member's name and {o}
# the obligation's name: the user reads back the cluster, the cycle and the obligation in
# words, so acting on the wrong one is seen at once (issue 8 §1).
_DONE: dict[str, tuple[str, str]] = {
    "submit": ("{m} đã gửi {o}", "{m} has sent {o}"),
    "complete": ("{o} của {m} đã hoàn thành", "{o} of {m} is completed"),
    "return": ("{o} của {m} được trả lại để bổ sung", "{o} of {m} is returned for revision"),
    "waive": ("{m} được miễn {o}", "{m} is excused from {o}"),
    "reopen": ("{o} của {m} được mở lại", "{o} of {m} is reopened"),
}


def confirmation(ctx: cycles.CycleContext, ob: Any, action: str, on: date | None, lang: str) -> str:
    """ "Đã ghi nhận: Huyện Điện Biên Đông đã gửi Báo cáo tổng kết năm (Cụm …, chu kỳ 2026)"."""
    from tracker.calendar.vndate import vn_date

    member = next((m.name for m in ctx.cfg.members if m.id == ob.member_id), ob.member_id)
    ms = ctx.cfg.find_milestone(ob.milestone_id)
    vi_text, en_text = _DONE[action]
    if lang == "en":
        name = ms.name_en if ms is not None else (ob.title or ob.milestone_id)
        when = f" on {on.isoformat()}" if on is not None else ""
        return (
            f"Recorded: {en_text.format(m=member, o=name)}{when}"
            f" ({ctx.cfg.cluster.name_en}, {ctx.year} cycle)."
        )
    name = ms.name if ms is not None else (ob.title or ob.milestone_id)
    when = f" ngày {vn_date(on)}" if on is not None else ""
    return (
        f"Đã ghi nhận: {vi_text.format(m=member, o=name)}{when}"
        f" ({ctx.cfg.cluster.name}, chu kỳ {ctx.year})."
    )


def _who(settings: Settings, ctx: cycles.CycleContext) -> actions.Who:
    # The commands that change state import what they need when they run; the read-only
    # ones (status, show, calendar, history) never do.
    from tracker.service import actions
    from tracker.service.operators import resolve_actor

    user = os_user()
    # Under a replay clock the audit keeps the real time beside the replayed one.
    real = clock.real_now() if clock.replaying() else None
    return actions.Who(resolve_actor(ctx.cfg, settings.operator, user), user, recorded_at=real)


def _config_files(settings: Settings) -> list[Path]:
    if settings.config is None:
        files = shipped_configs()
    else:
        p = Path(settings.config)
        files = sorted(p.glob("*.toml")) if p.is_dir() else [p]
    if not files:
        raise BadInputError(
            f"Không tìm thấy tệp cấu hình .toml trong {settings.config}.",
            f"No .toml config file found in {settings.config}.",
        )
    return files


# ---------------------------------------------------------------- commands


@handler("init")
def _init(settings: Settings, kw: dict[str, Any]) -> int:
    at = now()
    # Validate every file before touching the database: a bad file writes nothing.
    loaded: list[tuple[Path, ClusterConfig]] = [
        (p, load_config(p)) for p in _config_files(settings)
    ]
    from tracker.db import migrate

    # A bad --cycle is refused before a database file is created.
    wanted = parse_cycle(kw["cycle"], local_date(at))
    engine = _engine(settings)
    try:
        migrate.upgrade(engine)
        with session_scope(engine) as session:
            reports = []
            for path, cfg in loaded:
                year = wanted or cfg.cycle.year
                reports.append(
                    cycles.init_cycle(
                        session,
                        cfg,
                        config_path=str(path),
                        year=year,
                        now=at,
                        operator=settings.operator or "-",
                        os_user=os_user(),
                        force=kw["force"],
                        recorded_at=clock.real_now() if clock.replaying() else None,
                    )
                )
        for rep in reports:
            render.init_report(rep, settings.lang, mask_url(engine.url))
    finally:
        engine.dispose()
    return 0


@handler("status")
def _status(settings: Settings, kw: dict[str, Any]) -> int:
    fmt = kw["fmt"]
    if fmt not in ("table", "json", "csv"):
        raise BadInputError(
            f"--format '{fmt}' không hợp lệ: chọn table, json hoặc csv.",
            f"--format '{fmt}' is invalid: choose table, json or csv.",
        )
    at = parse_at(kw["at"])
    if kw.get("all_clusters"):
        return _status_all(settings, kw, fmt, at)
    with _store(settings, write=False) as session:
        ctx = _context(session, settings, kw["cycle"], at)
        if kw["member"] is not None:
            ctx.require_member(kw["member"])
        rows = views.status_rows(
            ctx, local_date(at), member=kw["member"], overdue_only=kw["overdue"]
        )
        from tracker.delivery.queries import delivery_problems

        delivery = [
            en if settings.lang == "en" else vi for vi, en in delivery_problems(session, ctx.id)
        ]
    if fmt == "json":
        render.status_json(rows, delivery)
    elif fmt == "csv":
        render.status_csv(rows, delivery, excel=kw.get("excel", False))
    else:
        color = color_wanted(settings)
        render.status_table(
            ctx, rows, local_date(at), settings.lang, color=color, wide=kw.get("wide", False)
        )
        render.problems(delivery, color=color)
    # For cron: something overdue, or reminders not going out (paused, failed, unplannable).
    if kw["check"] and (delivery or any(r.standing.overdue for r in rows)):
        return 1
    return 0


def _status_all(settings: Settings, kw: dict[str, Any], fmt: str, at: datetime) -> int:
    """`status --all-clusters`: the national summary, one line per cluster (issue 7)."""
    from tracker.service import national

    for option, given in (("--member", kw["member"] is not None), ("--overdue", kw["overdue"])):
        if given:
            raise BadInputError(
                f"{option} không dùng cùng --all-clusters: bảng toàn quốc có một dòng mỗi cụm."
                " Xem một cụm: tracker --cluster <mã cụm> status.",
                f"{option} does not go with --all-clusters: the national table has one line"
                " per cluster. One cluster: tracker --cluster <id> status.",
            )
    today = local_date(at)
    with _store(settings, write=False) as session:
        rows = national.national_summary(session, today, year=parse_cycle(kw["cycle"], today))
    if fmt == "json":
        render.national_json(rows)
    elif fmt == "csv":
        render.national_csv(rows, excel=kw.get("excel", False))
    else:
        render.national_table(rows, today, settings.lang, wide=kw.get("wide", False))
    return 1 if kw["check"] and any(r.overdue for r in rows) else 0


@handler("show")
def _show(settings: Settings, kw: dict[str, Any]) -> int:
    at = now()
    with _store(settings, write=False) as session:
        ctx = _context(session, settings, kw["cycle"], at)
        ctx.require_member(kw["member"])
        if kw["milestone"] is None:
            rows = views.status_rows(ctx, local_date(at), member=kw["member"])
            render.member_summary(
                ctx, kw["member"], rows, settings.lang, wide=kw.get("wide", False)
            )
            return 0
        d = views.detail(
            session, ctx, local_date(at), member=kw["member"], milestone=kw["milestone"]
        )
    render.detail(d, settings.lang, wide=kw.get("wide", False))
    return 0


def _default_member(ctx: cycles.CycleContext, who: actions.Who, milestone: str) -> str:
    if not milestone.startswith("request-"):
        ms = ctx.milestone(milestone)
        if ms.assignee != "members":
            return ctx.owner_of(ms)[0]
    if who.actor.member_id is not None:
        return who.actor.member_id
    raise BadInputError(
        f"Mốc '{milestone}' là nghĩa vụ của từng đơn vị: thêm --member <mã đơn vị>.",
        f"'{milestone}' is owed by each member: add --member <id>.",
    )


@handler("transition")
def _transition(settings: Settings, kw: dict[str, Any]) -> int:
    from tracker.service import actions
    from tracker.workflow import Action

    at = now()
    # `is not None`: an empty --on is an error (parse_day says so), not "today".
    on = parse_day(kw["on"], "--on") if kw["on"] is not None else None
    action = Action(kw["action"])
    with _store(settings) as session:
        ctx = _action_context(session, settings, kw["cycle"], at, kw["milestone"])
        who = _who(settings, ctx)
        member = kw["member"] or _default_member(ctx, who, kw["milestone"])
        ob = actions.act(
            session,
            ctx,
            who,
            member_id=member,
            milestone_id=kw["milestone"],
            action=action,
            now=at,
            note=kw["note"],
            ref=kw["ref"],
            on=on,
        )
        line = confirmation(ctx, ob, action.value, on, settings.lang)
    typer.echo(line)
    return 0


@handler("schedule")
def _schedule(settings: Settings, kw: dict[str, Any]) -> int:
    from tracker.service import actions

    at = now()
    day = parse_day(kw["day"], "DATE")
    with _store(settings) as session:
        ctx = _action_context(session, settings, kw["cycle"], at, kw["milestone"])
        who = _who(settings, ctx)
        result = actions.schedule(
            session,
            ctx,
            who,
            milestone_id=kw["milestone"],
            day=day,
            now=at,
            member_id=kw["member"],
            note=kw["note"],
            force=kw["force"],
        )
    for vi, en in result.warnings:
        # Accepted with --force: said on stderr, and kept in the audit note.
        typer.echo(
            f"Cảnh báo (--force): {vi}." if settings.lang == "vi" else f"Warning (--force): {en}.",
            err=True,
        )
    _scheduled(ctx, kw["milestone"], kw["member"], day, result.changed, settings.lang)
    return 0


def _scheduled(
    ctx: cycles.CycleContext,
    milestone: str,
    member: str | None,
    day: date,
    changed: list[tuple[str, str | None, date | None, date | None]],
    lang: str,
) -> None:
    """The schedule confirmation names the cluster, the cycle and the event in words
    (issue 8 §1), then each dependent deadline that moved with it."""
    from tracker.calendar.vndate import vn_date, weekday_en, weekday_vi

    en = lang == "en"

    def ms_name(mid: str) -> str:
        ms = ctx.cfg.find_milestone(mid)
        return mid if ms is None else (ms.name_en if en else ms.name)

    def day_text(d: date | None) -> str:
        if d is None:
            return "unscheduled" if en else "chưa có lịch"
        return d.isoformat() if en else vn_date(d)

    unit = next((m.name for m in ctx.cfg.members if m.id == member), member)
    if en:
        who = f" for {unit}" if unit else ""
        typer.echo(
            f"Scheduled: {ms_name(milestone)}{who} on {day.isoformat()} ({weekday_en(day)})"
            f" ({ctx.cfg.cluster.name_en}, {ctx.year} cycle)."
        )
    else:
        who = f" của {unit}" if unit else ""
        typer.echo(
            f"Đã ấn định: {ms_name(milestone)}{who} vào {weekday_vi(day)}, {vn_date(day)}"
            f" ({ctx.cfg.cluster.name}, chu kỳ {ctx.year})."
        )
    seen = set()
    for mid, _member, old, new in changed:
        if (mid, old, new) in seen:
            continue
        seen.add((mid, old, new))
        # The id beside the name: what the next command (show, complete) takes.
        typer.echo(f"  {ms_name(mid)} ({mid}): {day_text(old)} → {day_text(new)}")


@handler("request")
def _request(settings: Settings, kw: dict[str, Any]) -> int:
    from tracker.service import actions

    at = now()
    due = parse_day(kw["due"], "--due")
    with _store(settings) as session:
        ctx = _context(session, settings, kw["cycle"], at)
        who = _who(settings, ctx)
        created = actions.request(
            session,
            ctx,
            who,
            title=kw["title"],
            due=due,
            now=at,
            members=kw["members"] or None,
            note=kw["note"],
            article=kw["article"],
        )
    render.requested(created, due, settings.lang)
    return 0


@handler("calendar")
def _calendar(settings: Settings, kw: dict[str, Any]) -> int:
    at = now()
    with _store(settings, write=False) as session:
        ctx = _context(session, settings, kw["cycle"], at)
    render.calendar(ctx, views.calendar(ctx), settings.lang, wide=kw.get("wide", False))
    return 0


@handler("history")
def _history(settings: Settings, kw: dict[str, Any]) -> int:
    at = now()
    with _store(settings, write=False) as session:
        ctx = _context(session, settings, kw["cycle"], at)
        # A member removed with --force keeps its history, and it stays readable.
        if kw["member"] is not None and kw["member"] not in {o.member_id for o in ctx.obligations}:
            ctx.require_member(kw["member"])
        rows = views.history(session, ctx, member=kw["member"])
    render.history(rows, settings.lang, wide=kw.get("wide", False))
    return 0
