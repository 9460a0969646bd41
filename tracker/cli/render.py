"""How the CLI prints: a members × milestones matrix, details, calendars, JSON and CSV.

Long (~550 lines): every command's output shares the cell, date and colour helpers; issue 8
(tables that fit, gettext) reworks it and splits it by command.

Colour only on a terminal; piped output is plain text so scripts and e-mails can use it.
Every table and long line fits the width `tracker.cli.table.terminal_width()` finds (COLUMNS,
else the terminal; none when piped); `wide=True` prints everything at its natural width.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime

import typer

from tracker.calendar.types import POLICY_WORDS, TZ, DueDate
from tracker.calendar.vndate import vn_date, weekday_en, weekday_vi
from tracker.cli import table
from tracker.cli.table import paragraph, terminal_width, width_of
from tracker.db.models import Obligation
from tracker.service.cycles import CycleContext, InitReport
from tracker.service.national import SUMMARY_FIELDS, ClusterSummary
from tracker.service.views import Detail, HistoryRow, StatusRow
from tracker.workflow import ACTION_LABEL, STATE_LABEL, Action, State


def _t(lang: str, vi: str, en: str) -> str:
    return en if lang == "en" else vi


def _width(text: str) -> int:
    return width_of(text)


def _fit_width(wide: bool, width: int | None) -> int | None:
    """The width to fit: None (natural width) with `wide`, else the one given, else the
    terminal's (tracker.cli.table.terminal_width)."""
    if wide:
        return None
    return width if width is not None else terminal_width()


def _table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], *, width: int | None = None
) -> list[str]:
    """A table that fits the terminal (or `width`); the outbox's table comes here too."""
    return table.fit(headers, rows, _fit_width(False, width))


def _echo_lines(lines: Iterable[str], width: int | None) -> None:
    """Each line wrapped to the width, keeping its indent ("  Quy tắc: …")."""
    for line in lines:
        body = line.lstrip(" ")
        for part in paragraph(body, width, indent=line[: len(line) - len(body)], hang="  "):
            typer.echo(part)


def _d(d: date | None, lang: str) -> str:
    if d is None:
        return _t(lang, "chưa có lịch", "unscheduled")
    return vn_date(d) if lang == "vi" else d.isoformat()


# ---------------------------------------------------------------- status


def _cell(r: StatusRow, lang: str) -> tuple[str, str | None]:
    """(text, colour) for one obligation in the matrix."""
    st = r.standing
    days = st.days_left
    if r.state is State.COMPLETED:
        if st.late:
            return _t(lang, "✓ xong (trễ)", "✓ done (late)"), "yellow"
        return _t(lang, "✓ xong", "✓ done"), "green"
    if r.state is State.WAIVED:
        return _t(lang, "– miễn", "– waived"), None
    if r.state is State.SUBMITTED:
        return _t(lang, "↑ đã gửi", "↑ submitted"), "cyan"
    mark = "↩ " if r.state is State.RETURNED else ""
    if r.due is None:
        return mark + _t(lang, "? chưa lịch", "? no date"), None
    assert days is not None
    if r.scheduled is False and not st.overdue:
        # A date the leader has not set yet: its window's end is only the latest day.
        if days < 0:
            return mark + _t(lang, "? chưa ấn định, đã hết khung", "? not dated, window over"), None
        return mark + _t(lang, f"? chưa ấn định ngày (≤{days}n)", f"? not dated (≤{days}d)"), None
    if r.event and days < 0:
        # An event is held, not late: once its day is past it waits to be recorded as
        # held (`tracker complete … --ref "Biên bản …"`), never "overdue".
        return mark + _t(lang, "◦ chờ ghi nhận đã tổ chức", "◦ held? record it"), None
    if st.overdue:
        return mark + _t(lang, f"✗ quá {-days}n", f"✗ {-days}d late"), "red"
    if st.due_soon:
        if days == 0:
            return mark + _t(lang, "! hôm nay", "! today"), "yellow"
        return mark + _t(lang, f"! còn {days}n", f"! {days}d left"), "yellow"
    return mark + _t(lang, f"· còn {days}n", f"· {days}d left"), None


