"""Office hours per cycle: nothing is claimed outside its cycle's working hours (issue 3
§1) — not on a Sunday, not during Tết, not in the evening, whatever made it due."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from tracker.calendar.office_hours import Office
from tracker.calendar.workdays import WorkCalendar, shared_calendar
from tracker.config.schema import Holidays, Mail
from tracker.db.models import CycleRow
from tracker.service.cycles import config_from_snapshot

DEFAULT_OFFICE = Office(WorkCalendar(Holidays()), Mail().send_hour)

# Office hours by config hash: every tick asks for every cycle's, and at national scale
# (1,000 cycles) reading and parsing each snapshot again was most of an idle tick.
_by_hash: dict[str, Office] = {}
_lock = threading.Lock()


def offices(session: Session, cycle_ids: Iterable[int] | None = None) -> dict[int, Office]:
    """The office hours of each cycle (all, or those in `cycle_ids`): its work calendar and
    `mail.send_hour`. A cycle whose config snapshot cannot be read (planning logs it) gets
    the defaults, Vietnam's working days at 08:00: its letters are still claimed in office
    hours, fail to be built and end up failed, visible in `tracker outbox`."""
    q = sa_select(col(CycleRow.id), col(CycleRow.config_hash))
    if cycle_ids is not None:
        q = q.where(col(CycleRow.id).in_(list(cycle_ids)))
    conn = session.connection()
    rows = conn.execute(q).all()
    with _lock:
        missing = {h for _, h in rows if h not in _by_hash}
    if missing:
        texts = conn.execute(
            sa_select(col(CycleRow.config_hash), col(CycleRow.config_json)).where(
                col(CycleRow.config_hash).in_(sorted(missing))
            )
        ).all()
        for h, text in texts:
            try:
                cfg = config_from_snapshot(text)
                office = Office(shared_calendar(cfg.holidays), cfg.mail.send_hour)
            except Exception:
                office = DEFAULT_OFFICE
            with _lock:
                _by_hash[h] = office
    with _lock:
        return {int(cid or 0): _by_hash.get(h, DEFAULT_OFFICE) for cid, h in rows}


def open_cycles(
    session: Session, now: datetime, cycle_ids: Iterable[int] | None = None
) -> list[int]:
    """The cycles whose office is open at `now`: only their letters may be sent."""
    return sorted(cid for cid, office in offices(session, cycle_ids).items() if office.is_open(now))
