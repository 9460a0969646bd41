"""Sending paused (authentication or TLS problem): every message would fail the same way,
so letters stay planned and a person is told (`tracker status`, the leader's digest). At
most one row, id 1; it stays until a send succeeds again or an operator clears it."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from tracker.db.models import OutboxPause
from tracker.delivery.states import PAUSE_RETRY, aware


def pause_info(session: Session) -> OutboxPause | None:
    return session.get(OutboxPause, 1)


def current_pause(session: Session, lang: str = "vi") -> str | None:
    """Why sending is paused, in `lang`, or None when it is not."""
    pause = pause_info(session)
    if pause is None:
        return None
    return pause.reason_en if lang == "en" else pause.reason_vi


def set_pause(
    session: Session,
    *,
    now: datetime,
    reason_vi: str,
    reason_en: str,
    reply: str = "",
    retry_after: timedelta = PAUSE_RETRY,
) -> OutboxPause:
    """Record (or refresh) the pause; keeps the time it first started."""
    aware(now)
    pause = session.get(OutboxPause, 1)
    if pause is None:
        pause = OutboxPause(
            id=1,
            since=now,
            retry_at=now + retry_after,
            reason_vi=reason_vi,
            reason_en=reason_en,
            reply=reply,
        )
    else:
        pause.retry_at = now + retry_after
        pause.reason_vi, pause.reason_en, pause.reply = reason_vi, reason_en, reply
    session.add(pause)
    session.flush()
    return pause


def clear_pause(session: Session) -> bool:
    """Resume sending (the operator fixed the problem, or a send went through). True if
    sending was paused."""
    pause = session.get(OutboxPause, 1)
    if pause is None:
        return False
    session.delete(pause)
    session.flush()
    return True
