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
from tracker.calendar.types import TZ, Window
from tracker.reminders import vndate
from tracker.reminders.compose import (
    UnsafeHeaderError,
    build_message,
    message_id,
    render,
)
from tracker.reminders.content import KINDS, LANGS, Item, Kind, Lang, Letter, Recipient, Signature

TODAY = date(2022, 6, 27)  # Monday; the half-year report is due on Thursday 30/06/2022
NOW = datetime(2022, 6, 27, 8, 0, tzinfo=TZ)
REGULATION = "Quy chế hoạt động của Cụm thi đua huyện vùng cao năm 2022"
SIG = Signature(
    leader_unit="UBND huyện Tủa Chùa",
    cluster_name="Cụm thi đua huyện vùng cao",
    cluster_name_en="Highland districts emulation cluster",
    contact="noivu.tuachua@example.vn",
)
FOCAL = Recipient(
    name="Lường Văn Minh",
    email="noivu.muongcha@example.vn",
    role="focal",
    member_name="Huyện Mường Chà",
    title="Chuyên viên Phòng Nội vụ",
)
HEAD = Recipient(
    name="Lãnh đạo UBND huyện Mường Chà",
    email="chutich.muongcha@example.vn",
    role="head",
    member_name="Huyện Mường Chà",
    title="Chủ tịch UBND huyện",
)
LEADER = Recipient(
    name="Lò Thị Hoa",
    email="noivu.tuachua@example.vn",
    role="leader",
    member_name="Huyện Tủa Chùa",
    title="Chuyên viên Phòng Nội vụ",
)
PROVINCE = Recipient(
    name="Ban Thi đua, khen thưởng tỉnh Điện Biên", email="ban-tdkt@example.vn", role="province"
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
        due=date(2022, 6, 30),
        window=None,
        state="open",
        days_left=days_left,
        deliverable_vi="Gửi báo cáo sơ kết 6 tháng về Trưởng cụm",
        deliverable_en="Send the half-year report to the cluster leader",
        send_to_vi="Trưởng cụm (UBND huyện Tủa Chùa)",
        send_to_en="the cluster leader (UBND huyện Tủa Chùa)",
        overdue=days_left < 0,
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
    # The leader's signature block and the automatic-message notice with whom to reply to.
    signer = (
        "TRƯỞNG CỤM THI ĐUA HUYỆN VÙNG CAO"
        if lang == "vi"
        else "LEADER, HIGHLAND DISTRICTS EMULATION CLUSTER"
    )
    assert f"{signer}\n(UBND huyện Tủa Chùa)" in r.text
    assert signer in r.html
    assert "thư tự động" in r.text if lang == "vi" else "automatic message" in r.text
    assert SIG.contact in r.text and SIG.contact in r.html
    # The text part reads on its own: no markup, no template debris, no runs of blanks.
    assert "<" not in r.text and "{" not in r.text and "&#" not in r.text
    assert "\n\n\n" not in r.text and r.text.endswith("\n")
    assert r.html.startswith("<!DOCTYPE html>") and f'<html lang="{lang}">' in r.html
    assert "{{" not in r.html and "{%" not in r.html


@pytest.mark.parametrize("kind", ["reminder", "overdue", "escalation", "digest"])
def test_vietnamese_item_reads_like_an_office_letter(kind: Kind) -> None:
    r = render(letter(kind))
    for part in (r.text, r.html):
        assert "Kính gửi" in part
        assert "Báo cáo sơ kết 6 tháng" in part
        assert "30/06/2022" in part and "ngày 30 tháng 6 năm 2022" in part
        assert "Thứ Năm" in part
        assert "Điều 7.1" in part and REGULATION in part
        assert "Gửi báo cáo sơ kết 6 tháng về Trưởng cụm" in part  # what to send
        assert "Trưởng cụm (UBND huyện Tủa Chùa)" in part  # and to whom


def test_reminder_text_in_full() -> None:
    r = render(letter("reminder"))
    assert r.subject == (
        "[Cụm thi đua huyện vùng cao] Nhắc hạn: Báo cáo sơ kết 6 tháng – hạn 30/06/2022"
        " (còn 3 ngày)"
    )
    assert r.text.splitlines()[:10] == [
        "Kính gửi: Lường Văn Minh – Chuyên viên Phòng Nội vụ, Huyện Mường Chà",
        "",
        f"Thực hiện {REGULATION}, Trưởng cụm xin nhắc đơn vị thời hạn của việc sau:",
        "",
        "* Báo cáo sơ kết 6 tháng",
        "  - Thời hạn: 30/06/2022 (Thứ Năm, ngày 30 tháng 6 năm 2022) – còn 3 ngày",
        "  - Việc cần làm: Gửi báo cáo sơ kết 6 tháng về Trưởng cụm",
        "  - Gửi đến: Trưởng cụm (UBND huyện Tủa Chùa)",
        f"  - Căn cứ: Điều 7.1 {REGULATION}",
        "",
    ]


def test_days_left_and_days_late_are_told() -> None:
    assert "còn 3 ngày" in render(letter("reminder")).text
    today = render(letter("reminder", items=(half_year(0),)))
    assert "hạn chót là hôm nay" in today.subject and "hạn chót là hôm nay" in today.text
    late = render(letter("overdue"))
    assert "đã quá hạn 2 ngày" in late.subject and "đã quá hạn 2 ngày" in late.text
    assert "bị trả lại, cần bổ sung" in late.text  # the returned state is shown
    assert "2 days overdue" in render(letter("overdue", "en")).text


def test_empty_optional_lines_are_left_out() -> None:
    bare = half_year(3, deliverable_vi="", deliverable_en="", send_to_vi="", send_to_en="")
    r = render(letter("reminder", items=(bare,)))
    assert "Việc cần làm" not in r.text and "Gửi đến" not in r.text
    assert "Việc cần làm" not in r.html and "Gửi đến" not in r.html
    # An English letter falls back to the Vietnamese deliverable rather than drop it.
    en = render(letter("reminder", "en", items=(half_year(3, deliverable_en=""),)))
    assert "What to do: Gửi báo cáo sơ kết 6 tháng về Trưởng cụm" in en.text


def test_a_reminder_about_the_leaders_own_work_says_how_to_stop_it() -> None:
    own = replace(CONFERENCE, milestone_id="score_summary", name_vi="Báo cáo kết quả chấm điểm")
    r = render(letter("reminder", recipient=LEADER, items=(own,)))
    assert "Hệ thống theo dõi xin nhắc Trưởng cụm thời hạn của việc sau:" in r.text
    assert "để dừng nhắc việc này" in r.text
    assert "đơn vị" not in r.text.split("* ")[0]  # not written as if to a member


def test_escalation_names_the_late_member_and_suits_the_reader() -> None:
    head = render(letter("escalation"))
    assert "Huyện Mường Chà" in head.subject
    assert "Báo cáo sơ kết 6 tháng – Huyện Mường Chà" in head.text
    assert "đã quá hạn 5 ngày" in head.text
    assert "chỉ đạo bộ phận chuyên môn" in head.text
    board = render(letter("escalation", recipient=PROVINCE))
    assert board.text.startswith("Kính gửi: Ban Thi đua, khen thưởng tỉnh Điện Biên\n")
    assert "Kính báo cáo để Ban nắm tình hình." in board.text


def test_window_letters_give_the_window_dates() -> None:
    opening = render(letter("window_open"))
    assert "(01/10/2022 – 30/11/2022)" in opening.subject
    assert "Thời gian thực hiện: từ 01/10/2022 đến 30/11/2022" in opening.text
    closing = render(letter("window_closing"))
    assert "hạn 30/11/2022" in closing.subject and "sắp kết thúc" in closing.text
    assert "1 October 2022 to 30 November 2022" in render(letter("window_open", "en")).text


def test_set_date_gives_the_exact_command() -> None:
    for lang in LANGS:
        r = render(letter("set_date", lang))
        command = "tracker schedule summary_conference YYYY-MM-DD"
        assert f"\n    {command}\n" in r.text
        assert command in r.html
        assert "2023-01-01" in r.text and "2023-03-31" in r.text
    assert "Đề nghị ấn định ngày: Hội nghị tổng kết" in render(letter("set_date")).subject


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
        "QUÁ HẠN (1)",
        "- Huyện Mường Chà – Báo cáo sơ kết 6 tháng: hạn 30/06/2022 (Thứ Năm), đã quá hạn 2 ngày",
        "ĐẾN HẠN TRONG TUẦN (1)",
        "- Huyện Nậm Pồ – Báo cáo sơ kết 6 tháng: hạn 30/06/2022 (Thứ Năm), còn 3 ngày",
        "ĐÃ HOÀN THÀNH GẦN ĐÂY (1)",
        "- Huyện Mường Nhé – Báo cáo sơ kết 6 tháng: hoàn thành ngày 24/06/2022",
        "VIỆC CỦA TRƯỞNG CỤM (2)",
        "* Hội nghị tổng kết",
        "* Gửi dự thảo báo cáo tổng kết",
    ]
    positions = [text.index(line) for line in order]
    assert positions == sorted(positions)
    # An unscheduled item never gets an invented date.
    assert "Thời hạn: chưa xác định" in text
    assert "Tạm dừng gửi thư" in r.html and "Cần xử lý ngay" in r.html