def _legend(lang: str) -> list[str]:
    """Every symbol a cell can start with, `·` included (so the entries are parted by ";",
    not by "·"), then the commands the table leads to."""
    return [
        _t(
            lang,
            "Ký hiệu: ✓ xong; ↑ đã gửi, chờ xác nhận; · chưa đến hạn; ! sắp đến hạn;"
            " ✗ quá hạn; ↩ bị trả lại; – miễn; ? chưa có lịch; ◦ sự kiện đã qua, chờ ghi nhận;"
            " n = ngày; ≤ = chậm nhất.",
            "Key: ✓ done; ↑ submitted, awaiting the leader; · not due yet; ! due soon;"
            " ✗ overdue; ↩ returned; – waived; ? not scheduled; ◦ event past, to record as"
            " held; d = days; ≤ = at the latest.",
        ),
        _t(
            lang,
            "Chi tiết: tracker show <đơn vị> <mã mốc>."
            " Ghi nhận: tracker complete <mã mốc> --member <đơn vị>.",
            "Details: tracker show <member> <milestone id>."
            " Record it: tracker complete <milestone id> --member <member>.",
        ),
    ]


def _matrix(
    rows: Sequence[StatusRow], lang: str
) -> tuple[list[str], list[list[str]], list[list[str | None]]]:
    """(headers, rows, colours) of the milestones × members matrix: name, id, due, a cell
    per member."""
    members = list(dict.fromkeys(r.member for r in rows))
    milestones = list(dict.fromkeys(r.milestone for r in rows))
    by_key = {(r.milestone, r.member): r for r in rows}
    headers = [_t(lang, "Mốc", "Milestone"), _t(lang, "Mã", "Id"), _t(lang, "Hạn", "Due")]
    headers += members
    table_rows: list[list[str]] = []
    colours: list[list[str | None]] = []
    for ms in milestones:
        cells = [by_key.get((ms, m)) for m in members]
        present = [c for c in cells if c is not None]
        first = present[0]
        dues = {c.due for c in present}
        due_text = _d(first.due, lang) if len(dues) == 1 else _t(lang, "theo đơn vị", "per member")
        # The id beside the name: what `complete`, `show` and `schedule` take.
        line = [first.name_en if lang == "en" else first.name_vi, ms, due_text]
        line_colours: list[str | None] = [None, None, None]
        for c in cells:
            text, colour = ("", None) if c is None else _cell(c, lang)
            if (
                c is not None
                and len(dues) > 1
                and c.due is not None
                and c.state not in (State.COMPLETED, State.WAIVED)
            ):
                text = f"{text} {vn_date(c.due)[:5]}"
            line.append(text)
            line_colours.append(colour)
        table_rows.append(line)
        colours.append(line_colours)
    return headers, table_rows, colours


def _blocks(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    colours: Sequence[Sequence[str | None]],
    width: int,
    lang: str,
    style: table.Style | None,
) -> list[str]:
    """Too narrow for the matrix: one block per milestone, its name, id and due date on the
    first line, then "member cell" pairs flowing over as many lines as the width needs."""
    out: list[str] = []
    members = headers[3:]
    for row, cols in zip(rows, colours, strict=True):
        name, ms, due = row[:3]
        out += paragraph(f"{name} — {ms} — {_t(lang, 'hạn', 'due')} {due}", width)
        line, used = "  ", 2
        for member, text, colour in zip(members, row[3:], cols[3:], strict=True):
            if not text:
                continue
            chip = f"{member} {text}"
            chip_width = width_of(chip)
            shown = f"{member} {style(text, colour)}" if style is not None and colour else chip
            sep = "   " if used > 2 else ""
            if used > 2 and used + len(sep) + chip_width > width:
                out.append(line)
                line, used, sep = "  ", 2, ""
            if 2 + chip_width > width:
                # A chip wider than the line: its own wrapped lines, uncoloured.
                out += paragraph(chip, width, indent="  ", hang="  ")
                continue
            line += sep + shown
            used += len(sep) + chip_width
        if used > 2:
            out.append(line)
    return out


