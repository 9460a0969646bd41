"""The table options wired to the commands (issue 8 §3): `--wide` keeps whole rows whatever
the width, `--excel` writes CSV with a BOM, JSON/CSV carry the delivery problems, and
`status --check` exits 1 when mail is failing, not only when something is overdue."""

from __future__ import annotations

import sqlite3

from tests.test_cli import Cli, cli, clock, loaded  # noqa: F401


def test_wide_keeps_whole_rows_at_any_width(loaded: Cli) -> None:  # noqa: F811
    env = {"COLUMNS": "60"}
    narrow = loaded("status", "--cycle", "2022", "--at", "2022-12-26", env=env)
    wide = loaded("status", "--cycle", "2022", "--at", "2022-12-26", "--wide", env=env)
    assert narrow.exit_code == wide.exit_code == 0
    assert max(map(len, narrow.stdout.splitlines())) <= 60
    assert max(map(len, wide.stdout.splitlines())) > 60
    for command in (["calendar"], ["history"], ["show", "muong-cha", "annual_report"]):
        assert loaded(*command, "--cycle", "2022", "--wide", env=env).exit_code == 0


def test_excel_csv_and_delivery_problems(loaded: Cli) -> None:  # noqa: F811
    with sqlite3.connect(loaded.db) as conn:
        conn.execute(
            "INSERT INTO letter (key, bundle, cycle_id, recipient_email, recipient_name, hat,"
            " state, send_at, attempts, subject, items, last_error, created_at, updated_at)"
            " VALUES ('k#1', 'k', 1, 'a@example.vn', 'A', 'member', 'failed',"
            " '2022-03-01 01:00:00', 1, '', 0, '550', '2022-03-01 01:00:00',"
            " '2022-03-01 01:00:00')"
        )
    csv = loaded.runner.invoke(
        __import__("tracker.cli.app", fromlist=["app"]).app,
        ["--db", loaded.url, "status", "--cycle", "2022", "--format", "csv", "--excel",
         "--at", "2022-03-02"],
    )  # fmt: skip
    assert csv.exit_code == 0
    assert csv.stdout_bytes.startswith(b"\xef\xbb\xbf") and b"\r\n" in csv.stdout_bytes
    assert "delivery_problems" in csv.stdout and "không gửi được" in csv.stdout
    rows = loaded.json("--at", "2022-03-02")
    assert rows and all("không gửi được" in " ".join(r["delivery_problems"]) for r in rows)
    # Nothing is overdue on 2 March, but mail is failing: --check says so.
    check = loaded("status", "--cycle", "2022", "--check", "--at", "2022-03-02")
    assert check.exit_code == 1
