"""After downtime, at most one late message per obligation and recipient (issue 3 §3:
"each open obligation gets at most one catch-up message carrying its current state").

Done in the planning transaction, before bundling, so a batch limit that splits the
backlog over two ticks still yields one message.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from tracker.calendar.types import TZ, local_date
from tracker.db.models import OutboxRow
from tracker.delivery.offices import DEFAULT_OFFICE, offices
from tracker.delivery.states import CANCELLED, PLANNED, SUPERSEDED, aware

_ITEMS = OutboxRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class _Due:
    """A due planned item, as catch_up_missed sees it."""

    row_id: int
    email: str  # lower case: addresses compare case-insensitively
    role: str
    send_at: datetime
    cycle_id: int
    owner: bool  # the owner's own reminder (not an escalation)


def catch_up_missed(session: Session, now: datetime) -> int:
    """Collapse missed reminders; returns the items cancelled.

    A due planned item is *missed* when its send time lies before today (local time): the
    daemon was down, or sending was paused, when it should have gone. For an obligation
    with a missed item, only the newest due item to each of its owner's addresses stays
    planned (the owner's focal contacts; the leader's office for a leader task) — marked
    `catch_up` if it was missed too; every other due item of the obligation is cancelled
    as SUPERSEDED, escalations included, so a first tick after installing mid-year or
    after long downtime does not send months-old items to members' heads or the leader.
    An obligation whose missed items are all escalations gets no catch-up: its focal
    officer was already reminded, and the leader's digest lists it as overdue.

    On time is not missed: an item due earlier today, escalations included, goes out as
    planned; so does one already tried (its letter is being retried).

    A missed survivor goes out at the next office slot of its cycle (`Office.next_open`)
    and leaves its old letter: the bundler puts it in that day's letter, which carries the
    obligation's current state, so nothing the older reminders said is lost.
    """
    aware(now)
    today = local_date(now)
    start_of_today = datetime.combine(today, time.min, TZ)
    conn = session.connection()
    # The usual tick has nothing missed: one indexed probe, not a scan of today's items.
    probe = conn.execute(
        sa_select(col(OutboxRow.id))
        .where(
            col(OutboxRow.state) == PLANNED,
            col(OutboxRow.send_at) < start_of_today,
            col(OutboxRow.obligation_id).is_not(None),
            col(OutboxRow.attempts) == 0,
        )
        .limit(1)
    ).first()
    if probe is None:
        return 0
    rows = conn.execute(
        sa_select(
            col(OutboxRow.id),
            col(OutboxRow.obligation_id),
            col(OutboxRow.recipient_email),
            col(OutboxRow.recipient_role),
            col(OutboxRow.send_at),
            col(OutboxRow.cycle_id),
            col(OutboxRow.kind),
            col(OutboxRow.due),
        )
        .where(
            col(OutboxRow.state) == PLANNED,
            col(OutboxRow.send_at) <= now,
            col(OutboxRow.obligation_id).is_not(None),
            col(OutboxRow.attempts) == 0,
        )
        .order_by(col(OutboxRow.send_at), col(OutboxRow.id))
    ).all()
    by_obligation: dict[int, list[_Due]] = defaultdict(list)
    for row_id, ob_id, email, role, send_at, cycle_id, kind, due_day in rows:
        # The owner's own reminders: a member duty's focal officer, a leader task's office
        # (event notices go to both); an escalation is never a catch-up, nor a notice of an
        # event already past or a request to date one whose window has closed (months late,
        # "the visit is on 12/10" or "date the pact signing by 31/3" would only mislead).
        stale = kind in ("event_notice", "set_date") and due_day is not None and due_day < today
        owner = kind != "escalation" and role in ("focal", "leader") and not stale
        assert row_id is not None and ob_id is not None
        by_obligation[ob_id].append(_Due(row_id, email.lower(), role, send_at, cycle_id, owner))
    cancel: list[dict[str, Any]] = []
    late: list[_Due] = []  # missed survivors, to reschedule
    for due in by_obligation.values():
        if all(local_date(d.send_at) >= today for d in due):
            continue
        # Ordered by send time, then id: the last row per address is the newest.
        keep = {(d.email, d.role): d for d in due if d.owner}
        kept = {d.row_id for d in keep.values()}
        for d in due:
            if d.row_id in kept or (not d.owner and local_date(d.send_at) >= today):
                continue
            cancel.append({"b_id": d.row_id})
        late += [d for d in keep.values() if local_date(d.send_at) < today]
    superseded = 0
    if cancel:
        result = conn.execute(
            update(_ITEMS)
            .where(_ITEMS.c.id == bindparam("b_id"), _ITEMS.c.state == PLANNED)
            .values(state=CANCELLED, last_error=SUPERSEDED, next_attempt_at=None, updated_at=now),
            cancel,
        )
        superseded = int(result.rowcount) if result.rowcount is not None else len(cancel)
    if late:
        hours = offices(session, {d.cycle_id for d in late})
        moves = [
            {"b_id": d.row_id, "b_at": hours.get(d.cycle_id, DEFAULT_OFFICE).next_open(now)}
            for d in late
        ]
        conn.execute(
            update(_ITEMS)
            .where(_ITEMS.c.id == bindparam("b_id"), _ITEMS.c.state == PLANNED)
            .values(
                catch_up=True,
                send_at=bindparam("b_at"),
                letter_id=None,
                letter_key=None,
                updated_at=now,
            ),
            moves,
        )
    return superseded
