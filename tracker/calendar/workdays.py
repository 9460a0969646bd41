"""Which days are working days for the cluster's offices (district People's Committees).

Vietnamese public holidays come from the `holidays` package; Saturday and Sunday are days
off except the Saturdays the government turns into working days to make up a bridge
holiday. The config can add days off and make-up Saturdays the package does not know yet.

Deadlines "chậm nhất ngày D" (Điều 7.1, 7.2) may fall on a day off; Civil Code 2015
Art. 148(5) then ends the time limit at the end of the next working day. Whether a rule
follows that is the config's choice (`policy`), applied by `apply_policy`.

Pure: no clock, no I/O. Lookups are cached per year, because the planner asks about the
same days many times over a cycle; `shared_calendar` keeps one WorkCalendar per holiday
settings for the whole process, so the daemon's and `tracker simulate`'s ticks do not build
the holiday tables again each time.

A `HolidayTable` is the package's answers for a few years, kept with a cycle when it is
loaded (`tracker init`, issue 7 §2): importing `holidays` costs ~0.1 s (its country registry
pulls in ~300 modules), more than the rest of `tracker show`. A calendar given a table
answers from it for the years it holds and imports the package only for other years.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from datetime import date, timedelta

from tracker.calendar.types import Policy, SkippedDay
from tracker.config.schema import Holidays

_SATURDAY = ("Thứ bảy", "Saturday")
_SUNDAY = ("Chủ nhật", "Sunday")
_CONFIGURED = ("Ngày nghỉ theo cấu hình", "Configured day off")

# No run of days off in Vietnam comes near this (Tết is at most ~9 days with weekends); a
# longer search means a config listing absurd `extra_days_off`, so fail instead of looping.
_MAX_SEARCH = 366

_ONE_DAY = timedelta(days=1)


# The stored form's version: a table in another format (written by a newer tracker, or
# damaged) is not read; the calendar asks the package instead, as for an old cycle.
_TABLE_FORMAT = 1


class HolidayTable:
    """What the `holidays` package says for some years of one country: per year, the
    public holidays' (vi, en) names and the make-up working days the package lists.

    Kept per year *as loaded*: loading year Y may list a make-up Saturday in Y-1 (27/12/2014
    made up for 2/1/2015), and a calendar built from the table marks exactly the years it
    holds as loaded, so its answers are the package's, day for day."""

    def __init__(
        self,
        country: str,
        years: Mapping[int, tuple[Mapping[date, tuple[str, str]], Iterable[date]]],
        source: str = "",
    ) -> None:
        self.country = country
        self.years = {y: (dict(names), frozenset(make_up)) for y, (names, make_up) in years.items()}
        self.source = source  # the package and version that computed it, for a reader

    @classmethod
    def from_package(cls, country: str, years: Iterable[int]) -> HolidayTable:
        """Ask the package (imported here) about `years`, one year at a time."""
        from holidays.version import __version__

        wanted = sorted(y for y in set(years) if 1 <= y <= 9999)
        out = {y: _package_year(country, y) for y in wanted}
        return cls(country, out, f"holidays {__version__}")

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": _TABLE_FORMAT,
                "country": self.country,
                "source": self.source,
                "years": {
                    str(y): {
                        "off": {d.isoformat(): list(n) for d, n in sorted(names.items())},
                        "make_up": sorted(d.isoformat() for d in make_up),
                    }
                    for y, (names, make_up) in sorted(self.years.items())
                },
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str | None) -> HolidayTable | None:
        """The table stored as `text`; None when there is none (a cycle loaded before
        tables were kept) or it cannot be read: the calendar then asks the package."""
        if not text:
            return None
        try:
            doc = json.loads(text)
            if doc.get("format") != _TABLE_FORMAT:
                return None
            years = {
                int(y): (
                    {date.fromisoformat(d): (str(n[0]), str(n[1])) for d, n in v["off"].items()},
                    [date.fromisoformat(d) for d in v["make_up"]],
                )
                for y, v in doc["years"].items()
            }
            return cls(str(doc["country"]), years, str(doc.get("source", "")))
        except (ValueError, TypeError, KeyError, IndexError, AttributeError):
            return None


