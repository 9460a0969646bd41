"""Delivery faults against a real SMTP server on loopback (issue 3 §3, §5): a 4xx is
retried after a backoff and delivered once; a 5xx fails and keeps the server's reply; a
server that is down is retried until it is back; a refused login or an untrusted
certificate pauses sending, loses nothing and tells the leader.

Each test first sends everything due until 8 December 2022 into memory, then lets
9 December (a Friday: lead reminders for the annual report and self-score sheet, the
leader's digest) go to the server.
"""

# The SMTP fixtures come from tests/smtp_server.py; pytest finds them by the imported
# names, which the test parameters then shadow on purpose.
# ruff: noqa: F811

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.smtp_server import (  # noqa: F401
    SmtpServer,
    TlsFiles,
    free_port,
    smtp_server,
    smtp_server_factory,
    tls_files,
)
from tests.test_dispatch import (
    DEC_9,
    LEADER_EMAIL,
    letters,
    parsed,
    plain,
    text_of,
    tick,
    to_addr,
    up_to_date,
)
from tests.test_outbox import rows
from tracker.calendar.types import local_date
from tracker.db import migrate
from tracker.db.engine import make_engine, session_scope
from tracker.delivery import pause, queries
from tracker.delivery.states import PAUSE_RETRY
from tracker.letters.build import build_letters
from tracker.service.cycles import all_cycles, load_context
from tracker.transport import SmtpTransport, Transport

Factory = Callable[..., SmtpServer]
PASSWORD = "wrong-secret-4711"


@pytest.fixture
def store(sqlite_url: str) -> Iterator[Engine]:
    engine = make_engine(sqlite_url)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


def due_today(engine: Engine) -> list[int]:
    """The rows 9 December sends (planned, due, not sent yet, and carried by a letter:
    a reminder the letters no longer send — an overdue nag about an event, anything to
    the provincial board but its report — is cancelled before any send)."""
    due = [r for r in rows(engine, state="planned") if r.send_at <= DEC_9 and r.id is not None]
    with session_scope(engine) as s:
        contexts = {c.id: load_context(s, c) for c in all_cycles(s) if c.id is not None}
    letters = build_letters(due, contexts, today=local_date(DEC_9), now=DEC_9)
    return sorted(i for _, ids in letters for i in ids)


def starttls(server: SmtpServer, files: TlsFiles | None, **kw: Any) -> Callable[[], Transport]:
    return lambda: SmtpTransport(
        server.host,
        server.port,
        "starttls",
        tls_context=files.client_context() if files is not None else None,
        local_hostname="tracker.test",
        timeout=5,
        **kw,
    )


def test_451_then_250_delivers_exactly_once_after_the_backoff(
    engine: Engine, smtp_server: SmtpServer
) -> None:
    up_to_date(engine)
    smtp_server.handler.script_data("451 4.3.0 Mailbox busy, try again later")
    first = tick(engine, plain(smtp_server), DEC_9, max_concurrency=1)
    assert (first.retried, first.failed) == (1, 0) and first.sent > 0
    [retry] = [r for r in first.results if r.outcome == "retry"]
    assert "451" in retry.detail and "try again later" in retry.detail
    waiting = [r for r in rows(engine) if r.id in retry.rows]
    assert {(r.state, r.attempts) for r in waiting} == {("planned", 1)}
    assert {r.last_error for r in waiting} == {retry.detail}
    [letter] = letters(engine, id=retry.letter_id)
    assert (letter.state, letter.attempts) == ("planned", 1)
    assert letter.next_attempt_at == DEC_9 + timedelta(minutes=1)
    assert len(smtp_server.received) == first.sent

    # Not before the backoff is over.
    early = tick(engine, plain(smtp_server), DEC_9 + timedelta(seconds=30))
    assert early.sent == 0 and len(smtp_server.received) == first.sent

    second = tick(engine, plain(smtp_server), DEC_9 + timedelta(minutes=1))
    assert second.sent == 1 and second.results[0].key == retry.key
    got = parsed(smtp_server)
    assert len(got) == first.sent + 1
    assert set(Counter(str(m["Message-ID"]) for m in got).values()) == {1}
    # One letter per recipient and hat (the leader's office and the leader district's
    # focal officer share a mailbox in the shipped config).
    hats = Counter((to_addr(m), m["X-Tracker-Kind"] == "leader_digest") for m in got)
    assert set(hats.values()) == {1}
    assert {r.state for r in rows(engine) if r.id in retry.rows} == {"sent"}
    # Connections were reused: never more open at once than the transport allows.
    assert smtp_server.handler.max_open <= 2


