"""Reminder e-mails (issue 3 §2): every kind renders in both languages from the shipped
templates, the message parses back with the stdlib parser, and nothing unsafe gets in."""

from __future__ import annotations

import email.policy
import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import jinja2
import pytest

from tracker import paths
from tracker.calendar import vndate
from tracker.calendar.types import TZ, Window
from tracker.letters.model import (
    KINDS,
    LANGS,
    Delivery,
    Item,
    Kind,
    Lang,
    Letter,
    Recipient,
    Signature,
)
from tracker.letters.render import (
    UnsafeHeaderError,
    build_message,
    message_id,
    render,
)

TODAY = date(2022, 6, 27)  # Monday; the half-year report is due on Thursday 30/06/2022
NOW = datetime(2022, 6, 27, 8, 0, tzinfo=TZ)
REGULATION = "Quy chế hoạt động của Cụm thi đua huyện vùng cao năm 2022"
BASIS = (
    "khoản 1 Điều 7 Quy chế hoạt động của Cụm thi đua huyện vùng cao năm 2022 ban hành kèm"
    " theo Quyết định số 12/QĐ-CTĐHVC ngày 15/03/2022 của Trưởng Cụm thi đua huyện vùng cao"
)
SIG = Signature(
    cluster_name="Cụm thi đua huyện vùng cao",
    cluster_name_en="Highland districts emulation cluster",
    office="Văn phòng Cụm thi đua huyện vùng cao",
    office_en="Office of the Highland Districts Emulation Cluster",
    contact="noivu.tuachua@example.vn",
    contact_name="Bà Lò Thị Hoa, Chuyên viên Phòng Nội vụ huyện Tủa Chùa",
    contact_phone="0215 3 000 000",
)
FOCAL = Recipient(
    name="Lường Văn Minh",
    email="noivu.muongcha@example.vn",
    role="focal",
    member_name="Huyện Mường Chà",
    title="Chuyên viên",
    honorific="Đồng chí",
    office="Phòng Nội vụ huyện Mường Chà",
)
HEAD = Recipient(
    name="Vừ A Bằng",
    email="chutich.muongcha@example.vn",
    role="head",
    member_name="Huyện Mường Chà",
    title="Chủ tịch UBND huyện Mường Chà",
    honorific="Ông",
)
LEADER = Recipient(
    name="Bộ phận giúp việc Trưởng cụm (Phòng Nội vụ huyện Tủa Chùa)",
    email="noivu.tuachua@example.vn",
    role="leader",
)
PROVINCE = Recipient(
    name="Ban Thi đua - Khen thưởng tỉnh Điện Biên",
    name_en="the Emulation and Commendation Board of Điện Biên Province",
    email="ban-tdkt@example.vn",
    role="province",
)
DELIVERY = Delivery(
    unit_vi="Trưởng cụm (Phòng Nội vụ huyện Tủa Chùa)",
    unit_en="the cluster leader (Phòng Nội vụ huyện Tủa Chùa)",
    address="Tổ dân phố Đồng Tâm, thị trấn Tủa Chùa, huyện Tủa Chùa, tỉnh Điện Biên",
    email="noivu.tuachua@example.vn",
    form_vi="văn bản giấy có đóng dấu và bản điện tử",
    form_en="a signed and sealed paper copy and an electronic copy",
)


def half_year(days_left: int = 3, **changes: object) -> Item:
    item = Item(
        obligation_id=11,
        member_id="muong-cha",
        member_name="Huyện Mường Chà",
        milestone_id="half_year_report",
        name_vi="Báo cáo sơ kết 6 tháng",
        name_en="Half-year report",
        article="Điều 7.1",
        article_vi="khoản 1 Điều 7",
        article_en="Article 7(1)",
        basis_vi=BASIS,
        basis_en="Article 7(1) of the 2022 Operating Regulation of the Highland Districts"
        " Emulation Cluster",
        member_unit="UBND huyện Mường Chà",
        due=date(2022, 6, 30),
        window=None,
        state="open",
        days_left=days_left,
        deliverable_vi="Gửi báo cáo sơ kết 6 tháng về Trưởng cụm",
        deliverable_en="Send the half-year report to the cluster leader",
        send_to_vi="Trưởng cụm (Phòng Nội vụ huyện Tủa Chùa)",
        send_to_en="the cluster leader (Phòng Nội vụ huyện Tủa Chùa)",
        overdue=days_left < 0,
        working_days_left=max(days_left, 0),
        working_days_late=-days_left if days_left < 0 else None,
    )
    return replace(item, **changes)  # type: ignore[arg-type]


INSPECTION = Item(
    obligation_id=12,
    member_id="muong-cha",
    member_name="Huyện Mường Chà",
    milestone_id="cross_inspection",
    name_vi="Kiểm tra chéo",
    name_en="Cross-inspection",
    article="Điều 7.4",
    due=date(2022, 11, 30),
    window=Window(date(2022, 10, 1), date(2022, 11, 30)),
    state="open",
    days_left=(date(2022, 11, 30) - TODAY).days,
    deliverable_vi="Đón đoàn kiểm tra chéo của Cụm theo lịch đã thông báo",
    deliverable_en="Receive the cluster's cross-inspection visit on the notified date",
    event=True,
    working_days_left=110,
)
CONFERENCE = Item(
    obligation_id=13,
    member_id="tua-chua",
    member_name="Huyện Tủa Chùa",
    milestone_id="summary_conference",
    name_vi="Hội nghị tổng kết",
    name_en="Summary conference",
    article="Điều 7.7",
    due=date(2023, 3, 31),
    window=Window(date(2023, 1, 1), date(2023, 3, 31)),
    state="open",
    days_left=(date(2023, 3, 31) - TODAY).days,
    deliverable_vi="Tổ chức Hội nghị tổng kết tại đơn vị Trưởng cụm",
    deliverable_en="Hold the summary conference at the leader's unit",
    event=True,
    leader_task=True,
    date_set=False,
    needs_date=True,
    schedule_command="tracker schedule summary_conference YYYY-MM-DD",
)
DRAFT = Item(
    obligation_id=14,
    member_id="tua-chua",
    member_name="Huyện Tủa Chùa",
    milestone_id="draft_report",
    name_vi="Gửi dự thảo báo cáo tổng kết",
    name_en="Draft summary report to members",
    article="Điều 7.9 (ghi chú)",
    due=None,
    window=None,
    state="open",
    days_left=None,
    unscheduled=True,
    leader_task=True,
)


