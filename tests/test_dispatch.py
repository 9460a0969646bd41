"""One tick end to end (issue 3 §1 digests, §3 delivery): the shipped 2022 config, a real
store and a real SMTP server on loopback (aiosmtpd). What arrives is parsed back with the
stdlib parser.

Most tests plan once on 8 December 2022 with an in-memory transport so that the year's
earlier reminders are out of the way, then look at what 9 December (a Friday) sends: the
lead-14 reminders of the annual report and the self-score sheet (both due 25/12, a Sunday,
so "14 days before" moves back to Friday 9/12), plus whatever else the calendar has.
"""

# The SMTP fixtures come from tests/smtp_server.py; pytest finds them by the imported
# names, which the test parameters then shadow on purpose.
# ruff: noqa: F811

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import col, select

from jobs import tick as ticks
from jobs.tick import TickReport
from tests.smtp_server import SmtpServer, smtp_server, smtp_server_factory  # noqa: F401
from tests.test_outbox import CFG, FOCAL, JUNE_16, LOAD, act, at, init, obligation_id, rows
from tracker.calendar.types import local_date
from tracker.config.schema import ClusterConfig
from tracker.db import migrate
from tracker.db.engine import make_engine, session_scope
from tracker.db.models import CycleRow, LetterRow, Obligation, OutboxRow
from tracker.delivery import claim, plan_sync
from tracker.delivery.states import NOTHING_TO_REPORT, SUPERSEDED
from tracker.letters.build import build_letters
from tracker.letters.render import message_id
from tracker.service import cycles
from tracker.service.cycles import all_cycles
from tracker.transport import FileTransport, MemoryTransport, SmtpTransport, Transport
from tracker.workflow import Action

DEC_8 = at(2022, 12, 8)
DEC_9 = at(2022, 12, 9)
LEADER_EMAIL = FOCAL[CFG.cycle.leader]
PROVINCE = str(CFG.province_board.email) if CFG.province_board else ""
MEMBERS = [m for m in FOCAL if m != CFG.cycle.leader]
LEASE = timedelta(minutes=5)


@pytest.fixture
def store(sqlite_url: str) -> Iterator[Engine]:
    engine = make_engine(sqlite_url)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


def plain(server: SmtpServer) -> Callable[[], Transport]:
    return lambda: SmtpTransport(
        server.host, server.port, "plain", local_hostname="tracker.test", timeout=5
    )


def tick(
    engine: Engine,
    make: Callable[[], Transport] | Transport,
    now: datetime,
    *,
    worker: str = "A",
    **kw: Any,
) -> TickReport:
    """One tick in its own event loop; a transport made here is closed here."""

    async def go() -> TickReport:
        transport = make if not callable(make) else make()
        try:
            return await ticks.tick(engine, transport, now=now, worker=worker, **kw)
        finally:
            if callable(make):
                await transport.aclose()

    return asyncio.run(go())


def up_to_date(engine: Engine, cfg: ClusterConfig = CFG, now: datetime = DEC_8) -> None:
    """Load the cycle and send everything due until `now` into memory."""
    init(engine, cfg)
    report = tick(engine, MemoryTransport(), now)
    assert report.sent > 0 and report.failed == 0


def letters(engine: Engine, **where: Any) -> list[LetterRow]:
    with session_scope(engine) as s:
        q = select(LetterRow).order_by(col(LetterRow.send_at), col(LetterRow.id))
        for name, value in where.items():
            q = q.where(getattr(LetterRow, name) == value)
        return list(s.exec(q).all())


def parsed(server: SmtpServer) -> list[EmailMessage]:
    return [r.message() for r in server.received]


def text_of(msg: EmailMessage) -> str:
    part = msg.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def html_of(msg: EmailMessage) -> str:
    part = msg.get_body(("html",))
    assert part is not None
    return str(part.get_content())


def key_of(msg: EmailMessage) -> str:
    # A long header is folded on the wire; unfolded it keeps the fold's leading space.
    return str(msg["X-Tracker-Key"]).strip()


