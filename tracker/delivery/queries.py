"""What the shells read about delivery: letters, their items, counts, what needs fixing,
and the one write an operator makes (`tracker outbox retry`). Letters are listed newest
first and a page at a time, so a national outbox is never loaded whole."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from tracker.db.engine import session_scope
from tracker.db.models import CycleRow, LetterRow, OutboxPause, OutboxRow, PlanState
from tracker.delivery.claim import claimable
from tracker.delivery.offices import open_cycles
from tracker.delivery.states import CANCELLED, FAILED, PLANNED, STATES, aware
from tracker.errors import BadInputError, NotFoundError

_ITEMS = OutboxRow.__table__  # type: ignore[attr-defined]
_LETTERS = LetterRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class LetterLine:
    """One letter as `tracker outbox` lists it."""

    id: int
    cluster_id: str
    year: int
    recipient_email: str
    recipient_name: str
    hat: str
    kinds: str  # the items' kinds, e.g. "lead, overdue"
    items: int
    send_at: datetime
    state: str
    attempts: int
    last_error: str
    message_id: str | None
    subject: str
    sent_at: datetime | None


def check_state(state: str | None) -> None:
    if state is not None and state not in STATES:
        raise BadInputError(
            f"--state '{state}' không hợp lệ: chọn một trong {', '.join(STATES)}.",
            f"--state '{state}' is invalid: choose one of {', '.join(STATES)}.",
        )


def list_letters(
    session: Session,
    *,
    state: str | None = None,
    cluster_id: str | None = None,
    limit: int | None = 50,
    include_cancelled: bool = False,
) -> list[LetterLine]:
    """Letters newest first (send time, then id), at most `limit`; cancelled ones only
    when asked (`state="cancelled"` or `include_cancelled`)."""
    check_state(state)
    q = sa_select(
        _LETTERS.c.id,
        col(CycleRow.cluster_id),
        col(CycleRow.year),
        _LETTERS.c.recipient_email,
        _LETTERS.c.recipient_name,
        _LETTERS.c.hat,
        _LETTERS.c.send_at,
        _LETTERS.c.state,
        _LETTERS.c.attempts,
        _LETTERS.c.last_error,
        _LETTERS.c.message_id,
        _LETTERS.c.subject,
        _LETTERS.c.sent_at,
        _LETTERS.c["items"],
    ).join(CycleRow, col(CycleRow.id) == _LETTERS.c.cycle_id)
    if state is not None:
        q = q.where(_LETTERS.c.state == state)
    elif not include_cancelled:
        q = q.where(_LETTERS.c.state != CANCELLED)
    if cluster_id is not None:
        q = q.where(col(CycleRow.cluster_id) == cluster_id)
    q = q.order_by(_LETTERS.c.send_at.desc(), _LETTERS.c.id.desc())
    if limit is not None:
        q = q.limit(limit)
    conn = session.connection()
    rows = conn.execute(q).all()
    ids = [r.id for r in rows]
    kinds: dict[int, list[str]] = {i: [] for i in ids}
    counts: dict[int, int] = dict.fromkeys(ids, 0)
    if ids:
        for lid, kind, n in conn.execute(
            sa_select(_ITEMS.c.letter_id, _ITEMS.c.kind, func.count())
            .where(_ITEMS.c.letter_id.in_(ids), _ITEMS.c.state != CANCELLED)
            .group_by(_ITEMS.c.letter_id, _ITEMS.c.kind)
        ):
            kinds[lid].append(kind)
            counts[lid] += int(n)
    return [
        LetterLine(
            id=r.id,
            cluster_id=r.cluster_id,
            year=r.year,
            recipient_email=r.recipient_email,
            recipient_name=r.recipient_name,
            hat=r.hat,
            kinds=", ".join(sorted(kinds[r.id])),
            # A sent letter says how many items it carried; an open one, how many it holds.
            items=r.items if r.state == "sent" else counts[r.id],
            send_at=r.send_at,
            state=r.state,
            attempts=r.attempts,
            last_error=r.last_error,
            message_id=r.message_id,
            subject=r.subject,
            sent_at=r.sent_at,
        )
        for r in rows
    ]


def letter(session: Session, letter_id: int) -> LetterRow:
    # An id no database column can hold (1180591620717411303424) is simply not there,
    # rather than an OverflowError from the driver.
    row = session.get(LetterRow, letter_id) if 0 < letter_id < 2**63 else None
    if row is None:
        raise NotFoundError(
            f"Không có thư số {letter_id} trong hàng đợi. Xem danh sách bằng 'tracker outbox'.",
            f"No letter {letter_id} in the outbox. List them with 'tracker outbox'.",
        )
    return row


def items_of(session: Session, letter_id: int) -> list[OutboxRow]:
    """A letter's items, every state, in send order (`tracker outbox show`)."""
    return list(
        session.exec(
            select(OutboxRow)
            .where(col(OutboxRow.letter_id) == letter_id)
            .order_by(col(OutboxRow.send_at), col(OutboxRow.id))
        ).all()
    )