def letter(kind: Kind, lang: Lang = "vi", **changes: object) -> Letter:
    """A realistic letter of each kind, as the dispatcher would fill it."""
    recipient, items = {
        "reminder": (FOCAL, (half_year(3),)),
        "overdue": (FOCAL, (half_year(-2, state="returned"),)),
        "escalation": (HEAD, (half_year(-5),)),
        "window_open": (FOCAL, (INSPECTION,)),
        "window_closing": (FOCAL, (INSPECTION,)),
        "digest": (FOCAL, (half_year(-2), INSPECTION)),
        "leader_digest": (LEADER, (CONFERENCE, DRAFT)),
        "set_date": (LEADER, (CONFERENCE,)),
        "event_notice": (FOCAL, (INSPECTION,)),
        "province_report": (PROVINCE, (half_year(-12),)),
    }[kind]
    extra: dict[str, object] = {}
    if kind == "leader_digest":
        extra = {
            "overdue": (half_year(-2),),
            "due_this_week": (replace(half_year(3), member_name="Huyện Nậm Pồ"),),
            "completed": (
                replace(
                    half_year(3),
                    member_name="Huyện Mường Nhé",
                    state="completed",
                    completed_on=date(2022, 6, 24),
                ),
            ),
            "problems": ("Tạm dừng gửi thư: máy chủ SMTP từ chối đăng nhập (535)",),
        }
    base = Letter(
        kind=kind,
        key=f"11:{kind}:3:2022-06-30:{recipient.email}",
        lang=lang,
        recipient=recipient,
        items=items,
        cluster_name=SIG.cluster_name,
        cluster_name_en=SIG.cluster_name_en,
        signature=SIG,
        today=TODAY,
        regulation=REGULATION,
        regulation_en="the 2022 Operating Regulation of the Highland Districts Emulation Cluster",
        delivery=DELIVERY
        if recipient.role in ("focal", "head") and kind != "event_notice"
        else None,
        overdue_at_least=10 if kind == "province_report" else 0,
        **extra,  # type: ignore[arg-type]
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def build(lt: Letter, **overrides: object) -> EmailMessage:
    kwargs: dict[str, object] = {
        "from_addr": "cum-vung-cao@example.vn",
        "from_name": "Cụm thi đua huyện vùng cao",
        "reply_to": "noivu.tuachua@example.vn",
        "now": NOW,
        "domain": "example.vn",
    }
    kwargs.update(overrides)
    return build_message(lt, **kwargs)  # type: ignore[arg-type]


def parse(msg: EmailMessage) -> EmailMessage:
    parsed = BytesParser(policy=email.policy.default).parsebytes(msg.as_bytes())
    assert isinstance(parsed, EmailMessage)
    return parsed


def raw_header(raw: bytes, name: str) -> str:
    """A header as it travels, still encoded, unfolded as RFC 5322 §2.2.3 says."""
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    for line in re.sub(r"\r\n(?=[ \t])", "", head).split("\r\n"):
        field, _, value = line.partition(":")
        if field.lower() == name.lower():
            return value.strip()
    raise AssertionError(f"no {name} header")


# -- every kind, both languages ---------------------------------------------------------


def test_every_kind_has_its_three_templates_in_both_languages() -> None:
    root = paths.templates_dir()
    for lang in LANGS:
        for kind in KINDS:
            for part in ("subject", "txt", "html"):
                assert (root / lang / f"{kind}.{part}.j2").is_file(), (lang, kind, part)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders(kind: Kind, lang: Lang) -> None:
    # StrictUndefined: a template naming a missing variable or attribute raises here.
    r = render(letter(kind, lang))
    cluster = SIG.cluster_name if lang == "vi" else SIG.cluster_name_en
    assert r.subject.startswith(f"[{cluster}] ")
    assert "\n" not in r.subject
    greeting = "Kính gửi: " if lang == "vi" else "Dear "
    assert r.text.startswith(greeting)
    assert greeting.strip() in r.html
    # Signed by the sending office, never by a person: no signatory's block.
    office = SIG.office if lang == "vi" else SIG.office_en
    assert office in r.text and office in r.html
    assert "TRƯỞNG CỤM THI ĐUA" not in r.text and "LEADER, " not in r.text
    assert ("thư nhắc việc tự động" if lang == "vi" else "automatic reminder") in r.text or (
        kind == "province_report"
    )
    # Whom to ask, with phone and e-mail.
    assert "Lò Thị Hoa" in r.text and SIG.contact_phone in r.text
    assert SIG.contact in r.text and SIG.contact in r.html
    # The text part reads on its own: no markup, no template debris, no runs of blanks.
    assert "<" not in r.text and "{" not in r.text and "&#" not in r.text
    assert "\n\n\n" not in r.text and r.text.endswith("\n")
    assert r.html.startswith("<!DOCTYPE html>") and f'<html lang="{lang}">' in r.html
    assert "{{" not in r.html and "{%" not in r.html
    # Commands only in letters to the leader's office.
    if letter(kind, lang).recipient.role != "leader":
        assert "tracker" not in r.text and "tracker" not in r.html


@pytest.mark.parametrize("kind", ["reminder", "overdue", "escalation", "digest"])
def test_vietnamese_item_reads_like_an_office_letter(kind: Kind) -> None:
    r = render(letter(kind))
    for part in (r.text, r.html):
        assert "Kính gửi" in part
        assert "Báo cáo sơ kết 6 tháng" in part
        # The date once, in words, with its weekday in the letters' spelling.
        assert "chậm nhất ngày 30 tháng 6 năm 2022 (thứ Năm)" in part
        assert "Thứ Năm" not in part
        assert BASIS in part  # the citation in the legal form
        assert "Gửi báo cáo sơ kết 6 tháng về Trưởng cụm" in part  # what to send
        assert "Trưởng cụm (Phòng Nội vụ huyện Tủa Chùa)" in part  # and to whom
        # How and where: address, e-mail, form.
        assert "Tổ dân phố Đồng Tâm" in part
        assert "văn bản giấy có đóng dấu và bản điện tử" in part


def test_reminder_text_in_full() -> None:
    r = render(letter("reminder"))
    assert r.subject == (
        "[Cụm thi đua huyện vùng cao] Nhắc hạn: Báo cáo sơ kết 6 tháng – hạn 30/06/2022"
        " (còn 3 ngày)"
    )
    assert r.text.splitlines()[:12] == [
        "Kính gửi: Đồng chí Lường Văn Minh, Chuyên viên Phòng Nội vụ huyện Mường Chà",
        "",
        "Trưởng cụm trân trọng nhắc đơn vị thời hạn thực hiện việc sau:",
        "",
        "* Báo cáo sơ kết 6 tháng",
        "  - Thời hạn: chậm nhất ngày 30 tháng 6 năm 2022 (thứ Năm) – còn 3 ngày",
        "  - Việc cần làm: Gửi báo cáo sơ kết 6 tháng về Trưởng cụm",
        "  - Gửi đến: Trưởng cụm (Phòng Nội vụ huyện Tủa Chùa)",
        f"  - Căn cứ: {BASIS}",
        "",
        "Cách gửi: gửi về Trưởng cụm (Phòng Nội vụ huyện Tủa Chùa); địa chỉ: Tổ dân phố Đồng"
        " Tâm, thị trấn Tủa Chùa, huyện Tủa Chùa, tỉnh Điện Biên; e-mail:"
        " noivu.tuachua@example.vn; hình thức: văn bản giấy có đóng dấu và bản điện tử.",
        "",
    ]
    assert r.text.splitlines()[-5:] == [
        "Văn phòng Cụm thi đua huyện vùng cao — thư nhắc việc tự động",
        "Mọi thắc mắc xin liên hệ: Bà Lò Thị Hoa, Chuyên viên Phòng Nội vụ huyện Tủa Chùa,"
        " điện thoại 0215 3 000 000, e-mail noivu.tuachua@example.vn.",
        "",
        "---",
        "Thư này do hệ thống nhắc việc của Cụm thi đua huyện vùng cao gửi tự động theo lịch,"
        " không thay cho văn bản có chữ ký, đóng dấu. Có thể trả lời thư này để liên hệ.",
    ]


def test_salutation_takes_the_honorific_and_the_unit_as_it_writes_itself() -> None:
    r = render(letter("reminder", recipient=replace(FOCAL, honorific="Bà", name="Pờ Thị Lan")))
    assert r.text.startswith("Kính gửi: Bà Pờ Thị Lan, Chuyên viên Phòng Nội vụ huyện Mường Chà\n")
    # A config without `office`: the member's name as written, in brackets, never
    # re-cased in the middle of a phrase.
    bare = replace(FOCAL, office="", title="Chuyên viên Phòng Nội vụ")
    text = render(letter("reminder", recipient=bare)).text
    assert text.startswith(
        "Kính gửi: Đồng chí Lường Văn Minh, Chuyên viên Phòng Nội vụ (Huyện Mường Chà)\n"
    )
    assert "UBND huyện" not in text.splitlines()[0]
    en = render(letter("reminder", "en", recipient=replace(FOCAL, honorific="Ông"))).text
    assert en.startswith("Dear Mr Lường Văn Minh (Chuyên viên, Phòng Nội vụ huyện Mường Chà),\n")


def test_days_left_and_days_late_are_told() -> None:
    assert "còn 3 ngày" in render(letter("reminder")).text
    today = render(letter("reminder", items=(half_year(0),)))
    assert "hạn chót là hôm nay" in today.subject and "hạn chót là hôm nay" in today.text
    late = render(letter("overdue"))
    assert "đã quá hạn 2 ngày" in late.subject and "đã quá hạn 2 ngày" in late.text
    assert "bị trả lại, cần bổ sung" in late.text  # the returned state is shown
    assert "2 days overdue" in render(letter("overdue", "en")).text


def test_a_deadline_on_a_day_off_counts_working_days_to_the_last_working_day() -> None:
    """25/12/2022 is a Sunday: on Friday 23/12 it is the last working day; two weeks
    before, ten working days are left."""
    sunday = date(2022, 12, 25)
    friday = date(2022, 12, 23)
    annual = half_year(
        2,
        name_vi="Báo cáo tổng kết năm",
        due=sunday,
        last_working_day=friday,
        working_days_left=0,
    )
    r = render(letter("reminder", items=(annual,), today=friday))
    assert "chậm nhất ngày 25 tháng 12 năm 2022 (Chủ nhật)" in r.text
    assert "hôm nay là ngày làm việc cuối cùng" in r.text
    assert "hôm nay là ngày làm việc cuối cùng" in r.subject
    assert (
        "today is the last working day"
        in render(letter("reminder", "en", items=(annual,), today=friday)).text
    )
    early = replace(annual, days_left=16, working_days_left=10)
    text = render(letter("reminder", items=(early,), today=date(2022, 12, 9))).text
    assert "còn 10 ngày làm việc (ngày làm việc cuối cùng là thứ Sáu, 23/12/2022)" in text
    assert "còn 16 ngày" not in text


def test_empty_optional_lines_are_left_out() -> None:
    bare = half_year(3, deliverable_vi="", deliverable_en="", send_to_vi="", send_to_en="")
    r = render(letter("reminder", items=(bare,), delivery=None))
    assert "Việc cần làm" not in r.text and "Gửi đến" not in r.text
    assert "Việc cần làm" not in r.html and "Gửi đến" not in r.html
    assert "Cách gửi" not in r.text
    # An English letter falls back to the Vietnamese deliverable rather than drop it.
    en = render(letter("reminder", "en", items=(half_year(3, deliverable_en=""),)))
    assert "What to do: Gửi báo cáo sơ kết 6 tháng về Trưởng cụm" in en.text
    # A contact without a phone: no empty "điện thoại".
    quiet = render(letter("reminder", signature=replace(SIG, contact_phone="")))
    assert "điện thoại" not in quiet.text


def test_a_letter_to_the_leader_about_its_own_work_is_neutral_and_says_how_to_stop_it() -> None:
    own = replace(
        CONFERENCE,
        milestone_id="score_summary",
        name_vi="Báo cáo kết quả chấm điểm",
        event=False,
        date_set=True,
        needs_date=False,
        schedule_command="",
    )
    r = render(letter("reminder", recipient=LEADER, items=(own,), delivery=None))
    assert "Xin nhắc thời hạn thực hiện việc sau:" in r.text
    assert 'ghi nhận kết quả bằng lệnh "tracker complete score_summary"' in r.text
    assert "để dừng nhắc việc này" in r.text
    intro = r.text.split("* ")[0]
    assert "đơn vị" not in intro and "Trưởng cụm" not in intro.split("\n", 1)[1]
    late = render(letter("overdue", recipient=LEADER, items=(replace(own, days_left=-3),)))
    body = late.text.split("\n", 1)[1].split("* ")[0]
    assert "Trưởng cụm" not in body  # never told it is late in the third person
    assert "đã quá thời hạn và chưa được ghi nhận hoàn thành" in body
    # Nothing to send to itself.
    assert "Gửi đến" not in r.text and "Cách gửi" not in r.text


def test_escalation_to_the_head_is_polite_and_factual() -> None:
    head = render(letter("escalation"))
    assert head.subject.endswith(
        "Thông báo: Trưởng cụm chưa nhận được Báo cáo sơ kết 6 tháng của UBND huyện Mường Chà"
    )
    assert head.text.startswith("Kính gửi: Ông Vừ A Bằng, Chủ tịch UBND huyện Mường Chà\n")
    assert (
        "Trưởng cụm trân trọng thông báo: đến ngày 27 tháng 6 năm 2022, Trưởng cụm chưa nhận"
        " được Báo cáo sơ kết 6 tháng của UBND huyện Mường Chà." in head.text
    )
    assert "đã quá hạn 5 ngày" in head.text
    assert "Trân trọng đề nghị Ông quan tâm, chỉ đạo bộ phận chuyên môn" in head.text
    for reproach in ("dù đã được nhắc", "dù Trưởng cụm đã nhắc", "although"):
        assert reproach not in head.text
    en = render(letter("escalation", "en")).text
    assert "has not received the half-year report from UBND huyện Mường Chà." in en
    assert "although" not in en and "reminded" not in en


def test_the_province_report_informs_and_asks_nothing() -> None:
    r = render(letter("province_report"))
    assert r.text.startswith("Kính gửi: Ban Thi đua - Khen thưởng tỉnh Điện Biên\n")
    assert (
        "Cụm thi đua huyện vùng cao kính báo cáo Ban Thi đua - Khen thưởng tỉnh Điện Biên"
        " tình hình thực hiện chế độ báo cáo" in r.text
    )
    assert "từ 10 ngày làm việc trở lên" in r.text
    assert (
        "1. UBND huyện Mường Chà – Báo cáo sơ kết 6 tháng (theo khoản 1 Điều 7 Quy chế):"
        " thời hạn 30/06/2022, đã quá hạn 12 ngày làm việc." in r.text
    )
    assert r.text.count("kính báo cáo") == 2 and "biết./." in r.text
    for ask in ("Đề nghị", "đề nghị", "tracker", "Kính đề nghị"):
        assert ask not in r.text
    en = render(letter("province_report", "en")).text
    assert en.startswith(
        "Dear colleagues at the Emulation and Commendation Board of Điện Biên Province,\n"
    )
    assert "12 working days overdue" in en and "for the Board's information" in en
    assert "please" not in en.split("Office of the")[0].lower()


def test_window_letters_give_the_window_dates() -> None:
    opening = render(letter("window_open"))
    assert "(01/10/2022 – 30/11/2022)" in opening.subject
    assert "Thời gian thực hiện: từ 01/10/2022 đến 30/11/2022" in opening.text
    closing = render(letter("window_closing"))
    assert "ngày 30/11/2022" in closing.subject and "sắp kết thúc" in closing.text
    assert "1 October 2022 to 30 November 2022" in render(letter("window_open", "en")).text


def test_an_event_is_held_never_late() -> None:
    r = render(letter("event_notice"))
    assert "Ngày tổ chức: ngày 30 tháng 11 năm 2022 (thứ Tư) – còn 110 ngày làm việc" in r.text
    assert "Thời hạn" not in r.text and "quá hạn" not in r.text
    assert (
        "Held on: Wednesday 30 November 2022 – 110 working days to go"
        in render(letter("event_notice", "en")).text
    )
    # A leader's event in a member's notice: when, not the leader's to-do.
    conf = replace(CONFERENCE, date_set=True, needs_date=False, schedule_command="")
    member = render(letter("event_notice", items=(conf,))).text
    assert "Tổ chức Hội nghị tổng kết tại đơn vị Trưởng cụm" not in member
    assert (
        "Tổ chức Hội nghị tổng kết"
        in render(letter("event_notice", recipient=LEADER, items=(conf,))).text
    )


def test_set_date_gives_the_exact_command() -> None:
    for lang in LANGS:
        r = render(letter("set_date", lang))
        command = "tracker schedule summary_conference YYYY-MM-DD"
        assert f"\n    {command}\n" in r.text
        assert command in r.html
        assert "2023-01-01" in r.text and "2023-03-31" in r.text
    assert "Đề nghị ấn định ngày: Hội nghị tổng kết" in render(letter("set_date")).subject
    visit = replace(
        INSPECTION,
        event=True,
        date_set=False,
        needs_date=True,
        leader_task=False,
        member_unit="UBND huyện Mường Chà",
        schedule_command="tracker schedule cross_inspection YYYY-MM-DD --member muong-cha",
    )
    r = render(letter("set_date", items=(visit,)))
    assert "ngày tổ chức Kiểm tra chéo tại UBND huyện Mường Chà do Trưởng cụm ấn định" in r.text
    assert "tracker schedule cross_inspection YYYY-MM-DD --member muong-cha" in r.text


def test_digest_lists_every_item_late_ones_first() -> None:
    r = render(letter("digest"))
    assert "Việc cần lưu ý ngày 27/06/2022: 2 việc, 1 việc quá hạn" in r.subject
    late, coming = r.text.index("VIỆC ĐÃ QUÁ HẠN (1)"), r.text.index("VIỆC SẮP ĐẾN HẠN (1)")
    assert late < r.text.index("Báo cáo sơ kết 6 tháng") < coming
    assert coming < r.text.index("Kiểm tra chéo")
    assert "Việc đã quá hạn (1)" in r.html and "Kiểm tra chéo" in r.html


def test_leader_digest_shows_the_cluster_and_the_problems() -> None:
    r = render(letter("leader_digest"))
    assert r.subject.startswith("[Cụm thi đua huyện vùng cao] CẦN XỬ LÝ – Tình hình Cụm")
    text = r.text
    order = [
        "CẦN XỬ LÝ NGAY",
        "- Tạm dừng gửi thư: máy chủ SMTP từ chối đăng nhập (535)",
        "CÁC ĐƠN VỊ: QUÁ HẠN (1)",
        "- Huyện Mường Chà – Báo cáo sơ kết 6 tháng: hạn 30/06/2022 (thứ Năm), đã quá hạn 2 ngày",
        "CÁC ĐƠN VỊ: ĐẾN HẠN TRONG TUẦN (1)",
        "- Huyện Nậm Pồ – Báo cáo sơ kết 6 tháng: hạn 30/06/2022 (thứ Năm), còn 3 ngày",
        "ĐÃ HOÀN THÀNH GẦN ĐÂY (1)",
        "- Huyện Mường Nhé – Báo cáo sơ kết 6 tháng: hoàn thành ngày 24/06/2022",
        "NHIỆM VỤ CỦA TRƯỞNG CỤM CẦN THỰC HIỆN (2)",
        "* Hội nghị tổng kết",
        "* Gửi dự thảo báo cáo tổng kết",
    ]
    positions = [text.index(line) for line in order]
    assert positions == sorted(positions)
    # An unscheduled item never gets an invented date; the leader's own items do not
    # name the leader's district, nor tell it where to send.
    assert "Thời hạn: chưa xác định" in text
    assert "Huyện Tủa Chùa" not in text and "Gửi đến" not in text
    assert "Tạm dừng gửi thư" in r.html and "Cần xử lý ngay" in r.html


def test_a_date_to_set_shows_the_command_in_the_leaders_digest_too() -> None:
    # Daily mode folds the set_date reminder into the leader's digest.
    for lang in LANGS:
        r = render(letter("leader_digest", lang))
        assert "tracker schedule summary_conference YYYY-MM-DD" in r.text
        assert "<code>tracker schedule summary_conference YYYY-MM-DD</code>" in r.html
    # Said once in the set_date letter itself, and not for items that need no date.
    once = render(letter("set_date"))
    assert once.text.count("tracker schedule") == 1
    dated = replace(CONFERENCE, needs_date=False, date_set=True, schedule_command="")
    assert "tracker schedule" not in render(letter("leader_digest", items=(dated, DRAFT))).text


def test_leader_digest_says_when_a_section_is_empty() -> None:
    quiet = letter("leader_digest", overdue=(), due_this_week=(), completed=(), problems=())
    r = render(quiet)
    assert "CẦN XỬ LÝ" not in r.subject and "CẦN XỬ LÝ" not in r.text
    assert "Không có việc quá hạn." in r.text
    assert "Không có việc đến hạn trong tuần." in r.text
    assert "Nothing is overdue." in render(replace(quiet, lang="en")).text


def test_english_letter() -> None:
    r = render(letter("reminder", "en"))
    assert r.subject == (
        "[Highland districts emulation cluster] Reminder: Half-year report – due 30 June 2022"
        " (3 days left)"
    )
    assert r.text.startswith("Dear Lường Văn Minh (Chuyên viên, Phòng Nội vụ huyện Mường Chà),\n")
    assert "Deadline: by Thursday 30 June 2022 – 3 days left" in r.text
    assert "Send the half-year report to the cluster leader" in r.text
    assert "Article 7(1) of the 2022 Operating Regulation" in r.text
    assert "Office of the Highland Districts Emulation Cluster — automatic reminder" in r.text
    assert "a signed and sealed paper copy and an electronic copy" in r.text
    assert "Kính gửi" not in r.text and "Điều" not in r.text
    board = render(letter("province_report", "en")).text
    assert "Emulation and Commendation Board of Điện Biên Province" in board


# -- escaping ----------------------------------------------------------------------------

EVIL = "<script>alert(1)</script>&"


def evil_letter(kind: Kind, lang: Lang) -> Letter:
    """Markup in every piece of data a letter carries."""

    def taint(item: Item) -> Item:
        return replace(
            item,
            member_name=f"Huyện {EVIL}",
            name_vi=f"Báo cáo {EVIL}",
            name_en=f"Report {EVIL}",
            article=f"Điều {EVIL}",
            deliverable_vi=f"Gửi {EVIL}",
            deliverable_en=f"Send {EVIL}",
            send_to_vi=f"Trưởng cụm {EVIL}",
            send_to_en=f"Leader {EVIL}",
            basis_vi=f"khoản 1 Điều 7 {EVIL}",
            basis_en=f"Article 7(1) {EVIL}",
            member_unit=f"UBND {EVIL}",
        )

    lt = letter(kind, lang)
    sig = Signature(
        cluster_name=f"Cụm {EVIL}",
        cluster_name_en=f"Cluster {EVIL}",
        office=f"Văn phòng {EVIL}",
        office_en=f"Office {EVIL}",
        contact=f"a{EVIL}@example.vn",
        contact_name=f"Bà {EVIL}",
        contact_phone=EVIL,
    )
    return replace(
        lt,
        recipient=replace(
            lt.recipient, name=EVIL, title=EVIL, member_name=EVIL, office=EVIL, name_en=EVIL
        ),
        items=tuple(taint(i) for i in lt.items),
        overdue=tuple(taint(i) for i in lt.overdue),
        due_this_week=tuple(taint(i) for i in lt.due_this_week),
        completed=tuple(taint(i) for i in lt.completed),
        problems=tuple(f"{p} {EVIL}" for p in lt.problems),
        cluster_name=f"Cụm {EVIL}",
        cluster_name_en=f"Cluster {EVIL}",
        regulation=f"Quy chế {EVIL}",
        signature=sig,
    )


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", KINDS)
def test_html_escapes_every_value_and_text_keeps_it_verbatim(kind: Kind, lang: Lang) -> None:
    r = render(evil_letter(kind, lang))
    assert "<script>" not in r.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&amp;" in r.html
    assert "&amp;lt;" not in r.html  # escaped once, not twice
    assert EVIL in r.text
    assert "&lt;" not in r.text and "&amp;" not in r.text
    assert EVIL in r.subject


def test_member_name_with_script_in_the_built_message() -> None:
    lt = letter("reminder")
    lt = replace(lt, recipient=replace(lt.recipient, member_name=None, title="", honorific=""))
    lt = replace(lt, recipient=replace(lt.recipient, name=f"Huyện {EVIL}"))
    msg = parse(build(lt))
    html = msg.get_body(("html",))
    text = msg.get_body(("plain",))
    assert html is not None and text is not None
    assert "Kính gửi: Huyện &lt;script&gt;alert(1)&lt;/script&gt;&amp;" in html.get_content()
    assert f"Kính gửi: Huyện {EVIL}" in text.get_content()


# -- StrictUndefined and autoescape on a template set of our own -------------------------


def _templates(root: Path, subject: str, txt: str, html: str) -> Path:
    (root / "vi").mkdir(parents=True)
    (root / "vi" / "reminder.subject.j2").write_text(subject, encoding="utf-8")
    (root / "vi" / "reminder.txt.j2").write_text(txt, encoding="utf-8")
    (root / "vi" / "reminder.html.j2").write_text(html, encoding="utf-8")
    return root


def test_a_missing_variable_fails(tmp_path: Path) -> None:
    root = _templates(tmp_path / "t", "{{ recipient.name }}", "{{ letter.no_such_field }}", "")
    with pytest.raises(jinja2.UndefinedError):
        render(letter("reminder"), root)
    root = _templates(tmp_path / "u", "{{ nothing_passed }}", "", "")
    with pytest.raises(jinja2.UndefinedError):
        render(letter("reminder"), root)


def test_autoescape_is_for_html_templates_only(tmp_path: Path) -> None:
    root = _templates(
        tmp_path, "S {{ recipient.name }}", "T {{ recipient.name }}", "H {{ recipient.name }}"
    )
    lt = letter("reminder")
    r = render(replace(lt, recipient=replace(lt.recipient, name="A<b>&B")), root)
    assert r.subject == "S A<b>&B"
    assert r.text == "T A<b>&B\n"
    assert r.html == "H A&lt;b&gt;&amp;B\n"


def test_a_subject_template_may_not_break_the_line(tmp_path: Path) -> None:
    with pytest.raises(UnsafeHeaderError):
        render(letter("reminder", items=(half_year(3, name_vi="Báo cáo\r\nBcc: x@evil"),)))
    root = _templates(tmp_path, "one\ntwo", "", "")
    with pytest.raises(UnsafeHeaderError):
        render(letter("reminder"), root)


# -- the built message -------------------------------------------------------------------


def test_message_parses_back_with_its_headers_and_parts() -> None:
    lt = letter("reminder")
    sent = build(lt)
    raw = sent.as_bytes()
    raw.decode("ascii")  # utf8=False: every header and body line is 7-bit on the wire
    assert "\r\n" in raw.decode("ascii")  # SMTP line ends

    # The UTF-8 subject and display names travel RFC 2047-encoded ...
    assert "=?utf-8?" in raw_header(raw, "Subject").lower()
    assert "=?utf-8?" in raw_header(raw, "From").lower()
    assert "=?utf-8?" in raw_header(raw, "To").lower()

    # ... and decode back to the Vietnamese.
    msg = parse(sent)
    assert msg["Subject"] == render(lt).subject
    assert "Nhắc hạn: Báo cáo sơ kết 6 tháng – hạn 30/06/2022 (còn 3 ngày)" in msg["Subject"]
    assert msg["From"].addresses[0].display_name == "Cụm thi đua huyện vùng cao"
    assert msg["From"].addresses[0].addr_spec == "cum-vung-cao@example.vn"
    assert msg["To"].addresses[0].display_name == "Lường Văn Minh"
    assert msg["To"].addresses[0].addr_spec == "noivu.muongcha@example.vn"
    assert msg["Reply-To"].addresses[0].addr_spec == "noivu.tuachua@example.vn"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["X-Tracker-Key"] == lt.key
    assert msg["Date"].datetime == NOW
    assert msg["Date"].datetime.utcoffset() == timedelta(hours=7)
    assert msg["Message-ID"] == message_id(lt.key, "example.vn")

    assert msg.get_content_type() == "multipart/alternative"
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in parts)
    text, html = (p.get_content() for p in parts)
    for body in (text, html):
        assert "Kính gửi" in body
        assert "chậm nhất ngày 30 tháng 6 năm 2022 (thứ Năm)" in body
        assert "khoản 1 Điều 7" in body
    assert text.replace("\r\n", "\n") == render(lt).text


