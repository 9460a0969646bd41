"""Open the store: one URL, SQLite or PostgreSQL, the same code above it.

Which database: the CLI's `--db URL`, else the `TRACKER_DATABASE_URL` environment variable,
else `sqlite:///tracker.db` in the current directory (see `default_database_url`).

SQLite is set up for two writers, the CLI and the daemon, on one file: WAL journal (readers
never block the writer), a busy timeout (10 s, or `TRACKER_BUSY_TIMEOUT_MS`: a writer waits
for the other instead of failing), foreign keys on, and every writing transaction opened
with `BEGIN IMMEDIATE`. pysqlite's deferred BEGIN takes the write lock only at the first
write; two read-then-write transactions then deadlock and SQLite fails one at once with
"database is locked", whatever the busy timeout. Taking the lock at BEGIN makes the second
writer wait instead.

Read-only work (status, show, calendar, history, the outbox listing) uses
`session_scope(engine, write=False)` / `read_scope(engine)` instead: `BEGIN DEFERRED` on
SQLite, a WAL snapshot that never asks for the write lock, so a writer holding it (the
daemon's tick, a long `init`) does not make a reader wait; a READ ONLY transaction on
PostgreSQL (issue 7).

Errors a user can fix (bad URL, missing folder, server down) become `TrackerError`s with a
one-line message saying what to do; a password in a URL is never shown (`mask_url`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from tracker.errors import BadInputError, TrackerError

ENV_VAR = "TRACKER_DATABASE_URL"
DEFAULT_URL = "sqlite:///tracker.db"
BUSY_TIMEOUT_ENV = "TRACKER_BUSY_TIMEOUT_MS"
BUSY_TIMEOUT_MS = 10_000  # the default; TRACKER_BUSY_TIMEOUT_MS overrides it
# An execution option on the engine a read-only session is bound to: the SQLite "begin"
# hook then opens a deferred transaction instead of BEGIN IMMEDIATE.
READ_ONLY = "tracker_read_only"
PG_CONNECT_TIMEOUT_S = 10

_WHERE_VI = "Kiểm tra --db hoặc biến môi trường TRACKER_DATABASE_URL"
_WHERE_EN = "Check --db or the TRACKER_DATABASE_URL environment variable"
_EXAMPLES = "sqlite:///tracker.db, postgresql+psycopg://user:password@host:5432/db"


class DatabaseUnavailableError(TrackerError):
    """The database exists in the URL but cannot be used now: server down, file locked."""

    exit_code = 1


def default_database_url(environ: Mapping[str, str] | None = None) -> str:
    """The URL to use when the CLI got no `--db`: `TRACKER_DATABASE_URL` when set and not
    blank, else `sqlite:///tracker.db`, a file in the current directory."""
    env = os.environ if environ is None else environ
    value = env.get(ENV_VAR, "").strip()
    return value or DEFAULT_URL


_PASSWORD_IN_URL = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")


def mask_url(url: str | URL) -> str:
    """The URL with its password replaced by ***, for messages and logs."""
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return _PASSWORD_IN_URL.sub(r"\1***@", url)


def not_set_up(shown: str) -> BadInputError:
    return BadInputError(
        f"Cơ sở dữ liệu {shown} chưa được khởi tạo. Chạy 'tracker init' trước.",
        f"The database {shown} is not set up yet. Run 'tracker init' first.",
    )


def missing_sqlite_file(url: str) -> bool:
    """True for a SQLite URL whose file does not exist (connecting would create it). The
    CLI and jobs/ refuse such a URL for every command but `init`, with `not_set_up`."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return False  # make_engine explains a bad URL
    db = parsed.database
    if parsed.get_backend_name() != "sqlite" or not db or db == ":memory:":
        return False
    if db.startswith("file:") or parsed.query.get("uri"):
        return False
    return not Path(db).exists()


def _bad_url(url: str, why_vi: str, why_en: str) -> BadInputError:
    shown = mask_url(url)
    return BadInputError(
        f"Địa chỉ cơ sở dữ liệu không dùng được ({shown}): {why_vi}. {_WHERE_VI} "
        f"(ví dụ: {_EXAMPLES}).",
        f"Unusable database URL ({shown}): {why_en}. {_WHERE_EN} (e.g. {_EXAMPLES}).",
    )


