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
from tracker.calendar.vndate import vn_date
from tracker.cli.app import Settings
from tracker.cli.handlers import handler, parse_at, parse_cycle, parse_day
from tracker.cli.render import _t, _table  # the CLI's shared wording and table helpers
from tracker.db.engine import default_database_url
from tracker.errors import BadInputError

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

    at = parse_at(kw["at"]) if kw["at"] is not None else None  # "" is an error, not "now"
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
    if kw["out"] is not None and not kw["out"].strip():
        raise BadInputError(
            "--out '' không phải thư mục: ghi tên thư mục, hoặc bỏ --out.",
            "--out '' is not a folder: give a folder name, or leave --out out.",
        )
    out = Path(kw["out"]).resolve() if kw["out"] is not None else None
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
    from tracker.calendar.vndate import weekday_en, weekday_vi

    if lang == "vi":
        return f"{weekday_vi(d)} {vn_date(d)}"
    return f"{weekday_en(d)} {d.isoformat()}"


# ---------------------------------------------------------------- outbox


@handler("outbox")
def _outbox(settings: Settings, kw: dict[str, Any]) -> int:
    """Letters (e-mails), newest first, a page at a time (issue 7 §5)."""
    import json

    from jobs.tick import open_store
    from tracker.db.engine import read_scope
    from tracker.delivery import pause, queries

    state: str | None = kw["state"]
    limit: int = kw["limit"]
    fmt: str = kw["format"]
    lang = settings.lang
    queries.check_state(state)
    if limit < 1:
        raise BadInputError(
            f"--limit {limit} không hợp lệ: ghi số thư muốn xem, từ 1 trở lên.",
            f"--limit {limit} is invalid: give how many letters to show, 1 or more.",
        )
    if fmt not in ("table", "json"):
        raise BadInputError(
            f"--format '{fmt}' không hợp lệ: chọn table hoặc json.",
            f"--format '{fmt}' is invalid: choose table or json.",
        )
    engine = open_store(_db(settings))
    try:
        with read_scope(engine) as session:  # a snapshot: never waits for the daemon
            lines = queries.list_letters(
                session,
                state=state,
                cluster_id=settings.cluster,
                limit=limit,
                include_cancelled=kw["all"],
            )
            paused = pause.pause_info(session)
    finally:
        engine.dispose()
    if fmt == "json":
        typer.echo(
            json.dumps(
                [
                    {
                        "id": x.id,
                        "cluster": x.cluster_id,
                        "cycle": x.year,
                        "recipient": x.recipient_email,
                        "name": x.recipient_name,
                        "hat": x.hat,
                        "kinds": x.kinds.split(", ") if x.kinds else [],
                        "items": x.items,
                        "send_at": x.send_at.astimezone(TZ).isoformat(),
                        "state": x.state,
                        "attempts": x.attempts,
                        "last_reply": x.last_error,
                        "message_id": x.message_id,
                        "subject": x.subject,
                    }
                    for x in lines
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return 0
    if paused is not None:
        reason = paused.reason_en if lang == "en" else paused.reason_vi
        typer.echo(
            _t(lang, "Việc gửi thư đang TẠM DỪNG từ ", "Sending is PAUSED since ")
            + _stamp(paused.since, lang)
            + f": {reason}",
            err=True,
        )
    if not lines:
        typer.echo(
            _t(
                lang,
                "Hàng đợi trống" + (f" (trạng thái {state})." if state else "."),
                "The outbox is empty" + (f" (state {state})." if state else "."),
            )
        )
        return 0
    headers = (
        ("Mã", "Gửi lúc", "Người nhận", "Loại", "Mục", "Trạng thái", "Lần thử", "Phản hồi")
        if lang == "vi"
        else ("ID", "Send at", "Recipient", "Kind", "Items", "State", "Tries", "Last reply")
    )
    table = [
        (
            str(x.id),
            _stamp(x.send_at, lang),
            x.recipient_email,
            _short(x.kinds, 28),
            str(x.items),
            x.state,
            str(x.attempts),
            _short(x.last_error, 40),
        )
        for x in lines
    ]
    for line in _table(headers, table):
        typer.echo(line)
    if len(lines) == limit:
        typer.echo(
            _t(
                lang,
                f"(Hiện {limit} thư mới nhất; xem thêm bằng --limit, lọc bằng --state.)",
                f"(Showing the newest {limit}; more with --limit, filter with --state.)",
            )
        )
    if any(x.state == "failed" for x in lines):
        typer.echo(
            _t(
                lang,
                "Xem một thư: tracker outbox show <Mã>. Gửi lại thư lỗi: tracker outbox retry <Mã>.",
                "One letter: tracker outbox show <ID>. Send a failed one again:"
                " tracker outbox retry <ID>.",
            )
        )
    return 0


@handler("outbox-show")
def _outbox_show(settings: Settings, kw: dict[str, Any]) -> int:
    """One letter: its envelope, state and history, and its items."""
    from jobs.tick import open_store
    from tracker.db.engine import read_scope
    from tracker.delivery import queries

    letter_id: int = kw["letter_id"]
    lang = settings.lang
    engine = open_store(_db(settings))
    try:
        with read_scope(engine) as session:
            row = queries.letter(session, letter_id)
            items = queries.items_of(session, letter_id)
    finally:
        engine.dispose()
    facts = [
        (_t(lang, "Thư", "Letter"), f"#{row.id} {row.key}"),
        (_t(lang, "Người nhận", "Recipient"), f"{row.recipient_name} <{row.recipient_email}>"),
        (
            _t(lang, "Gửi với tư cách", "Written to as"),
            _t(lang, "Trưởng cụm", "the cluster leader")
            if row.hat == "leader"
            else _t(lang, "đơn vị thành viên", "a member"),
        ),
        (_t(lang, "Trạng thái", "State"), row.state),
        (_t(lang, "Gửi lúc", "Send at"), _stamp(row.send_at, lang)),
        (_t(lang, "Lần thử", "Attempts"), str(row.attempts)),
    ]
    if row.sent_at is not None:
        facts.append((_t(lang, "Đã gửi", "Sent"), _stamp(row.sent_at, lang)))
    if row.message_id:
        facts.append(("Message-ID", row.message_id))
    if row.subject:
        facts.append((_t(lang, "Tiêu đề", "Subject"), row.subject))
    if row.next_attempt_at is not None and row.state == "planned":
        facts.append((_t(lang, "Thử lại lúc", "Next attempt"), _stamp(row.next_attempt_at, lang)))
    if row.last_error:
        facts.append((_t(lang, "Phản hồi gần nhất", "Last reply"), row.last_error))
    width = max(len(k) for k, _ in facts)
    for k, v in facts:
        typer.echo(f"{k.ljust(width)}  {v}")
    typer.echo("")
    headers = (
        ("Mục", "Loại", "Đơn vị", "Hạn", "Trạng thái", "Ghi chú")
        if lang == "vi"
        else ("Item", "Kind", "Member", "Due", "State", "Note")
    )
    table = [
        (
            str(i.id),
            i.kind,
            i.member_id or "",
            (vn_date(i.due) if lang == "vi" else i.due.isoformat()) if i.due else "",
            i.state,
            _short(i.last_error, 40),
        )
        for i in items
    ]
    for line in _table(headers, table):
        typer.echo(line)
    return 0


def _short(text: str, limit: int = 60) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"


@handler("outbox-retry")
def _outbox_retry(settings: Settings, kw: dict[str, Any]) -> int:
    from jobs.tick import open_store
    from tracker.delivery import queries

    row_id: int = kw["row_id"]
    engine = open_store(_db(settings))
    try:
        queries.retry(engine, row_id, clock.now())
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
