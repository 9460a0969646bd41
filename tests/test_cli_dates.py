"""Issue 6 §1, §2 and §6 from the command line: `show` explains the working-day policy and
the days off it skipped; `schedule` checks the dates the leader sets (days off, past days,
the score summary after January's scoring) with `--force` for the overridable ones; and
the replay clock (TRACKER_NOW) reaches every command, while the audit keeps the real time.

Real SQLite files; the clock is time-machine or TRACKER_NOW, never today."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from jobs import clock as shell_clock
from tests.test_cli import REPO, Cli, by_key, clock, one_line
from tracker.calendar.types import TZ
from tracker.db.engine import make_engine
from tracker.db.models import AuditEntry, Obligation
from tracker.errors import BadInputError

CLOCK_VARS = ("TRACKER_NOW", "TRACKER_FAKE_NOW")


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    for var in ("TRACKER_DATABASE_URL", "TRACKER_OPERATOR", *CLOCK_VARS):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    return Cli(tmp_path)


@pytest.fixture
def loaded(cli: Cli) -> Cli:
    with clock(2022, 3, 1):
        cli.ok("init", "--cycle", "2022")
    return cli


LEADER = ("--as", "truong-cum")


def audit_rows(cli: Cli) -> list[AuditEntry]:
    engine = make_engine(cli.url)
    try:
        with Session(engine) as s:
            return list(s.exec(select(AuditEntry).order_by(AuditEntry.id)))  # type: ignore[arg-type]
    finally:
        engine.dispose()


def obligation(cli: Cli, member: str, milestone: str) -> Obligation:
    engine = make_engine(cli.url)
    try:
        with Session(engine) as s:
            return s.exec(
                select(Obligation).where(
                    Obligation.member_id == member, Obligation.milestone_id == milestone
                )
            ).one()
    finally:
        engine.dispose()


# ---------------------------------------------------------------- §1 show


def test_show_names_the_policy_and_the_sunday_it_skipped(loaded: Cli) -> None:
    with clock(2022, 12, 1):
        loaded.ok(*LEADER, "schedule", "summary_conference", "2023-02-24")
        vi = loaded.ok("show", "tua-chua", "draft_report").splitlines()
        en = loaded.ok("--lang", "en", "show", "tua-chua", "draft_report").splitlines()
        score = loaded.ok("show", "tua-chua", "score_summary").splitlines()
    assert "Hạn: 17/02/2023 (Thứ Sáu), hết ngày theo giờ Việt Nam" in vi
    assert "  Quy tắc: trước ngày Hội nghị tổng kết ít nhất 5 ngày" in vi
    assert (
        '  Nếu hạn rơi vào ngày nghỉ: lùi về ngày làm việc liền trước (mặc định của quy tắc "trước'
        ' … ít nhất N ngày": không được dời muộn hơn)'
    ) in vi
    assert (
        "  Ngày theo quy tắc: 19/02/2023 (Chủ nhật), ngày nghỉ — lùi về ngày làm việc liền"
        " trước: 17/02/2023 (Thứ Sáu)"
    ) in vi
    assert "    bỏ qua 18/02/2023: Thứ bảy" in vi and "    bỏ qua 19/02/2023: Chủ nhật" in vi
    # next_working_day is refused for a before-rule: not offered as an alternative.
    assert not any("next_working_day" in line for line in vi)
    assert "  Rule: at least 5 days before the Summary conference" in en
    assert "    skipped 2023-02-19: Sunday" in en
    assert any("moves to the previous working day" in line for line in en)
    assert "Hạn: 14/02/2023 (Thứ Ba), hết ngày theo giờ Việt Nam" in score
    assert not any("Ngày theo quy tắc" in line for line in score)  # 14/02 is a working day


def test_calendar_reads_as_the_regulation(loaded: Cli) -> None:
    with clock(2022, 12, 1):
        out = loaded.ok("calendar", "--cycle", "2022")
        en = loaded.ok("--lang", "en", "calendar", "--cycle", "2022")
    half = next(ln for ln in out.splitlines() if ln.startswith("half_year_report"))
    assert "chậm nhất ngày 30/6/2022" in half
    assert "by 25 December 2022" in en
    assert "trước ngày Hội nghị tổng kết ít nhất 10 ngày" in out
    assert "at least 10 days before the Summary conference" in en


# ---------------------------------------------------------------- §2 schedule


def test_schedule_refuses_a_sunday_and_force_keeps_the_warning(loaded: Cli) -> None:
    with clock(2022, 12, 1):
        line = loaded.fails(2, *LEADER, "schedule", "summary_conference", "2023-02-19")
        assert line == (
            "Lỗi: Ngày 19/02/2023 là Chủ nhật (ngày nghỉ) — chọn một ngày làm việc, hoặc thêm"
            " --force."
        )
        line = loaded.fails(
            2, "--lang", "en", *LEADER, "schedule", "summary_conference", "2023-02-19"
        )
        assert line == (
            "Error: 2023-02-19 is a day off (Sunday) — pick a working day, or add --force."
        )
        assert obligation(loaded, "tua-chua", "summary_conference").event_date is None
        result = loaded(*LEADER, "schedule", "summary_conference", "2023-02-19", "--force")
        assert result.exit_code == 0, result.output
        assert one_line(result.stderr) == (
            "Cảnh báo (--force): Ngày 19/02/2023 là Chủ nhật (ngày nghỉ)."
        )
        assert "Đã ấn định: Hội nghị tổng kết vào Chủ nhật, 19/02/2023" in result.stdout
        history = loaded.ok("history", "--member", "tua-chua")
    assert obligation(loaded, "tua-chua", "summary_conference").event_date == date(2023, 2, 19)
    assert audit_rows(loaded)[-1].note == (
        "— → 2023-02-19. [--force: Ngày 19/02/2023 là Chủ nhật (ngày nghỉ)]"
    )
    assert "[--force: Ngày 19/02/2023 là Chủ nhật (ngày nghỉ)]" in history


def test_schedule_refuses_a_visit_on_a_holiday_or_in_the_past(loaded: Cli) -> None:
    with clock(2022, 9, 1):
        line = loaded.fails(
            2, *LEADER, "schedule", "cross_inspection", "2022-10-15", "--member", "nam-po"
        )
    assert "15/10/2022 là Thứ bảy (ngày nghỉ)" in line
    with clock(2022, 10, 13):
        for extra in ((), ("--force",)):
            line = loaded.fails(
                2, *LEADER, "schedule", "cross_inspection", "2022-10-12", "--member", "nam-po",
                *extra,
            )  # fmt: skip
            assert "Ngày 12/10/2022 đã qua (hôm nay 13/10/2022)" in line
            assert "tracker complete cross_inspection --on" in line
        # Today is not past (the inspection plan, Điều 7.5, was notified before the visits).
        loaded.ok(*LEADER, "complete", "inspection_plan", "--on", "2022-09-30")
        loaded.ok(*LEADER, "schedule", "cross_inspection", "2022-10-13", "--member", "nam-po")


def test_a_conference_in_early_february_needs_force_and_dates_the_summary_before_tet(
    loaded: Cli,
) -> None:
    with clock(2022, 12, 1):
        line = loaded.fails(2, *LEADER, "schedule", "summary_conference", "2023-02-03")
        assert "19/01/2023" in line and "31/01/2023" in line and "Điều 7.6" in line
        result = loaded(*LEADER, "schedule", "summary_conference", "03/02/2023", "--force")
        assert result.exit_code == 0, result.output
        assert one_line(result.stderr).startswith("Cảnh báo (--force): với ngày 03/02/2023")
        rows = by_key(loaded.json("--cycle", "2022"))
        show = loaded.ok("show", "tua-chua", "score_summary").splitlines()
    assert rows[("tua-chua", "score_summary")]["due"] == "2023-01-19"
    assert rows[("tua-chua", "draft_report")]["due"] == "2023-01-27"
    assert "    bỏ qua 24/01/2023 (Thứ Ba): Mùng ba Tết Nguyên Đán" in show
    assert "    bỏ qua 22/01/2023: Tết Nguyên Đán" not in show  # a Sunday, named as Tết
    assert "    bỏ qua 22/01/2023 (Chủ nhật): Tết Nguyên Đán" in show
    assert "[--force: với ngày 03/02/2023" in audit_rows(loaded)[-1].note


# ---------------------------------------------------------------- §6 one replay clock


def replay(at: str) -> dict[str, str]:
    return {"TRACKER_NOW": at}


def test_every_command_runs_on_the_replay_clock(cli: Cli) -> None:
    dec1 = replay("2022-12-01T09:00")
    # init --cycle current: the replayed year.
    assert "chu kỳ 2022" in cli.ok("init", "--cycle", "current", env=dec1)
    # status without --at: evaluated on 1/12/2022 (the half-year report is overdue).
    rows = by_key(json.loads(cli.ok("status", "--format", "json", env=dec1)))
    assert rows[("muong-cha", "half_year_report")]["overdue"] is True
    assert rows[("muong-cha", "annual_report")]["overdue"] is False
    assert rows[("muong-cha", "annual_report")]["days_left"] == 24
    assert "quá 154n" in cli.ok("show", "muong-cha", "half_year_report", env=dec1)
    # schedule: 24/02/2023 is upcoming on the replayed day (but past by the real clock).
    cli.ok(*LEADER, "schedule", "summary_conference", "2023-02-24", env=dec1)
    assert "Ngày 30/11/2022 đã qua (hôm nay 01/12/2022)" in cli.fails(
        2, *LEADER, "schedule", "cross_inspection", "2022-11-30", "--member", "nam-po", env=dec1
    )
    # request: a due date after the replayed day is accepted.
    cli.ok(*LEADER, "request", "Báo cáo đột xuất", "--due", "2022-12-15", env=dec1)
    # complete without --on: the replayed day; --on after it is "in the future".
    cli.ok(*LEADER, "complete", "annual_report", "--member", "nam-po", env=dec1)
    assert obligation(cli, "nam-po", "annual_report").completed_on == date(2022, 12, 1)
    assert "tương lai" in cli.fails(
        2, *LEADER, "complete", "self_score", "--member", "nam-po", "--on", "2022-12-02", env=dec1
    )
    cli.ok("--as", "muong-cha", "submit", "annual_report", env=dec1)
    assert obligation(cli, "muong-cha", "annual_report").submitted_on == date(2022, 12, 1)
    cli.ok(*LEADER, "waive", "self_score", "--member", "muong-cha", "--note", "x", env=dec1)
    cli.ok(*LEADER, "reopen", "self_score", "--member", "muong-cha", "--note", "y", env=dec1)
    cli.ok(*LEADER, "return", "annual_report", "--member", "muong-cha", "--note", "z", env=dec1)
    # calendar without --cycle: the cycle of the replayed day.
    assert "lịch chu kỳ 2022" in cli.ok("calendar", env=dec1)
    # remind --dry-run plans as of the replayed day; simulate --cycle current is 2022.
    assert "Chạy thử (--dry-run)" in cli.ok("remind", "--dry-run", env=dec1)
    out = cli.ok("simulate", "--from", "2022-12-01", "--to", "2022-12-02", env=dec1)
    assert "Tổng cộng" in out


def test_audit_rows_keep_the_real_time_beside_the_replayed_one(cli: Cli) -> None:
    before = datetime.now(TZ)
    dec1 = replay("2022-12-01T09:00:00+07:00")
    cli.ok("init", "--cycle", "2022", env=dec1)
    cli.ok(*LEADER, "complete", "annual_report", "--member", "nam-po", env=dec1)
    with clock(2022, 12, 2):  # no replay clock: both times are the same
        cli.ok(*LEADER, "complete", "self_score", "--member", "nam-po")
    init, replayed, plain = audit_rows(cli)
    for row in (init, replayed):
        assert row.at.astimezone(TZ).date() == date(2022, 12, 1)
        # recorded_at is the wall clock: today's real date, not 2022.
        assert row.recorded_at >= before - timedelta(seconds=5)
    assert plain.at == plain.recorded_at == datetime(2022, 12, 2, 9, tzinfo=TZ)
    history = cli.ok("history", env=dec1).splitlines()
    # (In one process the replayed clock has run on since jobs/clock.py was imported.)
    assert history[0].startswith("01/12/2022 ")
    assert "[ghi thật lúc " in history[0] and "[ghi thật lúc " in history[1]
    assert "[ghi thật lúc " not in history[2]
    en = cli.ok("--lang", "en", "history", env=dec1).splitlines()
    assert "[really recorded " in en[1]


@pytest.mark.parametrize("var", CLOCK_VARS)
@pytest.mark.parametrize(
    "args", [["status"], ["show", "nam-po"], ["history"], ["run"], ["remind", "--dry-run"]]
)
def test_a_garbage_replay_clock_is_one_line_exit_2(loaded: Cli, var: str, args: list[str]) -> None:
    line = loaded.fails(2, *args, env={var: "hôm qua"})
    assert line.startswith(f"Lỗi: {var}='hôm qua' không phải thời điểm ISO")
    line = loaded.fails(2, "--lang", "en", *args, env={var: "yesterday"})
    assert "is not an ISO date-time" in line and "2022-06-16T08:00" in line


def test_the_replay_clock_values() -> None:
    assert shell_clock.fake_start({}) is None
    assert shell_clock.fake_start({"TRACKER_NOW": "2022-06-16"}) == datetime(
        2022, 6, 16, 8, tzinfo=TZ
    )
    assert shell_clock.fake_start({"TRACKER_NOW": "2022-06-16T14:30"}) == datetime(
        2022, 6, 16, 14, 30, tzinfo=TZ
    )
    aware = shell_clock.fake_start({"TRACKER_FAKE_NOW": "2022-06-16T01:00:00+00:00"})
    assert aware == datetime(2022, 6, 16, 8, tzinfo=TZ)
    both = {"TRACKER_NOW": "2023-01-02T09:00", "TRACKER_FAKE_NOW": "2022-06-16T08:00"}
    assert shell_clock.fake_start(both) == datetime(2023, 1, 2, 9, tzinfo=TZ)
    assert shell_clock.variable(both) == "TRACKER_NOW"
    # It runs on at real speed from the replayed instant.
    now = shell_clock.now({"TRACKER_NOW": "2022-06-16T08:00"})
    assert datetime(2022, 6, 16, 8, tzinfo=TZ) <= now < datetime(2022, 6, 16, 20, tzinfo=TZ)
    with pytest.raises(BadInputError) as info:
        shell_clock.now({"TRACKER_NOW": "16/06/2022"})
    assert info.value.exit_code == 2 and "TRACKER_NOW='16/06/2022'" in info.value.en


def _imports(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


def test_one_clock_module_and_jobs_never_import_the_cli() -> None:
    for path in sorted((REPO / "jobs").glob("*.py")):
        assert not any(m.startswith("tracker.cli") for m in _imports(path)), path
    # Only the clock module reads the wall clock in the shells.
    for path in [
        *sorted((REPO / "jobs").glob("*.py")),
        *sorted((REPO / "tracker/cli").glob("*.py")),
    ]:
        if path.name == "clock.py":
            continue
        assert "datetime.now(" not in path.read_text(encoding="utf-8"), path
