"""Open the store a command or the daemon works on: ONE way for the CLI and jobs/ alike.

`open_store(url)` refuses a SQLite file that does not exist (connecting would create an
empty one), connects once (a bad URL or a server that is down fails here, in one line)
and checks that the schema is the newest one, which `tracker init` makes. The caller
disposes of the engine it gets.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from tracker.db.engine import (
    make_engine,
    mask_url,
    missing_sqlite_file,
    not_set_up,
    read_only,
    unavailable_error,
)

_VERSIONS = Path(__file__).resolve().parent / "migrations" / "versions"


def open_store(db_url: str) -> Engine:
    """An Engine on a database that `tracker init` has set up at the newest schema."""
    if missing_sqlite_file(db_url):
        raise not_set_up(mask_url(db_url))  # a read must not leave an empty database file behind
    engine = make_engine(db_url)
    try:
        if not at_newest_revision(engine):
            _check_schema(engine)
    except OperationalError as exc:
        # A lock held past the busy timeout while reading the revision: one line, exit 1.
        engine.dispose()
        raise unavailable_error(exc, engine.url) from exc
    except BaseException:
        engine.dispose()
        raise
    return engine


def at_newest_revision(engine: Engine) -> bool:
    """The schema check's fast path, without importing Alembic (it was a third of the start-up
    time of `tracker status`, see bench/README.md). Revision files are named '<rev>_<slug>.py'
    with sequential numeric revs (tracker/db/migrate.py), so the newest file names the head.
    Anything else (an older, newer or unknown revision) goes to Alembic's own check.

    Read in a read-only transaction: it must not wait for a writer's lock (issue 7)."""
    revs = sorted(p.name.split("_", 1)[0] for p in _VERSIONS.glob("[0-9]*_*.py"))
    if not revs:
        return False
    try:
        with read_only(engine).connect() as conn:
            found = conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()
    except OperationalError as exc:
        if "locked" in str(exc.orig) or "busy" in str(exc.orig):
            raise  # busy, not an unknown schema: open_store says so in one line
        return False
    except DBAPIError:
        return False
    return [r[0] for r in found] == [revs[-1]]


def _check_schema(engine: Engine) -> None:
    from tracker.db import migrate  # Alembic is slow to import: only when really needed

    migrate.require_newest(engine)