def test_reply_to_is_optional_and_now_must_be_aware() -> None:
    msg = parse(build(letter("reminder"), reply_to=None))
    assert msg["Reply-To"] is None
    with pytest.raises(ValueError, match="timezone-aware"):
        build(letter("reminder"), now=datetime(2022, 6, 27, 8, 0))


def test_date_header_is_written_in_vietnam_time() -> None:
    utc = datetime(2022, 6, 27, 1, 0, tzinfo=UTC)
    msg = parse(build(letter("reminder"), now=utc))
    assert msg["Date"] == "Mon, 27 Jun 2022 08:00:00 +0700"


def test_message_id_is_deterministic_per_key() -> None:
    lt = letter("reminder")
    first = parse(build(lt))["Message-ID"]
    # A resend after a crash: later, even rendered again, same key → same Message-ID.
    again = parse(build(lt, now=NOW + timedelta(hours=3)))["Message-ID"]
    assert first == again
    assert re.fullmatch(r"<[0-9a-f]{32}@example\.vn>", first)
    other = parse(build(replace(lt, key=lt.key.replace(":3:", ":7:"))))["Message-ID"]
    assert other != first
    assert message_id("a", "example.vn") != message_id("b", "example.vn")
    assert message_id("a", "example.vn") == message_id("a", "example.vn")


