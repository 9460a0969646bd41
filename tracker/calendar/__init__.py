"""The calendar: working days and the dates of a cycle. Pure: no clock, no I/O."""

from tracker.calendar.engine import (
    CyclePlan,
    event_window,
    plan_cycle,
    policy_alternatives,
    resolve_window,
)
from tracker.calendar.types import POLICIES, DueDate, Policy, SkippedDay, Window
from tracker.calendar.workdays import WorkCalendar

__all__ = [
    "POLICIES",
    "CyclePlan",
    "DueDate",
    "Policy",
    "SkippedDay",
    "Window",
    "WorkCalendar",
    "event_window",
    "plan_cycle",
    "policy_alternatives",
    "resolve_window",
]
