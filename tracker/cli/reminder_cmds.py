"""The reminder commands: `run`, `remind`, `simulate`, `outbox` (issue 3 §4).

Registered with tracker.cli.handlers' `@handler` when `handlers.dispatch` first meets one of
these commands (the other commands never import this module). Like the other handlers they
read the clock and open the store; the work is in jobs/ and tracker.reminders.
"""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

import typer

from jobs import clock
from tracker.calendar.types import TZ, local_date
from tracker.cli.app import Settings
from tracker.cli.handlers import handler, parse_at, parse_cycle, parse_day
from tracker.cli.render import _t, _table  # the CLI's shared wording and table helpers
from tracker.db.engine import default_database_url
from tracker.errors import BadInputError
from tracker.reminders import outbox
from tracker.reminders.vndate import vn_date

STATES = outbox.STATES
# Longer ranges get a progress bar (on a terminal only).
PROGRESS_MIN_DAYS = 31


def _db(settings: Settings) -> str:
    return settings.db or default_database_url()


def _stamp(at: datetime, lang: str) -> str:
    local = at.astimezone(TZ)
    day = vn_date(local.date()) if lang == "vi" else local.date().isoformat()
    return f"{day} {local:%H:%M}"


# ---------------------------------------------------------------- run, remind


@handler("run")
def _run_daemon(settings: Settings, kw: dict[str, Any]) -> int:
    from jobs.daemon import run_daemon

    return run_daemon(_db(settings), lang=settings.lang)


@handler("remind")
def _remind(settings: Settings, kw: dict[str, Any]) -> int:
    from jobs.tick import run_once

    at = parse_at(kw["at"]) if kw["at"] else None
    dry_run: bool = kw["dry_run"]
    lang = settings.lang
    if at is not None and not dry_run and at > clock.now():
        # A real tick in the future sends that day's letters now, dated then, and cancels
        # every reminder the plan of that day no longer wants: only a dry run may look ahead.
        raise BadInputError(
            f"--at {_stamp(at, 'vi')} ở tương lai: một lượt thật sẽ gửi thư trước ngày và huỷ"
            " các nhắc việc chưa tới hạn. Thêm --dry-run để xem trước, hoặc bỏ --at để chạy"
            " ngay.",
            f"--at {_stamp(at, 'en')} is in the future: a real tick would send letters early"
            " and cancel reminders not yet due. Add --dry-run to preview, or drop --at to run"
            " now.",
        )
    report = run_once(_db(settings), at, dry_run, "en" if lang == "en" else "vi")
    if dry_run:
        typer.echo(
            _t(
                lang,
                "Chạy thử (--dry-run): không gửi thư, không ghi gì vào cơ sở dữ liệu.",
                "Dry run (--dry-run): nothing is sent, nothing is written to the database.",
            )
        )
    for result in report.results:
        typer.echo(result.line(lang))
    if dry_run:
        n = sum(1 for r in report.results if r.outcome == "would_send")
        summary = _t(lang, f"Sẽ gửi {n} thư.", f"{n} message(s) would go out.")
    else:
        summary = _t(
            lang,
            f"Đã gửi {report.sent} thư; lên lịch thêm {report.planned_added}, huỷ"
            f" {report.cancelled}, thử lại sau {report.retried}, lỗi {report.failed}.",
            f"Sent {report.sent} message(s); planned {report.planned_added} more, cancelled"
            f" {report.cancelled}, to retry {report.retried}, failed {report.failed}.",
        )
    typer.echo(summary)
    if report.paused:
        typer.echo(
            _t(
                lang,
                "Việc gửi thư đang tạm dừng: xem 'tracker outbox' để biết lý do.",
                "Sending is paused: see 'tracker outbox' for the reason.",
            ),
            err=True,
        )
        return 1
    return 1 if report.failed else 0


# ---------------------------------------------------------------- simulate