@pytest.mark.parametrize(
    "overrides",
    [
        {"from_name": "Cụm\r\nBcc: victim@example.com"},
        {"from_addr": "a@example.vn\nBcc: victim@example.com"},
        {"reply_to": "a@example.vn\r\nX-Evil: 1"},
        {"domain": "example.vn>\r\nX-Evil: 1"},
        {"domain": "exa mple.vn"},
        {"domain": "example.vn\n"},
    ],
)
def test_line_breaks_in_header_values_are_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(UnsafeHeaderError):
        build(letter("reminder"), **overrides)


def test_line_breaks_in_letter_headers_are_refused() -> None:
    lt = letter("reminder")
    with pytest.raises(UnsafeHeaderError):
        build(replace(lt, recipient=replace(lt.recipient, name="Minh\nBcc: x@example.com")))
    with pytest.raises(UnsafeHeaderError):
        build(replace(lt, recipient=replace(lt.recipient, email="x@example.vn\r\nBcc: y@a.b")))
    with pytest.raises(UnsafeHeaderError):
        build(replace(lt, key="k\r\nBcc: y@example.com"))


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_builds_a_message(kind: Kind, lang: Lang) -> None:
    lt = letter(kind, lang)
    raw = build(lt).as_bytes()
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    # Lines stay within 78 characters, except a display name's single encoded word (see
    # compose._EncodedAddress), which stays within the hard limit of 998.
    for line in head.split("\r\n"):
        one_word = re.fullmatch(r"(From|To): =\?utf-8\?b\?[A-Za-z0-9+/=]+\?=", line)
        assert len(line) <= (998 if one_word else 78), line
    msg = parse(build(lt))
    # Exactly the rendered subject: ASCII next to an encoded word once came back with a
    # doubled space (the stdlib folder's trailing space; see compose._EncodedSubject).
    assert msg["Subject"] == render(lt).subject
    assert msg["X-Tracker-Kind"] == kind
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]


