"""The right letter to the right person, in administrative style (issue 6 §4, §5).

Letters are built from outbox rows made here directly (the planner's rows are the
integrator's), against the shipped 2022 config in a real store, then sent through
compose and parsed back with the stdlib parser (policy.default)."""

from __future__ import annotations

import email
import email.policy
import tomllib
from collections.abc import Iterator
from datetime import date, datetime, time
from email.message import EmailMessage

import pytest
from sqlalchemy import Engine

from tests.test_outbox import CFG, FOCAL, LOAD, init, obligation_id
from tracker.calendar.types import TZ
from tracker.config.loader import parse_config
from tracker.config.schema import Article, ClusterConfig, ProvinceReportPolicy
from tracker.db import migrate
from tracker.db.engine import make_engine, session_scope
from tracker.db.models import CycleRow, Obligation, OutboxRow
from tracker.letters.build import build_letters
from tracker.letters.model import Letter
from tracker.letters.render import build_message
from tracker.paths import config_dir
from tracker.service import cycles

LEADER_MAIL = "noivu.tuachua@example.vn"  # the leader's office and Tủa Chùa's focal officer
HEAD = {m.id: next(str(c.email) for c in m.contacts if c.role == "head") for m in CFG.members}
BOARD = "ban-tdkt@example.vn"
BASIS_71 = "khoản 1 Điều 7 Quy chế hoạt động của Cụm thi đua huyện vùng cao năm 2022"
CLI = ("tracker ", "tracker\n")


@pytest.fixture
def store(sqlite_url: str) -> Iterator[Engine]:
    engine = make_engine(sqlite_url)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


def now_of(day: date) -> datetime:
    return datetime.combine(day, time(8), tzinfo=TZ)


def row(
    ob: int | None,
    kind: str,
    *,
    email: str,
    role: str,
    member: str | None,
    row_id: int,
    day: date,
    cycle_id: int = 1,
) -> OutboxRow:
    return OutboxRow(
        id=row_id,
        key=f"{ob}:{kind}:{row_id}:{day.isoformat()}:{email}",
        cycle_id=cycle_id,
        obligation_id=ob,
        kind=kind,
        offset=row_id,
        due=None,
        recipient_email=email,
        recipient_name="planner's name",
        recipient_role=role,
        member_id=member,
        send_at=now_of(day),
        created_at=LOAD,
        updated_at=LOAD,
    )


def letters(
    engine: Engine, cycle_id: int, day: date, *rows: OutboxRow
) -> list[tuple[Letter, list[int]]]:
    with session_scope(engine) as s:
        ctx = cycles.load_context(s, s.get_one(CycleRow, cycle_id))
    return build_letters(list(rows), {cycle_id: ctx}, today=day, now=now_of(day))


def parsed(lt: Letter) -> EmailMessage:
    msg = build_message(
        lt,
        from_addr="cum-vung-cao@example.vn",
        from_name="Văn phòng Cụm thi đua huyện vùng cao",
        reply_to=LEADER_MAIL,
        now=now_of(lt.today),
        domain="example.vn",
    )
    back = email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)
    assert isinstance(back, EmailMessage)
    return back


