"""Issue 2 §6: every `tracker` command end to end, through Typer's CliRunner on a real SQLite
file, with the clock set by time-machine (or `--at`). Errors are one line, never a
traceback, with a non-zero exit."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import time_machine
from typer.testing import CliRunner, Result

from tests.test_config import MILESTONE_IDS
from tracker.calendar.types import TZ
from tracker.cli.app import app
from tracker.paths import config_dir

SHIPPED = config_dir() / "cum-vung-cao-2022.toml"
TEXT = SHIPPED.read_text(encoding="utf-8")
MEMBERS = ["tua-chua", "dien-bien-dong", "muong-cha", "muong-nhe", "nam-po"]
REPO = Path(__file__).resolve().parents[1]


def clock(y: int, m: int, d: int, hour: int = 9) -> time_machine.travel:
    return time_machine.travel(datetime(y, m, d, hour, tzinfo=TZ), tick=False)


class Cli:
    """`tracker --db sqlite:///<tmp>/t.db …`, asserting that nothing escaped as a traceback."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.db = tmp_path / "t.db"
        self.url = f"sqlite:///{self.db}"
        self.runner = CliRunner()

    def __call__(self, *args: str, env: dict[str, str] | None = None) -> Result:
        result = self.runner.invoke(app, ["--db", self.url, *args], env=env)
        # CliRunner catches exceptions; anything but an exit is a bug shown as a traceback.
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        assert "Traceback" not in result.output
        return result

    def ok(self, *args: str, env: dict[str, str] | None = None) -> str:
        result = self(*args, env=env)
        assert result.exit_code == 0, result.output
        assert result.stderr == ""
        return result.stdout

    def fails(self, code: int, *args: str, env: dict[str, str] | None = None) -> str:
        result = self(*args, env=env)
        assert result.exit_code == code, result.output
        return one_line(result.stderr)

    def json(self, *args: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = json.loads(self.ok("status", "--format", "json", *args))
        return rows

    def config(self, text: str, name: str = "cluster.toml") -> str:
        path = self.tmp / name
        path.write_text(text, encoding="utf-8")
        return str(path)


def one_line(stderr: str) -> str:
    lines = stderr.strip("\n").splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    for var in ("TRACKER_DATABASE_URL", "TRACKER_OPERATOR", "TRACKER_NOW", "TRACKER_FAKE_NOW"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)  # nothing may land in the checkout
    return Cli(tmp_path)


@pytest.fixture
def loaded(cli: Cli) -> Cli:
    """The shipped cluster's 2022 cycle, loaded on 1 March 2022."""
    with clock(2022, 3, 1):
        cli.ok("init", "--cycle", "2022")
    return cli


def by_key(rows: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["member"], r["milestone"]): r for r in rows}


# ---------------------------------------------------------------- init


def test_init_creates_then_refreshes_the_2022_cycle(cli: Cli) -> None:
    with clock(2022, 3, 1):
        out = cli.ok("init", "--cycle", "2022")
        assert "Đã tạo chu kỳ 2022 của cụm 'cum-vung-cao'" in out
        assert "34 nghĩa vụ mới" in out
        assert "tracker status --cycle 2022" in out
        out = cli.ok("--lang", "en", "init", "--cycle", "2022")
    assert "Refreshed cycle 2022" in out and "0 new obligations, 0 retired" in out
    assert cli.db.exists()


def test_init_without_cycle_uses_the_config_year(cli: Cli) -> None:
    with clock(2024, 5, 5):
        assert "chu kỳ 2022" in cli.ok("init")
        assert {r["cycle"] for r in cli.json("--cycle", "2022")} == {2022}


def test_init_current_cycle_follows_the_clock(cli: Cli) -> None:
    with clock(2025, 2, 10):
        assert "chu kỳ 2025" in cli.ok("init", "--cycle", "current")
        rows = by_key(cli.json())  # no --cycle: the newest cycle that has begun
    assert {r["cycle"] for r in rows.values()} == {2025}
    assert rows[("muong-cha", "half_year_report")]["due"] == "2025-06-30"
    assert rows[("tua-chua", "summary_conference")]["due"] == "2026-03-31"


# ---------------------------------------------------------------- status


def test_status_table_is_plain_text_when_piped(loaded: Cli) -> None:
    out = loaded.ok("status", "--cycle", "2022", "--at", "2022-12-26")
    assert "\x1b[" not in out
    lines = out.splitlines()
    assert lines[0] == "Cụm thi đua huyện vùng cao — chu kỳ 2022 — tình hình ngày 26/12/2022"
    assert all(m in lines[1] for m in MEMBERS)
    annual = next(line for line in lines if line.startswith("Báo cáo tổng kết năm"))
    assert "25/12/2022" in annual and annual.count("✗ quá 1n") == 5
    draft = next(line for line in lines if line.startswith("Gửi dự thảo báo cáo tổng kết"))
    assert "chưa có lịch" in draft
    overdue = sum(r["overdue"] for r in loaded.json("--at", "2022-12-26"))
    assert f"Quá hạn: {overdue} · " in out
    en = loaded.ok("--lang", "en", "status", "--at", "2022-12-26")
    assert f"Overdue: {overdue} · " in en and "Annual report" in en and "✗ 1d late" in en