def to_addr(msg: EmailMessage) -> str:
    return str(msg["To"].addresses[0].addr_spec)


# -- digests ----------------------------------------------------------------------------


def test_one_email_per_recipient_per_day_with_every_item(
    engine: Engine, smtp_server: SmtpServer
) -> None:
    up_to_date(engine)
    report = tick(engine, plain(smtp_server), DEC_9)

    got = parsed(smtp_server)
    assert report.sent == len(got) > len(MEMBERS)
    assert report.failed == report.retried == 0 and report.paused is None
    # One letter per recipient and hat: the leader's office and the leader district's
    # focal officer share a mailbox in the shipped config, and get one letter each.
    per_recipient = Counter((to_addr(m), m["X-Tracker-Kind"] == "leader_digest") for m in got)
    assert set(per_recipient.values()) == {1}, per_recipient
    for member in MEMBERS:
        [msg] = [m for m in got if to_addr(m) == FOCAL[member]]
        assert msg["X-Tracker-Kind"] == "digest"
        text = text_of(msg)
        assert "Báo cáo tổng kết năm" in text and "Bảng tự chấm điểm thi đua" in text
        assert "chậm nhất ngày 25 tháng 12 năm 2022 (Chủ nhật)" in text
        # Due on a Sunday: counted in working days to Friday 23/12, the last one.
        assert "còn 10 ngày làm việc (ngày làm việc cuối cùng là thứ Sáu, 23/12/2022)" in text
        assert "khoản 2 Điều 7" in text and "Trưởng cụm (Phòng Nội vụ huyện Tủa Chùa)" in text
        assert "tracker" not in text  # no command in a member's letter
        assert "Bảng tự chấm điểm thi đua" in html_of(msg)
        assert str(msg["Subject"]).startswith("[Cụm thi đua huyện vùng cao]")
        assert msg["Auto-Submitted"] == "auto-generated"
        assert msg["From"].addresses[0].display_name == "Cụm thi đua huyện vùng cao"
        assert str(msg["Reply-To"]) == "noivu.tuachua@example.vn"
        key = key_of(msg)
        assert msg["Message-ID"] == message_id(key, "example.vn")
        # The rows it carries say so.
        carried = rows(engine, letter_key=key)
        assert len(carried) >= 2 and {r.state for r in carried} == {"sent"}
        assert {r.message_id for r in carried} == {msg["Message-ID"]}
        assert {r.recipient_email for r in carried} == {FOCAL[member]}
    # The leader's office gets the cluster digest with the leader's own tasks; the leader
    # district's own reports go to its focal officer as a member's letter, not in it.
    [lead] = [m for m in got if m["X-Tracker-Kind"] == "leader_digest"]
    assert to_addr(lead) == LEADER_EMAIL
    own = text_of(lead).split("Nhiệm vụ của Trưởng cụm cần thực hiện".upper())[1]
    assert "Báo cáo tổng kết năm" not in own and "Gửi đến" not in text_of(lead)
    [mine] = [m for m in got if to_addr(m) == LEADER_EMAIL and m is not lead]
    assert mine["X-Tracker-Kind"] == "digest"
    assert text_of(mine).startswith(
        "Kính gửi: Bà Lò Thị Hoa, Chuyên viên Phòng Nội vụ huyện Tủa Chùa\r\n"
    )
    assert "Báo cáo tổng kết năm" in text_of(mine) and "Bảng tự chấm điểm thi đua" in text_of(mine)


