"""Derived facts about an obligation — overdue, due soon, late — computed from its dates and a
given `today`, never stored (they change with the clock, the rows do not)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from tracker.workflow import PENDING, State


@dataclass(frozen=True)
class Standing:
    days_left: int | None  # negative: days late; None: no date yet
    overdue: bool  # still owed and its day has ended
    due_soon: bool  # still owed and due within the cycle's due-soon days
    late: bool  # fulfilled, but after its day


def fulfilled_on(submitted_on: date | None, completed_on: date | None) -> date | None:
    """The day the member did its part: its (last) submission, else the leader's completion."""
    return submitted_on or completed_on


def is_overdue(due: date | None, state: str, today: date, *, event: bool = False) -> bool:
    """The one overdue rule: still owed (`PENDING`) and its day has ended. A deadline ends
    at 24:00 local on its day (Điều 7: "chậm nhất ngày …"), so it is overdue from the next
    day on. An event (a visit, a meeting, the conference) is never overdue: it is held on
    its day and recorded as held. No date yet: not overdue."""
    return due is not None and not event and state in PENDING and due < today


def standing(
    state: State,
    due: date | None,
    today: date,
    *,
    due_soon_days: int,
    submitted_on: date | None = None,
    completed_on: date | None = None,
    event: bool = False,
) -> Standing:
    """`event`: the obligation is an event (a visit, a meeting, the conference), held on
    `due`: it can be coming up, never overdue or late; it is recorded as held."""
    if due is None:
        return Standing(days_left=None, overdue=False, due_soon=False, late=False)
    days_left = (due - today).days
    pending = state in PENDING
    done_on = fulfilled_on(submitted_on, completed_on)
    late = state in (State.SUBMITTED, State.COMPLETED) and done_on is not None and done_on > due
    return Standing(
        days_left=days_left,
        overdue=is_overdue(due, state, today, event=event),
        due_soon=pending and 0 <= days_left <= due_soon_days,
        late=late and not event,
    )
