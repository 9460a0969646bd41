"""WorkCalendar: Vietnamese public holidays, weekends, make-up Saturdays, configured days off,
and the working-day arithmetic deadlines use (Civil Code 2015 Art. 148(5))."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tracker.calendar import SkippedDay, WorkCalendar
from tracker.config.schema import Holidays

CAL = WorkCalendar(Holidays())


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


# -- which days are off ----------------------------------------------------------------


def test_tet_2023_is_off_with_its_names() -> None:
    # The government's Tết 2023 break for civil servants: Fri 20/1 to Thu 26/1.
    for d in _days(date(2023, 1, 20), date(2023, 1, 26)):
        assert not CAL.is_working_day(d), d
    assert CAL.day_off_reason(date(2023, 1, 22)) == ("Tết Nguyên Đán", "Lunar New Year")
    assert CAL.day_off_reason(date(2023, 1, 20)) == ("29 Tết", "29 of Lunar New Year")
    assert CAL.is_working_day(date(2023, 1, 19))
    assert CAL.is_working_day(date(2023, 1, 27))


def test_culture_day_2026_and_the_2025_2026_swaps_are_known() -> None:
    # Culture Day (Ngày Văn hóa Việt Nam, 24/11) is a paid public holiday from 2026; the
    # `holidays` lower bound in pyproject.toml (0.106) is the first release that knows it.
    assert CAL.day_off_reason(date(2026, 11, 24)) == (
        "Ngày Văn hóa Việt Nam",
        "Vietnam Cultural Day",
    )
    assert CAL.is_working_day(date(2025, 11, 24))  # not yet a holiday in 2025
    # The swaps: Fri 2/5/2025 off, made up on Sat 26/4/2025; Mon 31/8/2026 off, made up on
    # Sat 22/8/2026.
    for off, made_up in (
        (date(2025, 5, 2), date(2025, 4, 26)),
        (date(2026, 8, 31), date(2026, 8, 22)),
    ):
        assert not CAL.is_working_day(off), off
        assert CAL.is_working_day(made_up), made_up


def test_the_holidays_lower_bound_is_the_release_that_knows_culture_day() -> None:
    import tomllib
    from importlib.metadata import version
    from pathlib import Path

    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    deps = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"]
    assert "holidays>=0.106,<1" in deps
    assert tuple(int(x) for x in version("holidays").split(".")[:2]) >= (0, 106)


def test_fixed_holidays_and_observed_days() -> None:
    assert CAL.day_off_reason(date(2022, 9, 2)) == ("Quốc khánh", "National Day")
    assert CAL.day_off_reason(date(2022, 4, 30)) == (
        "Ngày Chiến thắng",
        "Liberation Day/Reunification Day",
    )
    # 1/1/2022 was a Saturday; the holiday was given back on Monday 3/1.
    vi, en = CAL.day_off_reason(date(2022, 1, 3)) or ("", "")
    assert "Tết Dương lịch" in vi and "nghỉ bù" in vi
    assert "New Year's Day" in en


def test_weekends_are_off_weekdays_are_working() -> None:
    assert CAL.day_off_reason(date(2022, 12, 24)) == ("Thứ bảy", "Saturday")
    assert CAL.day_off_reason(date(2022, 12, 25)) == ("Chủ nhật", "Sunday")
    for d in _days(date(2022, 12, 26), date(2022, 12, 30)):
        assert CAL.is_working_day(d)
        assert CAL.day_off_reason(d) is None


def test_make_up_saturday_from_config_is_a_working_day() -> None:
    cal = WorkCalendar(Holidays(make_up_working_days=[date(2022, 12, 24)]))
    assert cal.is_working_day(date(2022, 12, 24))
    assert cal.day_off_reason(date(2022, 12, 24)) is None
    assert not cal.is_working_day(date(2022, 12, 25))
    assert cal.next_working_day(date(2022, 12, 24)) == date(2022, 12, 24)
    assert cal.previous_working_day(date(2022, 12, 25)) == date(2022, 12, 24)


def test_make_up_saturdays_the_package_knows_are_working_days() -> None:
    # Saturday 4/5/2024 was worked to make Monday 29/4/2024 a day off.
    assert CAL.is_working_day(date(2024, 5, 4))
    assert not CAL.is_working_day(date(2024, 4, 29))
    # Saturday 27/12/2014 made up for Friday 2/1/2015: a make-up day listed under the
    # following year is still found when only 2014 is asked about first.
    cal = WorkCalendar(Holidays())
    assert cal.is_working_day(date(2014, 12, 27))
    assert not cal.is_working_day(date(2014, 12, 28))


def test_configured_extra_day_off() -> None:
    cal = WorkCalendar(Holidays(extra_days_off=[date(2022, 12, 26)]))
    assert cal.day_off_reason(date(2022, 12, 26)) == (
        "Ngày nghỉ theo cấu hình",
        "Configured day off",
    )
    assert cal.next_working_day(date(2022, 12, 25)) == date(2022, 12, 27)
    new, skipped = cal.apply_policy(date(2022, 12, 25), "next_working_day")
    assert new == date(2022, 12, 27)
    assert skipped == (
        SkippedDay(date(2022, 12, 25), "Chủ nhật", "Sunday"),
        SkippedDay(date(2022, 12, 26), "Ngày nghỉ theo cấu hình", "Configured day off"),
    )


def test_holiday_wins_over_a_configured_make_up_day() -> None:
    # A make-up day is never announced on a holiday; if a config says so, the holiday
    # (and its name) still stands.
    cal = WorkCalendar(Holidays(make_up_working_days=[date(2023, 1, 21)]))
    assert not cal.is_working_day(date(2023, 1, 21))
    assert cal.day_off_reason(date(2023, 1, 21)) == (
        "Giao thừa Tết Nguyên Đán",
        "Lunar New Year's Eve",
    )


def test_years_load_lazily_in_any_order() -> None:
    cal = WorkCalendar(Holidays())
    assert not cal.is_working_day(date(2099, 9, 2))
    assert not cal.is_working_day(date(2000, 9, 2))
    assert cal.day_off_reason(date(2050, 1, 1)) == ("Tết Dương lịch", "New Year's Day")


# -- next / previous working day -------------------------------------------------------


def test_next_and_previous_working_day() -> None:
    assert CAL.next_working_day(date(2022, 12, 23)) == date(2022, 12, 23)
    assert CAL.previous_working_day(date(2022, 12, 23)) == date(2022, 12, 23)
    assert CAL.next_working_day(date(2022, 12, 24)) == date(2022, 12, 26)
    assert CAL.previous_working_day(date(2022, 12, 25)) == date(2022, 12, 23)
    assert CAL.next_working_day(date(2023, 1, 20)) == date(2023, 1, 27)
    assert CAL.previous_working_day(date(2023, 1, 26)) == date(2023, 1, 19)
    # New Year 2023: Sun 1/1 and its observed Monday 2/1.
    assert CAL.next_working_day(date(2022, 12, 31)) == date(2023, 1, 3)


def test_absurd_run_of_days_off_fails_instead_of_looping() -> None:
    year = _days(date(2030, 1, 1), date(2031, 6, 30))
    cal = WorkCalendar(Holidays(extra_days_off=year))
    with pytest.raises(ValueError, match="no working day"):
        cal.next_working_day(date(2030, 1, 1))


# -- add_working_days / working_days_between -------------------------------------------


def test_add_zero_is_the_day_itself_even_a_day_off() -> None:
    assert CAL.add_working_days(date(2022, 12, 25), 0) == date(2022, 12, 25)
    assert CAL.add_working_days(date(2022, 12, 26), 0) == date(2022, 12, 26)


def test_add_working_days_skips_weekends() -> None:
    assert CAL.add_working_days(date(2022, 12, 23), 1) == date(2022, 12, 26)
    assert CAL.add_working_days(date(2022, 12, 26), -1) == date(2022, 12, 23)
    # From a day off, the next working day is the first one counted.
    assert CAL.add_working_days(date(2022, 12, 25), 1) == date(2022, 12, 26)
    assert CAL.add_working_days(date(2022, 12, 25), -1) == date(2022, 12, 23)
    assert CAL.add_working_days(date(2022, 12, 19), 5) == date(2022, 12, 26)
    assert CAL.add_working_days(date(2022, 12, 19), 9) == date(2022, 12, 30)
    # Sun 1/1/2023 and its observed Monday 2/1 are both skipped.
    assert CAL.add_working_days(date(2022, 12, 19), 10) == date(2023, 1, 3)


def test_add_working_days_across_tet() -> None:
    assert CAL.add_working_days(date(2023, 1, 19), 1) == date(2023, 1, 27)
    assert CAL.add_working_days(date(2023, 1, 27), -1) == date(2023, 1, 19)
    assert CAL.add_working_days(date(2023, 1, 19), 3) == date(2023, 1, 31)


def test_working_days_between_is_half_open() -> None:
    # (a, b]: a is not counted, b is.
    assert CAL.working_days_between(date(2022, 12, 23), date(2022, 12, 26)) == 1
    assert CAL.working_days_between(date(2022, 12, 26), date(2022, 12, 30)) == 4
    assert CAL.working_days_between(date(2022, 12, 25), date(2023, 1, 1)) == 5
    assert CAL.working_days_between(date(2022, 12, 23), date(2022, 12, 25)) == 0
    assert CAL.working_days_between(date(2023, 1, 19), date(2023, 1, 27)) == 1


def test_working_days_between_empty_or_backwards_is_zero() -> None:
    assert CAL.working_days_between(date(2022, 12, 26), date(2022, 12, 26)) == 0
    assert CAL.working_days_between(date(2022, 12, 30), date(2022, 12, 26)) == 0


def test_between_and_add_agree_over_a_year() -> None:
    start = date(2022, 12, 15)
    for n in range(0, 40):
        end = CAL.add_working_days(start, n)
        assert CAL.working_days_between(start, end) == n
    # 2023 has 260 weekdays; 11 of them are holidays: 2/1, 20/1, 23–26/1, 1/5, 2/5 and 3/5
    # (Hùng Kings' day and 30/4 fell on the weekend and were given back), 1/9 and 4/9.
    assert CAL.working_days_between(date(2022, 12, 31), date(2023, 12, 31)) == 260 - 11


# -- apply_policy ----------------------------------------------------------------------


def test_as_written_keeps_the_day() -> None:
    assert CAL.apply_policy(date(2022, 12, 25), "as_written") == (date(2022, 12, 25), ())


def test_policies_on_a_working_day_do_nothing() -> None:
    for policy in ("next_working_day", "previous_working_day"):
        assert CAL.apply_policy(date(2022, 6, 30), policy) == (date(2022, 6, 30), ())


def test_next_working_day_policy_lists_skipped_days() -> None:
    new, skipped = CAL.apply_policy(date(2022, 12, 24), "next_working_day")
    assert new == date(2022, 12, 26)
    assert skipped == (
        SkippedDay(date(2022, 12, 24), "Thứ bảy", "Saturday"),
        SkippedDay(date(2022, 12, 25), "Chủ nhật", "Sunday"),
    )


def test_previous_working_day_policy_lists_skipped_days_in_calendar_order() -> None:
    new, skipped = CAL.apply_policy(date(2023, 1, 24), "previous_working_day")
    assert new == date(2023, 1, 19)
    assert [s.day for s in skipped] == _days(date(2023, 1, 20), date(2023, 1, 24))
    assert skipped[0].reason_vi == "29 Tết"
    assert skipped[-1].reason_en == "Third Day of Lunar New Year"


def test_unknown_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown working-day policy"):
        CAL.apply_policy(date(2022, 12, 25), "nearest")  # type: ignore[arg-type]


def test_one_shared_calendar_per_holiday_settings() -> None:
    from tracker.calendar.workdays import shared_calendar
    from tracker.config.schema import Holidays

    a = shared_calendar(Holidays())
    assert shared_calendar(Holidays(default_policy="next_working_day")) is a  # policy not read
    other = shared_calendar(Holidays(extra_days_off=[date(2022, 9, 5)]))
    assert other is not a
    assert a.is_working_day(date(2022, 9, 5)) and not other.is_working_day(date(2022, 9, 5))