def test_per_item_mode_sends_one_email_per_reminder(store: Engine, smtp_server: SmtpServer) -> None:
    cfg = CFG.model_copy(update={"mail": CFG.mail.model_copy(update={"digest": "per_item"})})
    up_to_date(store, cfg)
    tick(store, plain(smtp_server), DEC_9)

    got = parsed(smtp_server)
    mine = [m for m in got if to_addr(m) == FOCAL["muong-cha"]]
    assert len(mine) >= 2
    assert {m["X-Tracker-Kind"] for m in mine} <= {"reminder", "overdue", "window_closing"}
    for msg in mine:
        [row] = rows(store, letter_key=key_of(msg))  # one item, one letter
        assert row.state == "sent" and key_of(msg) == f"one:{row.key}#1"
        assert msg["Message-ID"] == message_id(key_of(msg), "example.vn") == row.message_id
    # The leader's digest still comes, on its own.
    assert "leader_digest" in {m["X-Tracker-Kind"] for m in got}


def test_nothing_goes_out_twice(store: Engine, smtp_server: SmtpServer) -> None:
    up_to_date(store)
    first = tick(store, plain(smtp_server), DEC_9)
    again = tick(store, plain(smtp_server), DEC_9 + timedelta(minutes=1))
    assert first.sent > 0 and again.sent == 0 and again.lines == []
    assert len(smtp_server.received) == first.sent


def test_a_completed_obligation_is_not_reminded(store: Engine, smtp_server: SmtpServer) -> None:
    up_to_date(store)
    act(store, "muong-cha", "annual_report", Action.COMPLETE, DEC_8 + timedelta(hours=2))
    tick(store, plain(smtp_server), DEC_9)

    [msg] = [m for m in parsed(smtp_server) if to_addr(m) == FOCAL["muong-cha"]]
    assert "Báo cáo tổng kết năm" not in text_of(msg)
    assert "Bảng tự chấm điểm thi đua" in text_of(msg)
    ob = obligation_id(store, "muong-cha", "annual_report")
    assert {r.state for r in rows(store, obligation_id=ob)} <= {"sent", "cancelled"}
    assert not [r for r in rows(store, obligation_id=ob) if r.sent_at and r.sent_at > DEC_8]


def test_the_leader_digest_shows_the_whole_cluster(store: Engine) -> None:
    up_to_date(store)
    act(store, "muong-cha", "annual_report", Action.COMPLETE, DEC_8 + timedelta(hours=2))
    # A message the server refused for good: the leader must hear of it.
    with session_scope(store) as s:
        victim = s.exec(select(LetterRow).where(col(LetterRow.state) == "sent")).first()
        assert victim is not None
        victim.state, victim.last_error = "failed", "550 5.1.1 user unknown"
        s.add(victim)
    memory = MemoryTransport()
    tick(store, memory, DEC_9)

    [msg] = [m for m in memory.sent if m["X-Tracker-Kind"] == "leader_digest"]
    text = text_of(msg)
    overdue = text.split("CÁC ĐƠN VỊ: QUÁ HẠN")[1].split("CÁC ĐƠN VỊ: ĐẾN HẠN TRONG TUẦN")[0]
    # Nobody sent the half-year report; the visits (Oct–Nov, Điều 7.4) are events, never
    # overdue: the leader is asked to date them instead.
    assert "Báo cáo sơ kết 6 tháng" in overdue and "Kiểm tra chéo" not in overdue
    # Each member once; the leader's own tasks in their own section, not again here.
    assert overdue.count("Huyện Mường Chà – Báo cáo sơ kết 6 tháng") == 1
    assert "Thông báo nội dung, kế hoạch" not in overdue
    completed = text.split("ĐÃ HOÀN THÀNH GẦN ĐÂY")[1]
    assert "Huyện Mường Chà – Báo cáo tổng kết năm: hoàn thành ngày 08/12/2022" in completed
    problems = text.split("CẦN XỬ LÝ NGAY")[1]
    assert "1 thư nhắc việc không gửi được" in problems
    assert "tracker outbox retry" in problems