def test_550_fails_keeps_the_reply_and_is_sent_after_retry(
    store: Engine, smtp_server: SmtpServer
) -> None:
    up_to_date(store)
    smtp_server.handler.script_data("550 5.1.1 Mailbox unavailable")
    report = tick(store, plain(smtp_server), DEC_9, max_concurrency=1)
    assert report.failed == 1 and report.retried == 0
    [bad] = [r for r in report.results if r.outcome == "failed"]
    assert any(line.startswith("thất bại: ") and "550" in line for line in report.lines)

    failed = rows(store, state="failed")
    assert sorted(r.id for r in failed if r.id is not None) == sorted(bad.rows)
    for row in failed:
        assert row.last_error.startswith("550") and "Mailbox unavailable" in row.last_error
        assert row.attempts == 1

    # Not retried on its own, whatever the time.
    later = tick(store, plain(smtp_server), DEC_9 + timedelta(hours=3))
    assert bad.key not in {r.key for r in later.results}
    assert bad.email not in {to_addr(m) for m in parsed(smtp_server)}

    assert bad.letter_id is not None
    queries.retry(store, bad.letter_id, DEC_9 + timedelta(hours=4))
    again = tick(store, plain(smtp_server), DEC_9 + timedelta(hours=4))
    assert again.sent == 1 and again.results[0].email == bad.email
    assert [to_addr(m) for m in parsed(smtp_server)].count(bad.email) == 1
    assert {r.state for r in rows(store) if r.id in bad.rows} == {"sent"}


def test_a_server_that_is_down_is_retried_until_it_is_back(
    store: Engine, smtp_server_factory: Factory
) -> None:
    up_to_date(store)
    waiting = due_today(store)
    port = free_port()
    down = SmtpServer(port=port)  # not started: nothing listens on the port
    report = tick(store, plain(down), DEC_9)
    assert report.sent == report.failed == 0 and report.retried > 0 and report.paused is None
    assert {r.state for r in rows(store) if r.id in waiting} == {"planned"}
    assert all(
        "refused" in r.detail.lower() or "connect" in r.detail.lower() for r in report.results
    )

    up = smtp_server_factory(port=port)
    assert tick(store, plain(up), DEC_9 + timedelta(seconds=30)).sent == 0  # backing off
    back = tick(store, plain(up), DEC_9 + timedelta(minutes=1))
    assert back.sent == report.retried and back.retried == 0
    assert {r.state for r in rows(store) if r.id in waiting} == {"sent"}
    assert set(Counter(str(m["Message-ID"]) for m in parsed(up)).values()) == {1}


def test_a_refused_login_pauses_sending_and_loses_nothing(
    store: Engine, smtp_server_factory: Factory, tls_files: TlsFiles
) -> None:
    server = smtp_server_factory(
        tls=tls_files,
        require_starttls=True,
        users={"reminder-bot": "right-secret"},
        auth_required=True,
    )
    up_to_date(store)
    waiting = due_today(store)
    wrong = starttls(server, tls_files, username="reminder-bot", password=PASSWORD)

    report = tick(store, wrong, DEC_9, max_concurrency=1)
    assert report.paused is not None and "TRACKER_SMTP_PASSWORD" in report.paused
    assert (report.sent, report.failed, report.retried) == (0, 0, 0)
    assert {r.outcome for r in report.results} == {"paused"}
    # One session tried (aiosmtplib may try PLAIN, then LOGIN), not one per letter.
    assert server.handler.sessions == 1
    tries = len(server.handler.auth_attempts)
    assert server.handler.auth_attempts == [("reminder-bot", False)] * tries
    assert server.received == []
    # Nothing lost, nothing counted as tried.
    after = [r for r in rows(store) if r.id in waiting]
    assert {(r.state, r.attempts, r.claimed_by) for r in after} == {("planned", 0, None)}
    with session_scope(store) as s:
        shown = pause.current_pause(s)
        info = pause.pause_info(s)
    assert shown == report.paused and info is not None
    assert info.reply.startswith("535")
    assert PASSWORD not in shown and PASSWORD not in info.reply

    # While paused, ticks do not even connect.
    quiet = tick(store, wrong, DEC_9 + timedelta(minutes=5))
    assert quiet.paused == report.paused and quiet.results == []
    assert len(server.handler.auth_attempts) == tries

    # The password is fixed; after the pause's retry time the next tick goes through.
    right = starttls(server, tls_files, username="reminder-bot", password="right-secret")
    resumed = tick(store, right, DEC_9 + PAUSE_RETRY + timedelta(minutes=1))
    assert resumed.paused is None and resumed.sent > 0 and resumed.failed == 0
    assert {r.state for r in rows(store) if r.id in waiting} == {"sent"}
    with session_scope(store) as s:
        assert pause.current_pause(s) is None
    # The leader hears what happened.
    [digest] = [
        m
        for m in parsed(server)
        if to_addr(m) == LEADER_EMAIL and m["X-Tracker-Kind"] == "leader_digest"
    ]
    problems = text_of(digest).split("CẦN XỬ LÝ NGAY")[1]
    assert "từ chối đăng nhập" in problems


def test_an_untrusted_certificate_pauses_sending(
    store: Engine, smtp_server_factory: Factory, tls_files: TlsFiles
) -> None:
    server = smtp_server_factory(tls=tls_files, require_starttls=True)
    up_to_date(store)
    waiting = due_today(store)
    report = tick(store, starttls(server, None), DEC_9)  # the system CAs do not know ours
    assert report.paused is not None and "chứng chỉ" in report.paused
    assert server.received == []
    assert {(r.state, r.attempts) for r in rows(store) if r.id in waiting} == {("planned", 0)}

    # An operator clears the pause (e.g. after installing the CA): sending resumes at once.
    with session_scope(store) as s:
        assert pause.clear_pause(s)
    resumed = tick(store, starttls(server, tls_files), DEC_9 + timedelta(minutes=1))
    assert resumed.paused is None and resumed.sent > 0
    assert all(r.peer_tls for r in server.received)
