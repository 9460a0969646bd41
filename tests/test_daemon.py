"""`tracker run` as a real process against a real SMTP server on loopback (issue 3 §4, §5).

The daemon runs as a subprocess on a SQLite file holding the 2022 cycle, ticking every
second (TRACKER_TICK_SECONDS=1) on a clock pinned to 16 June 2022, 08:00 Vietnam time
(TRACKER_FAKE_NOW, which runs on from there at real speed): 14 days before the half-year
report (Điều 7.1), so every focal officer is due a reminder.

- a clean stop: SIGTERM mid-batch lets the sends in flight finish, releases the claims and
  exits 0; nothing is delivered twice;
- an impatient stop: a second signal cancels the sends in flight and still gives the claims
  back, exit 0; nothing is lost (the restart delivers everything, once);
- a crash: SIGKILL mid-batch, then a restart after the lease ran out: every reminder is
  delivered, and the only duplicates are sends that were in flight at the kill, carrying
  the same Message-ID as the first copy.

Every test bounds its waits and kills its children in `finally`.
"""

# The SMTP fixtures come from tests/smtp_server.py; pytest finds them by the imported names,
# which a test's parameter then shadows on purpose.
# ruff: noqa: F811

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP
from typer.testing import CliRunner

from tests.smtp_server import RecordingHandler, SmtpServer, smtp_server_factory  # noqa: F401
from tests.test_reminder_cli import FOCALS, init_db, write_config

FAKE_NOW = "2022-06-16T08:00:00+07:00"
# Past the 5-minute lease of the claims a killed daemon left behind.
RESTART_AT = "2022-06-16T08:15:00+07:00"
TIMEOUT = 30.0
PYTHON_TRACKER = (sys.executable, "-c", "from tracker.cli.app import main; main()")
BANNER = "Trình nhắc việc của Cụm thi đua đang chạy."

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


class SlowAckHandler(RecordingHandler):
    """Takes each message, then sits on the 250: a daemon killed now has a message that
    was delivered but never acknowledged — a send in flight."""

    def __init__(self, ack_delay: float) -> None:
        super().__init__()
        self.ack_delay = ack_delay

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Any) -> str:
        reply = await super().handle_DATA(server, session, envelope)
        if self.ack_delay:
            await asyncio.sleep(self.ack_delay)
        return reply