def status_table(
    ctx: CycleContext,
    rows: Sequence[StatusRow],
    today: date,
    lang: str,
    *,
    color: bool,
    wide: bool = False,
    width: int | None = None,
) -> None:
    """The milestones × members matrix. It fits `width` (default: the terminal's): names
    and cells wrap in narrower columns, else one block per milestone; `wide` prints it
    whole. Ids stay whole: they are what the next command takes."""
    fit_to = _fit_width(wide, width)
    title = _t(
        lang,
        f"{ctx.cfg.cluster.name} — chu kỳ {ctx.year} — tình hình ngày {vn_date(today)}",
        f"{ctx.cfg.cluster.name_en} — cycle {ctx.year} — status on {today.isoformat()}",
    )
    _echo_lines([title], fit_to)
    if not rows:
        typer.echo(_t(lang, "Không có nghĩa vụ nào khớp điều kiện.", "No obligation matches."))
        return
    headers, table_rows, colours = _matrix(rows, lang)

    def style(text: str, colour: str | None) -> str:
        return typer.style(text, fg=colour)

    painter = style if color else None
    # The name and the member cells may wrap (down to a "✗ quá 12n" cell); id and due not.
    shrink = {0: 14, **{i: table.MIN_COLUMN for i in range(3, len(headers))}}
    widths = table.column_widths(headers, table_rows, fit_to, shrink)
    if widths is not None:
        lines = table.grid(headers, table_rows, widths, colours=colours, style=painter)
    else:
        assert fit_to is not None
        lines = _blocks(headers, table_rows, colours, fit_to, lang, painter)
    for line in lines:
        typer.echo(line)
    overdue = sum(r.standing.overdue for r in rows)
    soon = sum(r.standing.due_soon for r in rows)
    done = sum(r.state in (State.COMPLETED, State.WAIVED) for r in rows)
    typer.echo("")
    summary = _t(
        lang,
        f"Quá hạn: {overdue} · Sắp đến hạn: {soon} · Đã xong: {done}/{len(rows)}",
        f"Overdue: {overdue} · Due soon: {soon} · Done: {done}/{len(rows)}",
    )
    _echo_lines([summary, *_legend(lang)], fit_to)


# StatusRow.as_json's keys, in order (tests/test_cli.py checks they agree).
STATUS_FIELDS = (
    "cluster",
    "cycle",
    "member",
    "member_name",
    "milestone",
    "name",
    "name_en",
    "article",
    "state",
    "due",
    "window_start",
    "window_end",
    "scheduled",
    "days_left",
    "overdue",
    "due_soon",
    "late",
    "event",
)


# The sending problems `status` warns about below its table (a paused sender, failed
# e-mails, items that could not be planned): the same list on every JSON object and CSV row,
# so a script reading either sees what the table's ⚠ lines say.
PROBLEMS_FIELD = "delivery_problems"


def problems(lines: Sequence[str], *, color: bool, width: int | None = None) -> None:
    for line in lines:
        for part in paragraph(f"⚠ {line}", _fit_width(False, width), hang="  "):
            typer.echo(typer.style(part, fg="red", bold=True) if color else part)


def status_json(rows: Sequence[StatusRow], delivery: Sequence[str] = ()) -> None:
    out = [{**r.as_json(), PROBLEMS_FIELD: list(delivery)} for r in rows]
    typer.echo(json.dumps(out, ensure_ascii=False, indent=2))


def _csv_value(value: object) -> object:
    # JSON's spelling, which spreadsheets and scripts read alike: true/false, empty for null.
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else value