def _parse(url: str) -> URL:
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise _bad_url(url, "sai cú pháp", "not a valid URL") from None
    # People paste libpq URLs; the only PostgreSQL driver we ship is psycopg 3.
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername not in ("sqlite", "sqlite+pysqlite", "postgresql+psycopg"):
        raise _bad_url(
            url,
            f"không hỗ trợ loại '{parsed.drivername}', chỉ SQLite và PostgreSQL",
            f"'{parsed.drivername}' is not supported, only SQLite and PostgreSQL",
        )
    return parsed


def _sqlite_file(parsed: URL) -> Path | None:
    db = parsed.database
    if not db or db == ":memory:" or parsed.query.get("uri") or db.startswith("file:"):
        return None
    return Path(db)


def _check_sqlite_folder(url: str, parsed: URL) -> None:
    path = _sqlite_file(parsed)
    if path is None:
        return
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        shown = mask_url(url)
        raise BadInputError(
            f"Thư mục chứa tệp cơ sở dữ liệu không tồn tại: {folder} ({shown}). "
            f"Tạo thư mục đó, hoặc sửa --db / TRACKER_DATABASE_URL.",
            f"The folder for the database file does not exist: {folder} ({shown}). "
            f"Create it, or fix --db / TRACKER_DATABASE_URL.",
        )


def busy_timeout_ms(environ: Mapping[str, str] | None = None) -> int:
    """How long a SQLite connection waits for another process's lock before giving up:
    `TRACKER_BUSY_TIMEOUT_MS` when set (0 to 600000 ms), else 10 s."""
    env = os.environ if environ is None else environ
    text = env.get(BUSY_TIMEOUT_ENV, "").strip()
    if not text:
        return BUSY_TIMEOUT_MS
    if not text.isdigit() or int(text) > 600_000:
        raise BadInputError(
            f"{BUSY_TIMEOUT_ENV} '{text}' không hợp lệ: ghi số mili giây từ 0 đến 600000"
            f" (mặc định {BUSY_TIMEOUT_MS}).",
            f"{BUSY_TIMEOUT_ENV} '{text}' is invalid: give milliseconds from 0 to 600000"
            f" (default {BUSY_TIMEOUT_MS}).",
        )
    return int(text)


def _seconds(ms: int) -> str:
    # "10", "0,5" (vi) / "0.5" (en) — a short test timeout must not read "0 seconds".
    return f"{ms // 1000}" if ms % 1000 == 0 else f"{ms / 1000:g}"


def _sqlite_connect_hook(timeout_ms: int) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        _on_sqlite_connect(dbapi_connection, timeout_ms)

    return on_connect


