"""The reminder commands through the real CLI (issue 3 §4): `remind`, `outbox`, `simulate`,
and `run`'s start-up errors. Real SQLite files, real `.eml` files, a real SMTP server on
loopback for the failed-then-retried case; the clock is pinned with --at or
TRACKER_FAKE_NOW, never today's date.

The config helpers here are shared with test_daemon.py and test_simulate.py.
"""

# The SMTP fixtures come from tests/smtp_server.py; pytest finds them by the imported names,
# which a test's parameter then shadows on purpose.
# ruff: noqa: F811

from __future__ import annotations

import email
import email.policy
import re
import sqlite3
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.smtp_server import SmtpServer, smtp_server, smtp_server_factory  # noqa: F401
from tracker.cli.app import app
from tracker.db import migrate
from tracker.db.engine import make_engine
from tracker.paths import config_dir

SHIPPED = config_dir() / "cum-vung-cao-2022.toml"
FOCALS = {
    "noivu.tuachua@example.vn",
    "noivu.dienbiendong@example.vn",
    "noivu.muongcha@example.vn",
    "noivu.muongnhe@example.vn",
    "noivu.nampo@example.vn",
}


def write_config(
    folder: Path, *, mail_dir: Path | None = None, smtp_port: int | None = None
) -> Path:
    """The shipped 2022 config with its mail going to `mail_dir` (file transport) or to a
    plain SMTP server on 127.0.0.1:`smtp_port`."""
    text = SHIPPED.read_text("utf-8")
    if smtp_port is not None:
        text = text.replace(
            'transport = "file"',
            f'transport = "smtp"\nsecurity = "plain"\nsmtp_host = "127.0.0.1"\n'
            f"smtp_port = {smtp_port}",
            1,
        )
    if mail_dir is not None:
        text = text.replace('directory = "outbox-mail"', f'directory = "{mail_dir}"', 1)
    path = folder / "cluster.toml"
    path.write_text(text, "utf-8")
    return path


def init_db(runner: CliRunner, url: str, config: Path) -> None:
    result = runner.invoke(app, ["--db", url, "--config", str(config), "init", "--cycle", "2022"])
    assert result.exit_code == 0, result.output + result.stderr


def outbox_rows(db: Path) -> list[tuple[int, str, str, str, str | None]]:
    """(id, kind, recipient, state, message_id) of every outbox row."""
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT id, kind, recipient_email, state, message_id FROM outbox ORDER BY id"
        ).fetchall()


def letter_rows(db: Path) -> list[tuple[int, str, str, str | None]]:
    """(id, recipient, state, message_id) of every letter (e-mail)."""
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT id, recipient_email, state, message_id FROM letter ORDER BY id"
        ).fetchall()


def dump(db: Path) -> list[str]:
    """Every row of every table, as SQL text."""
    conn = sqlite3.connect(db)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def parse_eml(path: Path) -> EmailMessage:
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for var in ("TRACKER_DATABASE_URL", "TRACKER_OPERATOR", "TRACKER_NOW", "TRACKER_FAKE_NOW"):
        monkeypatch.delenv(var, raising=False)
    return CliRunner()


@pytest.fixture
def filedb(tmp_path: Path, runner: CliRunner) -> Iterator[tuple[str, Path, Path]]:
    """(url, db file, mail folder): the 2022 cycle, mail to .eml files."""
    db = tmp_path / "tracker.db"
    mail = tmp_path / "mail"
    url = f"sqlite:///{db}"
    init_db(runner, url, write_config(tmp_path, mail_dir=mail))
    yield url, db, mail


# ---------------------------------------------------------------- remind


def test_remind_dry_run_shows_what_would_go_out_and_writes_nothing(
    filedb: tuple[str, Path, Path], runner: CliRunner
) -> None:
    url, db, mail = filedb
    before = dump(db)
    result = runner.invoke(app, ["--db", url, "remind", "--dry-run", "--at", "2022-06-16"])
    assert result.exit_code == 0, result.output + result.stderr
    out = result.stdout
    assert "Chạy thử (--dry-run)" in out
    # 14 days before the half-year report (30/6/2022, Điều 7.1): every focal officer.
    would = [line for line in out.splitlines() if line.startswith("sẽ gửi:")]
    assert {re.search(r"<([^>]+)>", line)[1] for line in would} == FOCALS  # type: ignore[index]
    assert any("Báo cáo sơ kết 6 tháng" in line for line in would)
    assert f"Sẽ gửi {len(would)} thư." in out
    # Nothing written: not a row, not a file.
    assert dump(db) == before
    assert outbox_rows(db) == []
    assert not mail.exists()


