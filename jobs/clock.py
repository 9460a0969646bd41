"""The one clock of the daemon and of `tracker remind`.

The core never reads the clock (it takes `now`); jobs/ and the CLI do, here.

`TRACKER_FAKE_NOW` (tests only, never in production): an ISO date-time such as
`2022-06-16T08:00:00+07:00` (naive means Vietnam time). The clock then starts at that instant
when the process starts and runs at real speed from there, so leases still expire and a
test can start a real `tracker run` subprocess "on" a day of the 2022 cycle. A frozen clock
would never let a dead worker's lease run out.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from datetime import datetime, timedelta

from tracker.calendar.types import TZ
from tracker.errors import BadInputError

FAKE_NOW_ENV = "TRACKER_FAKE_NOW"

# Fixed at import, i.e. at process start-up for the daemon and the CLI.
_STARTED = time.monotonic()


def fake_start(environ: Mapping[str, str] | None = None) -> datetime | None:
    """The pinned start instant from `TRACKER_FAKE_NOW`, or None when unset."""
    env = os.environ if environ is None else environ
    text = env.get(FAKE_NOW_ENV, "").strip()
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise BadInputError(
            f"{FAKE_NOW_ENV}='{text}' không phải thời điểm ISO (ví dụ 2022-06-16T08:00:00+07:00)."
            f" Biến này chỉ dùng khi kiểm thử: bỏ nó đi để dùng đồng hồ thật.",
            f"{FAKE_NOW_ENV}='{text}' is not an ISO date-time (e.g. 2022-06-16T08:00:00+07:00)."
            f" It is for tests only: unset it to use the real clock.",
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=TZ)


def now(environ: Mapping[str, str] | None = None) -> datetime:
    """Aware local time (Asia/Ho_Chi_Minh): the real clock, or the fake one when pinned."""
    start = fake_start(environ)
    if start is None:
        return datetime.now(TZ)
    return (start + timedelta(seconds=time.monotonic() - _STARTED)).astimezone(TZ)