def _on_sqlite_connect(dbapi_connection: Any, timeout_ms: int) -> None:
    # No BEGIN from pysqlite: SQLAlchemy's "begin" hook below emits BEGIN itself (the
    # SQLAlchemy docs' recipe for taking over pysqlite's transaction control).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        # busy_timeout first: switching the file to WAL needs a lock another process may hold.
        cursor.execute(f"PRAGMA busy_timeout = {timeout_ms}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        # Safe with WAL (a crash loses at most the last commits, never corrupts) and faster.
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()


def _on_sqlite_begin(conn: Connection) -> None:
    # A reader's deferred BEGIN takes no lock until its first SELECT, and then only a WAL
    # read snapshot: it never waits for a writer. A writer takes the write lock at once
    # (module docstring: two deferred read-then-write transactions would deadlock).
    if conn.get_execution_options().get(READ_ONLY):
        conn.exec_driver_sql("BEGIN DEFERRED")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _reason(exc: BaseException, parsed: URL) -> str:
    orig = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    text = " ".join(str(orig).split()) or type(orig).__name__
    if parsed.password:
        text = text.replace(str(parsed.password), "***")
    return text


def unavailable_error(exc: BaseException, url: str | URL) -> TrackerError:
    """A one-line, password-free TrackerError for a database the program cannot use."""
    parsed = url if isinstance(url, URL) else make_url(url)
    shown = mask_url(parsed)
    reason = _reason(exc, parsed)
    if parsed.get_backend_name() == "sqlite" and "locked" in reason:
        try:
            waited = _seconds(busy_timeout_ms())
        except BadInputError:
            waited = _seconds(BUSY_TIMEOUT_MS)
        return DatabaseUnavailableError(
            f"Cơ sở dữ liệu đang bận: một tiến trình khác giữ khóa ghi quá "
            f"{waited.replace('.', ',')} giây ({shown}), thử lại sau.",
            f"The database is busy: another process held the write lock for more than "
            f"{waited} s ({shown}). Wait a moment and run the command again.",
        )
    if parsed.get_backend_name() == "sqlite":
        return DatabaseUnavailableError(
            f"Không mở được tệp cơ sở dữ liệu {shown}: {reason}. {_WHERE_VI}, "
            f"và quyền đọc/ghi của tệp và thư mục.",
            f"Cannot open the database file {shown}: {reason}. {_WHERE_EN}, "
            f"and the read/write permissions of the file and its folder.",
        )
    return DatabaseUnavailableError(
        f"Không kết nối được cơ sở dữ liệu {shown}: {reason}. {_WHERE_VI}, "
        f"và khởi động máy chủ PostgreSQL nếu nó chưa chạy.",
        f"Cannot connect to the database {shown}: {reason}. {_WHERE_EN}, "
        f"and start the PostgreSQL server if it is not running.",
    )


def make_engine(url: str, *, check: bool = True) -> Engine:
    """An Engine for `url`, configured as the module docstring says.

    With `check` (the default) it connects once, so a bad URL, a missing folder or a server
    that is down fails here with a TrackerError rather than at the first query. For SQLite
    that creates the file if it does not exist yet.
    """
    parsed = _parse(url)
    try:
        if parsed.get_backend_name() == "sqlite":
            _check_sqlite_folder(url, parsed)
            timeout_ms = busy_timeout_ms()
            engine = create_engine(parsed)
            event.listen(engine, "connect", _sqlite_connect_hook(timeout_ms))
            event.listen(engine, "begin", _on_sqlite_begin)
        else:
            connect_args: dict[str, Any] = {}
            if "connect_timeout" not in parsed.query:
                connect_args["connect_timeout"] = PG_CONNECT_TIMEOUT_S
            # pre_ping: the daemon runs for months; a server restart must not break it.
            engine = create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)
    except (NoSuchModuleError, ImportError):
        raise TrackerError(
            "Thiếu trình điều khiển PostgreSQL (psycopg). Cài bằng: "
            "pip install 'cluster-tracker[postgres]', rồi chạy lại lệnh.",
            "The PostgreSQL driver (psycopg) is not installed. Install it with: "
            "pip install 'cluster-tracker[postgres]', then run the command again.",
        ) from None
    except ArgumentError as exc:
        raise _bad_url(url, str(exc), str(exc)) from None
    if check:
        try:
            with engine.connect():
                pass
        except DBAPIError as exc:
            engine.dispose()
            raise unavailable_error(exc, parsed) from exc
    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to `engine`. Objects stay readable after commit (no expiry): the CLI
    prints rows it has just written, after the transaction is over."""
    return sessionmaker(bind=engine, class_=Session, expire_on_commit=False)


def read_only(engine: Engine) -> Engine:
    """`engine` for read-only transactions (same pool, same hooks): BEGIN DEFERRED on SQLite
    (see `_on_sqlite_begin`), a READ ONLY transaction on PostgreSQL, where a stray write
    then fails loudly instead of being committed."""
    if engine.dialect.name == "sqlite":
        return engine.execution_options(**{READ_ONLY: True})
    return engine.execution_options(**{READ_ONLY: True, "postgresql_readonly": True})


@contextmanager
def session_scope(engine: Engine, *, write: bool = True) -> Iterator[Session]:
    """One transaction: commit when the block ends normally, roll back on any exception.

    `write=False`: a read-only transaction (`read_only`), for commands that only read: it
    neither waits for nor blocks a writer.

    A database that goes away or stays locked mid-way raises DatabaseUnavailableError
    (a TrackerError), chained to the driver's error.
    """
    session = session_factory(engine if write else read_only(engine))()
    try:
        yield session
        session.commit()
    except OperationalError as exc:
        session.rollback()
        raise unavailable_error(exc, engine.url) from exc
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def read_scope(engine: Engine) -> Iterator[Session]:
    """`session_scope(engine, write=False)`: one read-only transaction."""
    with session_scope(engine, write=False) as session:
        yield session