def test_remind_at_sends_to_the_file_transport_once(
    filedb: tuple[str, Path, Path], runner: CliRunner
) -> None:
    url, db, mail = filedb
    result = runner.invoke(app, ["--db", url, "remind", "--at", "2022-06-16T08:00"])
    assert result.exit_code == 0, result.output + result.stderr
    files = sorted((mail / "new").glob("*.eml"))
    sent = [r for r in outbox_rows(db) if r[3] == "sent"]
    letters = {r[4] for r in sent}
    assert len(files) == len(letters) >= 5
    assert f"Đã gửi {len(files)} thư" in result.stdout

    msgs = [parse_eml(f) for f in files]
    assert {m["To"].addresses[0].addr_spec for m in msgs} == FOCALS
    assert {m["Message-ID"] for m in msgs} == letters
    reminder = next(
        m for m in msgs if m["To"].addresses[0].addr_spec == "noivu.muongcha@example.vn"
    )
    # The stdlib parser decodes the RFC 2047 subject back to Vietnamese.
    assert "Nhắc hạn: Báo cáo sơ kết 6 tháng" in reminder["Subject"]
    assert "30/06/2022" in reminder["Subject"]
    assert reminder["To"].addresses[0].display_name == "Lường Văn Minh"
    assert reminder["Auto-Submitted"] == "auto-generated"
    body = reminder.get_body(("plain",))
    assert body is not None and "Kính gửi" in body.get_content()

    # The same tick again sends nothing new: the outbox remembers.
    again = runner.invoke(app, ["--db", url, "remind", "--at", "2022-06-16T08:00"])
    assert again.exit_code == 0, again.output + again.stderr
    assert "Đã gửi 0 thư" in again.stdout
    assert sorted((mail / "new").glob("*.eml")) == files


def test_a_config_with_english_mail_sends_english_letters(
    tmp_path: Path, runner: CliRunner
) -> None:
    mail = tmp_path / "mail"
    config = write_config(tmp_path, mail_dir=mail)
    text = config.read_text("utf-8").replace('digest = "daily"', 'digest = "daily"\nlang = "en"', 1)
    config.write_text(text, "utf-8")
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    init_db(runner, url, config)
    # The command's own language stays Vietnamese: it is not the letters' language.
    result = runner.invoke(app, ["--db", url, "remind", "--at", "2022-06-16T08:00"])
    assert result.exit_code == 0, result.output + result.stderr
    assert "Đã gửi" in result.stdout
    msgs = [parse_eml(f) for f in sorted((mail / "new").glob("*.eml"))]
    assert {m["To"].addresses[0].addr_spec for m in msgs} == FOCALS
    for msg in msgs:
        body = msg.get_body(("plain",))
        assert body is not None and body.get_content().startswith("Dear ")
        assert "Kính gửi" not in body.get_content()
    reminder = next(
        m for m in msgs if m["To"].addresses[0].addr_spec == "noivu.muongcha@example.vn"
    )
    assert "Half-year report" in reminder["Subject"] and "Nhắc hạn" not in reminder["Subject"]


def test_remind_reports_in_the_commands_language(
    filedb: tuple[str, Path, Path], runner: CliRunner
) -> None:
    url, _, _ = filedb
    result = runner.invoke(app, ["--db", url, "--lang", "en", "remind", "--at", "2022-06-16"])
    assert result.exit_code == 0, result.output + result.stderr
    lines = result.stdout.splitlines()
    assert [line for line in lines if line.startswith("sent: ")]
    assert not [line for line in lines if line.startswith("đã gửi")]
    assert lines[-1].startswith("Sent ")


def test_remind_without_at_uses_the_pinned_clock(
    filedb: tuple[str, Path, Path], runner: CliRunner
) -> None:
    url, _, mail = filedb
    result = runner.invoke(
        app,
        ["--db", url, "remind"],
        env={"TRACKER_FAKE_NOW": "2022-06-16T08:30:00+07:00"},
    )
    assert result.exit_code == 0, result.output + result.stderr
    assert len(list((mail / "new").glob("*.eml"))) >= 5


