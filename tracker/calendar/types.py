"""What the calendar engine produces. Pure data: no clock, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

Policy = Literal["as_written", "next_working_day", "previous_working_day"]
POLICIES: tuple[Policy, ...] = ("as_written", "next_working_day", "previous_working_day")

# Each working-day policy in words (vi, en), for `tracker show` and the letters.
POLICY_WORDS: dict[Policy, tuple[str, str]] = {
    "as_written": ("giữ nguyên ngày", "keeps the date as written"),
    "previous_working_day": (
        "lùi về ngày làm việc liền trước",
        "moves to the previous working day",
    ),
    "next_working_day": (
        "chuyển sang ngày làm việc kế tiếp (Điều 148 khoản 5 Bộ luật Dân sự 2015)",
        "moves to the next working day (Civil Code 2015, Article 148(5))",
    ),
}

TZ = ZoneInfo("Asia/Ho_Chi_Minh")

MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


@dataclass(frozen=True)
class Window:
    start: date
    end: date

    def __contains__(self, d: object) -> bool:
        return isinstance(d, date) and self.start <= d <= self.end


@dataclass(frozen=True)
class SkippedDay:
    """A day a working-day policy moved past, with the reason (holiday name, weekend)."""

    day: date
    reason_vi: str
    reason_en: str


@dataclass(frozen=True)
class DueDate:
    """One milestone's date in a cycle, with everything needed to explain it."""

    milestone_id: str
    # Set for per-member events (each member's inspection visit) and what depends on
    # them; None when the date is the same for every member.
    member_id: str | None
    as_written: date | None  # the rule's date before the working-day policy
    date: date | None  # the deadline (ends 24:00 local); None = unscheduled
    window: Window | None  # window, month, quarter and event rules
    policy: Policy
    # Events only: True once the leader set the date, False while it is not set; None for
    # rules that are not events.
    scheduled: bool | None
    # How the rule reads, as the regulation writes it: "chậm nhất ngày 30/6/2022" / "by 30
    # June 2022", "trước ngày Hội nghị tổng kết ít nhất 5 ngày" / "at least 5 days before
    # the Summary conference" (show, calendar, letters).
    rule_vi: str
    rule_en: str
    skipped: tuple[SkippedDay, ...] = field(default=())
    depends_on: str | None = None  # the milestone a relative rule counts from

    @property
    def unscheduled(self) -> bool:
        return self.date is None


def end_of_day(d: date, tz: ZoneInfo = TZ) -> datetime:
    """A deadline date ends at 24:00 local time, i.e. the next day's 00:00."""
    return datetime.combine(d + timedelta(days=1), time(0), tzinfo=tz)


def local_date(now: datetime, tz: ZoneInfo = TZ) -> date:
    """The local calendar day of an aware instant."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(tz).date()
