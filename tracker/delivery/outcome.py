"""What became of a claimed letter, recorded on the letter and its items together, and
only while the claim is still ours (`claimed_by == worker`, `state == sending`): a sender
whose lease ran out and was replaced changes nothing (tracker.delivery.claim)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Engine, bindparam, update
from sqlalchemy import select as sa_select

from tracker.db.engine import session_scope
from tracker.db.models import LetterRow, OutboxRow
from tracker.delivery.states import (
    CANCELLED,
    FAILED,
    MAX_ATTEMPTS,
    PLANNED,
    SENDING,
    SENT,
    UNPLANNED,
    aware,
    backoff,
)

_ITEMS = OutboxRow.__table__  # type: ignore[attr-defined]
_LETTERS = LetterRow.__table__  # type: ignore[attr-defined]


def _ours(letter_id: int, worker: str) -> list[Any]:
    return [
        _LETTERS.c.id == letter_id,
        _LETTERS.c.claimed_by == worker,
        _LETTERS.c.state == SENDING,
    ]


def _finish_letter(conn: Any, letter_id: int, worker: str, **values: Any) -> bool:
    result = conn.execute(update(_LETTERS).where(*_ours(letter_id, worker)).values(**values))
    return int(result.rowcount) == 1


def _detach_planned(conn: Any, letter_id: int, now: datetime) -> None:
    # A planned item still pointing at a letter that is leaving `planned` for good was not
    # in the e-mail: it goes back to the bundler for the next letter of its bundle.
    conn.execute(
        update(_ITEMS)
        .where(_ITEMS.c.letter_id == letter_id, _ITEMS.c.state == PLANNED)
        .values(letter_id=None, letter_key=None, updated_at=now)
    )


def mark_sent(
    engine: Engine,
    letter_id: int,
    *,
    worker: str,
    now: datetime,
    message_id: str,
    subject: str,
    carried: Sequence[int],
) -> bool:
    """Sent: the letter, and the items it `carried`; its other items (settled since they
    were planned: nothing to say about them) are cancelled. False when the claim is no
    longer ours (our lease ran out and another worker holds the letter now)."""
    sent = Sent(letter_id, message_id, subject, tuple(carried))
    return letter_id in mark_sent_many(engine, [sent], worker=worker, now=now)


@dataclass(frozen=True)
class Sent:
    """A letter the server took: what to record."""

    letter_id: int
    message_id: str
    subject: str
    carried: tuple[int, ...]


def mark_sent_many(engine: Engine, sent: Sequence[Sent], *, worker: str, now: datetime) -> set[int]:
    """`mark_sent` for many letters in one transaction (a batch's sends are recorded
    together: one commit, not one per e-mail). Returns the letters recorded; the others
    were no longer ours."""
    aware(now)
    if not sent:
        return set()
    with session_scope(engine) as s:
        conn = s.connection()
        ids = [x.letter_id for x in sent]
        q = sa_select(_LETTERS.c.id, _LETTERS.c.key).where(
            _LETTERS.c.id.in_(ids), _LETTERS.c.claimed_by == worker, _LETTERS.c.state == SENDING
        )
        if conn.dialect.name == "postgresql":
            q = q.with_for_update()
        keys: dict[int, str] = {lid: key for lid, key in conn.execute(q).all()}
        ours = [x for x in sent if x.letter_id in keys]
        if not ours:
            return set()
        conn.execute(
            update(_LETTERS)
            .where(
                _LETTERS.c.id == bindparam("b_id"),
                _LETTERS.c.claimed_by == worker,
                _LETTERS.c.state == SENDING,
            )
            .values(
                state=SENT,
                sent_at=now,
                message_id=bindparam("b_mid"),
                subject=bindparam("b_subject"),
                items=bindparam("b_items"),
                lease_until=None,
                next_attempt_at=None,
                attempts=_LETTERS.c.attempts + 1,
                last_error="",
                updated_at=now,
            ),
            [
                {
                    "b_id": x.letter_id,
                    "b_mid": x.message_id,
                    "b_subject": x.subject,
                    "b_items": len(x.carried),
                }
                for x in ours
            ],
        )
        items = [
            {
                "b_item": i,
                "b_letter": x.letter_id,
                "b_mid": x.message_id,
                "b_key": keys[x.letter_id],
            }
            for x in ours
            for i in x.carried
        ]
        if items:
            conn.execute(
                update(_ITEMS)
                .where(
                    _ITEMS.c.id == bindparam("b_item"), _ITEMS.c.letter_id == bindparam("b_letter")
                )
                .values(
                    state=SENT,
                    sent_at=now,
                    message_id=bindparam("b_mid"),
                    letter_key=bindparam("b_key"),
                    attempts=_ITEMS.c.attempts + 1,
                    last_error="",
                    updated_at=now,
                ),
                items,
            )
        done = [x.letter_id for x in ours]
        # Items the letter left out (settled since planning): nothing to say about them.
        conn.execute(
            update(_ITEMS)
            .where(_ITEMS.c.letter_id.in_(done), _ITEMS.c.state == SENDING)
            .values(state=CANCELLED, last_error=UNPLANNED, updated_at=now)
        )
        # A planned item still pointing at a sent letter was not in it: bundle it again.
        conn.execute(
            update(_ITEMS)
            .where(_ITEMS.c.letter_id.in_(done), _ITEMS.c.state == PLANNED)
            .values(letter_id=None, letter_key=None, updated_at=now)
        )
        return set(done)


def mark_retry(
    engine: Engine,
    letter_id: int,
    *,
    worker: str,
    now: datetime,
    error: str,
    next_attempt_at: datetime | None = None,
) -> Literal["retry", "failed", "lost"]:
    """A transient failure: the letter goes back to planned until `next_attempt_at`
    (default: `backoff` of its attempts), items and all; out of attempts it fails whole.
    "lost": the claim was no longer ours."""
    aware(now)
    with session_scope(engine) as s:
        conn = s.connection()
        attempts = conn.execute(
            sa_select(_LETTERS.c.attempts).where(*_ours(letter_id, worker))
        ).scalar()
        if attempts is None:
            return "lost"
        done = int(attempts) + 1
        failed = done >= MAX_ATTEMPTS
        when = None if failed else (next_attempt_at or now + backoff(done))
        state = FAILED if failed else PLANNED
        if not _finish_letter(
            conn,
            letter_id,
            worker,
            state=state,
            attempts=done,
            next_attempt_at=when,
            lease_until=None,
            claimed_by=None,
            last_error=error,
            updated_at=now,
        ):
            return "lost"
        # Items count the attempt too, so the catch-up rule knows a letter being retried
        # from yesterday is not a missed reminder to move to another day.
        conn.execute(
            update(_ITEMS)
            .where(_ITEMS.c.letter_id == letter_id, _ITEMS.c.state == SENDING)
            .values(
                state=state,
                attempts=_ITEMS.c.attempts + 1,
                last_error=error,
                updated_at=now,
            )
        )
        if failed:
            _detach_planned(conn, letter_id, now)
        return "failed" if failed else "retry"


def mark_failed(engine: Engine, letter_id: int, *, worker: str, now: datetime, error: str) -> bool:
    """A permanent failure (5xx for this message): failed, letter and items, with the
    server's reply kept for `tracker outbox` until someone fixes the address and runs
    `tracker outbox retry`."""
    aware(now)
    with session_scope(engine) as s:
        conn = s.connection()
        if not _finish_letter(
            conn,
            letter_id,
            worker,
            state=FAILED,
            lease_until=None,
            next_attempt_at=None,
            attempts=_LETTERS.c.attempts + 1,
            last_error=error,
            updated_at=now,
        ):
            return False
        conn.execute(
            update(_ITEMS)
            .where(_ITEMS.c.letter_id == letter_id, _ITEMS.c.state == SENDING)
            .values(state=FAILED, attempts=_ITEMS.c.attempts + 1, last_error=error, updated_at=now)
        )
        _detach_planned(conn, letter_id, now)
        return True


def mark_cancelled(
    engine: Engine,
    letter_id: int,
    *,
    worker: str,
    now: datetime,
    reason: str = UNPLANNED,
) -> bool:
    """A claimed letter that must not go out after all: every item settled between
    planning and sending, or a digest with nothing to say. UNPLANNED items come back if
    the plan wants them again."""
    aware(now)
    with session_scope(engine) as s:
        conn = s.connection()
        if not _finish_letter(
            conn,
            letter_id,
            worker,
            state=CANCELLED,
            lease_until=None,
            next_attempt_at=None,
            last_error=reason,
            updated_at=now,
        ):
            return False
        # The digest or board report itself gets `reason`; an obligation's item settled
        # since planning is UNPLANNED, so it comes back if the obligation is owed again.
        conn.execute(
            update(_ITEMS)
            .where(
                _ITEMS.c.letter_id == letter_id,
                _ITEMS.c.state == SENDING,
                _ITEMS.c.obligation_id.is_(None),
            )
            .values(state=CANCELLED, last_error=reason, updated_at=now)
        )
        conn.execute(
            update(_ITEMS)
            .where(_ITEMS.c.letter_id == letter_id, _ITEMS.c.state == SENDING)
            .values(state=CANCELLED, last_error=UNPLANNED, updated_at=now)
        )
        _detach_planned(conn, letter_id, now)
        return True


def item_ids(items: Sequence[OutboxRow]) -> list[int]:
    return [i.id for i in items if i.id is not None]
