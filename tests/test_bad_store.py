"""A database that is not what the tracker made (issue 8 §6: these ended in tracebacks):
two rows or no row in `alembic_version`, a foreign SQLite file that happens to have a
`cluster` table, an id no column can hold, a time past the end of the calendar. Each is
one line and exit 2, and nothing is written to the file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.test_cli import Cli, clock


@pytest.fixture
def loaded(tmp_path: Path) -> Cli:
    cli = Cli(tmp_path)
    with clock(2022, 3, 1):
        cli.ok("init", "--cycle", "2022")
    return cli


def sql(db: Path, statement: str) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute(statement)


def dump(db: Path) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


@pytest.mark.parametrize("command", [["status", "--cycle", "2022"], ["init", "--cycle", "2022"]])
def test_two_rows_in_alembic_version_is_a_damaged_database(loaded: Cli, command: list[str]) -> None:
    sql(loaded.db, "INSERT INTO alembic_version VALUES ('0003')")
    before = dump(loaded.db)
    result = loaded(*command)
    assert result.exit_code == 2
    assert "hỏng" in result.stderr and "alembic_version có 2 dòng" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert dump(loaded.db) == before


@pytest.mark.parametrize("command", [["status"], ["init", "--cycle", "2022"]])
def test_a_foreign_sqlite_file_is_refused_and_left_alone(
    tmp_path: Path, command: list[str]
) -> None:
    cli = Cli(tmp_path)
    sql(cli.db, "CREATE TABLE cluster (x INTEGER)")
    before = dump(cli.db)
    result = cli(*command)
    assert result.exit_code == 2
    assert "không phải cơ sở dữ liệu của tracker" in result.stderr
    assert dump(cli.db) == before


def test_no_row_in_alembic_version_is_refused(loaded: Cli) -> None:
    sql(loaded.db, "DELETE FROM alembic_version")
    result = loaded("status", "--cycle", "2022")
    assert result.exit_code == 2 and "không phải cơ sở dữ liệu của tracker" in result.stderr


def test_an_id_no_column_can_hold_is_not_found(loaded: Cli) -> None:
    for sub in ("retry", "show"):
        result = loaded("outbox", sub, "1180591620717411303424")
        assert result.exit_code == 2 and "Không có thư số" in result.stderr


@pytest.mark.parametrize("at", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00+14:00"])
def test_a_time_past_the_calendar_is_refused(loaded: Cli, at: str) -> None:
    result = loaded("status", "--cycle", "2022", "--at", at)
    assert result.exit_code == 2 and "2000–2100" in result.stderr