class Daemon:
    """`tracker run` in a subprocess, output to files in tmp_path."""

    def __init__(self, tmp_path: Path, url: str, fake_now: str, name: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
        env.update(
            TRACKER_TICK_SECONDS="1",
            TRACKER_FAKE_NOW=fake_now,
            PYTHONUNBUFFERED="1",
            PYTHONIOENCODING="utf-8",
        )
        self.out = tmp_path / f"{name}.out"
        self.err = tmp_path / f"{name}.err"
        with open(self.out, "wb") as out, open(self.err, "wb") as err:
            self.proc = subprocess.Popen(
                [*PYTHON_TRACKER, "--db", url, "run"],
                cwd=tmp_path,
                env=env,
                stdout=out,
                stderr=err,
            )

    def ready(self) -> bool:
        """The banner is out: signal handlers are installed, the first tick is due."""
        return BANNER in self.out.read_text("utf-8")

    def output(self) -> str:
        return self.out.read_text("utf-8") + self.err.read_text("utf-8")

    def signal(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    def wait(self, timeout: float = TIMEOUT) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the daemon did not exit within {timeout} s:\n{self.output()}")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    started: list[Daemon] = []
    yield started
    for d in started:
        d.kill()


def wait_until(what: str, check: Callable[[], bool], daemon: Daemon) -> None:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if check():
            return
        if daemon.proc.poll() is not None:
            pytest.fail(f"the daemon exited ({daemon.proc.returncode}) before {what}:\n"
                        f"{daemon.output()}")  # fmt: skip
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}:\n{daemon.output()}")


def rows(db: Path) -> list[tuple[int, str, str, str | None, str | None]]:
    """(id, state, recipient, claimed_by, message_id) of the rows due at FAKE_NOW. Rows the
    first tick's catch-up superseded (the leader's earlier requests to date the pact
    signing and its report to the province, missed by an install in mid-June) and a leader
    digest with nothing to report (16/06/2022: the leader district's own report is a
    member's letter, issue 6 §4) are history, not deliveries: left out."""
    with sqlite3.connect(db, timeout=10) as conn:
        return conn.execute(
            "SELECT id, state, recipient_email, claimed_by, message_id FROM outbox"
            " WHERE send_at < '2022-06-16 01:00:01'"  # 08:00 +07, stored in UTC
            " AND NOT (state = 'cancelled'"
            " AND last_error IN ('superseded by catch-up', 'nothing to report'))"
            " ORDER BY id"
        ).fetchall()


def message_ids(server: SmtpServer) -> list[str]:
    return [str(r.message()["Message-ID"]) for r in list(server.received)]


def setup_db(tmp_path: Path, server: SmtpServer) -> tuple[str, Path]:
    db = tmp_path / "tracker.db"
    url = f"sqlite:///{db}"
    init_db(CliRunner(), url, write_config(tmp_path, smtp_port=server.port))
    return url, db


def test_run_sends_the_due_reminders_and_stops_cleanly_on_sigterm(
    tmp_path: Path,
    smtp_server_factory: Callable[..., SmtpServer],
    daemons: list[Daemon],
) -> None:
    # Slow enough that SIGTERM lands while the batch is being sent.
    server = smtp_server_factory(handler=RecordingHandler(delay=0.5))
    url, db = setup_db(tmp_path, server)
    d = Daemon(tmp_path, url, FAKE_NOW, "run")
    daemons.append(d)

    wait_until("the first delivery", lambda: len(server.received) >= 1, d)
    d.signal(signal.SIGTERM)
    assert d.wait() == 0, d.output()

    out = d.output()
    assert BANNER in out
    assert "Ctrl-C" in out and "127.0.0.1" in out and str(db) in out
    assert "SIGTERM" in out and "Đã dừng." in out

    due = rows(db)
    assert due, "nothing was planned for 16/06/2022"
    # In-flight sends finished and were recorded; nothing is left claimed. (The leader's
    # digest has nothing to report that day: the leader district's own report is a
    # member's letter, issue 6 §4; it is cancelled, not sent.)
    with sqlite3.connect(db) as conn:
        quiet = conn.execute(
            "SELECT kind, last_error FROM outbox WHERE state = 'cancelled'"
            " AND send_at < '2022-06-16 01:00:01'"
        ).fetchall()
    assert {kind for kind, why in quiet if why == "nothing to report"} <= {"leader_digest"}
    assert {why for _, why in quiet} <= {"nothing to report", "superseded by catch-up"}
    assert {state for _, state, *_ in due} <= {"sent", "planned", "cancelled"}
    assert all(claimed is None for _, state, _, claimed, _ in due if state != "sent")
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM outbox WHERE state = 'sending'").fetchone() == (
            0,
        )

    # What arrived is exactly what the outbox says was sent, once each.
    got = message_ids(server)
    assert len(got) == len(set(got))
    assert set(got) == {mid for _, state, _, _, mid in due if state == "sent"}
    # One line in the log per message sent.
    assert out.count("INFO đã gửi:") == len(got)

    # Started again, it sends what is left (if anything), and never a message twice.
    server.handler.delay = 0
    again = Daemon(tmp_path, url, FAKE_NOW, "again")
    daemons.append(again)
    wait_until("the banner", again.ready, again)
    wait_until(
        "every due reminder sent",
        lambda: all(state in ("sent", "cancelled") for _, state, *_ in rows(db)),
        again,
    )
    again.signal(signal.SIGINT)
    assert again.wait() == 0, again.output()
    got = message_ids(server)
    assert len(got) == len(set(got))
    recipients = {str(r.message()["To"].addresses[0].addr_spec) for r in server.received}
    assert recipients == FOCALS
    subjects = [str(r.message()["Subject"]) for r in server.received]
    assert any("Nhắc hạn: Báo cáo sơ kết 6 tháng" in s for s in subjects)


