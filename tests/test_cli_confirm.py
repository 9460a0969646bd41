"""Issue 8 §1: never act on the wrong thing silently. Every confirmation names the cluster,
the cycle and the obligation in words; from January to March, when two cycles hold the
milestone, an action without --cycle is refused with both choices; `--on` is refused on a
day the act cannot have happened. Real SQLite files through CliRunner, the clock set by
time-machine."""

# ruff: noqa: F811
from __future__ import annotations

import sqlite3

from tests.test_cli import Cli, cli, clock, loaded  # noqa: F401  (fixtures)

CLUSTER = "Cụm thi đua huyện vùng cao"


def test_a_submission_is_confirmed_in_words(loaded: Cli) -> None:
    with clock(2022, 12, 23):
        out = loaded.ok("--as", "dien-bien-dong", "submit", "annual_report")
        assert out.strip() == (
            "Đã ghi nhận: Huyện Điện Biên Đông đã gửi Báo cáo tổng kết năm"
            f" ({CLUSTER}, chu kỳ 2022)."
        )
        out = loaded.ok(
            "--lang", "en", "--as", "truong-cum", "complete", "annual_report",
            "--member", "dien-bien-dong", "--on", "2022-12-23",
        )  # fmt: skip
    assert out.strip() == (
        "Recorded: Annual report of Huyện Điện Biên Đông is completed on 2022-12-23"
        " (Highland districts emulation cluster, 2022 cycle)."
    )


def test_a_schedule_is_confirmed_in_words(loaded: Cli) -> None:
    with clock(2022, 12, 1):
        out = loaded.ok("--as", "truong-cum", "schedule", "summary_conference", "2023-03-10")
    first = out.splitlines()[0]
    assert first.startswith("Đã ấn định: Hội nghị tổng kết")
    assert "Thứ Sáu, 10/03/2023" in first and f"({CLUSTER}, chu kỳ 2022)." in first


def test_two_live_cycles_need_cycle(cli: Cli) -> None:
    with clock(2023, 2, 10):
        cli.ok("init", "--cycle", "2022")
        cli.ok("init", "--cycle", "2023")
        args = ["--as", "truong-cum", "complete", "annual_report", "--member", "muong-cha"]
        line = cli.fails(2, *args)
        assert "--cycle 2022" in line and "--cycle 2023" in line and "annual_report" in line
        en = cli.fails(2, "--lang", "en", *args)
        assert en.startswith("Error: 'annual_report' exists in both the 2022 cycle")
        out = cli.ok(*args, "--cycle", "2022")
        assert "chu kỳ 2022" in out
        # The election is held at the conference: the same question.
        assert "--cycle 2022" in cli.fails(2, "--as", "truong-cum", "elect", "muong-cha")
    with clock(2023, 4, 3):  # after Quarter I only the 2023 cycle is live
        out = cli.ok("--as", "truong-cum", "complete", "self_score", "--member", "muong-cha")
        assert "chu kỳ 2023" in out


def test_on_is_refused_before_the_cycle_in_the_future_and_before_the_last_change(
    loaded: Cli,
) -> None:
    submit = ["--as", "muong-cha", "submit", "annual_report"]
    with clock(2022, 12, 23):
        assert "trước khi chu kỳ 2022 bắt đầu" in loaded.fails(2, *submit, "--on", "2021-12-31")
        assert "tương lai" in loaded.fails(2, *submit, "--on", "2022-12-24")
        loaded.ok(*submit, "--on", "2022-12-20")
        complete = ["--as", "truong-cum", "complete", "annual_report", "--member", "muong-cha"]
        line = loaded.fails(2, "--lang", "en", *complete, "--on", "2022-12-19")
        assert "before this obligation's last recorded change (2022-12-20)" in line
        assert "tracker history --member muong-cha --cycle 2022" in line
        loaded.ok(*complete, "--on", "2022-12-20")  # the same day is fine
    # The audit keeps the day it happened and the moment it was recorded.
    with sqlite3.connect(loaded.db) as db:
        rows = db.execute(
            "SELECT action, on_date, at, recorded_at FROM audit"
            " WHERE action IN ('submit', 'complete') ORDER BY id"
        ).fetchall()
    assert [(a, on) for a, on, _, _ in rows] == [
        ("submit", "2022-12-20"),
        ("complete", "2022-12-20"),
    ]
    assert all(at.startswith("2022-12-23") and rec.startswith("2022-12-23") for *_, at, rec in rows)