@pytest.mark.parametrize(
    "name",
    [
        "Ban Thi đua - Khen thưởng tỉnh Điện Biên",
        "Phòng Nội vụ huyện Điện Biên Đông",
        "Bộ phận giúp việc Trưởng cụm (Phòng Nội vụ huyện Tủa Chùa)",
        "Văn phòng Cụm thi đua huyện vùng cao — thư nhắc việc tự động của Trưởng cụm",
        "Lò Thị Hoa",
        "Plain ASCII Name",
        'Quoted "ASCII", with comma',
    ],
)
def test_display_names_travel_intact(name: str) -> None:
    lt = letter("escalation")
    sent = build(replace(lt, recipient=replace(lt.recipient, name=name)), from_name=name)
    raw = sent.as_bytes()
    # Python's own parser (policy.default) reads each name back exactly: no stray space
    # where an encoded word was split ("Điện Biên Đôn g"), however long the name.
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    assert msg["To"].addresses[0].display_name == name
    assert msg["To"].addresses[0].addr_spec == lt.recipient.email
    assert msg["From"].addresses[0].display_name == name
    assert msg["From"].addresses[0].addr_spec == "cum-vung-cao@example.vn"
    # ... and so does an RFC 2047 §6.2 reader (the legacy decoder).
    to = str(make_header(decode_header(raw_header(raw, "To"))))
    assert to.replace('"', "").replace("\\", "") == f"{name} <{lt.recipient.email}>".replace(
        '"', ""
    )
    # The message object itself answers like a parsed header (transports read it).
    assert sent["To"].addresses[0].display_name == name
    assert name.split()[0] in str(sent["To"])


