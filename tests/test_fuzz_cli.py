"""Bad CLI calls as a suite (issue 8 §6): hypothesis builds command lines from the real
commands, options and a vocabulary of hostile values (empty strings, far dates, huge
numbers, control characters, other scripts); every call must end in a documented exit code
and one clear line — never a traceback, never a half-written database. Bounded so CI stays
fast (a fixed number of examples, no deadline: a call is a whole CLI run)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tests.test_cli import clock
from tracker.cli.app import app

COMMANDS = [
    ["status"],
    ["show", "muong-cha", "annual_report"],
    ["calendar"],
    ["history"],
    ["outbox"],
    ["outbox", "show"],
    ["outbox", "retry"],
    ["remind", "--dry-run"],
    ["submit", "annual_report"],
    ["complete", "annual_report"],
    ["schedule", "summary_conference"],
]
VALUES = [
    "",
    " ",
    "0",
    "-1",
    "1180591620717411303424",
    "9999-12-31",
    "0001-01-01",
    "2022-02-30",
    "2022-12-26",
    "2022-12-26T08:00+07:00",
    "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00+14:00",
    "muong-cha",
    "khong-co",
    "annual_report",
    "\x00",
    "\u2028",
    "Điện Biên",
    "a" * 300,
    "--",
]
OPTIONS = ["--cycle", "--member", "--at", "--state", "--limit", "--format", "--on", "--note"]


@st.composite
def command_lines(draw: st.DrawFn) -> list[str]:
    cmd = list(draw(st.sampled_from(COMMANDS)))
    cmd += draw(st.lists(st.sampled_from(VALUES), max_size=2))
    for _ in range(draw(st.integers(0, 3))):
        cmd += [draw(st.sampled_from(OPTIONS)), draw(st.sampled_from(VALUES))]
    return cmd


@pytest.fixture(scope="module")
def loaded_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("fuzz") / "t.db"
    with clock(2022, 3, 1):
        result = CliRunner().invoke(app, ["--db", f"sqlite:///{db}", "init", "--cycle", "2022"])
    assert result.exit_code == 0, result.output
    return db


def dump(db: Path) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        return [line for line in conn.iterdump() if 'INSERT INTO "audit"' not in line]
    finally:
        conn.close()


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(args=command_lines())
def test_no_bad_call_ends_in_a_traceback(
    args: list[str], loaded_db: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    db = tmp_path_factory.mktemp("call") / "t.db"
    shutil.copy(loaded_db, db)
    with clock(2022, 12, 26):
        result = CliRunner().invoke(app, ["--db", f"sqlite:///{db}", "--as", "truong-cum", *args])
    # CliRunner catches exceptions: anything but an exit is a traceback for the user.
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        args,
        repr(result.exception),
    )
    assert result.exit_code in (0, 1, 2, 3), (args, result.exit_code, result.output)
    assert "Traceback" not in result.output
    if result.exit_code != 0:
        # A refused call wrote nothing (the audit trail aside: nothing was audited either,
        # since the command failed, but its row order is not compared).
        assert dump(db) == dump(loaded_db), args