def test_remind_refuses_a_future_at_unless_it_is_a_dry_run(
    filedb: tuple[str, Path, Path], runner: CliRunner
) -> None:
    url, db, mail = filedb
    before = dump(db)
    pinned = {"TRACKER_FAKE_NOW": "2022-06-16T08:00:00+07:00"}
    for lang, words in (("vi", "tương lai"), ("en", "future")):
        result = runner.invoke(
            app, ["--db", url, "--lang", lang, "remind", "--at", "2022-06-20"], env=pinned
        )
        assert result.exit_code == 2, result.output + result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and words in lines[0] and "--dry-run" in lines[0], lines
        assert result.stdout == ""
    assert dump(db) == before and not mail.exists()

    # A dry run may look ahead; it writes nothing either.
    ahead = runner.invoke(
        app, ["--db", url, "remind", "--dry-run", "--at", "2022-06-20"], env=pinned
    )
    assert ahead.exit_code == 0, ahead.output + ahead.stderr
    assert dump(db) == before
    # The past and the present are fine.
    now = runner.invoke(app, ["--db", url, "remind", "--at", "2022-06-16T08:00"], env=pinned)
    assert now.exit_code == 0, now.output + now.stderr
    assert list((mail / "new").glob("*.eml"))


# ---------------------------------------------------------------- outbox


def test_outbox_lists_rows_and_filters_by_state(
    filedb: tuple[str, Path, Path], runner: CliRunner
) -> None:
    url, db, _ = filedb
    empty = runner.invoke(app, ["--db", url, "outbox"])
    assert empty.exit_code == 0 and "Hàng đợi trống" in empty.stdout
    assert runner.invoke(app, ["--db", url, "remind", "--at", "2022-06-16"]).exit_code == 0

    sent = runner.invoke(app, ["--db", url, "outbox", "--state", "sent"])
    assert sent.exit_code == 0, sent.output + sent.stderr
    lines = sent.stdout.splitlines()
    assert lines[0].split() == ["Mã", "Gửi", "lúc", "Người", "nhận", "Loại", "Mục", "Trạng",
                                "thái", "Lần", "thử", "Phản", "hồi"]  # fmt: skip
    body = lines[2:]
    n_sent = sum(1 for r in letter_rows(db) if r[2] == "sent")  # letters, not items
    assert len(body) == n_sent
    assert all(" sent " in line and "16/06/2022 08:00" in line for line in body)

    english = runner.invoke(app, ["--db", url, "--lang", "en", "outbox", "--state", "planned"])
    assert english.exit_code == 0
    assert english.stdout.splitlines()[0].startswith("ID")
    assert " planned " in english.stdout and " sent " not in english.stdout

    bad = runner.invoke(app, ["--db", url, "outbox", "--state", "lost"])
    assert bad.exit_code == 2
    assert "planned, sending, sent, failed" in bad.stderr


def test_outbox_retry_sends_a_failed_message_again(
    tmp_path: Path, runner: CliRunner, smtp_server: SmtpServer
) -> None:
    db = tmp_path / "tracker.db"
    url = f"sqlite:///{db}"
    init_db(runner, url, write_config(tmp_path, smtp_port=smtp_server.port))
    # The server refuses the first recipient for good (a mistyped address, say).
    smtp_server.handler.script_rcpt("550 5.1.1 mailbox unavailable")
    first = runner.invoke(app, ["--db", url, "remind", "--at", "2022-06-16"])
    assert first.exit_code == 1  # for cron: something failed
    assert "thất bại" in first.stdout

    failed = runner.invoke(app, ["--db", url, "outbox", "--state", "failed"])
    assert failed.exit_code == 0
    assert "550" in failed.stdout and "tracker outbox retry" in failed.stdout
    failed_ids = [r[0] for r in letter_rows(db) if r[2] == "failed"]
    assert failed_ids
    delivered = len(smtp_server.received)

    not_failed = next(r[0] for r in letter_rows(db) if r[2] == "sent")
    refused = runner.invoke(app, ["--db", url, "outbox", "retry", str(not_failed)])
    assert refused.exit_code == 2 and "failed" in refused.stderr
    missing = runner.invoke(app, ["--db", url, "outbox", "retry", "99999"])
    assert missing.exit_code == 2

    for row_id in failed_ids:
        retried = runner.invoke(app, ["--db", url, "outbox", "retry", str(row_id)])
        assert retried.exit_code == 0, retried.output + retried.stderr
        assert f"#{row_id}" in retried.stdout
    assert {r[2] for r in letter_rows(db) if r[0] in failed_ids} == {"planned"}

    second = runner.invoke(app, ["--db", url, "remind", "--at", "2022-06-16T09:00"])
    assert second.exit_code == 0, second.output + second.stderr
    assert {r[2] for r in letter_rows(db) if r[0] in failed_ids} == {"sent"}
    assert len(smtp_server.received) > delivered


