"""The holiday table a cycle keeps (issue 7 §2): `tracker init` stores the `holidays`
package's answers for Y-2 … Y+2 in `cycle.holiday_json`, so `show`, `status` and
`calendar` never import the package (≈0.1 s: ~300 country modules), and every answer is the
package's, day for day. A cycle without a table (loaded before migration 0007) or with an
unreadable one asks the package, as before."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import holidays
import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, select

from tests.test_cli import REPO
from tracker.calendar.types import TZ
from tracker.calendar.workdays import HolidayTable, WorkCalendar, shared_calendar
from tracker.config import load_config
from tracker.config.schema import Holidays
from tracker.db import migrate
from tracker.db.engine import make_engine, session_scope
from tracker.db.models import CycleRow
from tracker.paths import config_dir
from tracker.service import cycles

CFG = load_config(config_dir() / "cum-vung-cao-2022.toml")
FIRST, LAST = date(2021, 1, 1), date(2024, 12, 31)
# Config settings on top of the package's: a configured day off and a make-up Saturday.
SETTINGS = [
    Holidays(),
    Holidays(extra_days_off=[date(2022, 9, 5)], make_up_working_days=[date(2023, 1, 14)]),
]


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


@pytest.fixture(scope="module")
def oracle_answers() -> dict[int, dict[date, tuple[str, str] | None]]:
    """Each day's answer as the calendar gave it before tables were kept, computed here
    straight from the package (one multi-year call per language, as `_load` made)."""
    vi = holidays.country_holidays("VN", years=range(2019, 2027), language="vi")
    en = holidays.country_holidays("VN", years=range(2019, 2027), language="en_US")
    made_up = set(getattr(vi, "weekend_workdays", ()))
    out: dict[int, dict[date, tuple[str, str] | None]] = {}
    for i, cfg in enumerate(SETTINGS):
        answers: dict[date, tuple[str, str] | None] = {}
        for d in _days(FIRST, LAST):
            if d in vi:
                answers[d] = ("; ".join(vi.get_list(d)), "; ".join(en.get_list(d)))
            elif d in cfg.extra_days_off:
                answers[d] = ("Ngày nghỉ theo cấu hình", "Configured day off")
            elif d in cfg.make_up_working_days or d in made_up:
                answers[d] = None
            else:
                answers[d] = {5: ("Thứ bảy", "Saturday"), 6: ("Chủ nhật", "Sunday")}.get(
                    d.weekday()
                )
        out[i] = answers
    return out


# -- the table gives the package's answers ------------------------------------------------


@pytest.mark.parametrize("i", range(len(SETTINGS)))
def test_a_stored_table_answers_every_day_of_2021_2024_as_the_package(
    i: int, oracle_answers: dict[int, dict[date, tuple[str, str] | None]]
) -> None:
    cfg = SETTINGS[i]
    # The tables `tracker init` stores for the 2022 and 2023 cycles, through their JSON.
    stored = [
        HolidayTable.from_json(HolidayTable.from_package("VN", cycles.holiday_years(y)).to_json())
        for y in (2022, 2023)
    ]
    assert all(t is not None for t in stored)
    from_package = WorkCalendar(cfg)
    for d in _days(FIRST, LAST):
        want = oracle_answers[i][d]
        # The 2022 table holds 2020-2024; a day of 2024 also reads 2025: the package's.
        for table in stored:
            cal = WorkCalendar(cfg, table)
            assert cal.day_off_reason(d) == want, (d, table and sorted(table.years))
            assert cal.is_working_day(d) == (want is None), d
        assert from_package.day_off_reason(d) == want, d
    # The ground the comparison covers: Tết, a make-up Saturday, the config's own days.
    tet = oracle_answers[i][date(2023, 1, 22)]
    assert tet == ("Tết Nguyên Đán", "Lunar New Year")
    assert oracle_answers[i][date(2024, 5, 4)] is None  # Sat 4/5/2024, made up (package)
    assert sum(1 for v in oracle_answers[i].values() if v and "Tết" in v[0]) >= 20


def test_a_calendar_with_a_table_reads_only_its_years_from_it() -> None:
    table = HolidayTable.from_package("VN", cycles.holiday_years(2022))
    assert sorted(table.years) == [2020, 2021, 2022, 2023, 2024]
    # 2014 and 2015 are not in the table: those days ask the package, and are still right.
    cal = WorkCalendar(Holidays(), table)
    assert cal.is_working_day(date(2014, 12, 27))  # make-up Saturday for 2/1/2015
    assert not cal.is_working_day(date(2015, 1, 2))


def test_working_day_arithmetic_over_tet_is_the_same_with_the_table() -> None:
    table = HolidayTable.from_package("VN", cycles.holiday_years(2022))
    a, b = WorkCalendar(CFG.holidays, table), WorkCalendar(CFG.holidays)
    for d in _days(date(2023, 1, 10), date(2023, 2, 10)):
        assert a.next_working_day(d) == b.next_working_day(d)
        assert a.previous_working_day(d) == b.previous_working_day(d)
        assert a.add_working_days(d, 5) == b.add_working_days(d, 5)
        assert a.apply_policy(d, "next_working_day") == b.apply_policy(d, "next_working_day")


@pytest.mark.parametrize(
    "text",
    [None, "", "not json", '{"format": 99, "country": "VN", "years": {}}', '{"format": 1}', "[]"],
)
def test_no_table_or_an_unreadable_one_means_ask_the_package(text: str | None) -> None:
    assert HolidayTable.from_json(text) is None
    cal = shared_calendar(Holidays(), text)
    assert cal.day_off_reason(date(2023, 1, 22)) == ("Tết Nguyên Đán", "Lunar New Year")


def test_shared_calendars_are_keyed_by_the_table_too() -> None:
    stored = HolidayTable.from_package("VN", cycles.holiday_years(2022)).to_json()
    with_table = shared_calendar(Holidays(), stored)
    assert shared_calendar(Holidays(), stored) is with_table
    assert shared_calendar(Holidays(), None) is not with_table


# -- init stores it; a cycle without one still works ------------------------------------


def _init(engine: Engine, year: int = 2022) -> None:
    with session_scope(engine) as s:
        cycles.init_cycle(
            s,
            CFG,
            config_path="config/test.toml",
            year=year,
            now=datetime(2022, 3, 1, 9, tzinfo=TZ),
            operator="truong-cum",
            os_user="thu-ky",
        )


def _row(session: Session, year: int = 2022) -> CycleRow:
    row = session.exec(select(CycleRow).where(CycleRow.year == year)).one()
    return row


def test_init_stores_the_table_and_the_cycle_plans_from_it(engine: Engine) -> None:
    _init(engine)
    with Session(engine) as s:
        row = _row(s)
        doc = json.loads(row.holiday_json or "")
        assert doc["country"] == "VN" and doc["source"].startswith("holidays ")
        assert sorted(doc["years"]) == ["2020", "2021", "2022", "2023", "2024"]
        assert doc["years"]["2023"]["off"]["2023-01-22"] == ["Tết Nguyên Đán", "Lunar New Year"]
        ctx = cycles.load_context(s, row)
        with_table = ctx.plan().all()
        row.holiday_json = None  # as a cycle loaded before migration 0007
        old = cycles.load_context(s, row)
        assert old.calendar is not ctx.calendar
        assert old.plan().all() == with_table


def test_a_reload_refreshes_the_table(engine: Engine) -> None:
    _init(engine)
    with session_scope(engine) as s:
        _row(s).holiday_json = None
    _init(engine)
    with Session(engine) as s:
        assert HolidayTable.from_json(_row(s).holiday_json) is not None


def test_a_cycle_loaded_before_0007_is_upgraded_without_a_table(db_url: str) -> None:
    eng = make_engine(db_url)
    try:
        migrate.upgrade(eng, "0006")
        with eng.begin() as conn:
            conn.execute(
                text("INSERT INTO cluster (id, name, timezone) VALUES ('cum-vung-cao', 'C', :tz)"),
                {"tz": "Asia/Ho_Chi_Minh"},
            )
            conn.execute(
                text(
                    "INSERT INTO cycle (cluster_id, year, leader_id, config_version,"
                    " config_path, config_hash, config_json, loaded_at) VALUES"
                    " ('cum-vung-cao', 2022, 'tua-chua', '1', 'x.toml', :h, :j, :at)"
                ),
                {
                    "h": "0" * 64,
                    "j": cycles.config_snapshot(CFG),
                    "at": datetime(2022, 3, 1, 2),
                },
            )
        migrate.upgrade(eng)
        with Session(eng) as s:
            row = _row(s)
            assert row.holiday_json is None
            ctx = cycles.load_context(s, row)
            assert ctx.calendar.day_off_reason(date(2023, 1, 22)) == (
                "Tết Nguyên Đán",
                "Lunar New Year",
            )
    finally:
        eng.dispose()


# -- the read-only commands, as real processes --------------------------------------------


def _tracker(db: str, *args: str) -> tuple[str, set[str]]:
    """Run `tracker` under -X importtime: its output and the modules it imported."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "tracker", "--db", db, *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    imported = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if "|" in line}
    return proc.stdout, imported


READ_ONLY = [
    ["show", "dien-bien-dong", "half_year_report", "--cycle", "2022"],
    # The conference's window (Q1 2023) holds Tết; a member's page lists every milestone.
    ["show", "tua-chua", "summary_conference", "--cycle", "2022"],
    ["show", "dien-bien-dong", "--cycle", "2022"],
    ["status", "--cycle", "2022", "--at", "2022-12-26"],
    ["calendar", "--cycle", "2022"],
]


def test_read_only_commands_do_not_import_holidays_and_say_the_same(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    db = f"sqlite:///{path}"
    _tracker(db, "init", "--cycle", "2022")
    with_table = {}
    for args in READ_ONLY:
        out, imported = _tracker(db, *args)
        assert not {m for m in imported if m.split(".")[0] == "holidays"}, args
        with_table[tuple(args)] = out
    # The same database as a cycle loaded before the table was kept: same answers, from
    # the package (imported again).
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE cycle SET holiday_json = NULL")
    conn.close()
    for args in READ_ONLY:
        out, imported = _tracker(db, *args)
        assert out == with_table[tuple(args)], args
        if args == READ_ONLY[0]:
            assert "holidays" in imported  # `show` consults the calendar (the policies)