def _package_year(country: str, year: int) -> tuple[dict[date, tuple[str, str]], frozenset[date]]:
    """One year from the package: the holidays' (vi, en) names and its make-up days. The
    one place that reads the package, for the table and for a calendar without one."""
    # Imported on first use: `holidays` costs ~0.1 s at start-up, and a command whose
    # cycle keeps a table, or whose rules never consult working days, should not pay it.
    import holidays

    vi = holidays.country_holidays(country, years=year, language="vi")
    en = holidays.country_holidays(country, years=year, language="en_US")
    names = {d: ("; ".join(vi.get_list(d)), "; ".join(en.get_list(d))) for d in vi}
    return names, frozenset(getattr(vi, "weekend_workdays", ()))


class WorkCalendar:
    """Working days of a cluster, from its config's `[holidays]` section; the public
    holidays from `table` for the years it holds, else from the `holidays` package."""

    def __init__(self, cfg: Holidays, table: HolidayTable | None = None) -> None:
        self._country = cfg.country
        # A table for another country (cannot happen with a cycle's own) is not used.
        self._table = table.years if table is not None and table.country == cfg.country else {}
        self._extra_off = frozenset(cfg.extra_days_off)
        self._make_up_cfg = frozenset(cfg.make_up_working_days)
        self._loaded: set[int] = set()
        self._holiday_names: dict[date, tuple[str, str]] = {}
        self._make_up_pkg: set[date] = set()
        self._reason_cache: dict[date, tuple[str, str] | None] = {}
        # One instance may be shared between the daemon's threads (shared_calendar): a year
        # is loaded once, and `_loaded` is only marked once its data is in place.
        self._load_lock = threading.Lock()

    # -- holiday data ------------------------------------------------------------------

    def _load(self, year: int) -> None:
        # A make-up Saturday can belong to the next year's holiday (27/12/2014 made up for
        # 2/1/2015), so a year's answer needs the following year's data too.
        if year in self._loaded and year - 1 in self._loaded and year + 1 in self._loaded:
            return
        with self._load_lock:
            wanted = [
                y for y in (year - 1, year, year + 1) if 1 <= y <= 9999 and y not in self._loaded
            ]
            if not wanted:
                return
            for y in wanted:
                stored = self._table.get(y)
                names, make_up = stored if stored is not None else _package_year(self._country, y)
                self._holiday_names.update(names)
                self._make_up_pkg.update(make_up)
                self._loaded.add(y)

    def holiday_name(self, d: date) -> tuple[str, str] | None:
        """The public holiday's (vi, en) name on `d`, or None."""
        self._load(d.year)
        return self._holiday_names.get(d)

    # -- the interface -----------------------------------------------------------------

    def day_off_reason(self, d: date) -> tuple[str, str] | None:
        """(vi, en) reason `d` is a day off, e.g. ("Chủ nhật", "Sunday"); None = working day."""
        try:
            return self._reason_cache[d]
        except KeyError:
            pass
        reason = self._reason(d)
        self._reason_cache[d] = reason
        return reason

    def _reason(self, d: date) -> tuple[str, str] | None:
        name = self.holiday_name(d)
        if name is not None:
            return name
        if d in self._extra_off:
            return _CONFIGURED
        if d in self._make_up_cfg or d in self._make_up_pkg:
            return None
        wd = d.weekday()
        if wd == 5:
            return _SATURDAY
        if wd == 6:
            return _SUNDAY
        return None

    def is_working_day(self, d: date) -> bool:
        # The planner asks this about a million times over a simulated cycle: the cached
        # answer without a second call.
        try:
            return self._reason_cache[d] is None
        except KeyError:
            return self.day_off_reason(d) is None

    def next_working_day(self, d: date) -> date:
        """`d` itself when it is a working day, else the first working day after it."""
        return self._scan(d, _ONE_DAY)

    def previous_working_day(self, d: date) -> date:
        """`d` itself when it is a working day, else the last working day before it."""
        return self._scan(d, -_ONE_DAY)

    def _scan(self, d: date, step: timedelta) -> date:
        cur = d
        for _ in range(_MAX_SEARCH):
            if self.is_working_day(cur):
                return cur
            cur += step
        raise ValueError(f"no working day within {_MAX_SEARCH} days of {d.isoformat()}")

    def add_working_days(self, d: date, n: int) -> date:
        """n > 0: the n-th working day after `d`; n < 0: the |n|-th before; n == 0: `d`.

        `d` itself never counts, whether or not it is a working day.
        """
        step = _ONE_DAY if n > 0 else -_ONE_DAY
        cur = d
        left = abs(n)
        while left:
            cur += step
            if self.is_working_day(cur):
                left -= 1
        return cur

    def working_days_between(self, a: date, b: date) -> int:
        """The number of working days in (a, b]; 0 when b <= a."""
        count = 0
        cur = a + _ONE_DAY if b > a else b + _ONE_DAY
        while cur <= b:
            if self.is_working_day(cur):
                count += 1
            cur += _ONE_DAY
        return count

    def apply_policy(self, d: date, policy: Policy) -> tuple[date, tuple[SkippedDay, ...]]:
        """The deadline after the working-day policy, and the days it moved past.

        `next_working_day` follows Civil Code 2015 Art. 148(5): a time limit whose last day
        is a weekend or public holiday ends at the end of the next working day. Skipped days
        are listed in calendar order, `d` included.
        """
        if policy == "as_written":
            return d, ()
        if policy == "next_working_day":
            target = self.next_working_day(d)
            days = _days(d, target - _ONE_DAY)
        elif policy == "previous_working_day":
            target = self.previous_working_day(d)
            days = _days(target + _ONE_DAY, d)
        else:
            raise ValueError(f"unknown working-day policy '{policy}'")
        skipped = []
        for day in days:
            reason = self.day_off_reason(day)
            assert reason is not None  # only days off lie between d and the working day
            skipped.append(SkippedDay(day, reason[0], reason[1]))
        return target, tuple(skipped)


