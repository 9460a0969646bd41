"""Issue 7: readers never wait for a writer, and a lock that outlasts the busy timeout is one
line, exit 1, never a SQLAlchemy traceback.

Real processes on a real SQLite file: a holder process opens `BEGIN IMMEDIATE` (the write
lock) and keeps it while `tracker` runs in another process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.test_cli import REPO, Cli, clock
from tracker.db.engine import busy_timeout_ms, make_engine, read_scope, session_scope
from tracker.errors import BadInputError

# The holder: take the write lock, say so, keep it until stdin closes.
HOLDER = (
    "import sqlite3, sys\n"
    "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
    "c.execute('BEGIN IMMEDIATE')\n"
    "c.execute('UPDATE obligation SET version = version WHERE id = 1')\n"
    "print('locked', flush=True)\n"
    "sys.stdin.read()\n"
    "c.execute('ROLLBACK')\n"
)


@pytest.fixture
def loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    for var in ("TRACKER_DATABASE_URL", "TRACKER_OPERATOR", "TRACKER_NOW", "TRACKER_FAKE_NOW"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    cli = Cli(tmp_path)
    with clock(2022, 3, 1):
        cli.ok("init", "--cycle", "2022")
    return cli


@pytest.fixture
def write_lock(loaded: Cli) -> Iterator[None]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(loaded.db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        yield
    finally:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.close()
        proc.wait(timeout=30)
        proc.stdout.close()


def tracker(cli: Cli, *args: str, busy_ms: int) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env["TRACKER_BUSY_TIMEOUT_MS"] = str(busy_ms)
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "tracker", "--db", cli.url, *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=120,
        check=False,
    )
    return proc, time.perf_counter() - start


@pytest.mark.usefixtures("write_lock")
@pytest.mark.parametrize(
    "args",
    [
        ["status", "--at", "2022-12-26"],
        ["show", "nam-po", "half_year_report", "--cycle", "2022"],
        ["calendar", "--cycle", "2022"],
        ["history", "--cycle", "2022"],
    ],
)
def test_read_only_commands_answer_while_a_writer_holds_the_lock(
    loaded: Cli, args: list[str]
) -> None:
    # A 10 s busy timeout: a reader that asked for the write lock would wait all of it.
    proc, took = tracker(loaded, *args, busy_ms=10_000)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert took < 5, f"{args} waited {took:.1f} s for the writer"


@pytest.mark.usefixtures("write_lock")
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_a_write_past_the_busy_timeout_is_one_line(loaded: Cli, lang: str) -> None:
    proc, took = tracker(
        loaded,
        "--lang",
        lang,
        "--as",
        "truong-cum",
        "complete",
        "half_year_report",
        "--member",
        "nam-po",
        "--cycle",
        "2022",
        busy_ms=300,
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "sqlalchemy" not in proc.stderr.lower()
    if lang == "vi":
        assert lines[0].startswith("Lỗi: Cơ sở dữ liệu đang bận:")
        assert "0,3 giây" in lines[0] and lines[0].endswith("thử lại sau.")
    else:
        assert lines[0].startswith("Error: The database is busy:") and "0.3 s" in lines[0]
    assert took < 10, took  # the busy timeout once, not ≈22 s of retries


def test_a_reader_in_process_never_takes_the_write_lock(loaded: Cli) -> None:
    """Two connections in one test: a read-only session stays open while a writer commits."""
    engine = make_engine(loaded.url)
    try:
        with read_scope(engine) as reader:
            before = reader.execute(text("SELECT count(*) FROM audit")).scalar_one()
            # The writer's BEGIN IMMEDIATE would wait for a reader that held the write lock.
            with session_scope(engine) as writer:
                writer.execute(text("UPDATE obligation SET version = version + 1 WHERE id = 1"))
            # A WAL snapshot: the reader still sees the database as it began.
            assert reader.execute(text("SELECT count(*) FROM audit")).scalar_one() == before
    finally:
        engine.dispose()


def test_busy_timeout_from_the_environment() -> None:
    assert busy_timeout_ms({}) == 10_000
    assert busy_timeout_ms({"TRACKER_BUSY_TIMEOUT_MS": " 250 "}) == 250
    for bad in ("-1", "abc", "1e3", "700000"):
        with pytest.raises(BadInputError) as info:
            busy_timeout_ms({"TRACKER_BUSY_TIMEOUT_MS": bad})
        assert "TRACKER_BUSY_TIMEOUT_MS" in info.value.vi and "milliseconds" in info.value.en


def test_a_bad_busy_timeout_is_one_line(loaded: Cli) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env["TRACKER_BUSY_TIMEOUT_MS"] = "soon"
    proc = subprocess.run(
        [sys.executable, "-m", "tracker", "--db", loaded.url, "status"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "TRACKER_BUSY_TIMEOUT_MS" in proc.stderr


@pytest.mark.postgres
def test_a_read_only_session_on_postgresql_refuses_a_write(pg_url: str) -> None:
    engine = make_engine(pg_url)
    try:
        with session_scope(engine) as s:
            s.execute(text("CREATE TABLE t (x int)"))
        with read_scope(engine) as s:
            assert s.execute(text("SHOW transaction_read_only")).scalar_one() == "on"
        with pytest.raises(DBAPIError), read_scope(engine) as s:
            s.execute(text("INSERT INTO t VALUES (1)"))
        # The pool's connection is a writer's again afterwards.
        with session_scope(engine) as s:
            assert s.execute(text("SHOW transaction_read_only")).scalar_one() == "off"
            s.execute(text("INSERT INTO t VALUES (1)"))
    finally:
        engine.dispose()
