"""Issue 8 §2: one exit-code table, tested for every error class (tracker/errors.py, README
"Exit codes"): 0 ok; 1 operational; 2 bad input; 3 refused (role, or a move the state
machine forbids). Real SQLite files through CliRunner; an unreachable PostgreSQL port for
the operational case."""

# ruff: noqa: F811
from __future__ import annotations

import pytest

from tests.test_cli import Cli, cli, clock, loaded  # noqa: F401  (fixtures)
from tracker import errors
from tracker.cli.app import app


def test_the_table_in_the_error_classes() -> None:
    assert errors.TrackerError.exit_code == 1
    assert errors.BadInputError.exit_code == 2
    assert errors.NotFoundError.exit_code == 2
    assert issubclass(errors.ConfigError, errors.BadInputError)
    assert errors.PermissionDeniedError.exit_code == 3
    assert errors.TransitionError.exit_code == 3


def test_ok_is_0(loaded: Cli) -> None:
    with clock(2022, 6, 1):
        assert loaded("status", "--cycle", "2022").exit_code == 0


def test_an_unreachable_database_is_1(cli: Cli) -> None:
    # Port 1 on the loopback: nothing listens, the connection is refused at once.
    result = cli.runner.invoke(
        app,
        ["--db", "postgresql+psycopg://tracker:x@127.0.0.1:1/none", "status"],
    )
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "args",
    [
        ["status", "--no-such-option"],  # Click usage error
        ["--as", "truong-cum", "complete", "annual_report", "--member", "muong-cha", "--on", "x"],
        ["show", "no-such-member"],  # NotFoundError
        ["status", "--format", "xml"],  # BadInputError
        ["--as", "truong-cum", "waive", "annual_report", "--member", "muong-cha"],  # no --note
        ["--as", "truong-cum", "waive", "annual_report", "--member", "muong-cha", "--note", " "],
    ],
)
def test_bad_input_is_2(loaded: Cli, args: list[str]) -> None:
    with clock(2022, 12, 1):
        loaded.fails(2, *args)


def test_a_missing_reason_is_2_after_role_and_move(loaded: Cli) -> None:
    with clock(2022, 12, 1):
        line = loaded.fails(
            3, "--as", "truong-cum", "return", "annual_report", "--member", "muong-cha"
        )
        # Open, not submitted: the move is refused first (3), whatever the note.
        assert "cần ghi lý do" not in line
        loaded.ok("--as", "muong-cha", "submit", "annual_report")
        line = loaded.fails(
            2, "--as", "truong-cum", "return", "annual_report", "--member", "muong-cha"
        )
        assert "cần ghi lý do" in line and "--note" in line


def test_a_bad_config_is_2(cli: Cli) -> None:
    path = cli.config('[cluster]\nid = "x"\n')
    # A config error is one line per problem (issue 8 §5), so not `fails`'s one line.
    result = cli("--config", path, "init")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("Lỗi: Tệp cấu hình không hợp lệ (6 lỗi):")
    assert "khóa name: thiếu khóa bắt buộc" in result.stderr


def test_a_role_refusal_is_3(loaded: Cli) -> None:
    with clock(2022, 12, 1):
        line = loaded.fails(3, "--as", "muong-cha", "complete", "annual_report")
    assert "chỉ Trưởng cụm" in line


def test_a_move_the_state_machine_forbids_is_3(loaded: Cli) -> None:
    with clock(2022, 12, 1):
        key = ["annual_report", "--member", "muong-cha"]
        loaded.ok("--as", "truong-cum", "waive", *key, "--note", "Lũ")
        line = loaded.fails(3, "--as", "truong-cum", "complete", *key)
    assert "đã được miễn" in line and "tracker reopen" in line