def test_dry_run_shows_what_would_go_out_and_writes_nothing(store: Engine) -> None:
    init(store)
    memory = MemoryTransport()
    report = tick(store, memory, at(2022, 6, 16), dry_run=True)
    assert rows(store) == [] and memory.sent == []
    # Planned 60 days ahead (tracker.delivery.plan_sync.HORIZON_DAYS), not the whole year.
    assert report.planned_added > 50 and report.sent == 0
    # A letter to each focal officer (the leader district's too, as a member) and the
    # leader's digest when it has anything to report (the leader's own tasks of the day).
    members = [line for line in report.lines if "Tình hình Cụm" not in line]
    assert sorted(next(e for e in FOCAL.values() if f"<{e}>" in line) for line in members) == (
        sorted(FOCAL.values())
    )
    assert len(report.lines) - len(members) <= 1
    assert all(line.startswith("sẽ gửi: ") for line in report.lines)
    assert any("Báo cáo sơ kết 6 tháng" in line for line in report.lines)

    real = tick(store, memory, at(2022, 6, 16))
    assert sorted(r.key for r in real.results) == sorted(r.key for r in report.results)
    states = {r.id: r.state for r in rows(store)}
    tick(store, memory, at(2022, 6, 17), dry_run=True)
    assert {r.id: r.state for r in rows(store)} == states


@pytest.mark.parametrize(("mail_lang", "cli_lang"), [("en", "vi"), ("vi", "en")])
def test_letters_are_written_in_the_configs_mail_language(
    store: Engine, mail_lang: str, cli_lang: str
) -> None:
    """`[mail] lang` chooses the letters' language; the CLI's --lang (the tick's `lang`,
    for its report lines) does not."""
    cfg = CFG.model_copy(update={"mail": CFG.mail.model_copy(update={"lang": mail_lang})})
    up_to_date(store, cfg)
    with session_scope(store) as s:  # a refused message: the leader's digest says so
        victim = s.exec(select(LetterRow).where(col(LetterRow.state) == "sent")).first()
        assert victim is not None
        victim.state, victim.last_error = "failed", "550 5.1.1 user unknown"
        s.add(victim)
    memory = MemoryTransport()
    report = tick(store, memory, DEC_9, lang=cli_lang)
    assert report.sent == len(memory.sent) > len(MEMBERS)
    english = mail_lang == "en"
    for msg in memory.sent:
        subject, text = str(msg["Subject"]), text_of(msg)
        assert text.startswith("Dear " if english else "Kính gửi"), text[:80]
        if msg["X-Tracker-Kind"] != "leader_digest":
            assert ("Annual report" in text) == english, subject
            assert ("Báo cáo tổng kết năm" in text) != english, subject
            assert ("To do on" in subject) == english, subject
    [lead] = [m for m in memory.sent if m["X-Tracker-Kind"] == "leader_digest"]
    assert ("Cluster status on" in str(lead["Subject"])) == english
    assert ("could not be delivered" in text_of(lead)) == english
    assert ("không gửi được" in text_of(lead)) != english


# -- catch-up after downtime ------------------------------------------------------------


def test_after_a_30_day_outage_each_open_obligation_gets_one_message(store: Engine) -> None:
    cfg = CFG.model_copy(update={"mail": CFG.mail.model_copy(update={"digest": "per_item"})})
    init(store, cfg)
    memory = MemoryTransport()
    tick(store, memory, at(2022, 6, 16))  # the lead-14 reminders went out, then the outage
    before = len(memory.sent)
    back = at(2022, 7, 18)
    report = tick(store, memory, back)
    assert report.superseded > 0 and report.failed == 0
    late = memory.sent[before:]

    half_year = {m: obligation_id(store, m, "half_year_report") for m in FOCAL}
    for member, ob in half_year.items():
        to_focal = [
            m for m in late if to_addr(m) == FOCAL[member] and key_of(m).startswith(f"one:{ob}:")
        ]
        assert len(to_focal) == 1, (member, [key_of(m) for m in to_focal])
        [row] = rows(store, letter_key=key_of(to_focal[0]))
        assert row.catch_up and row.kind == "overdue"
        # Its content is the state today, not when it should have gone.
        assert "đã quá hạn 18 ngày" in text_of(to_focal[0])
    missed = [
        r
        for r in rows(store, state="cancelled")
        if r.obligation_id in half_year.values() and r.recipient_role == "focal"
    ]
    assert missed and {r.last_error for r in missed} == {SUPERSEDED}
    # The escalations missed meanwhile (head, leader, province) are not sent a month late:
    # the catch-up to the focal officer is the one message about each obligation.
    assert not [m for m in late if m["X-Tracker-Kind"] == "escalation"]
    heads = {str(c.email) for m in CFG.members for c in m.contacts if c.role == "head"}
    assert not [m for m in late if to_addr(m) in heads | {PROVINCE}]