# -- the data contract -------------------------------------------------------------------


def test_letters_and_items_refuse_inconsistent_data() -> None:
    with pytest.raises(ValueError, match="at least one item"):
        letter("reminder", items=())
    letter("leader_digest", items=())  # a quiet day for the leader's own work is fine
    with pytest.raises(ValueError, match="leader_digest"):
        letter("reminder", problems=("x",))
    with pytest.raises(ValueError, match="unscheduled"):
        replace(DRAFT, due=date(2023, 3, 1), days_left=10)
    with pytest.raises(ValueError, match="days_left"):
        replace(DRAFT, unscheduled=False, due=date(2023, 3, 1))
    with pytest.raises(ValueError, match="kind"):
        replace(letter("reminder"), kind="memo")  # type: ignore[arg-type]


def test_cluster_name_follows_the_language() -> None:
    assert letter("reminder", "en").cluster == "Highland districts emulation cluster"
    assert letter("reminder", "vi").cluster == "Cụm thi đua huyện vùng cao"
    assert letter("reminder", "en", cluster_name_en="").cluster == "Cụm thi đua huyện vùng cao"


# -- dates in words ----------------------------------------------------------------------


def test_vn_dates() -> None:
    assert vndate.vn_date(date(2022, 6, 30)) == "30/06/2022"
    assert vndate.vn_date(date(2023, 1, 5)) == "05/01/2023"
    assert vndate.vn_long(date(2022, 6, 30)) == "ngày 30 tháng 6 năm 2022"
    # Nghị định 30/2020: a day below 10 and the months 1 and 2 take a leading zero.
    assert vndate.vn_long(date(2023, 2, 5)) == "ngày 05 tháng 02 năm 2023"
    assert vndate.vn_long(date(2023, 1, 31)) == "ngày 31 tháng 01 năm 2023"
    assert vndate.vn_long(date(2022, 11, 1)) == "ngày 01 tháng 11 năm 2022"
    assert vndate.en_long(date(2022, 6, 30)) == "30 June 2022"
    assert vndate.en_long(date(2023, 1, 5)) == "5 January 2023"


