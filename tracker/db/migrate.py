"""Bring a database's schema to the newest revision with Alembic, from code.

There is no alembic.ini: the Config is built here, with `script_location` found next to this
module, so a checkout and an installed wheel behave the same. The Engine from
`tracker.db.engine.make_engine` is passed to env.py through `config.attributes["connection"]`.

Adding a migration (e.g. 0002 for the reminder outbox): change tracker/db/models.py, then

    .venv/bin/python -c "from tracker.db import migrate; \\
        migrate.new_revision('sqlite:///scratch.db', 'reminder outbox')"

which upgrades the scratch database to head, compares it with the models and writes
versions/0002_reminder_outbox.py; read it, tidy it, and commit it with its test.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, text

from tracker.db.engine import make_engine
from tracker.errors import BadInputError, TrackerError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# Any constant will do; every tracker process takes the same one around an upgrade.
_PG_UPGRADE_LOCK = 0x7472_6163_6B65_72  # "tracker"


def alembic_config(
    connection: Connection | None = None, script_location: Path = MIGRATIONS_DIR
) -> Config:
    """An Alembic Config pointing at the packaged migrations (or `script_location`)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    # Revision files are named "0002_reminder_outbox.py"; '%%' is configparser's escape.
    cfg.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision(script_location: Path = MIGRATIONS_DIR) -> str:
    head = ScriptDirectory.from_config(alembic_config(script_location=script_location))
    revision = head.get_current_head()
    assert revision is not None, "the migrations folder has no revision"
    return revision


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None for an empty (never migrated) database. A
    database that is not the tracker's (tables but no revision) or whose revision table was
    edited (several rows) is refused in one line (issue 8 §6: these were tracebacks)."""
    with engine.connect() as conn:
        return _revision(conn)


def _revision(conn: Connection) -> str | None:
    from sqlalchemy import inspect

    from tracker.db.engine import mask_url

    names = set(inspect(conn).get_table_names())
    rows: list[str] = []
    if "alembic_version" in names:
        rows = [str(r[0]) for r in conn.exec_driver_sql("SELECT version_num FROM alembic_version")]
    where = mask_url(conn.engine.url)
    if len(rows) > 1:
        found = ", ".join(rows[:5])
        raise BadInputError(
            f"Cơ sở dữ liệu {where} hỏng: bảng alembic_version có {len(rows)} dòng ({found}),"
            " phải có đúng một. Khôi phục từ bản sao lưu, hoặc dùng tệp khác với --db.",
            f"The database {where} is damaged: its alembic_version table has {len(rows)} rows"
            f" ({found}), it must have exactly one. Restore it from a backup, or use another"
            " file with --db.",
        )
    if not rows and names - {"alembic_version"}:
        raise BadInputError(
            f"{where} có bảng nhưng không phải cơ sở dữ liệu của tracker (không ghi phiên bản"
            " lược đồ). Dùng tệp khác với --db (hoặc TRACKER_DATABASE_URL); không ghi gì vào"
            " tệp này.",
            f"{where} has tables but is not a tracker database (no schema version). Use"
            " another file with --db (or TRACKER_DATABASE_URL); nothing was written to it.",
        )
    return rows[0] if rows else None


def upgrade(
    engine: Engine, revision: str = "head", *, script_location: Path = MIGRATIONS_DIR
) -> None:
    """Upgrade the database to `revision` (default: the newest) in one transaction.

    Safe to call from every process at start-up: SQLite's BEGIN IMMEDIATE and a PostgreSQL
    advisory lock make a second caller wait and then find nothing left to do.
    """
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            # Batch migrations rebuild a table (copy, drop, rename); with foreign keys on, the
            # drop would cascade or fail. The pragma is ignored inside a transaction, so it is
            # set before BEGIN on the raw connection; PRAGMA foreign_key_check below verifies
            # what it would have checked (the procedure in sqlite.org/lang_altertable.html).
            conn.connection.dbapi_connection.execute("PRAGMA foreign_keys = OFF")  # type: ignore[union-attr]
        try:
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_UPGRADE_LOCK})
                if not _known(conn, script_location):
                    raise _newer_schema()
                command.upgrade(alembic_config(conn, script_location), revision)
                if sqlite:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"migration left broken foreign keys: {broken[:5]}")
        finally:
            if sqlite:
                conn.connection.dbapi_connection.execute("PRAGMA foreign_keys = ON")  # type: ignore[union-attr]


def new_revision(scratch_url: str, message: str, *, script_location: Path = MIGRATIONS_DIR) -> Path:
    """Developers only: autogenerate the next revision file ("0002_…") from the models'
    changes, against a scratch database first upgraded to the current head."""
    from tracker.db import models  # noqa: F401  (registers the tables in SQLModel.metadata)

    head = ScriptDirectory.from_config(alembic_config(script_location=script_location))
    current = head.get_current_head()
    next_id = f"{int(current) + 1:04d}" if current else "0001"
    engine = make_engine(scratch_url)
    try:
        upgrade(engine, script_location=script_location)
        with engine.begin() as conn:
            script = command.revision(
                alembic_config(conn, script_location), message, autogenerate=True, rev_id=next_id
            )
    finally:
        engine.dispose()
    assert script is not None and not isinstance(script, list)
    path = Path(script.path)
    # Autogenerate writes its own style; leave the file as the project's linters want it.
    for args in (["check", "--fix", "--quiet"], ["format", "--quiet"]):
        subprocess.run([sys.executable, "-m", "ruff", *args, str(path)], check=False)
    return path


def _known(conn: Connection, script_location: Path) -> bool:
    """Whether the database's revision is one of ours (or it has none yet)."""
    current = _revision(conn)
    if current is None:
        return True
    script = ScriptDirectory.from_config(alembic_config(script_location=script_location))
    try:
        return script.get_revision(current) is not None
    except CommandError:
        return False


def _newer_schema() -> TrackerError:
    return BadInputError(
        "Cơ sở dữ liệu được tạo bởi phiên bản tracker mới hơn bản đang chạy. Cài bản tracker"
        " mới nhất rồi chạy lại (không hạ cấp cơ sở dữ liệu).",
        "The database was created by a newer tracker than this one. Install the newest"
        " tracker and run again (the database is not downgraded).",
    )


def check_known(engine: Engine) -> None:
    """Raise a one-line error when the database was migrated by a newer tracker."""
    with engine.connect() as conn:
        if not _known(conn, MIGRATIONS_DIR):
            raise _newer_schema()


def require_newest(engine: Engine) -> None:
    """The one schema check of every command and of the daemon: a one-line error unless
    the database is at this tracker's newest revision — not set up ("run tracker init"),
    made by a newer tracker ("install the newest tracker", never "run init": init cannot
    downgrade), or older ("run tracker init" to upgrade)."""
    from tracker.db.engine import mask_url, not_set_up

    rev = current_revision(engine)
    if rev is None:
        raise not_set_up(mask_url(engine.url))
    if rev != head_revision():
        check_known(engine)
        raise BadInputError(
            "Cơ sở dữ liệu dùng lược đồ cũ. Chạy 'tracker init' để nâng cấp.",
            "The database has an older schema. Run 'tracker init' to upgrade it.",
        )
