"""The store's contract, run on SQLite and PostgreSQL alike, plus SQLite's concurrency set-up
and the messages a user sees for a database that cannot be used."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError, OperationalError, StatementError
from sqlmodel import Session, SQLModel, select

from tracker.db import migrate
from tracker.db.engine import (
    BUSY_TIMEOUT_MS,
    DatabaseUnavailableError,
    default_database_url,
    make_engine,
    mask_url,
    session_scope,
    unavailable_error,
)
from tracker.db.models import AuditEntry, ClusterRow, CycleRow, MemberRow, Obligation
from tracker.errors import BadInputError, TrackerError

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
LOADED = datetime(2022, 3, 1, 8, 30, tzinfo=HCM)  # 01:30 UTC
TABLES = {"cluster", "cycle", "member", "obligation", "audit"}


def seed(session: Session) -> tuple[int, int]:
    """One cluster, its 2022 cycle, a member, one obligation; returns (cycle id, obligation id)."""
    session.add(ClusterRow(id="cum-vung-cao", name="Cụm thi đua vùng cao"))
    cycle = CycleRow(
        cluster_id="cum-vung-cao",
        year=2022,
        leader_id="muong-cha",
        config_version="1",
        config_path="config/cum-vung-cao-2022.toml",
        config_hash="0" * 64,
        config_json="{}",
        loaded_at=LOADED,
    )
    session.add(cycle)
    session.flush()
    assert cycle.id is not None
    session.add(MemberRow(cycle_id=cycle.id, member_id="muong-cha", name="Huyện Mường Chà"))
    ob = Obligation(
        cycle_id=cycle.id, member_id="muong-cha", milestone_id="registration", assignee="members"
    )
    session.add(ob)
    session.flush()
    assert ob.id is not None
    return cycle.id, ob.id


def seed_0001(eng: Engine) -> tuple[int, int]:
    """What `seed` and one audit row write, in plain SQL with the columns revision 0001
    has: the models carry the newest columns, which an old schema lacks."""
    with eng.begin() as conn:
        conn.execute(
            text("INSERT INTO cluster (id, name, timezone) VALUES (:id, :name, :tz)"),
            {"id": "cum-vung-cao", "name": "Cụm thi đua vùng cao", "tz": "Asia/Ho_Chi_Minh"},
        )
        cycle_id = conn.execute(
            text(
                "INSERT INTO cycle (cluster_id, year, leader_id, config_version, config_path,"
                " config_hash, config_json, loaded_at) VALUES ('cum-vung-cao', 2022,"
                " 'muong-cha', '1', 'config/cum-vung-cao-2022.toml', :hash, '{}', :at)"
                " RETURNING id"
            ),
            {"hash": "0" * 64, "at": LOADED},
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO member (cycle_id, member_id, name, active)"
                " VALUES (:c, 'muong-cha', 'Huyện Mường Chà', :t)"
            ),
            {"c": cycle_id, "t": True},
        )
        ob_id = conn.execute(
            text(
                "INSERT INTO obligation (cycle_id, member_id, milestone_id, assignee, state,"
                " active, version) VALUES (:c, 'muong-cha', 'registration', 'members', 'open',"
                " :t, 1) RETURNING id"
            ),
            {"c": cycle_id, "t": True},
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO audit (cycle_id, obligation_id, at, operator, os_user, action,"
                " from_state, to_state, note, ref, on_date) VALUES (:c, :o, :at, 'leader',"
                " 'tester', 'submit', 'open', 'submitted', '', 'Số: 123/BC-UBND', :on)"
            ),
            {"c": cycle_id, "o": ob_id, "at": LOADED, "on": date(2022, 2, 28)},
        )
    return int(cycle_id), int(ob_id)


def audit(cycle_id: int, obligation_id: int | None, at: datetime = LOADED) -> AuditEntry:
    return AuditEntry(
        cycle_id=cycle_id,
        obligation_id=obligation_id,
        at=at,
        recorded_at=at,
        operator="leader",
        os_user="tester",
        action="submit",
        from_state="open",
        to_state="submitted",
        ref="Số: 123/BC-UBND",
        on_date=date(2022, 2, 28),
    )


# --- the contract, on both stores ------------------------------------------------------------


def test_migrated_database_is_at_head_with_every_table(engine: Engine) -> None:
    assert migrate.current_revision(engine) == migrate.head_revision()
    # Revisions are numbered 0001, 0002, …; the head's file is named after it.
    assert list((migrate.MIGRATIONS_DIR / "versions").glob(f"{migrate.head_revision()}_*.py"))
    assert set(inspect(engine).get_table_names()) >= TABLES


def test_upgrade_again_is_a_no_op(engine: Engine) -> None:
    with session_scope(engine) as s:
        seed(s)
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    with session_scope(engine) as s:
        assert len(s.exec(select(Obligation)).all()) == 1


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(ctx, SQLModel.metadata) == []


def test_empty_database_has_no_revision(db_url: str) -> None:
    eng = make_engine(db_url)
    try:
        assert migrate.current_revision(eng) is None
        migrate.upgrade(eng)
        assert migrate.current_revision(eng) == migrate.head_revision()
    finally:
        eng.dispose()


def test_rows_round_trip(engine: Engine) -> None:
    with session_scope(engine) as s:
        cycle_id, ob_id = seed(s)
        s.add(audit(cycle_id, ob_id))
    with session_scope(engine) as s:
        ob = s.get(Obligation, ob_id)
        assert ob is not None
        assert (ob.state, ob.version, ob.active, ob.title) == ("open", 1, True, None)
        member = s.exec(select(MemberRow)).one()
        assert member.name == "Huyện Mường Chà"
        entry = s.exec(select(AuditEntry).where(AuditEntry.obligation_id == ob_id)).one()
        assert (entry.ref, entry.on_date, entry.note) == ("Số: 123/BC-UBND", date(2022, 2, 28), "")


def test_aware_datetimes_come_back_as_utc(engine: Engine) -> None:
    with session_scope(engine) as s:
        cycle_id, _ = seed(s)
    with session_scope(engine) as s:
        loaded = s.get(CycleRow, cycle_id)
        assert loaded is not None
        assert loaded.loaded_at == datetime(2022, 3, 1, 1, 30, tzinfo=UTC)
        assert loaded.loaded_at.utcoffset() is not None
        assert loaded.loaded_at.utcoffset() == UTC.utcoffset(None)
    # Stored as UTC, not as the local wall-clock time.
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            raw = conn.exec_driver_sql("SELECT loaded_at FROM cycle").scalar_one()
            assert str(raw).startswith("2022-03-01 01:30:00")
        else:
            raw = conn.exec_driver_sql(
                "SELECT to_char(loaded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') FROM cycle"
            ).scalar_one()
            assert raw == "2022-03-01 01:30"


def test_naive_datetime_is_refused(engine: Engine) -> None:
    with pytest.raises(StatementError, match="naive datetime"), session_scope(engine) as s:
        cycle_id, ob_id = seed(s)
        s.add(audit(cycle_id, ob_id, at=datetime(2022, 3, 1, 8, 30)))
        s.flush()


def test_one_obligation_per_cycle_member_milestone(engine: Engine) -> None:
    with session_scope(engine) as s:
        cycle_id, _ = seed(s)
    dup = Obligation(
        cycle_id=cycle_id, member_id="muong-cha", milestone_id="registration", assignee="members"
    )
    with pytest.raises(IntegrityError), session_scope(engine) as s:
        s.add(dup)
    # Another milestone for the same member is fine.
    with session_scope(engine) as s:
        s.add(
            Obligation(
                cycle_id=cycle_id, member_id="muong-cha", milestone_id="report", assignee="members"
            )
        )
    with session_scope(engine) as s:
        assert len(s.exec(select(Obligation)).all()) == 2


def test_foreign_keys_are_enforced(engine: Engine) -> None:
    orphan = Obligation(cycle_id=999, member_id="x", milestone_id="y", assignee="members")
    with pytest.raises(IntegrityError), session_scope(engine) as s:
        s.add(orphan)


def test_session_scope_commits_or_rolls_back(engine: Engine) -> None:
    with pytest.raises(RuntimeError, match="boom"), session_scope(engine) as s:
        seed(s)
        raise RuntimeError("boom")
    with session_scope(engine) as s:
        assert s.exec(select(ClusterRow)).all() == []
        seed(s)
    with session_scope(engine) as s:
        # expire_on_commit=False: rows read in a finished scope stay usable.
        cluster = s.exec(select(ClusterRow)).one()
    assert cluster.name == "Cụm thi đua vùng cao"


def seed_sql(session: Session) -> tuple[int, int]:
    """`seed` in plain SQL, for a database at an older revision (cycle id, obligation id)."""
    session.execute(text("INSERT INTO cluster (id, name, timezone) VALUES ('c', 'C', 'x')"))
    session.execute(
        text(
            "INSERT INTO cycle (cluster_id, year, leader_id, config_version, config_path,"
            " config_hash, config_json, loaded_at)"
            " VALUES ('c', 2022, 'muong-cha', '1', 'p', :h, '{}', :at)"
        ),
        {"h": "0" * 64, "at": _stored(session, LOADED)},
    )
    cycle_id = session.execute(text("SELECT id FROM cycle")).scalar_one()
    session.execute(
        text(
            "INSERT INTO obligation (cycle_id, member_id, milestone_id, assignee, state,"
            " active, version) VALUES (:c, 'muong-cha', 'registration', 'members', 'open',"
            " true, 1)"
        ),
        {"c": cycle_id},
    )
    ob_id = session.execute(text("SELECT id FROM obligation")).scalar_one()
    return int(cycle_id), int(ob_id)


def insert_old_audit(session: Session, cycle_id: int, ob_id: int, at: datetime = LOADED) -> None:
    """An audit row as a database before revision 0004 held it (no `recorded_at`)."""
    session.execute(
        text(
            "INSERT INTO audit (cycle_id, obligation_id, at, operator, os_user, action, note, ref)"
            " VALUES (:c, :o, :at, 'leader', 'tester', 'submit', '', '')"
        ),
        {"c": cycle_id, "o": ob_id, "at": _stored(session, at)},
    )


def _stored(session: Session, at: datetime) -> datetime:
    # As UTCDateTime stores it: naive UTC on SQLite, aware on PostgreSQL (timestamptz).
    utc = at.astimezone(UTC)
    return utc.replace(tzinfo=None) if session.get_bind().dialect.name == "sqlite" else utc


def test_0004_gives_old_audit_rows_their_own_time_as_recorded_at(db_url: str) -> None:
    # Issue 6 §6: `recorded_at` is the real time a row was written; rows from before the
    # replay clock existed were written at their `at`.
    eng = make_engine(db_url)
    try:
        migrate.upgrade(eng, "0002")
        with session_scope(eng) as s:
            # Plain SQL: the models describe the newest schema, not revision 0002's.
            cycle_id, ob_id = seed_sql(s)
            insert_old_audit(s, cycle_id, ob_id)
        migrate.upgrade(eng)
        assert migrate.current_revision(eng) >= "0004"
        with session_scope(eng) as s:
            entry = s.exec(select(AuditEntry)).one()
            assert entry.at == entry.recorded_at == LOADED
            assert entry.obligation_id == ob_id
            # New rows must say when they were really written.
            bad = audit(cycle_id, ob_id)
            bad.recorded_at = None  # type: ignore[assignment]
            s.add(bad)
            with pytest.raises(IntegrityError):
                s.flush()
            s.rollback()
        with eng.connect() as conn:
            cols = {c["name"]: c for c in inspect(conn).get_columns("audit")}
            assert cols["recorded_at"]["nullable"] is False
    finally:
        eng.dispose()


SYNTHETIC_NEXT = '''
"""A later revision, as a test: widen a column, which SQLite does by rebuilding the table."""
import sqlalchemy as sa
from alembic import op

revision = "{rev}"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("obligation") as batch:
        batch.alter_column("assignee", existing_type=sa.String(16), type_=sa.String(40))
        batch.add_column(sa.Column("priority", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    raise NotImplementedError
'''


def test_database_at_an_older_revision_is_upgraded(db_url: str, tmp_path: Path) -> None:
    scripts = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS_DIR, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    rev = next_revision()
    synthetic = SYNTHETIC_NEXT.replace("{rev}", rev).replace("{down}", migrate.head_revision())
    (scripts / "versions" / f"{rev}_widen.py").write_text(synthetic, encoding="utf-8")
    eng = make_engine(db_url)
    try:
        migrate.upgrade(eng, "0001")
        _cycle, ob_id = seed_0001(eng)
        assert migrate.current_revision(eng) == "0001"

        migrate.upgrade(eng, script_location=scripts)

        assert migrate.current_revision(eng) == rev
        with eng.connect() as conn:
            row = conn.execute(text("SELECT assignee, priority FROM obligation")).one()
            assert tuple(row) == ("members", 0)
            # The audit row still points at its obligation through the rebuilt table.
            assert conn.execute(text("SELECT obligation_id FROM audit")).scalar_one() == ob_id
            if conn.dialect.name == "sqlite":
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
        with eng.begin() as conn:
            long = "a-much-longer-assignee-value"  # 28 > the old 16
            conn.execute(text("UPDATE obligation SET assignee = :a"), {"a": long})
    finally:
        eng.dispose()


def test_new_revision_with_no_model_change_is_empty(sqlite_url: str, tmp_path: Path) -> None:
    scripts = copy_migrations(tmp_path)
    path = migrate.new_revision(sqlite_url, "nothing yet", script_location=scripts)
    assert path == scripts / "versions" / f"{next_revision()}_nothing_yet.py"
    body = path.read_text(encoding="utf-8")
    assert f'down_revision: str | Sequence[str] | None = "{migrate.head_revision()}"' in body
    assert "op." not in body  # no operation: the migrations already match the models


def test_autogenerate_renders_plain_sqlalchemy_types(sqlite_url: str, tmp_path: Path) -> None:
    scripts = copy_migrations(tmp_path)
    for old in (scripts / "versions").glob("*.py"):
        old.unlink()
    body = migrate.new_revision(sqlite_url, "from scratch", script_location=scripts).read_text(
        encoding="utf-8"
    )
    assert 'sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False)' in body
    assert 'sa.Column("member_id", sa.String(length=64), nullable=False)' in body
    assert 'sa.Column("name", sa.String(), nullable=False)' in body
    for leak in ("sqlmodel", "AutoString", "UTCDateTime", "tracker"):
        assert leak not in body


def next_revision() -> str:
    return f"{int(migrate.head_revision()) + 1:04d}"


def copy_migrations(tmp_path: Path) -> Path:
    scripts = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS_DIR, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    return scripts


UPGRADE_AT = """
import sys, time
from tracker.db import migrate
from tracker.db.engine import make_engine
engine = make_engine(sys.argv[1])
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
migrate.upgrade(engine)
"""


def test_processes_upgrading_at_once_both_succeed(db_url: str) -> None:
    # Separate processes, like the CLI and the daemon starting together. (Alembic keeps its
    # migration context in module globals, so threads of one process are not a model of it.)
    start_at = str(time.time() + 3)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", UPGRADE_AT, db_url, start_at],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    eng = make_engine(db_url)
    try:
        assert migrate.current_revision(eng) == migrate.head_revision()
    finally:
        eng.dispose()


def run_together(jobs: list[Callable[[], object]]) -> list[BaseException]:
    """Run the jobs in threads started at the same instant; return what they raised."""
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def run(job: Callable[[], object]) -> None:
        barrier.wait()
        try:
            job()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return errors


# --- SQLite: two writers on one file -----------------------------------------------------------


def test_sqlite_connection_settings(sqlite_url: str, tmp_path: Path) -> None:
    eng = make_engine(sqlite_url)
    try:
        with eng.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == BUSY_TIMEOUT_MS
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
    finally:
        eng.dispose()
    # WAL is a property of the file: another program opening it sees it too.
    raw = sqlite3.connect(tmp_path / "tracker.db")
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        raw.close()


def test_sqlite_transaction_takes_the_write_lock_at_begin(sqlite_url: str, tmp_path: Path) -> None:
    eng = make_engine(sqlite_url)
    migrate.upgrade(eng)
    other = sqlite3.connect(tmp_path / "tracker.db", timeout=0, isolation_level=None)
    try:
        with eng.connect() as conn, conn.begin():
            conn.exec_driver_sql("SELECT count(*) FROM obligation").scalar_one()  # a read only
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")  # free again once the transaction ended
        other.execute("ROLLBACK")
    finally:
        other.close()
        eng.dispose()


def test_two_writers_on_one_sqlite_file_never_see_database_is_locked(sqlite_url: str) -> None:
    # Two engines, like the CLI and the daemon: each does read-modify-write 50 times.
    setup = make_engine(sqlite_url)
    migrate.upgrade(setup)
    with session_scope(setup) as s:
        _, ob_id = seed(s)
        ob = s.get(Obligation, ob_id)
        assert ob is not None
        ob.version = 0
    setup.dispose()
    engines = [make_engine(sqlite_url), make_engine(sqlite_url)]

    def bump_50_times(eng: Engine) -> None:
        for _ in range(50):
            with session_scope(eng) as s:
                row = s.get(Obligation, ob_id)
                assert row is not None
                current = row.version
                time.sleep(0.001)  # widen the read-to-write gap where deferred BEGIN deadlocks
                row.version = current + 1

    try:
        errors = run_together([lambda e=e: bump_50_times(e) for e in engines])
        assert errors == []
        with session_scope(engines[0]) as s:
            row = s.get(Obligation, ob_id)
            assert row is not None
            assert row.version == 100
    finally:
        for e in engines:
            e.dispose()


# --- the database URL and what the user is told ----------------------------------------------


def test_default_database_url() -> None:
    assert default_database_url({}) == "sqlite:///tracker.db"
    assert default_database_url({"TRACKER_DATABASE_URL": "  "}) == "sqlite:///tracker.db"
    url = "postgresql+psycopg://u:p@db/tracker"
    assert default_database_url({"TRACKER_DATABASE_URL": url}) == url


def test_default_sqlite_file_is_in_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    eng = make_engine(default_database_url({}))
    eng.dispose()
    assert (tmp_path / "tracker.db").is_file()


def test_mask_url_hides_the_password() -> None:
    assert mask_url("postgresql+psycopg://tracker:hunter2@db:5432/x") == (
        "postgresql+psycopg://tracker:***@db:5432/x"
    )
    assert "hunter2" not in mask_url("weird://tracker:hunter2@db:x:y/")
    assert mask_url("sqlite:///tracker.db") == "sqlite:///tracker.db"


def test_unreachable_postgres_says_what_to_do_without_the_password() -> None:
    with pytest.raises(DatabaseUnavailableError) as info:
        make_engine("postgresql+psycopg://tracker:hunter2@127.0.0.1:1/tracker_test")
    err = info.value
    assert isinstance(err, TrackerError)
    for text_ in (err.vi, err.en):
        assert "\n" not in text_
        assert "hunter2" not in text_
        assert "--db" in text_ and "TRACKER_DATABASE_URL" in text_
        assert "tracker:***@127.0.0.1:1" in text_
    assert "Không kết nối được" in err.vi and "máy chủ PostgreSQL" in err.vi
    assert "start the PostgreSQL server" in err.en


def test_sqlite_file_in_a_missing_folder(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder"
    with pytest.raises(BadInputError) as info:
        make_engine(f"sqlite:///{missing / 'tracker.db'}")
    assert str(missing) in info.value.vi and str(missing) in info.value.en
    assert "Tạo thư mục" in info.value.vi and "--db" in info.value.en
    assert not missing.exists()


@pytest.mark.parametrize(
    "url", ["not a url", "mysql://tracker:hunter2@db/x", "postgresql+asyncpg://u:hunter2@h/d"]
)
def test_bad_or_unsupported_url(url: str) -> None:
    with pytest.raises(BadInputError) as info:
        make_engine(url)
    for text_ in (info.value.vi, info.value.en):
        assert "hunter2" not in text_
        assert "TRACKER_DATABASE_URL" in text_
        assert "sqlite:///tracker.db" in text_  # an example of a good one


def test_plain_postgresql_url_uses_psycopg() -> None:
    eng = make_engine("postgresql://tracker:pw@127.0.0.1:1/x", check=False)
    assert eng.dialect.driver == "psycopg"
    eng.dispose()


def test_a_locked_sqlite_file_is_explained(sqlite_url: str, tmp_path: Path) -> None:
    holder = sqlite3.connect(tmp_path / "tracker.db", isolation_level=None)
    waiter = sqlite3.connect(tmp_path / "tracker.db", timeout=0, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(sqlite3.OperationalError) as info:
            waiter.execute("BEGIN IMMEDIATE")
        err = unavailable_error(OperationalError("BEGIN", {}, info.value), sqlite_url)
    finally:
        holder.close()
        waiter.close()
    assert "đang bận" in err.vi and "Wait a moment" in err.en


def test_migrations_ship_inside_the_package() -> None:
    import tracker

    package = Path(tracker.__file__).resolve().parent
    assert migrate.MIGRATIONS_DIR.is_relative_to(package)
    for name in ("env.py", "script.py.mako", "versions/0001_initial.py"):
        assert (migrate.MIGRATIONS_DIR / name).is_file()
    # Alembic reads every .py in versions/ as a revision; a package marker there would break it.
    assert not (migrate.MIGRATIONS_DIR / "versions" / "__init__.py").exists()
