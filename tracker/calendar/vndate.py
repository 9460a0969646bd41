"""Dates and day counts as Vietnamese and English letters write them. Pure.

Vietnamese office documents write a date in words as "ngày 05 tháng 02 năm 2023": a day
below 10 and the months 1 and 2 take a leading zero, so that no digit can be added later
("tháng 1" → "tháng 11") (Nghị định 30/2020/NĐ-CP on administrative documents, Phụ lục I).
The short form "30/06/2022" is what tables and subjects use.
"""

from __future__ import annotations

from datetime import date

from tracker.calendar.types import MONTHS_EN, Window

_WEEKDAYS_VI = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")
# Inside a sentence: "(thứ Năm)", "(Chủ nhật)" — the spelling letters use throughout.
_WEEKDAYS_VI_TEXT = ("thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy", "Chủ nhật")
_WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def vn_date(d: date) -> str:
    """`30/06/2022`."""
    return f"{d.day:02d}/{d.month:02d}/{d.year}"


def vn_long(d: date) -> str:
    """`ngày 30 tháng 6 năm 2022`, `ngày 05 tháng 02 năm 2023` (see the module doc)."""
    month = f"{d.month:02d}" if d.month <= 2 else str(d.month)
    return f"ngày {d.day:02d} tháng {month} năm {d.year}"


def en_long(d: date) -> str:
    """`30 June 2022`."""
    return f"{d.day} {MONTHS_EN[d.month - 1]} {d.year}"


def weekday_vi(d: date) -> str:
    """`Thứ Hai` … `Chủ nhật`."""
    return _WEEKDAYS_VI[d.weekday()]


def weekday_en(d: date) -> str:
    return _WEEKDAYS_EN[d.weekday()]


def days_phrase_vi(n: int) -> str:
    """Days left (n > 0), the deadline today (0) or days late (n < 0)."""
    if n > 0:
        return f"còn {n} ngày"
    if n == 0:
        return "hạn chót là hôm nay"
    return f"đã quá hạn {-n} ngày"


def days_phrase_en(n: int) -> str:
    if n > 0:
        return f"{n} day{'s' if n != 1 else ''} left"
    if n == 0:
        return "due today"
    return f"{-n} day{'s' if n != -1 else ''} overdue"


def window_vi(w: Window) -> str:
    """`từ 01/10/2022 đến 30/11/2022`."""
    return f"từ {vn_date(w.start)} đến {vn_date(w.end)}"


def window_en(w: Window) -> str:
    """`1 October 2022 to 30 November 2022`."""
    return f"{en_long(w.start)} to {en_long(w.end)}"


def weekday_text_vi(d: date) -> str:
    """`thứ Hai` … `Chủ nhật`, as a weekday reads inside a sentence."""
    return _WEEKDAYS_VI_TEXT[d.weekday()]


def dated_vi(d: date) -> str:
    """`ngày 30 tháng 6 năm 2022 (thứ Năm)`: the date once, in words, with its weekday."""
    return f"{vn_long(d)} ({weekday_text_vi(d)})"


def dated_en(d: date) -> str:
    """`Thursday 30 June 2022`."""
    return f"{weekday_en(d)} {en_long(d)}"


def countdown_vi(
    days_left: int,
    *,
    working_days_left: int | None = None,
    last_working_day: date | None = None,
    event: bool = False,
) -> str:
    """What is left, as a letter says it. A deadline on a day off (as written) really ends
    on the last working day before it, so the days are counted in working days up to it;
    an event counts working days to the day it is held. Without working-day facts (a
    caller that has no calendar) it counts calendar days."""
    if event:
        if days_left == 0:
            return "tổ chức vào hôm nay"
        if days_left < 0:
            return "đã diễn ra"
        if working_days_left is not None:
            return f"còn {working_days_left} ngày làm việc"
        return f"còn {days_left} ngày"
    if days_left < 0:
        return f"đã quá hạn {-days_left} ngày"
    if last_working_day is not None and working_days_left is not None and days_left > 0:
        if working_days_left == 0:
            return "hôm nay là ngày làm việc cuối cùng"
        return (
            f"còn {working_days_left} ngày làm việc (ngày làm việc cuối cùng là"
            f" {weekday_text_vi(last_working_day)}, {vn_date(last_working_day)})"
        )
    return days_phrase_vi(days_left)


def countdown_en(
    days_left: int,
    *,
    working_days_left: int | None = None,
    last_working_day: date | None = None,
    event: bool = False,
) -> str:
    if event:
        if days_left == 0:
            return "held today"
        if days_left < 0:
            return "already held"
        n = working_days_left if working_days_left is not None else days_left
        unit = "working day" if working_days_left is not None else "day"
        return f"{n} {unit}{'s' if n != 1 else ''} to go"
    if days_left < 0:
        return days_phrase_en(days_left)
    if last_working_day is not None and working_days_left is not None and days_left > 0:
        if working_days_left == 0:
            return "today is the last working day"
        n = working_days_left
        return (
            f"{n} working day{'s' if n != 1 else ''} left (the last working day is"
            f" {dated_en(last_working_day)})"
        )
    return days_phrase_en(days_left)
