"""When a reminder may go out (issue 3 §1): at the office hour or later, before the office
day ends, on a working day of the cycle's calendar — never on a weekend, a public holiday
such as Tết, or a configured day off.

The planner only plans reminders for the office hour of working days; this is the rule
for everything that would otherwise send at another time: a catch-up after downtime, a
daemon started on a Sunday evening, a retry that comes due at night. Pure: `now` is passed
in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from tracker.calendar.types import TZ
from tracker.calendar.workdays import WorkCalendar

# The district offices' working day ends at 17:00; a letter after that waits for the next
# morning rather than arrive in the evening.
OFFICE_CLOSES_HOUR = 17


@dataclass(frozen=True)
class Office:
    """A cycle's office hours: its work calendar and its `mail.send_hour`."""

    calendar: WorkCalendar
    send_hour: int

    @property
    def closes_hour(self) -> int:
        # A send hour configured at or after 17:00 still gets an hour to send in.
        return max(OFFICE_CLOSES_HOUR, self.send_hour + 1)

    def is_open(self, now: datetime) -> bool:
        """True on a working day from the send hour until the office closes."""
        local = _local(now)
        return self.send_hour <= local.hour < self.closes_hour and self.calendar.is_working_day(
            local.date()
        )

    def next_open(self, now: datetime) -> datetime:
        """`now` if the office is open, else the next opening: today at the send hour if
        today is a working day not yet at that hour, otherwise the next working day's."""
        if self.is_open(now):
            return now
        local = _local(now)
        day = local.date()
        if not (local.hour < self.send_hour and self.calendar.is_working_day(day)):
            day = self.calendar.next_working_day(day + timedelta(days=1))
        return datetime.combine(day, time(self.send_hour), tzinfo=TZ)


def _local(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(TZ)