def test_a_date_to_set_shows_the_command_in_the_leaders_digest_too() -> None:
    # Daily mode folds the set_date reminder into the leader's digest.
    asks = replace(CONFERENCE, needs_date=True)
    for lang in LANGS:
        r = render(letter("leader_digest", lang, items=(asks, DRAFT)))
        assert "tracker schedule summary_conference YYYY-MM-DD" in r.text
        assert "<code>tracker schedule summary_conference YYYY-MM-DD</code>" in r.html
    # Said once in the set_date letter itself, and not for items that need no date.
    once = render(letter("set_date", items=(asks,)))
    assert once.text.count("tracker schedule") == 1
    assert "tracker schedule" not in render(letter("leader_digest")).text


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
    assert r.text.startswith("Dear Lường Văn Minh (Chuyên viên Phòng Nội vụ, Huyện Mường Chà),\n")
    assert "Deadline: Thursday 30 June 2022 (30/06/2022) – 3 days left" in r.text
    assert "Send the half-year report to the cluster leader" in r.text
    assert "Điều 7.1" in r.text
    assert "Kính gửi" not in r.text


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
        )

    lt = letter(kind, lang)
    sig = Signature(
        leader_unit=f"UBND {EVIL}",
        cluster_name=f"Cụm {EVIL}",
        cluster_name_en=f"Cluster {EVIL}",
        contact=f"a{EVIL}@example.vn",
    )
    return replace(
        lt,
        recipient=replace(lt.recipient, name=EVIL, title=EVIL, member_name=EVIL),
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
    lt = replace(lt, recipient=replace(lt.recipient, member_name=None, title=""))
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
        assert "30/06/2022" in body
        assert "ngày 30 tháng 6 năm 2022" in body
        assert "Điều 7.1" in body
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
        "Ban Thi đua, khen thưởng tỉnh Điện Biên",
        "Lãnh đạo UBND huyện Mường Chà",
        "Văn phòng Trưởng cụm (Phòng Nội vụ Tủa Chùa)",
        "Lò Thị Hoa",
        "Plain ASCII Name",
    ],
)
def test_display_names_travel_intact(name: str) -> None:
    lt = letter("escalation")
    sent = build(replace(lt, recipient=replace(lt.recipient, name=name)), from_name=name)
    raw = sent.as_bytes()
    # Decoded as RFC 2047 §6.2 says (whitespace between adjacent encoded words is
    # dropped). CPython 3.11's policy.default address parser keeps it, so a long
    # Vietnamese display name split over two encoded words reads back there as
    # "Nội v ụ" although what was sent is right; hence the legacy decoder here.
    to = str(make_header(decode_header(raw_header(raw, "To"))))
    assert to == f"{name} <{lt.recipient.email}>"
    sender = str(make_header(decode_header(raw_header(raw, "From"))))
    assert sender == f"{name} <cum-vung-cao@example.vn>"
    msg = parse(sent)
    assert msg["To"].addresses[0].addr_spec == lt.recipient.email


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