def text(msg: EmailMessage) -> str:
    part = msg.get_body(("plain",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def html(msg: EmailMessage) -> str:
    part = msg.get_body(("html",))
    assert part is not None
    return str(part.get_content())


def update(engine: Engine, ob_id: int, **fields: object) -> None:
    with session_scope(engine) as s:
        ob = s.get_one(Obligation, ob_id)
        for k, v in fields.items():
            setattr(ob, k, v)
        s.add(ob)


def config(**cluster: object) -> ClusterConfig:
    return CFG.model_copy(update={"cluster": CFG.cluster.model_copy(update=cluster)})


def with_report(cfg: ClusterConfig = CFG, **policy: int) -> ClusterConfig:
    reminders = cfg.reminders.model_copy(
        update={"report_to_province": ProvinceReportPolicy(**policy)}  # type: ignore[arg-type]
    )
    return cfg.model_copy(update={"reminders": reminders})


# -- two hats ------------------------------------------------------------------------------


def test_the_leader_district_and_the_leader_office_get_separate_letters(store: Engine) -> None:
    cid = init(store)
    day = date(2022, 6, 27)
    own_task = obligation_id(store, "tua-chua", "inspection_plan")  # a leader task
    as_member = obligation_id(store, "tua-chua", "half_year_report")
    got = letters(
        store,
        cid,
        day,
        row(
            own_task, "lead", email=LEADER_MAIL, role="leader", member="tua-chua", row_id=1, day=day
        ),
        row(
            as_member, "lead", email=LEADER_MAIL, role="focal", member="tua-chua", row_id=2, day=day
        ),
    )
    assert len(got) == 2
    by_role = {lt.recipient.role: (lt, ids) for lt, ids in got}
    office, office_ids = by_role["leader"]
    member, member_ids = by_role["focal"]
    assert (office_ids, member_ids) == ([1], [2])
    assert office.key != member.key
    # The leader's office: addressed as an office, its own task, told which command to run,
    # never told to send something to itself.
    o = text(parsed(office))
    assert o.startswith("Kính gửi: Bộ phận giúp việc Trưởng cụm (Phòng Nội vụ huyện Tủa Chùa)\n")
    assert "Thông báo nội dung, kế hoạch và lịch kiểm tra chéo" in o
    assert "Báo cáo sơ kết 6 tháng" not in o
    assert "Gửi đến" not in o and "Cách gửi" not in o
    assert 'ghi nhận kết quả bằng lệnh "tracker complete inspection_plan"' in o
    # The district as a member: a person, its own report, where and how to send it.
    m = text(parsed(member))
    assert m.startswith("Kính gửi: Bà Lò Thị Hoa, Chuyên viên Phòng Nội vụ huyện Tủa Chùa\n")
    assert "Báo cáo sơ kết 6 tháng" in m and "Thông báo nội dung, kế hoạch" not in m
    assert "Gửi đến: Trưởng cụm (Phòng Nội vụ huyện Tủa Chùa)" in m
    assert "tracker" not in m


def test_the_leader_digest_absorbs_only_the_leader_hat_items(store: Engine) -> None:
    cid = init(store)
    day = date(2022, 6, 27)
    own_task = obligation_id(store, "tua-chua", "inspection_plan")
    as_member = obligation_id(store, "tua-chua", "half_year_report")
    digest = row(
        None,
        "leader_digest",
        email=LEADER_MAIL,
        role="leader",
        member="tua-chua",
        row_id=9,
        day=day,
    )
    got = letters(
        store,
        cid,
        day,
        digest,
        # A planner that still sends the leader's task to the owner's focal officer: the
        # task is the leader's all the same.
        row(
            own_task, "lead", email=LEADER_MAIL, role="focal", member="tua-chua", row_id=1, day=day
        ),
        row(
            as_member, "lead", email=LEADER_MAIL, role="focal", member="tua-chua", row_id=2, day=day
        ),
    )
    kinds = {lt.kind: ids for lt, ids in got}
    assert sorted(kinds) == ["leader_digest", "reminder"]
    assert sorted(kinds["leader_digest"]) == [1, 9] and kinds["reminder"] == [2]
    [lead] = [lt for lt, _ in got if lt.kind == "leader_digest"]
    assert [i.milestone_id for i in lead.items] == ["inspection_plan"]
    t = text(parsed(lead))
    # The leader district appears once, in the members' picture (its half-year report is
    # due this week), never as the leader's own item.
    assert t.count("Báo cáo sơ kết 6 tháng") == 5  # the five members, each once
    assert t.count("Huyện Tủa Chùa – Báo cáo sơ kết 6 tháng") == 1
    own = t.split("NHIỆM VỤ CỦA TRƯỞNG CỤM CẦN THỰC HIỆN")[1]
    assert "Báo cáo sơ kết 6 tháng" not in own and "Gửi đến" not in own


def test_a_notice_of_the_conference_to_the_leader_district_is_a_members_letter(
    store: Engine,
) -> None:
    cid = init(store)
    conference = obligation_id(store, "tua-chua", "summary_conference")
    update(store, conference, event_date=date(2023, 2, 24))
    day = date(2023, 2, 15)
    got = letters(
        store,
        cid,
        day,
        row(conference, "event_notice", email=LEADER_MAIL, role="leader", member="tua-chua",
            row_id=1, day=day),
        row(conference, "event_notice", email=LEADER_MAIL, role="focal", member="tua-chua",
            row_id=2, day=day),
        row(conference, "event_notice", email=FOCAL["nam-po"], role="focal", member="tua-chua",
            row_id=3, day=day),
    )  # fmt: skip
    assert sorted((lt.recipient.role, ids) for lt, ids in got) == [
        ("focal", [2]),
        ("focal", [3]),
        ("leader", [1]),
    ]
    for lt, _ in got:
        t = text(parsed(lt))
        assert "Ngày tổ chức: ngày 24 tháng 02 năm 2023 (thứ Sáu) – còn 7 ngày làm việc" in t
        if lt.recipient.role == "leader":
            assert "Tổ chức Hội nghị tổng kết tại đơn vị Trưởng cụm" in t
            assert "tracker complete summary_conference" in t
        else:
            assert "Tổ chức Hội nghị tổng kết tại đơn vị Trưởng cụm" not in t
            assert "bố trí thành phần tham dự" in t and "tracker" not in t


def test_recent_completions_come_from_the_letters_own_day(store: Engine) -> None:
    cid = init(store)
    day = date(2022, 6, 17)
    early = obligation_id(store, "muong-nhe", "half_year_report")
    later = obligation_id(store, "nam-po", "half_year_report")
    update(store, early, state="completed", completed_on=date(2022, 6, 15))
    update(store, later, state="completed", completed_on=date(2026, 12, 2))  # real "today"
    digest = row(
        None,
        "leader_digest",
        email=LEADER_MAIL,
        role="leader",
        member="tua-chua",
        row_id=9,
        day=day,
    )
    [(lead, _)] = letters(store, cid, day, digest)
    assert [i.obligation_id for i in lead.completed] == [early]
    t = text(parsed(lead))
    assert "Huyện Mường Nhé – Báo cáo sơ kết 6 tháng: hoàn thành ngày 15/06/2022" in t
    assert "2026" not in t
    # And nothing older than a week.
    [(later_lead, _)] = letters(store, cid, date(2022, 6, 27), digest)
    assert later_lead.completed == ()


# -- the provincial board ----------------------------------------------------------------


def test_the_board_gets_a_formal_report_of_members_lapses_only(store: Engine) -> None:
    cid = init(store, with_report(overdue_at_least=10))
    day = date(2022, 7, 20)  # the half-year report (30/06) is 14 working days late
    report = row(
        None, "province_report", email=BOARD, role="province", member=None, row_id=1, day=day
    )
    [(lt, ids)] = letters(store, cid, day, report)
    assert lt.kind == "province_report" and ids == [1]
    members = [i.member_id for i in lt.items]
    assert members == ["dien-bien-dong", "muong-cha", "muong-nhe", "nam-po"]  # not the leader
    assert {i.milestone_id for i in lt.items} == {"half_year_report"}
    assert {i.working_days_late for i in lt.items} == {14}
    msg = parsed(lt)
    assert msg["To"].addresses[0].addr_spec == BOARD
    assert msg["To"].addresses[0].display_name == "Ban Thi đua - Khen thưởng tỉnh Điện Biên"
    t = text(msg)
    assert t.startswith("Kính gửi: Ban Thi đua - Khen thưởng tỉnh Điện Biên\n")
    assert (
        "Cụm thi đua huyện vùng cao kính báo cáo Ban Thi đua - Khen thưởng tỉnh Điện Biên tình"
        " hình thực hiện chế độ báo cáo của các đơn vị thành viên đến ngày 20 tháng 7 năm 2022" in t
    )
    assert (
        "UBND huyện Mường Chà – Báo cáo sơ kết 6 tháng (theo khoản 1 Điều 7 Quy chế): thời hạn"
        " 30/06/2022, đã quá hạn 14 ngày làm việc." in t
    )
    assert "Tủa Chùa –" not in t and "Kiểm tra chéo" not in t
    for ask in ("Đề nghị", "đề nghị", "tracker"):
        assert ask not in t
    # Fewer working days late than the threshold, no policy, or nothing late: no letter.
    assert letters(store, cid, date(2022, 7, 8), report) == []


def test_no_report_without_the_policy_and_no_escalation_to_the_board(store: Engine) -> None:
    cid = init(store)
    day = date(2022, 7, 20)
    half = obligation_id(store, "muong-cha", "half_year_report")
    assert (
        letters(
            store,
            cid,
            day,
            row(
                None,
                "province_report",
                email=BOARD,
                role="province",
                member=None,
                row_id=1,
                day=day,
            ),
            row(
                half,
                "escalation",
                email=BOARD,
                role="province",
                member="muong-cha",
                row_id=2,
                day=day,
            ),
        )
        == []
    )


# -- escalations and events ---------------------------------------------------------------


def test_escalation_to_a_head_is_polite_and_factual(store: Engine) -> None:
    cid = init(store)
    day = date(2022, 7, 5)
    half = obligation_id(store, "muong-cha", "half_year_report")
    [(lt, _)] = letters(
        store,
        cid,
        day,
        row(
            half,
            "escalation",
            email=HEAD["muong-cha"],
            role="head",
            member="muong-cha",
            row_id=1,
            day=day,
        ),
    )
    msg = parsed(lt)
    assert msg["To"].addresses[0].display_name == "Vừ A Bằng"
    t = text(msg)
    assert t.startswith("Kính gửi: Đồng chí Vừ A Bằng, Chủ tịch UBND huyện Mường Chà\n")
    assert (
        "Trưởng cụm trân trọng thông báo: đến ngày 05 tháng 7 năm 2022, Trưởng cụm chưa nhận"
        " được Báo cáo sơ kết 6 tháng của UBND huyện Mường Chà." in t
    )
    assert "dù đã được nhắc" not in t and "tracker" not in t and "tracker" not in html(msg)
    assert "Trân trọng đề nghị đồng chí quan tâm, chỉ đạo" in t
    # Several lapses: one notice, not a to-do list.
    annual = obligation_id(store, "muong-cha", "annual_report")
    later = date(2022, 12, 28)
    [(both, _)] = letters(
        store,
        cid,
        later,
        row(half, "escalation", email=HEAD["muong-cha"], role="head", member="muong-cha",
            row_id=1, day=later),
        row(annual, "escalation", email=HEAD["muong-cha"], role="head", member="muong-cha",
            row_id=2, day=later),
    )  # fmt: skip
    assert both.kind == "escalation" and len(both.items) == 2
    t = text(parsed(both))
    assert "Trưởng cụm chưa nhận được kết quả thực hiện các việc sau của UBND huyện Mường Chà:" in t
    assert "Thông báo: Trưởng cụm chưa nhận được kết quả 2 việc đã quá hạn của UBND huyện" in str(
        parsed(both)["Subject"]
    )


def test_an_event_is_never_overdue_and_its_notice_counts_working_days(store: Engine) -> None:
    cid = init(store)
    visit = obligation_id(store, "muong-cha", "cross_inspection")
    update(store, visit, event_date=date(2022, 10, 12))
    late = date(2022, 10, 14)
    nag = row(
        visit,
        "overdue",
        email=FOCAL["muong-cha"],
        role="focal",
        member="muong-cha",
        row_id=1,
        day=late,
    )
    assert letters(store, cid, late, nag) == []
    day = date(2022, 10, 3)  # Monday; the visit is on Wednesday 12/10
    notice = row(
        visit,
        "event_notice",
        email=FOCAL["muong-cha"],
        role="focal",
        member="muong-cha",
        row_id=2,
        day=day,
    )
    [(lt, _)] = letters(store, cid, day, notice)
    assert lt.kind == "event_notice"
    t = text(parsed(lt))
    assert "Ngày tổ chức: ngày 12 tháng 10 năm 2022 (thứ Tư) – còn 7 ngày làm việc" in t
    assert "quá hạn" not in t and "Thời hạn" not in t and "tracker" not in t


def test_the_leader_is_asked_to_date_a_members_visit(store: Engine) -> None:
    cid = init(store)
    day = date(2022, 11, 21)
    visit = obligation_id(store, "nam-po", "cross_inspection")
    [(lt, _)] = letters(
        store,
        cid,
        day,
        row(
            visit, "set_date", email=LEADER_MAIL, role="leader", member="nam-po", row_id=1, day=day
        ),
    )
    assert lt.kind == "set_date" and lt.recipient.role == "leader"
    [item] = lt.items
    assert item.member_name == "Huyện Nậm Pồ"
    t = text(parsed(lt))
    assert "ngày tổ chức Kiểm tra chéo tại UBND huyện Nậm Pồ do Trưởng cụm ấn định" in t
    assert "tracker schedule cross_inspection YYYY-MM-DD --member nam-po" in t


# -- style: dates, working days, citations, delivery, signature ---------------------------


def test_a_friday_letter_for_a_sunday_deadline(store: Engine) -> None:
    cid = init(store)
    day = date(2022, 12, 23)  # Friday; the annual report is due on Sunday 25/12
    annual = obligation_id(store, "nam-po", "annual_report")
    [(lt, _)] = letters(
        store,
        cid,
        day,
        row(
            annual, "lead", email=FOCAL["nam-po"], role="focal", member="nam-po", row_id=1, day=day
        ),
    )
    msg = parsed(lt)
    t = text(msg)
    assert t.startswith("Kính gửi: Đồng chí Giàng A Sử, Chuyên viên Phòng Nội vụ huyện Nậm Pồ\n")
    assert (
        "Thời hạn: chậm nhất ngày 25 tháng 12 năm 2022 (Chủ nhật) – hôm nay là ngày làm việc"
        " cuối cùng" in t
    )
    assert t.count("25 tháng 12 năm 2022") == 1  # the date once
    assert "hôm nay là ngày làm việc cuối cùng" in str(msg["Subject"])


def test_every_reminder_cites_says_how_to_send_and_is_signed_by_the_office(
    store: Engine,
) -> None:
    cid = init(store)
    day = date(2022, 6, 27)
    half = obligation_id(store, "dien-bien-dong", "half_year_report")
    r = row(
        half,
        "lead",
        email=FOCAL["dien-bien-dong"],
        role="focal",
        member="dien-bien-dong",
        row_id=1,
        day=day,
    )
    [(lt, _)] = letters(store, cid, day, r)
    msg = parsed(lt)
    assert msg["To"].addresses[0].display_name == "Vàng A Dính"
    t, h = text(msg), html(msg)
    for part in (t, h):
        # The seed has no decision number yet: the citation leaves that part out.
        assert BASIS_71 in part and "ban hành kèm theo" not in part
        assert "Tổ dân phố Đồng Tâm, thị trấn Tủa Chùa" in part  # the leader's address
        assert "văn bản giấy có đóng dấu và bản điện tử" in part
        assert "Văn phòng Cụm thi đua huyện vùng cao — thư nhắc việc tự động" in part
        assert "Bà Lò Thị Hoa" in part and "0215 3 000 000" in part
        assert "TRƯỞNG CỤM THI ĐUA" not in part and "tracker" not in part
    # With the decision filled in, the citation names it.
    cid2 = init(store, config(decision_number="12/QĐ-CTĐHVC", decision_date=date(2022, 3, 15)))
    assert cid2 == cid  # the same cycle, reloaded
    [(lt2, _)] = letters(store, cid, day, r)
    assert (
        f"{BASIS_71} ban hành kèm theo Quyết định số 12/QĐ-CTĐHVC ngày 15/03/2022 của Trưởng"
        " Cụm thi đua huyện vùng cao" in text(parsed(lt2))
    )


def test_english_letters_translate_roles_and_keep_names(store: Engine) -> None:
    cfg = CFG.model_copy(update={"mail": CFG.mail.model_copy(update={"lang": "en"})})
    cid = init(store, cfg)
    day = date(2022, 7, 5)
    half = obligation_id(store, "muong-cha", "half_year_report")
    [(lt, _)] = letters(
        store,
        cid,
        day,
        row(
            half,
            "escalation",
            email=HEAD["muong-cha"],
            role="head",
            member="muong-cha",
            row_id=1,
            day=day,
        ),
    )
    t = text(parsed(lt))
    assert t.startswith("Dear Vừ A Bằng (Chủ tịch UBND huyện Mường Chà),\n")
    assert "has not received the half-year report from UBND huyện Mường Chà." in t
    assert "Article 7(1) of the 2022 Operating Regulation" in t
    assert "Office of the Highland Districts Emulation Cluster — automatic reminder" in t
    assert "Kính gửi" not in t and "Trân trọng" not in t


# -- config: articles and the new keys ----------------------------------------------------


@pytest.mark.parametrize(
    ("written", "short", "vi", "en"),
    [
        ("Điều 7.1", "Điều 7.1", "khoản 1 Điều 7", "Article 7(1)"),
        ("khoản 1 Điều 7", "Điều 7.1", "khoản 1 Điều 7", "Article 7(1)"),
        (
            "Điều 7.2, Điều 10.2",
            "Điều 7.2, Điều 10.2",
            "khoản 2 Điều 7 và khoản 2 Điều 10",
            "Article 7(2) and Article 10(2)",
        ),
        (
            "Điều 7.9 (ghi chú)",
            "Điều 7.9 (ghi chú)",
            "ghi chú tại khoản 9 Điều 7",
            "the note to Article 7(9)",
        ),
        ("Điều 6", "Điều 6", "Điều 6", "Article 6"),
        ("điểm a khoản 2 Điều 3", "Điều 3.2.a", "điểm a khoản 2 Điều 3", "Article 3(2)(a)"),
        ({"dieu": 7, "khoan": 1}, "Điều 7.1", "khoản 1 Điều 7", "Article 7(1)"),
        (
            [{"dieu": 7, "khoan": 2}, "Điều 10.2"],
            "Điều 7.2, Điều 10.2",
            "khoản 2 Điều 7 và khoản 2 Điều 10",
            "Article 7(2) and Article 10(2)",
        ),
    ],
)
def test_articles_parse_from_a_string_or_a_table(
    written: object, short: str, vi: str, en: str
) -> None:
    a = Article(written)
    assert (str(a), a.vi(), a.en()) == (short, vi, en)
    assert Article(str(a)).refs == a.refs  # the stored (compact) form parses back


def test_a_structured_article_and_the_new_keys_load_from_toml() -> None:
    shipped = (config_dir() / "cum-vung-cao-2022.toml").read_text(encoding="utf-8")
    edited = shipped.replace('article = "Điều 7.1"', "article = { dieu = 7, khoan = 1 }", 1)
    edited = edited.replace('decision_date = ""', "decision_date = 2022-03-15", 1)
    cfg = parse_config(tomllib.loads(edited), "edited.toml")
    ms = cfg.milestone("half_year_report")
    assert str(ms.article) == "Điều 7.1" and ms.article.vi() == "khoản 1 Điều 7"
    assert cfg.cluster.decision_date == date(2022, 3, 15)
    assert CFG.cluster.decision_date is None and CFG.cluster.decision_number == ""
    assert cfg.member("nam-po").contacts[0].honorific == "Đồng chí"  # the default
    assert cfg.member("tua-chua").office == "Phòng Nội vụ huyện Tủa Chùa"
    assert str(cfg.cluster.request_article) == "Điều 7.3"
    assert cfg.cluster.request_article is not None
    assert cfg.cluster.request_article.vi() == "khoản 3 Điều 7"


def test_a_bad_article_or_honorific_is_refused() -> None:
    with pytest.raises(ValueError, match="not an article"):
        Article("Chương 7")
    bad = CFG.model_dump(mode="json")
    bad["members"][0]["contacts"][0]["honorific"] = "Ngài"
    with pytest.raises(ValueError):
        ClusterConfig.model_validate(bad)