@handler("simulate")
def _simulate(settings: Settings, kw: dict[str, Any]) -> int:
    from jobs.simulate import Simulation

    start = parse_day(kw["start"], "--from")
    end = parse_day(kw["end"], "--to")
    lang = settings.lang
    if end < start:
        raise BadInputError(
            f"--to {end.isoformat()} đứng trước --from {start.isoformat()}: đổi lại thứ tự.",
            f"--to {end.isoformat()} is before --from {start.isoformat()}: swap them.",
        )
    year = parse_cycle(kw["cycle"], local_date(clock.now()))
    out = Path(kw["out"]).resolve() if kw["out"] else None
    with Simulation(
        _db(settings),
        out=out,
        cycle=year,
        cluster=settings.cluster,
        lang="en" if lang == "en" else "vi",
    ) as sim:
        typer.echo(
            _t(
                lang,
                f"Chạy thử từ {vn_date(start)} đến {vn_date(end)} trên một bản sao tạm"
                f" ({sim.copy_path}); hàng đợi thật không bị động tới.",
                f"Simulating {start.isoformat()} to {end.isoformat()} on a temporary copy"
                f" ({sim.copy_path}); the real outbox is not touched.",
            )
        )
        typer.echo(_t(lang, "Thư gửi tới: ", "Mail goes to: ") + sim.transport_label(lang))
        days = (end - start).days + 1
        if days >= PROGRESS_MIN_DAYS and sys.stderr.isatty():
            with typer.progressbar(
                length=days, label=_t(lang, "Đang chạy", "Running"), file=sys.stderr
            ) as bar:
                messages = sim.run(start, end, progress=lambda _day: bar.update(1))
        else:
            messages = sim.run(start, end)
    typer.echo("")
    headers = (
        ("Ngày", "Giờ", "Người nhận", "Loại", "Tiêu đề")
        if lang == "vi"
        else ("Date", "Time", "Recipient", "Kind", "Subject")
    )
    rows = [
        (
            _day_label(m.at.date(), lang),
            f"{m.at:%H:%M}",
            m.email,
            m.kind,
            m.subject,
        )
        for m in messages
    ]
    for line in _table(headers, rows):
        typer.echo(line)
    typer.echo("")
    typer.echo(_t(lang, f"Tổng cộng {len(messages)} thư.", f"{len(messages)} message(s) in all."))
    if sim.paused is not None:
        when, why = sim.paused
        typer.echo(
            _t(
                lang,
                f"Lỗi: chạy thử dừng lúc {_stamp(when, lang)} vì việc gửi thư tạm dừng: {why}"
                " (khi chạy thử: chọn một thư mục ghi được cho --out).",
                f"Error: the simulation stopped at {_stamp(when, lang)} because sending is"
                f" paused: {why} (when simulating: give --out a folder that can be written).",
            ),
            err=True,
        )
        return 1
    if out is not None:
        typer.echo(_t(lang, f"Các tệp .eml ở {out}/new/", f"The .eml files are in {out}/new/"))
    return 0


def _day_label(d: date, lang: str) -> str:
    from tracker.reminders.vndate import weekday_en, weekday_vi

    if lang == "vi":
        return f"{weekday_vi(d)} {vn_date(d)}"
    return f"{weekday_en(d)} {d.isoformat()}"


# ---------------------------------------------------------------- outbox


@handler("outbox")
def _outbox(settings: Settings, kw: dict[str, Any]) -> int:
    from jobs.tick import open_store
    from tracker.db.engine import session_scope

    state: str | None = kw["state"]
    lang = settings.lang
    if state is not None and state not in STATES:
        raise BadInputError(
            f"--state '{state}' không hợp lệ: chọn một trong {', '.join(STATES)}.",
            f"--state '{state}' is invalid: choose one of {', '.join(STATES)}.",
        )
    engine = open_store(_db(settings))
    try:
        with session_scope(engine) as session:
            rows = outbox.list_rows(session, state=state)
            pause = outbox.pause_info(session)
    finally:
        engine.dispose()
    if pause is not None:
        reason = pause.reason_en if lang == "en" else pause.reason_vi
        typer.echo(
            _t(lang, "Việc gửi thư đang TẠM DỪNG từ ", "Sending is PAUSED since ")
            + _stamp(pause.since, lang)
            + f": {reason}",
            err=True,
        )
    if not rows:
        typer.echo(
            _t(
                lang,
                "Hàng đợi trống" + (f" (trạng thái {state})." if state else "."),
                "The outbox is empty" + (f" (state {state})." if state else "."),
            )
        )
        return 0
    headers = (
        ("Mã", "Gửi lúc", "Người nhận", "Loại", "Trạng thái", "Lần thử", "Lỗi gần nhất")
        if lang == "vi"
        else ("ID", "Send at", "Recipient", "Kind", "State", "Attempts", "Last error")
    )
    table = [
        (
            str(r.id),
            _stamp(r.send_at, lang),
            r.recipient_email,
            r.kind,
            r.state,
            str(r.attempts),
            _short(r.last_error),
        )
        for r in rows
    ]
    for line in _table(headers, table):
        typer.echo(line)
    if any(r.state == "failed" for r in rows):
        typer.echo(
            _t(
                lang,
                "Gửi lại một thư lỗi: tracker outbox retry <Mã>.",
                "To send a failed message again: tracker outbox retry <ID>.",
            )
        )
    return 0


def _short(text: str, limit: int = 60) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"


@handler("outbox-retry")
def _outbox_retry(settings: Settings, kw: dict[str, Any]) -> int:
    from jobs.tick import open_store

    row_id: int = kw["row_id"]
    engine = open_store(_db(settings))
    try:
        outbox.retry(engine, row_id, clock.now())
    finally:
        engine.dispose()
    typer.echo(
        _t(
            settings.lang,
            f"Thư #{row_id} đã được xếp lại vào hàng đợi; trình nhắc việc (tracker run) hoặc"
            " lệnh 'tracker remind' sẽ gửi nó ở lượt tới.",
            f"Message #{row_id} is queued again; the daemon (tracker run) or 'tracker remind'"
            " sends it on the next tick.",
        )
    )
    return 0