def test_a_first_tick_months_after_loading_escalates_nothing(store: Engine) -> None:
    """Installed mid-year (loaded in March, first run in December): every obligation gets
    one message, to its focal officer; nothing goes to the heads or the provincial board,
    though the half-year report is 150 days late."""
    init(store)
    memory = MemoryTransport()
    report = tick(store, memory, DEC_9)
    # A digest each (the leader district's too), and the leader's office its own.
    assert report.sent == len(memory.sent) == len(FOCAL) + 1
    assert {to_addr(m) for m in memory.sent} == set(FOCAL.values())
    sent = rows(store, state="sent")
    per_obligation = Counter(r.obligation_id for r in sent if r.obligation_id is not None)
    assert per_obligation and set(per_obligation.values()) == {1}
    assert {r.recipient_role for r in sent} == {"focal"} | {"leader"}  # the leader's digest
    assert not [r for r in sent if r.kind == "escalation"]
    # The superseded escalations stay cancelled; later ones are still planned, on time.
    with session_scope(store) as s:
        plan_sync.plan_all(s, DEC_9 + timedelta(minutes=1), force=True)
    assert not [r for r in rows(store, kind="escalation", state="planned") if r.send_at <= DEC_9]
    assert [r for r in rows(store, kind="escalation", state="planned") if r.send_at > DEC_9]


# -- crash and restart ------------------------------------------------------------------


class HangsOnSend:
    """Delivers through `inner`; on the `n`-th send it delivers and then never returns, as
    a process killed right after the server said 250 but before the outbox knew."""

    def __init__(self, inner: Transport, n: int) -> None:
        self.inner, self.n, self.count = inner, n, 0

    async def send(self, msg: EmailMessage, *, guard: Any = None) -> None:
        self.count += 1
        await self.inner.send(msg, guard=guard)
        if self.count >= self.n:
            await asyncio.Event().wait()

    async def aclose(self) -> None:
        await self.inner.aclose()

    def describe(self, lang: str = "vi") -> str:
        return "hangs"


def test_a_crash_mid_batch_resends_only_the_one_in_flight_with_its_message_id(
    engine: Engine, smtp_server: SmtpServer
) -> None:
    up_to_date(engine)

    async def killed() -> None:
        transport = HangsOnSend(plain(smtp_server)(), n=2)
        try:
            await asyncio.wait_for(
                ticks.tick(engine, transport, now=DEC_9, worker="A", max_concurrency=1),
                timeout=3,
            )
        finally:
            await transport.aclose()

    with pytest.raises(TimeoutError):
        asyncio.run(killed())
    assert len(smtp_server.received) == 2
    in_flight = parsed(smtp_server)[1]["Message-ID"]
    stuck = letters(engine, state="sending")
    assert stuck and {r.claimed_by for r in stuck} == {"A"}

    # Worker A is gone. B, after the lease, finishes the batch.
    assert tick(engine, plain(smtp_server), DEC_9 + timedelta(minutes=1), worker="B").sent == 0
    report = tick(engine, plain(smtp_server), DEC_9 + LEASE + timedelta(minutes=1), worker="B")
    assert report.sent == len(stuck)
    ids = Counter(str(m["Message-ID"]) for m in parsed(smtp_server))
    assert {mid for mid, n in ids.items() if n > 1} == {in_flight}
    assert ids[in_flight] == 2
    assert rows(engine, state="sending") == [] and letters(engine, state="sending") == []
    recipients = Counter(to_addr(m) for m in parsed(smtp_server))
    assert sum(recipients.values()) == len(ids) + 1