def _write_csv(fields: Sequence[str], rows: Iterable[dict[str, object]], *, excel: bool) -> None:
    """CSV on stdout. `excel`: what Excel on Windows needs to read Vietnamese — a UTF-8
    byte-order mark (else it guesses the ANSI code page and shows "BÃ¡o cÃ¡o") and CRLF."""
    out = sys.stdout
    if excel:
        out.write("\ufeff")
    writer = csv.DictWriter(out, fieldnames=list(fields), lineterminator="\r\n" if excel else "\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_value(v) for k, v in row.items()})
    out.flush()


def status_csv(
    rows: Sequence[StatusRow], delivery: Sequence[str] = (), *, excel: bool = False
) -> None:
    # The same header with or without rows, so a script can read an empty answer too.
    fields = [*(rows[0].as_json() if rows else STATUS_FIELDS), PROBLEMS_FIELD]
    joined = " | ".join(delivery)
    _write_csv(fields, ({**r.as_json(), PROBLEMS_FIELD: joined} for r in rows), excel=excel)


# ---------------------------------------------------------------- national summary


def national_table(
    rows: Sequence[ClusterSummary],
    today: date,
    lang: str,
    *,
    wide: bool = False,
    width: int | None = None,
) -> None:
    """`status --all-clusters`: one line per cluster's current cycle."""
    fit_to = _fit_width(wide, width)
    headers = [
        _t(lang, "Mã cụm", "Cluster"),
        _t(lang, "Tên cụm", "Name"),
        _t(lang, "Chu kỳ", "Cycle"),
        _t(lang, "Đơn vị", "Members"),
        _t(lang, "Còn phải làm", "Open"),
        _t(lang, "Quá hạn", "Overdue"),
        _t(lang, "Thư lỗi", "Failed mail"),
    ]
    cells = [
        [
            r.cluster_id,
            r.name,
            str(r.cycle),
            str(r.members),
            str(r.open),
            str(r.overdue),
            str(r.failed_mail),
        ]
        for r in rows
    ]
    typer.echo(
        _t(
            lang,
            f"{len(rows)} cụm — tình hình ngày {vn_date(today)}",
            f"{len(rows)} clusters — as of {today.isoformat()}",
        )
    )
    # The cluster's id stays whole (what --cluster takes); its name wraps.
    for line in table.fit(headers, cells, fit_to, shrink={1: 12}, title=(0, 1)):
        typer.echo(line)
    _echo_lines(
        [
            _t(
                lang,
                "Còn phải làm: nghĩa vụ chưa nộp hoặc bị trả lại. Xem một cụm: "
                "tracker --cluster <mã cụm> status",
                "Open: not submitted yet, or returned. One cluster: tracker --cluster <id> status",
            )
        ],
        fit_to,
    )


def national_json(rows: Sequence[ClusterSummary]) -> None:
    typer.echo(json.dumps([r.as_json() for r in rows], ensure_ascii=False, indent=2))


def national_csv(rows: Sequence[ClusterSummary], *, excel: bool = False) -> None:
    _write_csv(SUMMARY_FIELDS, (r.as_json() for r in rows), excel=excel)


# ---------------------------------------------------------------- detail


def member_summary(
    ctx: CycleContext,
    member: str,
    rows: Sequence[StatusRow],
    lang: str,
    *,
    wide: bool = False,
    width: int | None = None,
) -> None:
    name = ctx.cfg.member(member).name
    typer.echo(_t(lang, f"{name} — chu kỳ {ctx.year}", f"{name} — cycle {ctx.year}"))
    cells = [
        [r.milestone, r.name_en if lang == "en" else r.name_vi, _d(r.due, lang), _cell(r, lang)[0]]
        for r in rows
    ]
    headers = [
        _t(lang, "Mã", "Id"),
        _t(lang, "Mốc", "Milestone"),
        _t(lang, "Hạn", "Due"),
        _t(lang, "Tình trạng", "State"),
    ]
    # The id (what `show` and `complete` take) stays whole; the name and the state wrap.
    shrink = {1: 14, 3: 12}
    for line in table.fit(headers, cells, _fit_width(wide, width), shrink=shrink, title=(0, 1)):
        typer.echo(line)


def _why(due: DueDate, lang: str) -> list[str]:
    out = [_t(lang, f"  Quy tắc: {due.rule_vi}", f"  Rule: {due.rule_en}")]
    if due.window is not None:
        out.append(
            _t(
                lang,
                f"  Khung thời gian: {vn_date(due.window.start)} – {vn_date(due.window.end)}",
                f"  Window: {due.window.start.isoformat()} – {due.window.end.isoformat()}",
            )
        )
    if due.scheduled is False:
        out.append(
            _t(
                lang,
                "  Trưởng cụm chưa ấn định ngày (tracker schedule …); hạn tạm là cuối khung.",
                "  The leader has not set the date yet (tracker schedule …); due by the window's end.",
            )
        )
    if due.date is None:
        out.append(
            _t(
                lang,
                f"  Chưa có lịch: phụ thuộc mốc '{due.depends_on}' chưa được ấn định ngày.",
                f"  Unscheduled: depends on '{due.depends_on}', which has no date yet.",
            )
        )
    return out


def _policy_lines(d: Detail, lang: str) -> list[str]:
    """Which working-day policy applied, in words, and each day off it moved past, with the
    reason the holiday table gives ("Chủ nhật", "Mùng ba Tết Nguyên Đán")."""
    due = d.due
    if d.policy_source is None or due.as_written is None or due.date is None:
        return []
    words = POLICY_WORDS[due.policy]
    out = [
        _t(
            lang,
            f"  Nếu hạn rơi vào ngày nghỉ: {words[0]} ({d.policy_source[0]})",
            f"  If the date falls on a day off: {words[1]} ({d.policy_source[1]})",
        )
    ]
    if due.as_written != due.date:
        out.append(
            _t(
                lang,
                f"  Ngày theo quy tắc: {vn_date(due.as_written)} ({weekday_vi(due.as_written)}),"
                f" ngày nghỉ — {words[0]}: {vn_date(due.date)} ({weekday_vi(due.date)})",
                f"  Date by the rule: {due.as_written.isoformat()} ({weekday_en(due.as_written)}),"
                f" a day off — {words[1]}: {due.date.isoformat()} ({weekday_en(due.date)})",
            )
        )
    elif d.alternatives and len(set(d.alternatives.values())) > 1:
        # Name the day off ("Quốc khánh"), not only its weekday, unless that is the reason.
        vi_why = en_why = ""
        if d.day_off is not None:
            if d.day_off[0].casefold() != weekday_vi(due.date).casefold():
                vi_why = f": {d.day_off[0]}"
            if d.day_off[1].casefold() != weekday_en(due.date).casefold():
                en_why = f": {d.day_off[1]}"
        out.append(
            _t(
                lang,
                f"  {vn_date(due.date)} ({weekday_vi(due.date)}) là ngày nghỉ{vi_why};"
                " hạn giữ nguyên ngày đó.",
                f"  {due.date.isoformat()} ({weekday_en(due.date)}) is a day off{en_why};"
                " the deadline stays on it.",
            )
        )
    for s in due.skipped:
        wd = weekday_vi(s.day) if lang == "vi" else weekday_en(s.day)
        reason = s.reason_vi if lang == "vi" else s.reason_en
        # "bỏ qua 19/02/2023: Chủ nhật", "bỏ qua 24/01/2023 (Thứ Ba): Mùng ba Tết Nguyên Đán"
        when = (
            _d(s.day, lang) if reason.casefold() == wd.casefold() else f"{_d(s.day, lang)} ({wd})"
        )
        out.append(_t(lang, f"    bỏ qua {when}: {reason}", f"    skipped {when}: {reason}"))
    return out


def detail(d: Detail, lang: str, *, wide: bool = False, width: int | None = None) -> None:
    """`show MEMBER MILESTONE`: each line wrapped to the width, keeping its indent."""
    lines: list[str] = []
    _detail(d, lang, lines.append)
    _echo_lines(lines, _fit_width(wide, width))


def _detail(d: Detail, lang: str, echo: Callable[[str], object]) -> None:
    r = d.row
    echo(f"{r.member_name} — {r.name_en if lang == 'en' else r.name_vi} ({r.article})")
    label = STATE_LABEL[r.state]
    echo(
        _t(
            lang,
            f"Tình trạng: {label[0]} — {_cell(r, lang)[0]}",
            f"State: {label[1]} — {_cell(r, lang)[0]}",
        )
    )
    if r.due is not None and r.event:
        # An event is held on its day; it has no deadline to miss (issue 6 §3).
        echo(
            _t(
                lang,
                f"Ngày tổ chức: {vn_date(r.due)} ({weekday_vi(r.due)})",
                f"Held on: {r.due.isoformat()} ({weekday_en(r.due)})",
            )
            if r.scheduled is not False
            else _t(
                lang,
                f"Ngày tổ chức: chưa ấn định (tổ chức chậm nhất {vn_date(r.due)})",
                f"Held on: not set yet (by {r.due.isoformat()} at the latest)",
            )
        )
    elif r.due is not None:
        echo(
            _t(
                lang,
                f"Hạn: {vn_date(r.due)} ({weekday_vi(r.due)}), hết ngày theo giờ Việt Nam",
                f"Due: {r.due.isoformat()} ({weekday_en(r.due)}), end of day, Vietnam time",
            )
        )
    deliverable = d.deliverable_en if lang == "en" else d.deliverable_vi
    if deliverable:
        echo(_t(lang, f"Việc cần làm: {deliverable}", f"To do: {deliverable}"))
    echo(_t(lang, "Vì sao là ngày này:", "Why this date:"))
    for line in [*_why(d.due, lang), *_policy_lines(d, lang)]:
        echo(line)
    if d.alternatives and len(set(d.alternatives.values())) > 1:
        echo(
            _t(
                lang,
                "  Nếu áp dụng quy tắc ngày làm việc khác:",
                "  Under each working-day policy:",
            )
        )
        for policy, day in d.alternatives.items():
            words = POLICY_WORDS[policy][0 if lang == "vi" else 1]
            wd = weekday_vi(day) if lang == "vi" else weekday_en(day)
            echo(f"    {policy} — {words}: {_d(day, lang)} ({wd})")
    echo(_t(lang, "Lịch sử:", "History:"))
    if not d.history:
        echo(_t(lang, "  (chưa có thay đổi)", "  (no changes yet)"))
    for h in d.history:
        echo("  " + _history_line(h, lang))


# ---------------------------------------------------------------- actions


def init_report(rep: InitReport, lang: str, db: str) -> None:
    verb = _t(
        lang, "Đã tạo" if rep.created else "Đã cập nhật", "Created" if rep.created else "Refreshed"
    )
    typer.echo(
        _t(
            lang,
            f"{verb} chu kỳ {rep.year} của cụm '{rep.cluster_id}' trong {db}: "
            f"{len(rep.added)} nghĩa vụ mới, {len(rep.retired)} nghĩa vụ thôi áp dụng.",
            f"{verb} cycle {rep.year} of cluster '{rep.cluster_id}' in {db}: "
            f"{len(rep.added)} new obligations, {len(rep.retired)} retired.",
        )
    )
    if rep.removed_members:
        typer.echo(
            _t(
                lang,
                f"Đơn vị đã gỡ (lịch sử được giữ): {', '.join(rep.removed_members)}",
                f"Members removed (history kept): {', '.join(rep.removed_members)}",
            )
        )
    typer.echo(
        _t(
            lang,
            f"Xem tình hình: tracker status --cycle {rep.year}",
            f"See the status: tracker status --cycle {rep.year}",
        )
    )


def transition_done(ctx: CycleContext, ob: Obligation, action: Action, lang: str) -> None:
    label = STATE_LABEL[State(ob.state)]
    verb = ACTION_LABEL[action]
    typer.echo(
        _t(
            lang,
            f"Đã {verb[0]}: {ob.member_id} / {ob.milestone_id} → {label[0]}.",
            f"Done ({verb[1]}): {ob.member_id} / {ob.milestone_id} → {label[1]}.",
        )
    )


def scheduled(
    ctx: CycleContext,
    milestone: str,
    member: str | None,
    day: date,
    changed: Sequence[tuple[str, str | None, date | None, date | None]],
    lang: str,
) -> None:
    who = f" ({member})" if member else ""
    typer.echo(
        _t(
            lang,
            f"Đã ấn định '{milestone}'{who}: {vn_date(day)} ({weekday_vi(day)}).",
            f"Scheduled '{milestone}'{who}: {day.isoformat()} ({weekday_en(day)}).",
        )
    )
    seen = set()
    for ms, _member, old, new in changed:
        if (ms, old, new) in seen:
            continue
        seen.add((ms, old, new))
        typer.echo(
            _t(
                lang,
                f"  {ms}: {_d(old, lang)} → {_d(new, lang)}",
                f"  {ms}: {_d(old, lang)} → {_d(new, lang)}",
            )
        )


def requested(created: Sequence[Obligation], due: date, lang: str) -> None:
    if not created:
        return
    mid = created[0].milestone_id
    members = ", ".join(ob.member_id for ob in created)
    typer.echo(
        _t(
            lang,
            f"Đã tạo yêu cầu {mid} (hạn {vn_date(due)}) cho: {members}.",
            f"Created request {mid} (due {due.isoformat()}) for: {members}.",
        )
    )


def calendar(
    ctx: CycleContext,
    dues: Sequence[DueDate],
    lang: str,
    *,
    wide: bool = False,
    width: int | None = None,
) -> None:
    """Every milestone's date. Narrower than the table: the name, rule and article wrap;
    narrower still, one block per milestone. The id and the dates stay whole."""
    fit_to = _fit_width(wide, width)
    typer.echo(
        _t(
            lang,
            f"{ctx.cfg.cluster.name} — lịch chu kỳ {ctx.year}",
            f"{ctx.cfg.cluster.name_en} — {ctx.year} cycle calendar",
        )
    )
    rows = []
    for due in dues:
        ms = ctx.milestone(due.milestone_id)
        name = ms.name_en if lang == "en" else ms.name
        if due.member_id:
            name = f"{name} — {due.member_id}"
        window = f"{_d(due.window.start, lang)}–{_d(due.window.end, lang)}" if due.window else ""
        rows.append(
            [
                ms.id,
                name,
                _d(due.date, lang),
                window,
                due.rule_en if lang == "en" else due.rule_vi,
                ms.article,
            ]
        )
    headers = [
        _t(lang, "Mã", "Id"),
        _t(lang, "Mốc", "Milestone"),
        _t(lang, "Hạn", "Due"),
        _t(lang, "Khung", "Window"),
        _t(lang, "Quy tắc", "Rule"),
        _t(lang, "Điều", "Article"),
    ]
    shrink = {1: 16, 4: 18, 5: 10}
    for line in table.fit(headers, rows, fit_to, shrink=shrink, title=(0, 1)):
        typer.echo(line)


def stamp(at: datetime, lang: str) -> str:
    """A moment as people read it, in the cluster's time (Asia/Ho_Chi_Minh), to the minute:
    "02/12/2026 04:20" (English: "2026-12-02 04:20"), never ISO with an offset."""
    local = at.astimezone(TZ)
    return f"{_d(local.date(), lang)} {local:%H:%M}"


def _history_line(h: HistoryRow, lang: str) -> str:
    what = f"{h.member}/{h.milestone}" if h.member else _t(lang, "(cả chu kỳ)", "(cycle)")
    move = f" {h.from_state or '·'}→{h.to_state}" if h.to_state else ""
    on = _t(lang, f"ngày {_d(h.on_date, lang)}", f"on {_d(h.on_date, lang)}") if h.on_date else ""
    extras = [x for x in (h.note, h.ref, on) if x]
    tail = f" — {'; '.join(extras)}" if extras else ""
    at = stamp(h.at, lang)
    real = ""
    if h.recorded_at is not None:
        # `at` is the replayed time (TRACKER_NOW); say when it was really written.
        really = stamp(h.recorded_at, lang)
        real = _t(lang, f" [ghi thật lúc {really}]", f" [really recorded {really}]")
    return f"{at}{real} {h.operator} ({h.os_user}) {h.action} {what}{move}{tail}"


def history(
    rows: Sequence[HistoryRow], lang: str, *, wide: bool = False, width: int | None = None
) -> None:
    """The audit trail, one entry a line; a long entry wraps under its first line."""
    if not rows:
        typer.echo(_t(lang, "Chưa có thay đổi nào.", "No changes yet."))
    fit_to = _fit_width(wide, width)
    for h in rows:
        for part in paragraph(_history_line(h, lang), fit_to, hang="    "):
            typer.echo(part)