# ---------------------------------------------------------------- simulate


def test_simulate_prints_a_timeline_and_leaves_the_real_outbox_alone(
    filedb: tuple[str, Path, Path], runner: CliRunner, tmp_path: Path
) -> None:
    url, db, mail = filedb
    before = dump(db)
    out = tmp_path / "sim-mail"
    result = runner.invoke(
        app,
        ["--db", url, "simulate", "--from", "2022-06-13", "--to", "2022-06-19", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output + result.stderr
    text = result.stdout
    assert "hàng đợi thật không bị động tới" in text
    rows = [line for line in text.splitlines() if re.match(r"^Thứ|^Chủ nhật", line)]
    # 16/6 is 14 days before the half-year report: a reminder to each member.
    on_16 = [line for line in rows if "16/06/2022" in line]
    assert {e for e in FOCALS if any(e in line for line in on_16)} == FOCALS
    assert not any(line.startswith(("Thứ Bảy", "Chủ nhật")) for line in rows)  # weekend
    n = int(re.search(r"Tổng cộng (\d+) thư", text)[1])  # type: ignore[index]
    assert n == len(rows) == len(list((out / "new").glob("*.eml")))
    # The real database and mail folder are untouched.
    assert dump(db) == before
    assert not mail.exists()

    english = runner.invoke(
        app, ["--db", url, "--lang", "en", "simulate", "--from", "16/06/2022", "--to", "16/06/2022"]
    )
    assert english.exit_code == 0
    assert "in memory" in english.stdout and "Thursday 2022-06-16" in english.stdout

    backwards = runner.invoke(
        app, ["--db", url, "simulate", "--from", "2022-06-20", "--to", "2022-06-13"]
    )
    assert backwards.exit_code == 2 and "--to" in backwards.stderr


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_simulate_into_an_unwritable_folder_fails_with_the_reason(
    filedb: tuple[str, Path, Path], runner: CliRunner, tmp_path: Path, lang: str
) -> None:
    url, _, _ = filedb
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the mail folder should be")
    args = ["simulate", "--from", "2022-06-13", "--to", "2022-06-19", "--out", str(blocked)]
    result = runner.invoke(app, ["--db", url, "--lang", lang, *args])
    assert result.exit_code == 1, result.output + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    if lang == "vi":
        assert "tạm dừng" in lines[0] and "Không ghi được thư" in lines[0] and "--out" in lines[0]
    else:
        assert "paused" in lines[0] and "Could not write" in lines[0] and "--out" in lines[0]
    assert str(blocked) in lines[0]


# ---------------------------------------------------------------- run: start-up errors


@pytest.mark.parametrize("migrated", [False, True])
def test_run_without_a_cycle_says_to_run_init(
    tmp_path: Path, runner: CliRunner, migrated: bool
) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    if migrated:
        engine = make_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
    result = runner.invoke(app, ["--db", url, "run"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "tracker init" in lines[0], result.stderr
    assert result.stdout == ""


def test_run_refuses_a_bad_tick_interval(filedb: tuple[str, Path, Path], runner: CliRunner) -> None:
    url, _, _ = filedb
    result = runner.invoke(app, ["--db", url, "run"], env={"TRACKER_TICK_SECONDS": "600"})
    assert result.exit_code == 2
    assert "TRACKER_TICK_SECONDS" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["outbox"],
        ["remind", "--at", "2022-06-16"],
        ["remind", "--dry-run", "--at", "2022-06-16"],
        ["run"],
        ["simulate", "--from", "2022-06-16", "--to", "2022-06-16"],
        ["outbox", "retry", "1"],
    ],
)
def test_a_command_on_a_missing_database_says_run_init_and_creates_nothing(
    tmp_path: Path, runner: CliRunner, args: list[str]
) -> None:
    db = tmp_path / "nothing-here.db"
    result = runner.invoke(app, ["--db", f"sqlite:///{db}", *args])
    assert result.exit_code == 2, result.output + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "chưa được khởi tạo" in lines[0] and "tracker init" in lines[0]
    assert "no such table" not in result.stderr
    assert not db.exists(), "no empty database file left behind"
    assert list(tmp_path.iterdir()) == []
