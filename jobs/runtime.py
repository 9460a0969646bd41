"""What a sending process runs with (issue 7 §1): its tunables (`[mail]` and the
environment), its worker id, the newest cycle's `[mail]` and the transport it names.
`jobs.tick` and `jobs.daemon` read them; nothing here sends."""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from tracker.config.schema import Mail
from tracker.db.engine import session_scope
from tracker.db.models import CycleRow
from tracker.errors import BadInputError, NotFoundError
from tracker.service.cycles import config_from_snapshot
from tracker.transport import Transport, make_transport


@dataclass(frozen=True)
class TickSettings:
    """How much one tick may do (`[mail]` batch, in_flight, connections, lease_seconds,
    tick_seconds; the environment wins). The lease must outlast the slowest send (SMTP
    gives up after 30 s per attempt), or a second worker could take over a live claim."""

    lease: timedelta = timedelta(minutes=5)
    batch: int = 200
    max_concurrency: int = 4
    connections: int = 2
    tick_seconds: float = 30.0


DEFAULTS = TickSettings()

# (environment variable, [mail] key, type, smallest, largest)
_TUNABLES: tuple[tuple[str, str, type, float, float], ...] = (
    ("TRACKER_BATCH", "batch", int, 1, 10_000),
    ("TRACKER_IN_FLIGHT", "in_flight", int, 1, 64),
    ("TRACKER_SMTP_CONNECTIONS", "connections", int, 1, 16),
    ("TRACKER_LEASE_SECONDS", "lease_seconds", float, 10, 3600),
    ("TRACKER_TICK_SECONDS", "tick_seconds", float, 0.1, 60),
)


def settings_for(mail: Mail, environ: Mapping[str, str] | None = None) -> TickSettings:
    """The tunables: `[mail]` of the newest cycle, each overridden by its environment
    variable; an absurd value (a tick of 1e-9 s, a batch of 0) is refused in one line."""
    env = os.environ if environ is None else environ
    values: dict[str, float] = {}
    for var, key, kind, low, high in _TUNABLES:
        text = env.get(var, "").strip()
        if not text:
            values[key] = float(getattr(mail, key))
            continue
        try:
            value = float(kind(text))
        except ValueError:
            value = float("nan")
        if not low <= value <= high:
            raise BadInputError(
                f"{var}='{text}' không hợp lệ: ghi một số từ {low:g} đến {high:g}"
                f" ({'số nguyên' if kind is int else 'giây'}), hoặc bỏ biến này"
                f" (mặc định: mail.{key} = {getattr(mail, key):g}).",
                f"{var}='{text}' is invalid: give a number from {low:g} to {high:g}"
                f" ({'a whole number' if kind is int else 'seconds'}), or unset it"
                f" (default: mail.{key} = {getattr(mail, key):g}).",
            )
        values[key] = value
    return TickSettings(
        lease=timedelta(seconds=values["lease_seconds"]),
        batch=int(values["batch"]),
        max_concurrency=int(values["in_flight"]),
        connections=int(values["connections"]),
        tick_seconds=values["tick_seconds"],
    )


def worker_id() -> str:
    """Who holds a claim: this host, this process and a random part, so a restart — or
    two containers whose processes are all pid 1 on one host name — is another worker."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def newest_cycle(session: Session) -> CycleRow:
    """The cycle loaded most recently: its `[mail]` section is the leader's latest word on
    where mail goes (every cycle's reminders still go out, through that one transport)."""
    row = session.exec(select(CycleRow).order_by(col(CycleRow.loaded_at).desc())).first()
    if row is None:
        raise NotFoundError(
            "Cơ sở dữ liệu chưa có chu kỳ nào. Chạy 'tracker init' để nạp cấu hình của Cụm.",
            "The database holds no cycle yet. Run 'tracker init' to load the cluster's config.",
        )
    return row


def mail_config(engine: Engine) -> Mail:
    with session_scope(engine) as session:
        return config_from_snapshot(newest_cycle(session).config_json).mail


def transport_for(engine: Engine, settings: TickSettings | None = None) -> Transport:
    """The transport the config names; a relative mail folder is anchored at the working
    directory now, so the banner and the logs show where mail really goes."""
    mail = mail_config(engine)
    connections = (settings or settings_for(mail)).connections
    return make_transport(mail, os.environ, base_dir=Path.cwd(), max_connections=connections)
