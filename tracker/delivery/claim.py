"""A sender takes due letters whole, with a lease (issue 7 §1).

`claim_letters` hands due letters to one worker in one short transaction: due means
planned, its time come and no backoff pending, in its cycle's office hours; or sending
with an expired lease (its sender died — the letter keeps its key, so the resend has the
same Message-ID). The letter's items move with it. The worker sends outside any
transaction, renews its lease while a long batch runs (`renew`), and records the outcome
(`tracker.delivery.outcome`) only while the claim is still its own.

Races closed here, each by a condition in the claim's UPDATE:
- two schedulers picking the same letter: on PostgreSQL `FOR UPDATE SKIP LOCKED` lets the
  second skip letters the first is claiming instead of waiting and double-claiming; on
  SQLite `BEGIN IMMEDIATE` (tracker.db.engine) serialises the two transactions. On both,
  the UPDATE repeats the due condition and the state it read (compare-and-set) and the
  letter counts only if exactly one row changed. A letter is one row, so it is claimed
  whole or not at all: no sibling query can leave part of it to another worker.
- a slow sender whose lease expired racing its replacement: the replacement's UPDATE
  requires the lease to be over and takes `claimed_by`; the slow sender's later marks
  require `claimed_by == worker` and `state == sending`, so they change nothing.
- a lease renewed after it ran out (the replacement may already be sending): `renew`
  only extends leases that have not expired.
- a worker id reused (containers where every process is pid 1 on the same host name):
  ids carry a random part (`jobs/tick.worker_id`), and release frees only letters whose
  claim is ours.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select

from tracker.db.engine import session_scope
from tracker.db.models import LetterRow, OutboxRow
from tracker.delivery.offices import open_cycles
from tracker.delivery.states import FAILED, MAX_ATTEMPTS, PLANNED, SENDING, aware

_ITEMS = OutboxRow.__table__  # type: ignore[attr-defined]
_LETTERS = LetterRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Claim:
    """A letter this worker holds until `letter.lease_until`, with its items."""

    letter: LetterRow
    items: list[OutboxRow]


def claimable(now: datetime) -> ColumnElement[bool]:
    due = and_(
        _LETTERS.c.state == PLANNED,
        _LETTERS.c.send_at <= now,
        or_(_LETTERS.c.next_attempt_at.is_(None), _LETTERS.c.next_attempt_at <= now),
    )
    abandoned = and_(_LETTERS.c.state == SENDING, _LETTERS.c.lease_until < now)
    return or_(due, abandoned)


def claim_letters(
    engine: Engine, *, now: datetime, worker: str, lease: timedelta, limit: int
) -> list[Claim]:
    """Claim up to `limit` due letters for `worker` until `now + lease` (`now`: the moment
    of the claim, so the lease is counted from it), oldest first; see the module doc."""
    aware(now)
    if lease <= timedelta(0):
        raise ValueError("lease must be positive")
    if limit <= 0:
        return []
    until = now + lease
    with session_scope(engine) as s:
        conn = s.connection()
        # The idle tick: one indexed probe, before working out whose office is open.
        cycles = sorted(
            {
                cid
                for (cid,) in conn.execute(
                    sa_select(_LETTERS.c.cycle_id).where(claimable(now)).distinct()
                )
            }
        )
        if not cycles:
            return []
        open_now = open_cycles(s, now, cycles)
        if not open_now:
            return []
        candidates = conn.execute(
            sa_select(_LETTERS.c.id, _LETTERS.c.state, _LETTERS.c.attempts)
            .where(claimable(now), _LETTERS.c.cycle_id.in_(open_now))
            .order_by(_LETTERS.c.send_at, _LETTERS.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        claimed: list[int] = []
        for letter_id, state, attempts in candidates:
            if state == PLANNED:
                ok = _cas(
                    conn,
                    letter_id,
                    claimable(now),
                    _LETTERS.c.state == PLANNED,
                    state=SENDING,
                    claimed_by=worker,
                    lease_until=until,
                    updated_at=now,
                )
            elif attempts + 1 >= MAX_ATTEMPTS:
                # Its sender died this many times: something about this letter kills the
                # worker. Stop here and show it rather than crash forever.
                if _cas(
                    conn,
                    letter_id,
                    claimable(now),
                    _LETTERS.c.state == SENDING,
                    state=FAILED,
                    attempts=attempts + 1,
                    lease_until=None,
                    last_error="the sender stopped while sending, too many times",
                    updated_at=now,
                ):
                    conn.execute(
                        update(_ITEMS)
                        .where(_ITEMS.c.letter_id == letter_id, _ITEMS.c.state == SENDING)
                        .values(state=FAILED, updated_at=now)
                    )
                ok = False
            else:
                # The previous attempt ended unknown (maybe delivered): it counts.
                ok = _cas(
                    conn,
                    letter_id,
                    claimable(now),
                    _LETTERS.c.state == SENDING,
                    claimed_by=worker,
                    lease_until=until,
                    attempts=attempts + 1,
                    updated_at=now,
                )
            if ok:
                claimed.append(letter_id)
        if not claimed:
            return []
        # The items go with their letter; `sending` keeps planning's hands off them.
        conn.execute(
            update(_ITEMS)
            .where(_ITEMS.c.letter_id.in_(claimed), _ITEMS.c.state == PLANNED)
            .values(state=SENDING, updated_at=now)
        )
        letters = list(
            s.exec(
                select(LetterRow)
                .where(col(LetterRow.id).in_(claimed))
                .order_by(col(LetterRow.send_at), col(LetterRow.id))
            ).all()
        )
        items = list(
            s.exec(
                select(OutboxRow)
                .where(col(OutboxRow.letter_id).in_(claimed), col(OutboxRow.state) == SENDING)
                .order_by(col(OutboxRow.send_at), col(OutboxRow.id))
            ).all()
        )
    by_letter: dict[int, list[OutboxRow]] = {lid: [] for lid in claimed}
    for item in items:
        assert item.letter_id is not None
        by_letter[item.letter_id].append(item)
    return [Claim(letter, by_letter[letter.id or 0]) for letter in letters]


def renew(engine: Engine, worker: str, *, now: datetime, lease: timedelta) -> int:
    """Extend this worker's unexpired leases to `now + lease`; returns how many. An
    expired one is not renewed: another worker may be sending it already."""
    aware(now)
    with session_scope(engine) as s:
        result = s.connection().execute(
            update(_LETTERS)
            .where(
                _LETTERS.c.claimed_by == worker,
                _LETTERS.c.state == SENDING,
                _LETTERS.c.lease_until > now,
            )
            .values(lease_until=now + lease, updated_at=now)
        )
        return int(result.rowcount or 0)


def release(
    engine: Engine,
    worker: str,
    *,
    letter_ids: Sequence[int] | None = None,
    now: datetime | None = None,
) -> int:
    """Give back this worker's claims (shutdown, sending paused, a tick out of lease):
    back to planned, lease cleared, the attempt not counted. The key stays: a send cut
    off at shutdown may have reached the server, and its resend must carry the same
    Message-ID. `letter_ids`: only these. Returns the letters released."""
    with session_scope(engine) as s:
        conn = s.connection()
        conditions = [_LETTERS.c.claimed_by == worker, _LETTERS.c.state == SENDING]
        if letter_ids is not None:
            if not letter_ids:
                return 0
            conditions.append(_LETTERS.c.id.in_(list(letter_ids)))
        ids = list(conn.execute(sa_select(_LETTERS.c.id).where(*conditions)).scalars())
        if not ids:
            return 0
        values: dict[str, Any] = {"state": PLANNED, "lease_until": None, "claimed_by": None}
        if now is not None:
            values["updated_at"] = aware(now)
        result = conn.execute(
            update(_LETTERS).where(*conditions, _LETTERS.c.id.in_(ids)).values(**values)
        )
        item_values: dict[str, Any] = {"state": PLANNED}
        if now is not None:
            item_values["updated_at"] = now
        conn.execute(
            update(_ITEMS)
            .where(_ITEMS.c.letter_id.in_(ids), _ITEMS.c.state == SENDING)
            .values(**item_values)
        )
        return int(result.rowcount or 0)


def _cas(conn: Any, letter_id: int, *conditions: ColumnElement[bool], **values: Any) -> bool:
    result = conn.execute(
        update(_LETTERS).where(_LETTERS.c.id == letter_id, *conditions).values(**values)
    )
    return int(result.rowcount) == 1