def test_sigkill_mid_batch_then_restart_delivers_everything_with_the_same_message_ids(
    tmp_path: Path,
    smtp_server_factory: Callable[..., SmtpServer],
    daemons: list[Daemon],
) -> None:
    handler = SlowAckHandler(ack_delay=1.0)
    server = smtp_server_factory(handler=handler)
    url, db = setup_db(tmp_path, server)
    first = Daemon(tmp_path, url, FAKE_NOW, "first")
    daemons.append(first)

    wait_until("the first delivery", lambda: len(server.received) >= 1, first)
    first.proc.kill()  # SIGKILL: no clean-up at all
    first.proc.wait(timeout=10)
    time.sleep(0.3)  # let the server finish with the dead connections

    at_kill = rows(db)
    marked = {mid for _, state, _, _, mid in at_kill if state == "sent"}
    received_at_kill = set(message_ids(server))
    # The kill landed mid-batch: claims were left behind by the dead worker.
    assert any(state == "sending" for _, state, *_ in at_kill), at_kill
    assert marked <= received_at_kill

    handler.ack_delay = 0
    second = Daemon(tmp_path, url, RESTART_AT, "second")
    daemons.append(second)
    wait_until(
        "every due reminder sent after the restart",
        lambda: all(state == "sent" for _, state, *_ in rows(db)),
        second,
    )
    second.signal(signal.SIGTERM)
    assert second.wait() == 0, second.output()

    final = rows(db)
    letters = {mid for *_, mid in final}
    got = Counter(message_ids(server))
    # Every reminder delivered …
    assert set(got) == letters
    assert {str(r.message()["To"].addresses[0].addr_spec) for r in server.received} == FOCALS
    # … a message recorded as sent before the kill never again …
    assert all(got[mid] == 1 for mid in marked)
    # … and a duplicate exactly for each send that was in flight (delivered, not yet
    # acknowledged and recorded), with the same Message-ID: one Message-ID per letter.
    in_flight = received_at_kill - marked
    assert in_flight
    assert {mid for mid, n in got.items() if n > 1} == in_flight
    assert all(n <= 2 for n in got.values())
    per_recipient: dict[str, set[str]] = {}
    for r in server.received:
        msg = r.message()
        key = f"{msg['To'].addresses[0].addr_spec} {msg['X-Tracker-Key']}"
        per_recipient.setdefault(key, set()).add(str(msg["Message-ID"]))
    assert all(len(ids) == 1 for ids in per_recipient.values()), per_recipient


def test_a_second_signal_stops_at_once_and_gives_the_claims_back(
    tmp_path: Path,
    smtp_server_factory: Callable[..., SmtpServer],
    daemons: list[Daemon],
) -> None:
    # The server sits on every message for 20 s: a clean stop would wait for the batch.
    handler = RecordingHandler(delay=20.0)
    server = smtp_server_factory(handler=handler)
    url, db = setup_db(tmp_path, server)
    d = Daemon(tmp_path, url, FAKE_NOW, "impatient")
    daemons.append(d)
    wait_until("the batch being sent", lambda: any(r[1] == "sending" for r in rows(db)), d)
    time.sleep(0.5)  # the first sends are on the wire
    d.signal(signal.SIGINT)
    time.sleep(0.3)
    d.signal(signal.SIGINT)
    assert d.wait(timeout=10) == 0, d.output()
    assert "Dừng ngay" in d.output()
    # Nothing is left claimed by the stopped worker; nothing was delivered.
    assert {state for _, state, *_ in rows(db)} == {"planned"}
    assert all(claimed is None for *_, claimed, _ in rows(db))
    assert server.received == []

    handler.delay = 0
    again = Daemon(tmp_path, url, FAKE_NOW, "again")
    daemons.append(again)
    wait_until("every due reminder sent", lambda: all(r[1] == "sent" for r in rows(db)), again)
    again.signal(signal.SIGTERM)
    assert again.wait() == 0, again.output()
    got = message_ids(server)
    # Every letter arrived. A message whose data the server already had when the first
    # daemon gave up is still accepted once the server answers (after its 20 s), as a real
    # server would deliver it: the only duplicates are such in-flight sends, with the same
    # Message-ID (at most the 4 sends in flight).
    assert set(got) == {r[4] for r in rows(db)}
    assert len(got) - len(set(got)) <= 4


@pytest.mark.parametrize(
    ("fake_now", "expected"),
    [
        # Sunday 20:00: nothing until Monday 08:00.
        ("2022-06-19T20:00:00+07:00", "lần gửi tới sớm nhất: 08:00 ngày 20/06/2022"),
        # Tết 2023: the first working day after it.
        ("2023-01-22T10:00:00+07:00", "lần gửi tới sớm nhất: 08:00 ngày 27/01/2023"),
        ("2022-06-16T09:30:00+07:00", "(đang trong giờ gửi)"),
    ],
)
def test_the_banner_says_when_mail_can_go_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_now: str, expected: str
) -> None:
    from jobs.daemon import _office_line
    from tracker.db.engine import make_engine
    from tracker.paths import config_dir

    url = f"sqlite:///{tmp_path / 't.db'}"
    init_db(CliRunner(), url, config_dir() / "cum-vung-cao-2022.toml")
    monkeypatch.setenv("TRACKER_FAKE_NOW", fake_now)
    engine = make_engine(url)
    try:
        line = _office_line(engine, "vi")
    finally:
        engine.dispose()
    assert "Giờ gửi thư: 08:00–17:00 các ngày làm việc" in line
    assert expected in line