def test_status_has_colour_on_a_terminal(loaded: Cli) -> None:
    # A real pseudo-terminal: render decides on sys.stdout.isatty().
    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    proc = subprocess.run(
        [sys.executable, "-m", "tracker", "--db", loaded.url, "status", "--at", "2022-12-26"],
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
    out = b"".join(chunks).decode("utf-8")
    assert proc.returncode == 0, proc.stderr
    assert "\x1b[31m" in out  # overdue cells in red
    assert "✗ quá" in out


def test_status_json_has_the_promised_fields(loaded: Cli) -> None:
    rows = loaded.json("--cycle", "2022", "--at", "2022-12-26")
    assert len(rows) == 34
    for r in rows:
        assert {"cycle", "member", "milestone", "state", "due", "overdue"} <= set(r)
        assert r["cycle"] == 2022 and r["state"] == "open"
        assert isinstance(r["overdue"], bool)
        assert r["due"] is None or date.fromisoformat(r["due"]).isoformat() == r["due"]
    keyed = by_key(rows)
    assert keyed[("muong-cha", "annual_report")]["due"] == "2022-12-25"
    assert keyed[("muong-cha", "annual_report")]["overdue"] is True
    assert keyed[("tua-chua", "draft_report")]["due"] is None  # conference not dated yet
    assert keyed[("tua-chua", "draft_report")]["overdue"] is False
    assert keyed[("muong-cha", "score_matching")]["overdue"] is False


def test_status_csv(loaded: Cli) -> None:
    out = loaded.ok("status", "--format", "csv", "--at", "2022-12-26")
    header = out.splitlines()[0].split(",")
    assert {"cycle", "member", "milestone", "state", "due", "overdue"} <= set(header)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 34
    annual = next(r for r in rows if (r["member"], r["milestone"]) == ("nam-po", "annual_report"))
    assert (annual["cycle"], annual["due"], annual["overdue"]) == ("2022", "2022-12-25", "true")


def test_status_for_one_member(loaded: Cli) -> None:
    rows = loaded.json("--member", "muong-cha", "--at", "2022-12-26")
    assert {r["member"] for r in rows} == {"muong-cha"}
    assert [r["milestone"] for r in rows] == [
        "half_year_report",
        "annual_report",
        "self_score",
        "cross_inspection",
        "score_matching",
    ]
    table = loaded.ok("status", "--member", "muong-cha", "--at", "2022-12-26")
    assert "muong-cha" in table and "nam-po" not in table
    line = loaded.fails(2, "status", "--member", "ha-noi")
    assert "ha-noi" in line and "muong-cha" in line  # lists the valid ids


def test_status_overdue_only(loaded: Cli) -> None:
    rows = loaded.json("--overdue", "--at", "2022-12-26")
    assert rows and all(r["overdue"] for r in rows)
    assert ("muong-cha", "annual_report") in by_key(rows)
    assert loaded.json("--overdue", "--at", "2022-06-01") == []
    out = loaded.ok("status", "--overdue", "--at", "2022-06-01")
    assert "Không có nghĩa vụ nào khớp điều kiện." in out


def test_status_check_exit_code_for_cron(loaded: Cli) -> None:
    late = loaded("status", "--check", "--at", "2022-12-26")
    assert late.exit_code == 1 and "✗ quá" in late.stdout  # still prints the table
    assert loaded("status", "--check", "--at", "2022-06-01").exit_code == 0
    quiet = loaded("status", "--check", "--overdue", "--format", "json", "--at", "2022-07-01")
    assert quiet.exit_code == 1
    assert {r["milestone"] for r in json.loads(quiet.stdout)} == {"half_year_report"}


@pytest.mark.parametrize(
    ("at", "overdue"),
    [
        ("2022-12-25", False),  # the due day itself
        ("25/12/2022", False),
        ("2022-12-25T23:59", False),  # until 24:00 Vietnam time
        ("2022-12-26T00:00", True),
        ("2022-12-26", True),
        ("2022-12-25T16:59:59+00:00", False),  # 23:59:59 in Hanoi
        ("2022-12-25T17:00:00+00:00", True),  # midnight in Hanoi
    ],
)
def test_status_at_the_deadline_boundary(loaded: Cli, at: str, overdue: bool) -> None:
    rows = by_key(loaded.json("--at", at))
    assert rows[("muong-nhe", "annual_report")]["overdue"] is overdue


def test_status_uses_the_clock_without_at(loaded: Cli) -> None:
    with clock(2022, 7, 1):
        assert by_key(loaded.json())[("muong-cha", "half_year_report")]["overdue"] is True
    with clock(2022, 6, 30, 23):
        assert by_key(loaded.json())[("muong-cha", "half_year_report")]["overdue"] is False


# ---------------------------------------------------------------- show


def test_show_explains_why_this_date_with_the_policy_alternatives(loaded: Cli) -> None:
    with clock(2022, 12, 1):
        out = loaded.ok("show", "muong-cha", "annual_report")
        en = loaded.ok("--lang", "en", "show", "muong-cha", "annual_report")
    lines = out.splitlines()
    assert lines[0] == "Huyện Mường Chà — Báo cáo tổng kết năm (Điều 7.2)"
    assert "Hạn: 25/12/2022 (Chủ nhật), hết ngày theo giờ Việt Nam" in lines
    assert "Vì sao là ngày này:" in lines
    assert "  Quy tắc: chậm nhất ngày 25/12/2022" in lines
    assert (
        "  Nếu hạn rơi vào ngày nghỉ: giữ nguyên ngày (mặc định trong [holidays] của cấu hình)"
        in lines
    )
    assert "  25/12/2022 (Chủ nhật) là ngày nghỉ; hạn giữ nguyên ngày đó." in lines
    assert "    as_written — giữ nguyên ngày: 25/12/2022 (Chủ nhật)" in lines
    assert (
        "    next_working_day — chuyển sang ngày làm việc kế tiếp"
        " (Điều 148 khoản 5 Bộ luật Dân sự 2015): 26/12/2022 (Thứ Hai)"
    ) in lines
    assert (
        "    previous_working_day — lùi về ngày làm việc liền trước: 23/12/2022 (Thứ Sáu)" in lines
    )
    assert "  (chưa có thay đổi)" in lines
    assert "Why this date:" in en
    assert "  Rule: by 25 December 2022" in en.splitlines()
    assert (
        "    next_working_day — moves to the next working day (Civil Code 2015, Article 148(5)):"
        " 2022-12-26 (Monday)"
    ) in en.splitlines()
    assert (
        "    previous_working_day — moves to the previous working day: 2022-12-23 (Friday)"
        in en.splitlines()
    )


def test_show_lists_holidays_a_policy_skipped(cli: Cli) -> None:
    # A leader milestone on 23/1/2023 (Tết) that moves to the next working day.
    extra = (
        '\n[[milestones]]\nid = "tet_report"\nname = "Báo cáo sau Tết"\n'
        'name_en = "After-Tết report"\narticle = "Điều 7.3"\nassignee = "leader"\n'
        'rule = { kind = "fixed", date = "23/1/Y+1" }\npolicy = "next_working_day"\n'
    )
    path = cli.config(TEXT + extra)
    with clock(2022, 12, 1):
        cli.ok("--config", path, "init", "--cycle", "2022")
        out = cli.ok("show", "tua-chua", "tet_report")
        en = cli.ok("--lang", "en", "show", "tua-chua", "tet_report")
    assert "Hạn: 27/01/2023 (Thứ Sáu), hết ngày theo giờ Việt Nam" in out
    assert (
        "  Nếu hạn rơi vào ngày nghỉ: chuyển sang ngày làm việc kế tiếp (Điều 148 khoản 5"
        " Bộ luật Dân sự 2015) (theo cấu hình của mốc)"
    ) in out.splitlines()
    assert (
        "  Ngày theo quy tắc: 23/01/2023 (Thứ Hai), ngày nghỉ — chuyển sang ngày làm việc kế"
        " tiếp (Điều 148 khoản 5 Bộ luật Dân sự 2015): 27/01/2023 (Thứ Sáu)"
    ) in out.splitlines()
    assert "bỏ qua 23/01/2023 (Thứ Hai): Mùng hai Tết Nguyên Đán" in out
    assert "bỏ qua 26/01/2023 (Thứ Năm): Mùng năm Tết Nguyên Đán" in out
    assert "skipped 2023-01-24 (Tuesday): Third Day of Lunar New Year" in en


def test_show_an_unscheduled_dependent_and_an_undated_event(loaded: Cli) -> None:
    with clock(2022, 12, 1):
        draft = loaded.ok("show", "tua-chua", "draft_report")
        conf = loaded.ok("--lang", "en", "show", "tua-chua", "summary_conference")
    assert "phụ thuộc mốc 'summary_conference' chưa được ấn định ngày" in draft
    assert "Quy tắc: trước ngày Hội nghị tổng kết ít nhất 5 ngày" in draft
    assert "Window: 2023-01-01 – 2023-03-31" in conf
    assert "The leader has not set the date yet" in conf


def test_show_a_member_lists_its_obligations(loaded: Cli) -> None:
    with clock(2022, 12, 1):
        out = loaded.ok("show", "nam-po")
        leader = loaded.ok("show", "tua-chua")
    assert out.splitlines()[0] == "Huyện Nậm Pồ — chu kỳ 2022"
    assert "annual_report" in out and "summary_conference" not in out
    assert "summary_conference" in leader and "pact_signing" in leader


def test_show_refuses_unknown_ids(loaded: Cli) -> None:
    with clock(2022, 12, 1):
        assert "ha-noi" in loaded.fails(2, "show", "ha-noi")
        line = loaded.fails(2, "show", "muong-cha", "summary_conference")
        assert "tua-chua" in line  # who owes it instead
        assert "bao_cao" in loaded.fails(2, "show", "muong-cha", "bao_cao")


# ---------------------------------------------------------------- transitions


def test_the_life_of_an_annual_report(loaded: Cli) -> None:
    key = ["annual_report", "--member", "muong-cha"]
    with clock(2022, 12, 23):
        out = loaded.ok(
            "--as",
            "muong-cha",
            "submit",
            "annual_report",  # a member's own obligation: --member may be left out
            "--ref",
            "Số: 123/BC-UBND",
            "--note",
            "Gửi qua hệ thống văn bản điện tử",
            "--on",
            "2022-12-22",
        )
        assert out.strip() == (
            "Đã ghi nhận: Huyện Mường Chà đã gửi Báo cáo tổng kết năm ngày 22/12/2022"
            " (Cụm thi đua huyện vùng cao, chu kỳ 2022)."
        )
    with clock(2022, 12, 26):
        line = loaded.fails(2, "--as", "truong-cum", "return", *key)
        assert "cần ghi lý do" in line and "--note" in line
        loaded.ok("--as", "truong-cum", "return", *key, "--note", "Thiếu biểu 3")
    with clock(2022, 12, 27):
        loaded.ok("--as", "muong-cha", "submit", *key, "--ref", "Số: 130/BC-UBND")
    with clock(2022, 12, 28):
        out = loaded.ok("--as", "truong-cum", "complete", *key, "--on", "27/12/2022")
        assert "Huyện Mường Chà đã hoàn thành ngày 27/12/2022" in out
        row = by_key(loaded.json("--at", "2022-12-28"))[("muong-cha", "annual_report")]
        assert row["state"] == "completed" and row["late"] is True and row["overdue"] is False
        loaded.ok("--as", "truong-cum", "reopen", *key, "--note", "Sai số liệu")
        loaded.ok("--as", "truong-cum", "waive", *key, "--note", "Đơn vị sáp nhập")
        vi = loaded.fails(3, "--as", "truong-cum", "complete", *key)
        en = loaded.fails(3, "--lang", "en", "--as", "truong-cum", "complete", *key)
    assert vi.startswith("Lỗi: Không thể hoàn thành: nghĩa vụ đã được miễn")
    assert en.startswith("Error: Cannot complete: the obligation is waived")
    with clock(2022, 12, 29):
        history = loaded.ok("history", "--member", "muong-cha").splitlines()
        shown = loaded.ok("show", "muong-cha", "annual_report")
    moves = [h.split()[4:7] for h in history]  # "29/12/2022 09:00 op (user) action …"
    assert [m[0] for m in moves] == ["submit", "return", "submit", "complete", "reopen", "waive"]
    first = history[0]
    assert first.startswith("23/12/2022 09:00 muong-cha (")
    assert "open→submitted" in first and "Số: 123/BC-UBND" in first and "ngày 22/12/2022" in first
    assert "Gửi qua hệ thống văn bản điện tử" in first
    assert "Thiếu biểu 3" in history[1] and "truong-cum" in history[1]
    assert "ngày 27/12/2022" in history[3]
    assert "Đơn vị sáp nhập" in shown and "Tình trạng: Miễn" in shown


def test_transition_errors_are_one_line(loaded: Cli) -> None:
    with clock(2022, 12, 1):
        who = loaded.fails(2, "complete", "annual_report", "--member", "muong-cha")
        assert "--as" in who and "TRACKER_OPERATOR" in who
        assert "nobody" in loaded.fails(2, "--as", "nobody", "complete", "half_year_report")
        line = loaded.fails(2, "--as", "truong-cum", "complete", "annual_report")
        assert "--member" in line  # the leader must say whose report
        line = loaded.fails(
            3, "--as", "muong-cha", "complete", "annual_report", "--member", "muong-cha"
        )
        assert "chỉ Trưởng cụm" in line
        line = loaded.fails(3, "--as", "muong-cha", "submit", "annual_report", "--member", "nam-po")
        assert "nam-po" in line
        line = loaded.fails(3, "--as", "ban-tdkt", "submit", "annual_report", "--member", "nam-po")
        assert "viewer" in line
        on = ["--as", "truong-cum", "complete", "annual_report", "--member", "nam-po", "--on"]
        assert "tương lai" in loaded.fails(2, *on, "2022-12-02")
        assert "2022-13-01" in loaded.fails(2, *on, "2022-13-01")


def test_leader_milestones_need_no_member(loaded: Cli) -> None:
    with clock(2022, 9, 29):
        out = loaded.ok("--as", "truong-cum", "complete", "inspection_plan", "--ref", "Số: 9/KH")
    assert "kiểm tra chéo của Huyện Tủa Chùa đã hoàn thành" in out


def test_operator_from_the_environment(loaded: Cli) -> None:
    env = {"TRACKER_OPERATOR": "truong-cum"}
    with clock(2022, 7, 1):
        loaded.ok("waive", "half_year_report", "--member", "nam-po", "--note", "Lũ", env=env)
        env = {"TRACKER_OPERATOR": "nam-po"}
        assert "chỉ Trưởng cụm" in loaded.fails(
            3, "reopen", "half_year_report", "--member", "nam-po", "--note", "x", env=env
        )
        # --as wins over the environment.
        loaded.ok(
            "--as", "truong-cum", "reopen", "half_year_report", "--member", "nam-po",
            "--note", "Nhầm", env=env,
        )  # fmt: skip
    history = loaded.ok("history", "--member", "nam-po")
    assert "truong-cum" in history and "waive" in history and "reopen" in history


def _bound(cli: Cli, users: str) -> str:
    text = TEXT.replace(
        'role = "leader"\nemail = "noivu.tuachua@example.vn"',
        f'role = "leader"\nemail = "noivu.tuachua@example.vn"\nos_users = [{users}]',
    )
    assert text != TEXT
    return cli.config(text)


def test_an_operator_bound_to_os_users_is_refused_to_others(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOGNAME", "alice")  # what getpass.getuser() reads first
    path = _bound(cli, '"someone-else"')
    with clock(2022, 7, 1):
        cli.ok("--config", path, "init", "--cycle", "2022")
        line = cli.fails(
            3, "--as", "truong-cum", "complete", "half_year_report", "--member", "nam-po"
        )
        en = cli.fails(
            3,
            "--lang",
            "en",
            "--as",
            "truong-cum",
            "complete",
            "half_year_report",
            "--member",
            "nam-po",
        )
    assert "someone-else" in line and "'alice'" in line
    assert en == (
        "Error: Operator 'truong-cum' may only be used by the OS accounts someone-else"
        " (you are 'alice')."
    )
    assert "complete" not in cli.ok("history")


def test_an_os_user_bound_to_one_operator_needs_no_as(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOGNAME", "alice")
    path = _bound(cli, '"alice", "bob"')
    with clock(2022, 7, 1):
        cli.ok("--config", path, "init", "--cycle", "2022")
        cli.ok("complete", "half_year_report", "--member", "nam-po")
    assert "truong-cum (alice) complete nam-po/half_year_report" in cli.ok("history")


# ---------------------------------------------------------------- schedule


def test_schedule_the_conference_and_its_dependents_follow(loaded: Cli) -> None:
    with clock(2022, 12, 1):
        out = loaded.ok("--as", "truong-cum", "schedule", "summary_conference", "2023-03-10")
        rows = by_key(loaded.json("--cycle", "2022"))
    lines = out.splitlines()
    assert lines[0] == (
        "Đã ấn định: Hội nghị tổng kết vào Thứ Sáu, 10/03/2023"
        " (Cụm thi đua huyện vùng cao, chu kỳ 2022)."
    )
    # 05/03/2023 is a Sunday: "ít nhất 5 ngày" moves back to Friday 03/03.
    assert any(x.endswith("(draft_report): chưa có lịch → 03/03/2023") for x in lines)
    assert any(x.endswith("(score_summary): chưa có lịch → 28/02/2023") for x in lines)
    assert rows[("tua-chua", "summary_conference")]["due"] == "2023-03-10"
    assert rows[("tua-chua", "summary_conference")]["scheduled"] is True
    assert rows[("tua-chua", "draft_report")]["due"] == "2023-03-03"  # ≥ 5 days before
    assert rows[("tua-chua", "score_summary")]["due"] == "2023-02-28"  # conference − 10 days
    # The preparatory meeting is an event the leader dates itself (Điều 7.9).
    assert rows[("tua-chua", "preparatory_meeting")]["scheduled"] is False
    with clock(2022, 12, 2):
        out = loaded.ok(
            "--lang", "en", "--as", "truong-cum", "schedule", "summary_conference", "24/03/2023"
        )
    assert "Scheduled: Summary conference on 2023-03-24 (Friday)" in out
    # 19/03 is a Sunday
    assert any(x.endswith("(draft_report): 2023-03-03 → 2023-03-17") for x in out.splitlines())


def test_schedule_refusals(loaded: Cli) -> None:
    with clock(2022, 12, 1):
        line = loaded.fails(2, "--as", "truong-cum", "schedule", "summary_conference", "2023-04-10")
        assert "01/01/2023–31/03/2023" in line
        assert loaded.fails(2, "--as", "truong-cum", "schedule", "annual_report", "2022-12-20")
        line = loaded.fails(3, "--as", "muong-cha", "schedule", "summary_conference", "2023-03-10")
        assert "chỉ Trưởng cụm" in line
        assert "DATE" in loaded.fails(
            2, "--as", "truong-cum", "schedule", "summary_conference", "mai"
        )
    with clock(2023, 3, 1):
        line = loaded.fails(
            2,
            "--lang",
            "en",
            "--as",
            "truong-cum",
            "schedule",
            "summary_conference",
            "2023-03-08",
            "--cycle",
            "2022",
        )
    # 26/02/2023 is a Sunday: the score summary would be due Friday 24/02, already past.
    assert "score_summary" in line and "2023-02-24" in line and "already past" in line
    with clock(2023, 3, 1):
        rows = by_key(loaded.json("--cycle", "2022"))
    assert rows[("tua-chua", "summary_conference")]["scheduled"] is False


def test_schedule_an_inspection_visit_per_member(loaded: Cli) -> None:
    with clock(2022, 9, 20):
        loaded.ok(
            "--as", "truong-cum", "schedule", "cross_inspection", "2022-10-12",
            "--member", "muong-cha",
        )  # fmt: skip
        assert "--member" in loaded.fails(
            2, "--as", "truong-cum", "schedule", "cross_inspection", "2022-10-12"
        )
        rows = by_key(loaded.json())
    assert rows[("muong-cha", "cross_inspection")]["due"] == "2022-10-12"
    assert rows[("nam-po", "cross_inspection")]["due"] == "2022-11-30"
    assert rows[("nam-po", "cross_inspection")]["scheduled"] is False


# ---------------------------------------------------------------- request


def test_requests_twice(loaded: Cli) -> None:
    with clock(2022, 11, 1):
        out = loaded.ok(
            "--as", "truong-cum", "request", "Báo cáo công tác phòng, chống thiên tai",
            "--due", "2022-11-20", "--member", "muong-cha", "--member", "nam-po",
        )  # fmt: skip
        assert out.strip() == ("Đã tạo yêu cầu request-1 (hạn 20/11/2022) cho: muong-cha, nam-po.")
        out = loaded.ok(
            "--lang", "en", "--as", "truong-cum", "request", "Số liệu hộ nghèo",
            "--due", "15/11/2022",
        )  # fmt: skip
        assert out.strip() == (
            "Created request request-2 (due 2022-11-15) for: " + ", ".join(MEMBERS) + "."
        )
        loaded.ok("--as", "muong-cha", "submit", "request-1", "--ref", "Số: 77/BC")
        shown = loaded.ok("show", "muong-cha", "request-1")
    rows = by_key(loaded.json("--at", "2022-11-21"))
    one = rows[("nam-po", "request-1")]
    assert (one["due"], one["name"], one["article"]) == (
        "2022-11-20",
        "Báo cáo công tác phòng, chống thiên tai",
        "Điều 7.3",
    )
    assert one["overdue"] is True and rows[("muong-cha", "request-1")]["state"] == "submitted"
    assert ("muong-cha", "request-1") in rows and ("tua-chua", "request-1") not in rows
    assert {m for m, ms in rows if ms == "request-2"} == set(MEMBERS)
    assert "hạn trong văn bản yêu cầu của Trưởng cụm" in shown and "Số: 77/BC" in shown
    with clock(2022, 11, 1):
        assert "đã qua" in loaded.fails(
            2, "--as", "truong-cum", "request", "x", "--due", "2022-10-01"
        )
        assert "ha-noi" in loaded.fails(
            2, "--as", "truong-cum", "request", "x", "--due", "2022-12-01", "--member", "ha-noi"
        )


# ---------------------------------------------------------------- calendar, history


def test_calendar(loaded: Cli) -> None:
    with clock(2022, 3, 1):
        out = loaded.ok("calendar", "--cycle", "2022")
        en = loaded.ok("--lang", "en", "calendar")
    assert out.splitlines()[0] == "Cụm thi đua huyện vùng cao — lịch chu kỳ 2022"
    cfg_ids = [ln.split()[0] for ln in out.splitlines()[3:]]
    assert set(cfg_ids) == set(MILESTONE_IDS)  # the twelve ids issue 2 §2 names
    half = next(ln for ln in out.splitlines() if ln.startswith("half_year_report"))
    assert "30/06/2022" in half and "Điều 7.1" in half
    visit = next(ln for ln in out.splitlines() if ln.startswith("cross_inspection"))
    assert "01/10/2022–30/11/2022" in visit and "Điều 7.4" in visit
    draft = next(ln for ln in en.splitlines() if ln.startswith("draft_report"))
    assert "unscheduled" in draft and "at least 5 days before the Summary conference" in draft
    assert "Điều 7.9 (ghi chú)" in draft
    assert "2023-01-01–2023-03-31" in en


def test_history(loaded: Cli) -> None:
    with clock(2022, 7, 2):
        loaded.ok("--as", "truong-cum", "complete", "half_year_report", "--member", "muong-nhe")
        out = loaded.ok("history").splitlines()
        mine = loaded.ok("history", "--member", "muong-cha")
    assert out[0].startswith("01/03/2022 09:00 - (") and " init (cả chu kỳ)" in out[0]
    assert "truong-cum" in out[1] and "complete muong-nhe/half_year_report open→completed" in out[1]
    assert mine.strip() == "Chưa có thay đổi nào."


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (["--lang", "fr", "status"], 2, "--lang"),
        (["status", "--format", "xml"], 2, "xml"),
        (["status", "--cycle", "1999"], 2, "1999"),
        (["status", "--cycle", "2030"], 2, "2030"),
        (["status", "--at", "tomorrow"], 2, "tomorrow"),
        (["--cluster", "cum-khac", "status"], 2, "cum-khac"),
        (["calendar", "--cycle", "abc"], 2, "abc"),
        (["history", "--member", "ha-noi"], 2, "ha-noi"),
    ],
)
def test_bad_arguments_are_one_line(loaded: Cli, args: list[str], code: int, fragment: str) -> None:
    with clock(2022, 12, 1):
        line = loaded.fails(code, *args)
    assert line.startswith("Lỗi: ") and fragment in line


def test_usage_errors_are_one_line(loaded: Cli) -> None:
    for args in (["frobnicate"], ["request", "Báo cáo"], ["status", "--no-such-option"]):
        result = loaded(*args)
        assert result.exit_code == 2
        line = one_line(result.stderr)
        assert "tracker" in line and "--help" in line


def test_a_database_that_is_not_set_up(cli: Cli) -> None:
    line = cli.fails(2, "status")
    assert "chưa được khởi tạo" in line and "tracker init" in line
    assert not cli.db.exists()  # reading must not leave an empty database behind
    assert "chưa được khởi tạo" in cli.fails(2, "history")


def test_a_database_url_that_cannot_work(cli: Cli, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder" / "t.db"
    runner = CliRunner()
    result = runner.invoke(app, ["--db", f"sqlite:///{missing}", "init"])
    assert result.exit_code == 2 and "no-such-folder" in one_line(result.stderr)
    result = runner.invoke(app, ["--db", "mysql://u:secret@host/db", "status"])
    assert result.exit_code == 2
    line = one_line(result.stderr)
    assert "mysql" in line and "secret" not in line


def test_the_database_url_from_the_environment(cli: Cli) -> None:
    runner = CliRunner()
    with clock(2022, 3, 1):
        result = runner.invoke(app, ["init"], env={"TRACKER_DATABASE_URL": cli.url})
    assert result.exit_code == 0 and cli.db.exists()


# ---------------------------------------------------------------- start-up cost


def _python(code: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=60,
        check=True,
    )
    return proc.stdout


@pytest.mark.parametrize("args", [["--help"], ["status", "--help"], ["init", "--help"]])
def test_help_does_not_import_sqlalchemy(args: list[str]) -> None:
    out = _python(
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from tracker.cli.app import app\n"
        f"r = CliRunner().invoke(app, {args!r})\n"
        "assert r.exit_code == 0, r.output\n"
        "assert 'tracker' in r.output.lower() or 'Usage' in r.output\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in"
        " ('sqlalchemy', 'sqlmodel', 'alembic')))\n"
    )
    assert out.strip() == "[]"


def test_python_m_tracker_help_runs_without_sqlalchemy() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "tracker", "--help"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0
    assert "status" in proc.stdout and "schedule" in proc.stdout
    imported = [line.split("|")[-1].strip() for line in proc.stderr.splitlines() if "|" in line]
    assert "typer" in imported
    assert not [m for m in imported if m.split(".")[0] in ("sqlalchemy", "sqlmodel", "alembic")]


@pytest.fixture(autouse=True)
def _no_tracker_db_in_the_checkout() -> Iterator[None]:
    before = (REPO / "tracker.db").exists()
    yield
    assert (REPO / "tracker.db").exists() == before


def test_a_database_at_an_older_schema_says_to_run_init(cli: Cli) -> None:
    from tracker.db import migrate
    from tracker.db.engine import make_engine

    engine = make_engine(cli.url)
    try:
        migrate.upgrade(engine, "0001")
    finally:
        engine.dispose()
    line = cli.fails(2, "status")
    assert "lược đồ cũ" in line and "tracker init" in line
    with clock(2022, 3, 1):
        cli.ok("init")  # upgrades, then loads
        assert len(cli.json("--cycle", "2022")) == 34


def test_several_clusters_need_cluster(cli: Cli) -> None:
    from tests.test_service import SMALL  # a two-commune cluster

    folder = cli.tmp / "config"
    folder.mkdir()
    (folder / "cum-vung-cao-2022.toml").write_text(TEXT, encoding="utf-8")
    (folder / "cum-mien-nui-2022.toml").write_text(SMALL, encoding="utf-8")
    with clock(2022, 3, 1):
        out = cli.ok("--config", str(folder), "init")
        assert "'cum-mien-nui'" in out and "'cum-vung-cao'" in out
        line = cli.fails(2, "status")
        assert "--cluster" in line and "cum-mien-nui" in line and "cum-vung-cao" in line
        rows = json.loads(
            cli.ok("--cluster", "cum-mien-nui", "status", "--format", "json", "--cycle", "2022")
        )
    assert {(r["cluster"], r["member"]) for r in rows} == {
        ("cum-mien-nui", "xa-a"),
        ("cum-mien-nui", "xa-b"),
    }


def test_status_csv_has_the_same_header_without_rows(loaded: Cli) -> None:
    full = loaded.ok("status", "--format", "csv", "--at", "2022-12-26").splitlines()[0]
    empty = loaded.ok("status", "--format", "csv", "--overdue", "--at", "2022-06-01")
    assert empty.splitlines() == [full]


def test_init_force_to_drop_a_member_with_history(loaded: Cli) -> None:
    with clock(2022, 7, 1):
        loaded.ok("--as", "truong-cum", "complete", "half_year_report", "--member", "nam-po")
        start = TEXT.index('[[members]]\nid = "nam-po"')
        end = TEXT.index("# ------", start)
        smaller = TEXT[:start] + TEXT[end:]
        op = '[[operators]]\nid = "nam-po"\nname = "Phòng Nội vụ huyện Nậm Pồ"\nrole = "member:nam-po"\n'
        assert op in smaller
        path = loaded.config(smaller.replace(op, ""))
        line = loaded.fails(2, "--config", path, "init", "--cycle", "2022")
        assert "nam-po" in line and "--force" in line
        assert len(loaded.json("--cycle", "2022")) == 34  # nothing changed
        out = loaded.ok("--config", path, "init", "--cycle", "2022", "--force")
        assert "Đơn vị đã gỡ (lịch sử được giữ): nam-po" in out
        assert "nam-po" not in {r["member"] for r in loaded.json("--cycle", "2022")}
        assert "complete nam-po/half_year_report" in loaded.ok("history", "--member", "nam-po")


def test_status_does_not_import_alembic_or_email_validator(loaded: Cli) -> None:
    # The two were a quarter of `tracker status`'s start-up (bench/README.md): Alembic is
    # for `init`, and the cycle's config snapshot was validated when it was loaded.
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "tracker", "--db", loaded.url, "status"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    imported = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if "|" in line}
    assert "sqlalchemy" in imported and "tracker.service.views" in imported
    assert not {m for m in imported if m.split(".")[0] in ("alembic", "email_validator")}


def test_status_shows_a_paused_sender_and_failed_mail(loaded: Cli) -> None:
    from sqlmodel import Session

    from tracker.db.engine import make_engine
    from tracker.db.models import LetterRow, OutboxPause

    clean = loaded.ok("status", "--at", "2022-06-01")
    assert "TẠM DỪNG" not in clean and "⚠" not in clean
    engine = make_engine(loaded.url)
    june = datetime(2022, 6, 1, 8, tzinfo=TZ)
    with Session(engine) as s:
        s.add(
            OutboxPause(
                since=june,
                retry_at=june,
                reason_vi="máy chủ SMTP từ chối đăng nhập (535)",
                reason_en="the SMTP server refused the login (535)",
            )
        )
        s.add(
            LetterRow(
                key="day:1:2022-06-01:a@example.vn:member#1",
                bundle="day:1:2022-06-01:a@example.vn:member",
                cycle_id=1,
                recipient_email="a@example.vn",
                recipient_name="A",
                send_at=june,
                state="failed",
                created_at=june,
                updated_at=june,
            )
        )
        s.commit()
    engine.dispose()
    out = loaded.ok("status", "--at", "2022-06-01")
    assert "⚠ Việc gửi thư nhắc đang TẠM DỪNG: máy chủ SMTP từ chối đăng nhập (535)" in out
    assert "Có 1 thư nhắc việc không gửi được (máy chủ thư từ chối): xem 'tracker outbox" in out
    out_en = loaded.ok("--lang", "en", "status", "--at", "2022-06-01")
    assert "Sending reminders is PAUSED: the SMTP server refused the login (535)" in out_en
    # JSON stays a plain list of obligations for scripts.
    assert isinstance(loaded.json("--at", "2022-06-01"), list)
