"""Items → letters (issue 7 §1): bundling happens when planning, so claiming and marking
work on one letter row.

Bundles (config `mail.digest`):
- "daily" (default): one letter per (cycle, recipient, hat, day) with every item due for
  that recipient under that hat that day — `day:<cycle>:<date>:<address>:<hat>`. The
  leader's digest is bundled with the leader-hat items of its day (never the leader
  district's member obligations: that is the member hat's letter).
- "per_item", and the report to the provincial board: one letter per item —
  `one:<item key>`.

A letter's key is `<bundle>#<n>`, the n-th letter of its bundle: an item that comes due
after the day's letter went out (a date the leader set at noon) goes in the next one. The
unique key decides between two schedulers bundling at once: both try `#n`, one inserts,
both attach to it.

Races closed here:
- an item attached to a letter a sender has just claimed (it would be marked sent
  without having been in the e-mail): attaching locks the letter and requires it still
  `planned` (`FOR UPDATE`, no SKIP LOCKED, on PostgreSQL: the bundler waits for the
  claim to commit, then sees `sending` and opens the next letter; SQLite serialises the
  two transactions); the sender also detaches, when marking, any planned item still
  pointing at its letter.
- a letter left with no item (all settled, moved or superseded): cancelled here, and a
  claimed letter with nothing to say is cancelled by the sender, so nothing stale goes.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, exists, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from tracker.calendar.types import local_date
from tracker.db.models import CycleRow, LetterRow, OutboxRow
from tracker.delivery.states import CANCELLED, EMPTY, PLANNED, aware
from tracker.service.cycles import config_from_snapshot

_ITEMS = OutboxRow.__table__  # type: ignore[attr-defined]
_LETTERS = LetterRow.__table__  # type: ignore[attr-defined]
_CHUNK = 500  # ids per IN (…): well under SQLite's bound-parameter limit

_digest_by_hash: dict[str, str] = {}
_lock = threading.Lock()


def bundle_of(
    *, cycle_id: int, digest: str, kind: str, key: str, email: str, hat: str, send_at: datetime
) -> str:
    """The bundle an item belongs to (see the module doc)."""
    if kind == "province_report" or digest != "daily":
        return f"one:{key}"
    day = local_date(send_at).isoformat()
    hat = "leader" if kind == "leader_digest" else hat
    return f"day:{cycle_id}:{day}:{email.lower()}:{hat}"


def bundle(session: Session, now: datetime) -> int:
    """Put every planned item without a letter into its bundle's open letter, creating the
    letter where there is none; cancel planned letters left empty. Returns the items
    bundled."""
    aware(now)
    conn = session.connection()
    rows = conn.execute(
        sa_select(
            col(OutboxRow.id),
            col(OutboxRow.key),
            col(OutboxRow.cycle_id),
            col(OutboxRow.kind),
            col(OutboxRow.recipient_email),
            col(OutboxRow.recipient_name),
            col(OutboxRow.hat),
            col(OutboxRow.send_at),
        )
        .where(col(OutboxRow.state) == PLANNED, col(OutboxRow.letter_id).is_(None))
        .order_by(col(OutboxRow.send_at), col(OutboxRow.id))
    ).all()
    if not rows:
        return 0
    digests = _digests(session, {r.cycle_id for r in rows})
    groups: dict[str, list[Any]] = defaultdict(list)
    for r in rows:
        b = bundle_of(
            cycle_id=r.cycle_id,
            digest=digests.get(r.cycle_id, "daily"),
            kind=r.kind,
            key=r.key,
            email=r.recipient_email,
            hat=r.hat,
            send_at=r.send_at,
        )
        groups[b].append(r)
    letter_of = _open_letters(session, groups, now)
    attach = [
        {"b_id": r.id, "b_letter": letter_of[b][0], "b_key": letter_of[b][1]}
        for b, items in groups.items()
        for r in items
    ]
    conn.execute(
        update(_ITEMS)
        .where(
            _ITEMS.c.id == bindparam("b_id"),
            _ITEMS.c.state == PLANNED,
            _ITEMS.c.letter_id.is_(None),
        )
        .values(letter_id=bindparam("b_letter"), letter_key=bindparam("b_key"), updated_at=now),
        attach,
    )
    # A letter goes when its earliest item is due. (Computed here, not with a correlated
    # MIN over the items: SQLite answered that through the (state, send_at) index,
    # scanning every planned item once per letter — 28 s for a 400-member first plan.)
    earliest: dict[int, datetime] = {}
    for b, items in groups.items():
        lid = letter_of[b][0]
        first = min(r.send_at for r in items)
        earliest[lid] = min(first, earliest.get(lid, first))
    params = [{"b_id": lid, "b_at": at} for lid, at in earliest.items()]
    conn.execute(
        update(_LETTERS)
        .where(
            _LETTERS.c.id == bindparam("b_id"),
            _LETTERS.c.state == PLANNED,
            _LETTERS.c.send_at > bindparam("b_at"),
        )
        .values(send_at=bindparam("b_at"), updated_at=now),
        params,
    )
    return len(attach)


def cancel_empty(session: Session, now: datetime) -> int:
    """Planned letters none of whose items is still planned: nothing to send."""
    aware(now)
    has_items = exists().where(_ITEMS.c.letter_id == _LETTERS.c.id, _ITEMS.c.state == PLANNED)
    result = session.connection().execute(
        update(_LETTERS)
        .where(_LETTERS.c.state == PLANNED, ~has_items)
        .values(state=CANCELLED, last_error=EMPTY, updated_at=now)
    )
    return int(result.rowcount or 0)


def _open_letters(
    session: Session, groups: dict[str, list[Any]], now: datetime
) -> dict[str, tuple[int, str]]:
    """Each bundle's planned letter (id, key), created where none is open."""
    conn = session.connection()
    found: dict[str, tuple[int, str]] = {}
    count: dict[str, int] = defaultdict(int)
    names = sorted(groups)
    for chunk in _chunks(names):
        q = sa_select(_LETTERS.c.id, _LETTERS.c.bundle, _LETTERS.c.key, _LETTERS.c.state).where(
            _LETTERS.c.bundle.in_(chunk)
        )
        for lid, b, key, state in conn.execute(q):
            count[b] += 1
            if state == PLANNED:
                found.setdefault(b, (lid, key))
    if found and conn.dialect.name == "postgresql":
        # Lock the open letters we attach to; one a sender claimed meanwhile is no longer
        # planned once we get the lock (see the module doc) and its bundle opens anew.
        ids = sorted(lid for lid, _ in found.values())
        still = set()
        for chunk in _chunks(ids):
            still |= set(
                conn.execute(
                    sa_select(_LETTERS.c.id)
                    .where(_LETTERS.c.id.in_(chunk), _LETTERS.c.state == PLANNED)
                    .with_for_update()
                ).scalars()
            )
        found = {b: v for b, v in found.items() if v[0] in still}
    new = [b for b in names if b not in found]
    while new:
        values = []
        for b in new:
            first = groups[b][0]
            values.append(
                {
                    "key": f"{b}#{count[b] + 1}",
                    "bundle": b,
                    "cycle_id": first.cycle_id,
                    "recipient_email": first.recipient_email,
                    "recipient_name": first.recipient_name,
                    "hat": "leader" if first.kind == "leader_digest" else first.hat,
                    "state": PLANNED,
                    "send_at": min(r.send_at for r in groups[b]),
                    "attempts": 0,
                    "subject": "",
                    "items": 0,
                    "last_error": "",
                    "created_at": now,
                    "updated_at": now,
                }
            )
        ins: Any = (
            postgresql.insert(_LETTERS)
            if conn.dialect.name == "postgresql"
            else sqlite.insert(_LETTERS)
        )
        conn.execute(ins.on_conflict_do_nothing(index_elements=["key"]), values)
        keys = [v["key"] for v in values]
        got: dict[str, tuple[int, str]] = {}
        for chunk in _chunks(keys):
            for lid, b, key, state in conn.execute(
                sa_select(_LETTERS.c.id, _LETTERS.c.bundle, _LETTERS.c.key, _LETTERS.c.state).where(
                    _LETTERS.c.key.in_(chunk)
                )
            ):
                if state == PLANNED:
                    got[b] = (lid, key)
        found.update(got)
        # A bundle whose `#n` another scheduler took and already sent: try `#n+1`.
        for b in new:
            count[b] += 1
        new = [b for b in new if b not in found]
    return found


def _digests(session: Session, cycle_ids: Iterable[int]) -> dict[int, str]:
    """Each cycle's `mail.digest`, by config hash (parsed once per process)."""
    conn = session.connection()
    rows = conn.execute(
        sa_select(col(CycleRow.id), col(CycleRow.config_hash), col(CycleRow.config_json)).where(
            col(CycleRow.id).in_(sorted(cycle_ids))
        )
    ).all()
    out: dict[int, str] = {}
    for cid, h, text in rows:
        with _lock:
            mode = _digest_by_hash.get(h)
        if mode is None:
            try:
                mode = config_from_snapshot(text).mail.digest
            except Exception:
                mode = "daily"
            with _lock:
                _digest_by_hash[h] = mode
        out[int(cid or 0)] = mode
    return out


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for i in range(0, len(values), _CHUNK):
        yield values[i : i + _CHUNK]
