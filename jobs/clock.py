"""The one clock of every command: the CLI (tracker/cli/) and jobs/ read the time here only.

The core never reads the clock (it takes `now`); the shells do, through `now()`.

Replay clock: `TRACKER_NOW` (the older name `TRACKER_FAKE_NOW` still works; `TRACKER_NOW`
wins when both are set) holds an ISO date-time such as `2022-06-16T08:00:00+07:00`, or
`2022-06-16T08:00` (naive means Vietnam time, Asia/Ho_Chi_Minh), or a bare date
`2022-06-16` (08:00 Vietnam time, the office hour). The clock then starts at that instant
when the process starts and runs on at real speed, so every command — status, show,
schedule, complete, …, remind, run, simulate — sees the same replayed day, a trainer can
replay a whole cycle from the CLI, and the daemon's leases still expire (a frozen clock
would never let a dead worker's lease run out).

What happened when is still told honestly: `real_now()` is the wall clock, which the audit
trail records beside the replayed time (`audit.recorded_at`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from datetime import time as clock_time

from tracker.calendar.types import TZ
from tracker.errors import BadInputError

NOW_ENV = "TRACKER_NOW"
FAKE_NOW_ENV = "TRACKER_FAKE_NOW"  # the first name, kept so existing scripts still work

# Fixed at import, i.e. at process start-up for the daemon and the CLI.
_STARTED = time.monotonic()


def _setting(env: Mapping[str, str]) -> tuple[str, str] | None:
    """(variable name, value) of the replay clock in use, or None."""
    for name in (NOW_ENV, FAKE_NOW_ENV):
        text = env.get(name, "").strip()
        if text:
            return name, text
    return None


def fake_start(environ: Mapping[str, str] | None = None) -> datetime | None:
    """The replayed start instant, or None when no replay clock is set.

    A value that is not an ISO date or date-time raises BadInputError (exit 2)."""
    found = _setting(os.environ if environ is None else environ)
    if found is None:
        return None
    name, text = found
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise BadInputError(
            f"{name}='{text}' không phải thời điểm ISO: viết 2022-06-16T08:00:00+07:00,"
            " 2022-06-16T08:00 (giờ Việt Nam) hoặc 2022-06-16 (08:00); bỏ biến này để dùng"
            " đồng hồ thật.",
            f"{name}='{text}' is not an ISO date-time: write 2022-06-16T08:00:00+07:00,"
            " 2022-06-16T08:00 (Vietnam time) or 2022-06-16 (08:00); unset it to use the real"
            " clock.",
        ) from None
    if "T" not in text and " " not in text:
        value = datetime.combine(value.date(), clock_time(8))  # a bare date: the office hour
    return value if value.tzinfo else value.replace(tzinfo=TZ)


def variable(environ: Mapping[str, str] | None = None) -> str | None:
    """The name of the replay-clock variable in use (for banners), or None."""
    found = _setting(os.environ if environ is None else environ)
    return found[0] if found else None


def check(environ: Mapping[str, str] | None = None) -> None:
    """Refuse a garbage replay clock up front, before a command does anything."""
    fake_start(environ)


def replaying(environ: Mapping[str, str] | None = None) -> bool:
    return fake_start(environ) is not None


def now(environ: Mapping[str, str] | None = None) -> datetime:
    """Aware local time (Asia/Ho_Chi_Minh): the real clock, or the replayed one when set."""
    start = fake_start(environ)
    if start is None:
        return datetime.now(TZ)
    return (start + timedelta(seconds=time.monotonic() - _STARTED)).astimezone(TZ)


def real_now() -> datetime:
    """The wall clock, whatever the replay clock says (the audit's `recorded_at`)."""
    return datetime.now(TZ)
