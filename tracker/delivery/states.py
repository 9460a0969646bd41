"""The words of delivery: states, why a row was cancelled, how long to wait."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

PLANNED: Final = "planned"
SENDING: Final = "sending"
SENT: Final = "sent"
FAILED: Final = "failed"
CANCELLED: Final = "cancelled"
STATES: Final = (PLANNED, SENDING, SENT, FAILED, CANCELLED)

# Why an item or letter was cancelled (kept in last_error). Only UNPLANNED items come back
# when the plan wants their key again (a returned report is owed again); a superseded
# reminder stays superseded, or the catch-up rule would be undone on the next re-plan.
UNPLANNED: Final = "no longer planned"
SUPERSEDED: Final = "superseded by catch-up"
# A leader digest with nothing in it (a cycle not yet under way while the previous one
# holds its conference): not sent, and not brought back that day.
NOTHING_TO_REPORT: Final = "nothing to report"
# A letter whose items all left it (settled, moved to another day, superseded).
EMPTY: Final = "no items left"

# Transient failures (4xx, disconnects, timeouts) wait 1, 2, 4 … minutes, at most an hour;
# after MAX_ATTEMPTS the letter fails and waits for `tracker outbox retry`. 20 attempts
# span about 15 hours: a mail server down overnight is survived, one down for days is
# reported.
BACKOFF_BASE: Final = timedelta(minutes=1)
BACKOFF_CAP: Final = timedelta(hours=1)
MAX_ATTEMPTS: Final = 20
# A paused sender tries one batch again after this long: a certificate renewed or a login
# fixed on the server side resumes sending without a restart.
PAUSE_RETRY: Final = timedelta(minutes=15)


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt: 1 min × 2^(attempts−1), ≤ 1 h."""
    if attempts <= 1:
        return BACKOFF_BASE
    wait: timedelta = BACKOFF_BASE * (2 ** min(attempts - 1, 20))
    return min(wait, BACKOFF_CAP)


def aware(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now