# A process sees one or two clusters' settings (a cycle and the next); a few more is slack.
_SHARED_MAX = 8
_SharedKey = tuple[str, frozenset[date], frozenset[date], str | None]
_shared: OrderedDict[_SharedKey, WorkCalendar] = OrderedDict()
_shared_lock = threading.Lock()


def shared_calendar(cfg: Holidays, table_json: str | None = None) -> WorkCalendar:
    """The process's WorkCalendar for these holiday settings (and stored holiday table,
    `HolidayTable.to_json`, if any), built on first use.

    A WorkCalendar only caches answers that follow from its settings (country, extra days
    off, make-up days; not `default_policy`, which it does not read) and its table, so one
    instance serves every config with the same settings and table, from any thread. The
    table's text is the key: it is parsed only when the calendar is built."""
    key = (
        cfg.country,
        frozenset(cfg.extra_days_off),
        frozenset(cfg.make_up_working_days),
        table_json or None,
    )
    with _shared_lock:
        cal = _shared.get(key)
        if cal is None:
            cal = _shared[key] = WorkCalendar(cfg, HolidayTable.from_json(table_json))
            if len(_shared) > _SHARED_MAX:
                _shared.popitem(last=False)
        else:
            _shared.move_to_end(key)
        return cal


def _days(first: date, last: date) -> list[date]:
    out = []
    cur = first
    while cur <= last:
        out.append(cur)
        cur += _ONE_DAY
    return out
