"""Office hours (issue 3 §1: reminders go out at an office hour on working days only), on
the shipped config's calendar: Vietnamese holidays, Tết 2023 on 20–26 January."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tracker.calendar.office_hours import Office
from tracker.calendar.types import TZ
from tracker.calendar.workdays import WorkCalendar
from tracker.config import load_config
from tracker.paths import config_dir

CFG = load_config(config_dir() / "cum-vung-cao-2022.toml")
OFFICE = Office(WorkCalendar(CFG.holidays), 8)


def at(y: int, m: int, d: int, hour: int, minute: int = 0) -> datetime:
    return datetime(y, m, d, hour, minute, tzinfo=TZ)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (at(2022, 6, 16, 8), at(2022, 6, 16, 8)),  # Thursday at the office hour: now
        (at(2022, 6, 16, 16, 59), at(2022, 6, 16, 16, 59)),  # still open
        (at(2022, 6, 16, 7, 59), at(2022, 6, 16, 8)),  # early: today at 08:00
        (at(2022, 6, 16, 17), at(2022, 6, 17, 8)),  # closed: tomorrow morning
        (at(2022, 6, 16, 19), at(2022, 6, 17, 8)),  # a daemon started in the evening
        (at(2022, 6, 17, 19), at(2022, 6, 20, 8)),  # Friday evening: Monday
        (at(2022, 6, 19, 10), at(2022, 6, 20, 8)),  # Sunday: Monday
        (at(2023, 1, 22, 8), at(2023, 1, 27, 8)),  # Sunday in Tết: the day after Tết
        (at(2023, 1, 26, 9), at(2023, 1, 27, 8)),  # a Thursday in Tết
        (at(2022, 9, 1, 10), at(2022, 9, 5, 8)),  # National Day holiday 1–2/9, weekend
    ],
)
def test_the_next_office_slot(now: datetime, expected: datetime) -> None:
    assert OFFICE.next_open(now) == expected
    assert OFFICE.is_open(now) == (now == expected)
    assert OFFICE.is_open(expected)


def test_the_slot_is_the_same_instant_in_any_time_zone() -> None:
    utc = at(2022, 6, 16, 19).astimezone(UTC)
    assert utc.hour == 12
    assert OFFICE.next_open(utc) == at(2022, 6, 17, 8)


def test_a_late_send_hour_still_has_an_hour_to_send_in() -> None:
    evening = Office(OFFICE.calendar, 18)
    assert evening.closes_hour == 19
    assert evening.is_open(at(2022, 6, 16, 18, 30))
    assert not evening.is_open(at(2022, 6, 16, 19))
    assert evening.next_open(at(2022, 6, 16, 12)) == at(2022, 6, 16, 18)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        OFFICE.next_open(datetime(2022, 6, 16, 8))
