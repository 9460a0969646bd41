"""Issue 8 §3: tables that fit the terminal and lead to the next command.

Every listing is rendered at COLUMNS=80 and 200 on the shipped 2022 cycle (a real SQLite
file, the real CLI through CliRunner) and no line may be wider; `wide` prints everything.
The CSV and JSON of `status` are read back as a script and Excel would read them."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import redirect_stdout
from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import Session

from tests.test_cli import MEMBERS, REPO, Cli, clock
from tracker.calendar.types import TZ
from tracker.cli import render, table
from tracker.cli.table import width_of
from tracker.db.engine import make_engine, read_scope
from tracker.db.models import LetterRow
from tracker.service import cycles, views
from tracker.service.cycles import CycleContext

ANSI = re.compile(r"\x1b\[[0-9;]*m")
WIDTHS = [80, 200]


def visible(line: str) -> int:
    return width_of(ANSI.sub("", line))


def assert_fits(out: str, width: int) -> list[str]:
    lines = out.splitlines()
    too_wide = [(visible(line), line) for line in lines if visible(line) > width]
    assert not too_wide, too_wide
    return lines


@pytest.fixture
def loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    for var in ("TRACKER_DATABASE_URL", "TRACKER_OPERATOR", "TRACKER_NOW", "TRACKER_FAKE_NOW"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.chdir(tmp_path)
    cli = Cli(tmp_path)
    with clock(2022, 3, 1):
        cli.ok("init", "--cycle", "2022")
    with clock(2022, 7, 2):
        cli.ok("--as", "truong-cum", "complete", "half_year_report", "--member", "muong-nhe")
        cli.ok("--as", "muong-cha", "submit", "half_year_report", "--ref", "Số: 12/BC-UBND")
    return cli


def cols(width: int) -> dict[str, str]:
    return {"COLUMNS": str(width)}


@pytest.fixture
def context(loaded: Cli) -> Iterator[tuple[Session, CycleContext]]:
    engine = make_engine(loaded.url)
    with read_scope(engine) as session:
        row = cycles.find_cycle(session, cluster_id=None, year=2022, today=date(2022, 12, 26))
        yield session, cycles.load_context(session, row)
    engine.dispose()


def captured(fn: object, *args: object, **kw: object) -> str:
    buf = io.StringIO()
    with redirect_stdout(buf):
        fn(*args, **kw)  # type: ignore[operator]
    return buf.getvalue()


# ---------------------------------------------------------------- status


@pytest.mark.parametrize("width", WIDTHS)
def test_status_fits_and_names_every_milestone_and_member(loaded: Cli, width: int) -> None:
    out = loaded.ok("status", "--at", "2022-12-26", env=cols(width))
    lines = assert_fits(out, width)
    text = "\n".join(lines)
    ids = {r["milestone"] for r in loaded.json("--at", "2022-12-26")}
    # Beside its name, each milestone's id: what `complete MILESTONE --member ID` takes.
    for ms in ids:
        assert re.search(rf"(^|\s){ms}(\s|$)", text), ms
    assert all(m in text for m in MEMBERS)
    assert "tracker complete <mã mốc> --member <đơn vị>" in " ".join(text.split())
    assert "Báo cáo tổng kết năm" in text and "✗ quá 1n" in text


def test_status_at_200_is_the_matrix_and_at_80_one_block_per_milestone(loaded: Cli) -> None:
    wide = loaded.ok("status", "--at", "2022-12-26", env=cols(200)).splitlines()
    header = wide[1].split()
    assert header[:3] == ["Mốc", "Mã", "Hạn"] and header[3:] == MEMBERS
    annual = next(line for line in wide if line.startswith("Báo cáo tổng kết năm"))
    assert "annual_report" in annual and annual.count("✗ quá 1n") == 5
    narrow = loaded.ok("status", "--at", "2022-12-26", env=cols(80)).splitlines()
    head = narrow.index("Báo cáo tổng kết năm — annual_report — hạn 25/12/2022")
    chips = " ".join(narrow[head + 1 : head + 3])
    assert all(f"{m} ✗ quá 1n" in chips for m in MEMBERS)


def test_status_wide_prints_the_whole_matrix(context: tuple[Session, CycleContext]) -> None:
    _, ctx = context
    rows = views.status_rows(ctx, date(2022, 12, 26))
    today = date(2022, 12, 26)
    whole = captured(render.status_table, ctx, rows, today, "vi", color=False, wide=True, width=80)
    assert max(visible(line) for line in whole.splitlines()) > 80
    assert whole == captured(render.status_table, ctx, rows, today, "vi", color=False)


def on_a_terminal(url: str, width: int, *args: str) -> str:
    """`tracker --db URL ARGS` on a real pseudo-terminal of COLUMNS=width: colours on."""
    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env["COLUMNS"] = str(width)
    proc = subprocess.run(
        [sys.executable, "-m", "tracker", "--db", url, *args],
        stdout=follower,
        stderr=subprocess.PIPE,
        env=env,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert proc.returncode == 0, proc.stderr
    return b"".join(chunks).decode("utf-8").replace("\r\n", "\n")


@pytest.mark.parametrize("width", [*WIDTHS, 120])
def test_status_keeps_its_colours_and_still_fits(loaded: Cli, width: int) -> None:
    out = on_a_terminal(loaded.url, width, "status", "--at", "2022-12-26")
    assert "\x1b[31m" in out and "\x1b[33m" in out and "\x1b[36m" in out  # ✗, ✓ late, ↑
    assert_fits(out, width)


def test_a_wrapped_cell_keeps_its_colour_on_every_line() -> None:
    lines = table.grid(
        ["Mốc", "muong-cha"],
        [["Hội nghị tổng kết", "? chưa ấn định, đã hết khung"]],
        [17, 10],
        colours=[[None, "red"]],
        style=lambda text, colour: f"<{colour}>{text}</>",
    )
    assert lines[2:] == [
        "Hội nghị tổng kết  <red>? chưa ấn </>",
        "                   <red>định, đã  </>",
        "                   <red>hết khung </>",
    ]


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_legend_lists_every_symbol_a_cell_starts_with(
    context: tuple[Session, CycleContext], lang: str
) -> None:
    _, ctx = context
    symbols: set[str] = set()
    for day in (date(2022, 6, 25), date(2022, 12, 26), date(2023, 4, 10)):
        for r in views.status_rows(ctx, day):
            text = render._cell(r, lang)[0]
            symbols.add(text.removeprefix("↩ ")[0])
    assert "·" in symbols  # a deadline still far away
    legend = " ".join(render._legend(lang))
    for symbol in symbols | {"✓", "↑", "!", "✗", "↩", "–", "?", "◦", "·"}:
        assert re.search(rf"(^|[:;] ){re.escape(symbol)} ", legend), (symbol, legend)


# ---------------------------------------------------------------- calendar, history, show


@pytest.mark.parametrize("width", WIDTHS)
def test_calendar_fits(loaded: Cli, width: int) -> None:
    with clock(2022, 3, 1):
        out = loaded.ok("calendar", "--cycle", "2022", env=cols(width))
        en = loaded.ok("--lang", "en", "calendar", "--cycle", "2022", env=cols(width))
    for text in (out, en):
        lines = assert_fits(text, width)
        assert any("cross_inspection" in line for line in lines)
        assert "01/10/2022–30/11/2022" in text or "2022-10-01–2022-11-30" in text
    assert "Điều 7.9 (ghi chú)" in " ".join(out.split())


@pytest.mark.parametrize("width", WIDTHS)
def test_history_fits_and_dates_in_local_time(loaded: Cli, width: int) -> None:
    with clock(2022, 7, 3):
        out = loaded.ok("history", env=cols(width))
        en = loaded.ok("--lang", "en", "history", env=cols(width))
    lines = assert_fits(out, width)
    entries = [line for line in lines if not line.startswith(" ")]
    assert len(entries) == 3
    assert entries[0].startswith("01/03/2022 09:00 ")
    assert entries[1].startswith("02/07/2022 09:00 truong-cum (")
    assert "+07:00" not in out and "T09:" not in out
    assert en.startswith("2022-03-01 09:00 ")
    assert_fits(en, width)


def test_history_at_night_is_the_cluster_s_day(loaded: Cli) -> None:
    # 21:20 UTC on 1 December is 04:20 on 2 December in Hà Nội.
    at = datetime(2022, 12, 2, 4, 20, tzinfo=TZ)
    with clock(2022, 12, 2, 4):
        loaded.ok("--as", "truong-cum", "complete", "annual_report", "--member", "nam-po")
    engine = make_engine(loaded.url)
    with read_scope(engine) as session:
        row = cycles.find_cycle(session, cluster_id=None, year=2022, today=at.date())
        ctx = cycles.load_context(session, row)
        last = views.history(session, ctx)[-1]
    engine.dispose()
    moved = type(last)(**{**last.__dict__, "at": at.astimezone(TZ)})
    assert render._history_line(moved, "vi").startswith("02/12/2022 04:20 truong-cum")


@pytest.mark.parametrize("width", WIDTHS)
def test_show_fits_and_words_the_policy(loaded: Cli, width: int) -> None:
    with clock(2022, 12, 26):
        out = loaded.ok("show", "muong-cha", "annual_report", env=cols(width))
        en = loaded.ok("--lang", "en", "show", "muong-cha", "annual_report", env=cols(width))
    assert_fits(out, width)
    assert_fits(en, width)
    flat = " ".join(out.split())
    assert "giữ nguyên ngày" in flat and "chuyển sang ngày làm việc kế tiếp" in flat
    assert "25/12/2022 (Chủ nhật) là ngày nghỉ; hạn giữ nguyên ngày đó." in flat


def test_show_names_the_holiday_a_kept_deadline_falls_on(loaded: Cli) -> None:
    shipped = Path(__file__).resolve().parents[1] / "config" / "cum-vung-cao-2022.toml"
    config = shipped.read_text(encoding="utf-8").replace('date = "25/12/Y"', 'date = "2/9/Y"', 1)
    path = loaded.config(config)
    with clock(2022, 3, 1):
        loaded.ok("--config", path, "init", "--cycle", "2022", "--force")
        out = loaded.ok("show", "muong-cha", "annual_report", env=cols(80))
    flat = " ".join(out.split())
    assert "02/09/2022 (Thứ Sáu) là ngày nghỉ: " in flat, flat
    assert "Quốc khánh" in flat


# ---------------------------------------------------------------- outbox


def _letters(url: str) -> None:
    engine = make_engine(url)
    june = datetime(2022, 6, 1, 8, tzinfo=TZ)
    with Session(engine) as s:
        for n in range(3):
            s.add(
                LetterRow(
                    key=f"day:1:2022-06-01:van-phong.uy-ban-nhan-dan-{n}@dienbiendong.gov.vn:member#1",
                    bundle=f"day:1:2022-06-01:van-phong-{n}@dienbiendong.gov.vn:member",
                    cycle_id=1,
                    recipient_email=f"van-phong.uy-ban-nhan-dan-{n}@dienbiendong.gov.vn",
                    recipient_name="Văn phòng",
                    send_at=june,
                    state="failed",
                    attempts=5,
                    last_error="550 5.1.1 <x@dienbiendong.gov.vn>: Recipient address rejected:"
                    " User unknown in virtual mailbox table",
                    created_at=june,
                    updated_at=june,
                )
            )
        s.commit()
    engine.dispose()


@pytest.mark.parametrize("width", WIDTHS)
def test_outbox_fits(loaded: Cli, width: int) -> None:
    _letters(loaded.url)
    with clock(2022, 6, 2):
        out = loaded.ok("outbox", "--state", "failed", env=cols(width))
    # The table's lines; the hint below it ("Xem một thư: …") is printed by reminder_cmds
    # as one line, which this change does not touch (82 columns in Vietnamese).
    lines = [line for line in out.splitlines() if not line.startswith("Xem một thư")]
    assert_fits("\n".join(lines), width)
    assert "550 5.1.1" in " ".join(out.split())
    assert sum("failed" in line for line in lines) == 3


# ---------------------------------------------------------------- CSV and JSON


PROBLEMS = ["Có 1 thư nhắc việc không gửi được (máy chủ thư từ chối): xem 'tracker outbox'."]


def test_status_csv_for_excel_and_scripts(context: tuple[Session, CycleContext]) -> None:
    _, ctx = context
    rows = views.status_rows(ctx, date(2022, 12, 26))
    plain = captured(render.status_csv, rows, PROBLEMS)
    assert not plain.startswith("\ufeff") and "\r\n" not in plain
    excel = captured(render.status_csv, rows, PROBLEMS, excel=True)
    # Excel on Windows reads UTF-8 only behind a byte-order mark; rows end in CRLF.
    assert excel.startswith("\ufeffcluster,") and excel.count("\r\n") == len(rows) + 1
    read = list(csv.DictReader(io.StringIO(excel.removeprefix("\ufeff"), newline="")))
    assert len(read) == len(rows) == 34
    annual = next(r for r in read if (r["member"], r["milestone"]) == ("nam-po", "annual_report"))
    assert (annual["overdue"], annual["late"], annual["event"]) == ("true", "false", "false")
    assert annual["name"] == "Báo cáo tổng kết năm"
    assert {r["delivery_problems"] for r in read} == {PROBLEMS[0]}
    empty = captured(render.status_csv, [], PROBLEMS)
    assert empty.splitlines() == [plain.splitlines()[0]]


def test_status_json_carries_the_delivery_problems(context: tuple[Session, CycleContext]) -> None:
    _, ctx = context
    rows = views.status_rows(ctx, date(2022, 12, 26))
    out = json.loads(captured(render.status_json, rows, PROBLEMS))
    assert isinstance(out, list) and len(out) == 34
    assert all(r["delivery_problems"] == PROBLEMS for r in out)
    assert all(isinstance(r["overdue"], bool) for r in out)


def test_problem_lines_wrap_in_red(loaded: Cli) -> None:
    out = captured(render.problems, PROBLEMS * 2, color=False, width=40)
    assert out.count("⚠") == 2 and len(out.splitlines()) > 2
    assert_fits(out, 40)


# ---------------------------------------------------------------- the fitting itself


words = st.text(alphabet=st.sampled_from("abcdeđếươ✓✗·–@./- "), min_size=0, max_size=60).map(
    lambda s: s.strip()
)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.lists(words, min_size=4, max_size=4), min_size=1, max_size=6),
    width=st.integers(min_value=20, max_value=200),
)
def test_any_table_fits_any_width(rows: list[list[str]], width: int) -> None:
    headers = ["Mã", "Người nhận", "Phản hồi gần nhất", "Trạng thái"]
    lines = table.fit(headers, rows, width)
    assert all(width_of(line) <= width for line in lines)
    flat = " ".join(" ".join(lines).split())
    for row in rows:
        for cell in row:
            for word in cell.split():
                # Every word is shown, whole or cut over lines, never dropped.
                assert word[:1] in flat


def test_piped_without_columns_keeps_whole_rows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    assert table.terminal_width() is None  # pytest's stdout is not a terminal
    monkeypatch.setenv("COLUMNS", "90")
    assert table.terminal_width() == 90
    monkeypatch.setenv("COLUMNS", "abc")
    assert table.terminal_width() is None
