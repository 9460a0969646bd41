"""One bad item does not stop a cycle (issue 7 §1, end to end): a request due 31/12/9999 —
which an older tracker accepted — is skipped, logged once with its id, listed in the
leader's digest and by `tracker status`, while every other reminder of the cycle is
planned and sent."""

from __future__ import annotations

import logging
from datetime import date, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from tests.test_dispatch import DEC_8, DEC_9, LEADER_EMAIL, store, text_of, tick, to_addr  # noqa: F401
from tests.test_outbox import init
from tracker.db.engine import session_scope
from tracker.db.models import Obligation
from tracker.delivery import queries
from tracker.transport import MemoryTransport


def bad_request(engine: Engine) -> int:
    """A request row as an older tracker stored it: due on the last day of the calendar."""
    with session_scope(engine) as s:
        ob = Obligation(
            cycle_id=1,
            member_id="muong-cha",
            milestone_id="request-1",
            assignee="request",
            title="Báo cáo đột xuất",
            due_override=date(9999, 12, 31),
        )
        s.add(ob)
        s.flush()
        assert ob.id is not None
        return ob.id


def test_a_request_due_in_9999_is_a_problem_not_a_stopped_cycle(
    store: Engine,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    init(store)
    bad = bad_request(store)
    caplog.set_level(logging.ERROR, logger="tracker.outbox")
    memory = MemoryTransport()
    first = tick(store, memory, DEC_8)
    assert first.sent > 0 and first.failed == 0
    logged = [r for r in caplog.records if "not planned" in r.getMessage()]
    assert len(logged) == 1 and f"item {bad} " in logged[0].getMessage()

    # The rest of the cycle went on; the leader's digest says what to fix.
    [digest] = [m for m in memory.sent if m["X-Tracker-Kind"] == "leader_digest"]
    assert to_addr(digest) == LEADER_EMAIL
    problems = text_of(digest).split("CẦN XỬ LÝ NGAY")[1]
    assert "request-1" in problems and "muong-cha" in problems and "tracker waive" in problems

    # Logged once: the next ticks of the day (nothing changed) and of the next day (the
    # cycle is re-planned) do not log it again.
    caplog.clear()
    tick(store, memory, DEC_8 + timedelta(minutes=5))
    tick(store, memory, DEC_9)
    assert not [r for r in caplog.records if "not planned" in r.getMessage()]

    # `tracker status` shows it too (the words come from one place).
    with session_scope(store) as s:
        shown = queries.delivery_problems(s, 1)
        assert any("request-1" in vi and "request-1" in en for vi, en in shown)
        assert queries.plan_problems(s, 1)
        ob = s.exec(select(Obligation).where(Obligation.id == bad)).one()
        assert ob.state == "open"  # nothing about the item itself was changed