def test_weekdays() -> None:
    week = [date(2022, 6, 27) + timedelta(days=i) for i in range(7)]  # Monday to Sunday
    assert [vndate.weekday_vi(d) for d in week] == [
        "Thứ Hai",
        "Thứ Ba",
        "Thứ Tư",
        "Thứ Năm",
        "Thứ Sáu",
        "Thứ Bảy",
        "Chủ nhật",
    ]
    assert vndate.weekday_en(week[0]) == "Monday" and vndate.weekday_en(week[6]) == "Sunday"
    assert vndate.weekday_vi(date(2022, 12, 25)) == "Chủ nhật"  # the Sunday deadline


def test_days_phrases() -> None:
    assert vndate.days_phrase_vi(3) == "còn 3 ngày"
    assert vndate.days_phrase_vi(1) == "còn 1 ngày"
    assert vndate.days_phrase_vi(0) == "hạn chót là hôm nay"
    assert vndate.days_phrase_vi(-2) == "đã quá hạn 2 ngày"
    assert vndate.days_phrase_en(3) == "3 days left"
    assert vndate.days_phrase_en(1) == "1 day left"
    assert vndate.days_phrase_en(0) == "due today"
    assert vndate.days_phrase_en(-1) == "1 day overdue"
    assert vndate.days_phrase_en(-2) == "2 days overdue"


def test_window_phrases() -> None:
    w = Window(date(2022, 10, 1), date(2022, 11, 30))
    assert vndate.window_vi(w) == "từ 01/10/2022 đến 30/11/2022"
    assert vndate.window_en(w) == "1 October 2022 to 30 November 2022"