def test_a_claim_never_marked_is_sent_by_the_next_worker_with_the_same_message_id(
    store: Engine, smtp_server: SmtpServer
) -> None:
    up_to_date(store)
    # Worker A claims its letters exactly as a tick does, then dies.
    claimed = claim.claim_letters(store, now=DEC_9, worker="A", lease=LEASE, limit=200)
    assert claimed

    report = tick(store, plain(smtp_server), DEC_9 + LEASE + timedelta(seconds=1), worker="B")
    assert report.sent == len(claimed)
    expected = {message_id(c.letter.key, "example.vn") for c in claimed}
    assert {str(m["Message-ID"]) for m in parsed(smtp_server)} == expected
    done = [lt for lt in letters(store) if lt.id in {c.letter.id for c in claimed}]
    assert {(lt.state, lt.claimed_by, lt.attempts) for lt in done} == {("sent", "B", 2)}


def test_the_tick_uses_the_given_time_only(store: Engine) -> None:
    init(store)
    memory = MemoryTransport()
    tick(store, memory, at(2022, 6, 16, 10, 30))
    assert memory.sent
    for msg in memory.sent:
        assert msg["Date"].datetime == at(2022, 6, 16, 10, 30)
    assert {r.sent_at for r in rows(store, state="sent")} == {at(2022, 6, 16, 10, 30)}


def test_naive_now_is_refused(store: Engine) -> None:
    with pytest.raises(ValueError, match="aware"):
        tick(store, MemoryTransport(), datetime(2022, 6, 16, 9))


def test_a_cycle_that_cannot_be_read_does_not_hold_up_the_others(store: Engine) -> None:
    init(store)
    with session_scope(store) as s:
        cycles.init_cycle(
            s, CFG, config_path="config/test.toml", year=2023, now=LOAD, operator="t", os_user="t"
        )
    # Mid-January 2023: both cycles are live (the 2023 one has begun, the 2022 one has its
    # scoring month), so each has rows due.
    when = at(2023, 1, 16)
    with session_scope(store) as s:
        plan_sync.plan_all(s, when)
        # A snapshot an older program wrote, that this config schema no longer reads.
        broken = s.exec(select(CycleRow).where(CycleRow.year == 2023)).one()
        broken.config_json = '{"cluster": {"id": "cum-vung-cao"}}'
        s.add(broken)
    stuck = [r for r in rows(store, cycle_id=broken.id) if r.send_at <= when]
    assert [r.kind for r in stuck] == ["leader_digest"]

    memory = MemoryTransport()
    report = tick(store, memory, when)
    # The 2022 cycle's letters (catch-up digests to the focal officers, the leader's
    # digest) all went out; only the broken cycle's row waits.
    assert report.sent == len(memory.sent) == len(FOCAL) + 1
    assert {to_addr(m) for m in memory.sent} == set(FOCAL.values())
    assert all(f":{broken.id}:" not in str(m["X-Tracker-Key"]) for m in memory.sent)
    assert report.retried == 1
    [row] = rows(store, id=stuck[0].id)
    assert row.state == "planned" and row.last_error.startswith("letters: ")
    [letter] = letters(store, id=row.letter_id)
    assert letter.state == "planned" and letter.last_error.startswith("letters: ")
    assert letter.next_attempt_at == when + timedelta(minutes=1)