def due_letters(session: Session, now: datetime) -> list[LetterRow]:
    """Every letter a sender could claim now (`tracker remind --dry-run`): all of them,
    not one batch."""
    aware(now)
    cycles = sorted(
        set(
            session.connection()
            .execute(sa_select(_LETTERS.c.cycle_id).where(claimable(now)))
            .scalars()
        )
    )
    open_now = open_cycles(session, now, cycles) if cycles else []
    if not open_now:
        return []
    return list(
        session.exec(
            select(LetterRow)
            .where(claimable(now), col(LetterRow.cycle_id).in_(open_now))
            .order_by(col(LetterRow.send_at), col(LetterRow.id))
        ).all()
    )


def state_counts(session: Session) -> dict[str, int]:
    """How many letters are in each state (every state present, 0 when none)."""
    counts = dict.fromkeys(STATES, 0)
    for state, n in session.connection().execute(
        sa_select(_LETTERS.c.state, func.count()).group_by(_LETTERS.c.state)
    ):
        counts[state] = int(n)
    return counts


def failed_letters(session: Session, cycle_ids: list[int] | None = None) -> int:
    """E-mails that failed for good (not rows): what `status` and the digest count."""
    q = sa_select(func.count()).select_from(_LETTERS).where(_LETTERS.c.state == FAILED)
    if cycle_ids is not None:
        q = q.where(_LETTERS.c.cycle_id.in_(cycle_ids))
    return int(session.connection().execute(q).scalar() or 0)


def plan_problems(session: Session, cycle_id: int) -> list[tuple[str, str]]:
    """The items the cycle's last plan could not plan, as (Vietnamese, English)."""
    text = (
        session.connection()
        .execute(sa_select(col(PlanState.problems)).where(col(PlanState.cycle_id) == cycle_id))
        .scalar()
    )
    return [(p["error_vi"], p["error_en"]) for p in json.loads(text or "[]")]


def delivery_problems(session: Session, cycle_id: int | None = None) -> list[tuple[str, str]]:
    """What must be fixed for reminders to go out, as (Vietnamese, English), each with the
    command that shows more: a paused sender, failed e-mails, items that could not be
    planned. The one home of these words: `tracker status` and the leader's digest."""
    out: list[tuple[str, str]] = []
    pause = session.get(OutboxPause, 1)
    if pause is not None:
        out.append(
            (
                f"Việc gửi thư nhắc đang TẠM DỪNG: {pause.reason_vi}. Khắc phục rồi xem"
                " 'tracker outbox'.",
                f"Sending reminders is PAUSED: {pause.reason_en}. Fix it, then see"
                " 'tracker outbox'.",
            )
        )
    failed = failed_letters(session)
    if failed:
        out.append(
            (
                f"Có {failed} thư nhắc việc không gửi được (máy chủ thư từ chối): xem"
                " 'tracker outbox --state failed', sửa địa chỉ trong tệp cấu hình rồi chạy"
                " 'tracker outbox retry <mã>'.",
                f"{failed} reminder e-mail(s) could not be delivered (the mail server refused"
                " them): see 'tracker outbox --state failed', fix the address in the config"
                " file, then run 'tracker outbox retry <ID>'.",
            )
        )
    if cycle_id is not None:
        out += plan_problems(session, cycle_id)
    return out


def retry(engine: Engine, letter_id: int, now: datetime) -> LetterRow:
    """`tracker outbox retry ID`: a failed letter goes back to planned, attempts reset, its
    failed items with it, to be sent at the next tick (same key, same Message-ID)."""
    aware(now)
    with session_scope(engine) as s:
        row = letter(s, letter_id)
        if row.state != FAILED:
            raise BadInputError(
                f"Thư số {letter_id} đang ở trạng thái '{row.state}', không phải 'failed':"
                " chỉ gửi lại được thư đã thất bại. Xem 'tracker outbox --state failed'.",
                f"Letter {letter_id} is '{row.state}', not 'failed': only failed letters can"
                " be retried. See 'tracker outbox --state failed'.",
            )
        conn = s.connection()
        result = conn.execute(
            update(_LETTERS)
            .where(_LETTERS.c.id == letter_id, _LETTERS.c.state == FAILED)
            .values(
                state=PLANNED,
                attempts=0,
                next_attempt_at=None,
                lease_until=None,
                claimed_by=None,
                updated_at=now,
            )
        )
        if int(result.rowcount) != 1:  # pragma: no cover - changed between read and write
            raise BadInputError(
                f"Thư số {letter_id} vừa thay đổi trạng thái; chạy lại lệnh.",
                f"Letter {letter_id} changed state just now; run the command again.",
            )
        conn.execute(
            update(_ITEMS)
            .where(_ITEMS.c.letter_id == letter_id, _ITEMS.c.state == FAILED)
            .values(state=PLANNED, next_attempt_at=None, updated_at=now)
        )
        s.refresh(row)
        s.expunge(row)
        return row