def _row(ob: int, kind: str, *, email: str, row_id: int, cycle_id: int = 1) -> OutboxRow:
    return OutboxRow(
        id=row_id,
        key=f"{ob}:{kind}:{row_id}:2022-06-30:{email}",
        cycle_id=cycle_id,
        obligation_id=ob,
        kind=kind,
        offset=row_id,
        due=None,
        recipient_email=email,
        recipient_name="Lường Văn Minh",
        recipient_role="focal",
        member_id="muong-cha",
        send_at=at(2022, 7, 5, 8),
        created_at=LOAD,
        updated_at=LOAD,
    )


def test_letters_group_reminders_by_recipient_and_name_them_by_the_most_urgent(
    store: Engine,
) -> None:
    cycle_id = init(store)
    with session_scope(store) as s:
        ctx = cycles.load_context(s, s.get_one(CycleRow, cycle_id))
    half = obligation_id(store, "muong-cha", "half_year_report")
    annual = obligation_id(store, "muong-cha", "annual_report")
    mail = FOCAL["muong-cha"]
    now = at(2022, 7, 5)

    def build(*rs: OutboxRow) -> list[tuple[Any, list[int]]]:
        return build_letters(list(rs), {cycle_id: ctx}, today=now.date(), now=now)

    # Two reminders about one obligation: one item, named by the more urgent one.
    [(letter, ids)] = build(
        _row(half, "lead", email=mail, row_id=1), _row(half, "overdue", email=mail, row_id=2)
    )
    assert (letter.kind, len(letter.items), sorted(ids)) == ("overdue", 1, [1, 2])
    [item] = letter.items
    assert (item.days_left, item.overdue, item.article) == (-5, True, "Điều 7.1")
    assert letter.key.startswith(f"letter:{cycle_id}:2022-07-05:{mail}:")
    # Two obligations: a digest. The same rows always make the same key.
    rows_ = (
        _row(half, "overdue", email=mail, row_id=2),
        _row(annual, "lead", email=mail, row_id=3),
    )
    [(digest, _)] = build(*rows_)
    assert digest.kind == "digest" and [i.obligation_id for i in digest.items] == [half, annual]
    assert build(*reversed(rows_))[0][0].key == digest.key
    # A row already sent once in a letter goes out in that letter again.
    again = _row(half, "overdue", email=mail, row_id=4)
    again.letter_key = "letter:earlier"
    assert [lt.key for lt, _ in build(again)] == ["letter:earlier"]
    # A settled obligation is in no letter: the caller cancels its rows.
    with session_scope(store) as s:
        ob = s.get_one(Obligation, half)
        ob.state = "completed"
        s.add(ob)
    with session_scope(store) as s:
        ctx = cycles.load_context(s, s.get_one(CycleRow, cycle_id))
    assert build(_row(half, "overdue", email=mail, row_id=2)) == []


def test_a_stopping_daemon_starts_no_new_send_and_gives_the_rows_back(store: Engine) -> None:
    init(store)
    stop = asyncio.Event()
    stop.set()  # the signal arrived before the sends began
    memory = MemoryTransport()
    report = tick(store, memory, DEC_8, stop=stop)
    assert memory.sent == [] and report.sent == 0
    # Nothing is left claimed: the next run sends them, once.
    assert not [r for r in rows(store) if r.state == "sending"]
    again = tick(store, memory, DEC_8, worker="B")
    assert again.sent > 0 and len(memory.sent) == again.sent


def test_the_leader_is_shown_how_to_set_the_conference_date(store: Engine) -> None:
    init(store)
    memory = MemoryTransport()
    report = tick(store, memory, at(2022, 12, 1))  # set_date_from = 1/12/Y
    assert report.sent > 0
    to_leader = [m for m in memory.sent if LEADER_EMAIL in str(m["To"])]
    assert to_leader
    assert any("tracker schedule summary_conference YYYY-MM-DD" in text_of(m) for m in to_leader), [
        text_of(m) for m in to_leader
    ]


def test_report_lines_and_reasons_follow_the_commands_language(
    store: Engine, tmp_path: Path
) -> None:
    init(store)
    stop = asyncio.Event()
    stop.set()
    english = tick(store, MemoryTransport(), JUNE_16, stop=stop, lang="en")
    assert english.lines and all(
        line.startswith("left for the next tick: ") and "stopping" in line for line in english.lines
    ), english.lines
    vietnamese = tick(store, MemoryTransport(), JUNE_16, stop=stop)
    assert all(
        line.startswith("để lượt sau: ") and "đang dừng" in line for line in vietnamese.lines
    )

    # A pause (a mail folder that cannot be written) is reported in the same language.
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the mail folder should be")
    paused = tick(store, FileTransport(blocked), JUNE_16, lang="en")
    assert paused.paused is not None and paused.paused.startswith("Could not write"), paused.paused
    assert paused.lines and all(line.startswith("paused: ") for line in paused.lines)
    assert "Không ghi được" not in "\n".join(paused.lines)
    sent = tick(store, MemoryTransport(), JUNE_16 + timedelta(minutes=20), lang="en")
    assert sent.sent > 0 and all(line.startswith("sent: ") for line in sent.lines)


def test_a_leader_digest_with_nothing_to_report_is_not_sent(store: Engine) -> None:
    """January to March two cycles are live: the 2022 one (scoring, the conference) and the
    2023 one, which has nothing to say yet. The leader gets one digest a day, not two."""
    init(store)
    with session_scope(store) as s:
        cycles.init_cycle(
            s, CFG, config_path="config/test.toml", year=2023, now=LOAD, operator="t", os_user="t"
        )
        ids = {r.year: r.id for r in all_cycles(s)}
    feb_1 = at(2023, 2, 1)  # a Wednesday after Tết
    memory = MemoryTransport()
    report = tick(store, memory, feb_1)
    digests = [m for m in memory.sent if m["X-Tracker-Kind"] == "leader_digest"]
    assert len(digests) == 1 and to_addr(digests[0]) == LEADER_EMAIL
    assert ": 0 việc quá hạn, 0 việc" not in str(digests[0]["Subject"])
    [empty] = [r for r in rows(store, kind="leader_digest", cycle_id=ids[2023]) if r.due is None
               and local_date(r.send_at) == feb_1.date()]  # fmt: skip
    assert empty.state == "cancelled" and empty.last_error == NOTHING_TO_REPORT
    assert report.sent == len(memory.sent)

    # It stays cancelled: the next tick neither revives nor sends it.
    again = tick(store, memory, feb_1 + timedelta(minutes=1))
    assert again.sent == 0
    [same] = [r for r in rows(store, id=empty.id)]
    assert same.state == "cancelled"


# -- office hours -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("closed", "opens"),
    [
        # A daemon started on a weekday evening: the next morning.
        ([at(2022, 6, 16, 19), at(2022, 6, 17, 7, 59)], at(2022, 6, 17, 8)),
        # Started on a Sunday: Monday morning.
        ([at(2022, 6, 19, 10), at(2022, 6, 19, 20)], at(2022, 6, 20, 8)),
        # Started on a Sunday in Tết (20–26/01/2023): the first working day after it.
        ([at(2023, 1, 22, 8), at(2023, 1, 24, 9), at(2023, 1, 26, 16)], at(2023, 1, 27, 8)),
    ],
)
def test_nothing_is_sent_outside_office_hours_of_a_working_day(
    store: Engine, closed: list[datetime], opens: datetime
) -> None:
    init(store)  # loaded in March: by then months of reminders were missed
    memory = MemoryTransport()
    for when in closed:
        report = tick(store, memory, when)
        assert report.sent == 0 and memory.sent == [], when
        assert not rows(store, state="sent")
    report = tick(store, memory, opens)
    assert report.sent == len(memory.sent) > 0 and report.failed == 0
    assert {r.sent_at for r in rows(store, state="sent")} == {opens}
    assert {m["Date"].datetime for m in memory.sent} == {opens}
    # The missed reminders went out as one catch-up each, at that morning's office hour.
    assert [r for r in rows(store, state="sent") if r.catch_up]
