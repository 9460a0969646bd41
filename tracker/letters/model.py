"""What a reminder e-mail says, as plain data (issue 3 §2).

The dispatcher fills these from the outbox row, the obligation and the config; `compose`
turns a `Letter` into text. Pure: no clock, no I/O. Every class is frozen and keyword-only
so a caller cannot swap two dates or two names by position.

Names come in a Vietnamese and an English spelling where the config has both (milestones,
deliverables, the cluster); people and member units have one name, used in both languages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from tracker.calendar.types import Window

Kind = Literal[
    "reminder",  # before the deadline (the planner's "lead" reminders)
    "overdue",  # to the focal officer, after the deadline
    "escalation",  # to the member's head or the leader (never the provincial board)
    "window_open",  # a window (Oct–Nov inspections, January scoring) starts
    "window_closing",  # a window ends in a few days
    "digest",  # everything for one recipient on one day
    "leader_digest",  # the leader's daily view of the whole cluster
    "set_date",  # the leader must set the summary conference's date (Điều 7.7)
    "event_notice",  # an event (visit, meeting, conference) is coming: when and where
    "province_report",  # the cluster's formal report to the provincial board
]
KINDS: tuple[Kind, ...] = (
    "reminder",
    "overdue",
    "escalation",
    "window_open",
    "window_closing",
    "digest",
    "leader_digest",
    "set_date",
    "event_notice",
    "province_report",
)
Lang = Literal["vi", "en"]
LANGS: tuple[Lang, ...] = ("vi", "en")
Role = Literal["focal", "head", "leader", "province"]
_HONORIFIC_EN = {"Ông": "Mr", "Bà": "Ms"}


@dataclass(frozen=True, kw_only=True)
class Item:
    """One obligation as a letter mentions it."""

    obligation_id: int
    member_id: str
    member_name: str  # "Huyện Mường Chà": the member's name, as a list shows it
    milestone_id: str  # a config milestone id or "request-<n>" (Điều 7.3)
    name_vi: str
    name_en: str
    article: str  # "Điều 7.1": the regulation's article, in the compact form
    due: date | None  # the deadline (ends 24:00 local); None while unscheduled
    window: Window | None  # window, month, quarter and event rules
    state: str  # open | submitted | returned | completed | waived
    days_left: int | None  # calendar days from the letter's day to `due`; < 0 = late
    deliverable_vi: str = ""  # what to send / do
    deliverable_en: str = ""
    send_to_vi: str = ""  # to whom: "Trưởng cụm (UBND huyện Tủa Chùa)"
    send_to_en: str = ""
    overdue: bool = False
    # The date depends on an event not set yet (the draft report before the conference
    # has a date): the letter must not invent one.
    unscheduled: bool = False
    completed_on: date | None = None  # the leader digest's "recently completed"
    # The leader must set this event's date (a set_date reminder, Điều 7.7). Wherever the
    # item appears (the leader's digest absorbs it in daily mode) it shows the command.
    needs_date: bool = False
    # An event (a visit, a meeting, the conference): `due` is the day it is held; it is
    # never overdue or late, it is recorded as held (Điều 7.4–7.9).
    event: bool = False
    # --- issue 6: letters in administrative style (all computed by letters.py) ---
    # The member's unit inside a sentence, as it writes itself: "UBND huyện Mường Chà".
    member_unit: str = ""  # empty: member_name
    # The full citation: "khoản 1 Điều 7 Quy chế hoạt động … ban hành kèm theo Quyết định
    # số …". Empty: the letter writes "<article> <regulation>".
    article_vi: str = ""  # the article alone, in the legal form: "khoản 1 Điều 7"
    article_en: str = ""  # "Article 7(1)"
    basis_vi: str = ""
    basis_en: str = ""
    # Working days from the letter's day to the last working day on or before `due`
    # (deadlines), or to the day an event is held; None: count in calendar days.
    working_days_left: int | None = None
    # Set when `due` is a day off: the last working day before it, the real last day to
    # hand in ("hôm nay là ngày làm việc cuối cùng" on that day).
    last_working_day: date | None = None
    # Working days late (> 0 when overdue): the province report lists it.
    working_days_late: int | None = None
    # The leader's own task (planner.is_leader_task, or dating an event):
    # it goes to the leader's office, under the leader's hat.
    leader_task: bool = False
    # An event whose date the leader has set; False: `due` is the end of the window it
    # must be held in.
    date_set: bool = True
    # needs_date: the command that sets it, for the leader's letters only:
    # "tracker schedule cross_inspection YYYY-MM-DD --member muong-cha".
    schedule_command: str = ""
    # A date counted from another (the draft report "trước ngày Hội nghị tổng kết ít nhất
    # 5 ngày", note under Điều 7.9): the rule as the regulation writes it, beside the date
    # it gives. Empty for fixed days, windows and events, whose date says it all.
    rule_vi: str = ""
    rule_en: str = ""

    def __post_init__(self) -> None:
        if self.unscheduled and self.due is not None:
            raise ValueError("an unscheduled item has no due date")
        if (self.due is None) != (self.days_left is None):
            raise ValueError("days_left is set exactly when due is set")


@dataclass(frozen=True, kw_only=True)
class Recipient:
    name: str  # a person, or a body such as the provincial board
    email: str
    role: Role
    member_name: str | None = None  # the member unit a focal officer or head works for
    title: str = ""  # "Chuyên viên", "Chủ tịch UBND huyện Nậm Pồ"
    # "Ông" | "Bà" | "Đồng chí" before a person's name; empty for a body or an office
    # (the provincial board, the leader's office).
    honorific: str = ""
    # The unit the person works in, as it writes itself: "Phòng Nội vụ huyện Nậm Pồ".
    office: str = ""
    name_en: str = ""  # a body's English name ("the Emulation and Commendation Board …")

    def salutation_vi(self) -> str:
        """After "Kính gửi: ": "Đồng chí Giàng A Sử, Chuyên viên Phòng Nội vụ huyện Nậm Pồ";
        a body or an office by its name alone."""
        who = f"{self.honorific} {self.name}" if self.honorific else self.name
        post = self._post()
        return f"{who}, {post}" if post else who

    def salutation_en(self) -> str:
        """After "Dear ": "Mr Giàng A Sử (Chuyên viên, Phòng Nội vụ huyện Nậm Pồ)"; a body
        by its English name."""
        if self.role == "province":
            body = self.name_en or self.name
            return f"colleagues at {body}" if body.startswith("the ") else body
        if self.role == "leader" and not self.honorific:
            return "colleagues at the cluster leader's office"
        if not self.honorific:
            return self.name
        title = _HONORIFIC_EN.get(self.honorific, "")
        who = f"{title} {self.name}" if title else self.name
        office = self.office if self.office.lower() not in self.title.lower() else ""
        extra = [x for x in (self.title, office) if x]
        if not self.office and self.member_name and self._member_not_named():
            extra.append(self.member_name)
        return f"{who} ({', '.join(extra)})" if extra else who

    def _member_not_named(self) -> bool:
        m = (self.member_name or "").lower()
        return bool(m) and m not in self.title.lower() and m not in self.name.lower()

    def _post(self) -> str:
        title, office = self.title, self.office
        if office and office.lower() not in title.lower():
            return f"{title} {office}" if title else office
        if not office and self._member_not_named():
            # A config without `office`: the member's name as written, in brackets, so a
            # capital never lands in the middle of a phrase.
            return f"{title} ({self.member_name})" if title else str(self.member_name)
        return title


@dataclass(frozen=True, kw_only=True)
class Signature:
    """Who sends the letter: the sending office, never a person's signature block (an
    automatic letter does not impersonate the signatory), and whom to ask."""

    cluster_name: str  # "Cụm thi đua huyện vùng cao"
    contact: str  # the e-mail address for questions (the reply-to address by default)
    cluster_name_en: str = ""  # empty: the Vietnamese name in English letters too
    office: str = ""  # "Văn phòng Cụm thi đua huyện vùng cao"; empty: "Văn phòng <cluster>"
    office_en: str = ""
    # The person to contact: "Bà Lò Thị Hoa, Chuyên viên Phòng Nội vụ huyện Tủa Chùa".
    contact_name: str = ""
    contact_phone: str = ""

    def sender_vi(self) -> str:
        return self.office or f"Văn phòng {self.cluster_name}"

    def sender_en(self) -> str:
        return self.office_en or f"Office of the {self.cluster_name_en or self.cluster_name}"

    def contact_vi(self) -> str:
        """The contact line: Bà Lò Thị Hoa, Chuyên viên …, điện thoại …, e-mail …"""
        parts = [p for p in (self.contact_name, _pre("điện thoại ", self.contact_phone)) if p]
        return ", ".join([*parts, f"e-mail {self.contact}"])

    def contact_en(self) -> str:
        who = self.contact_name
        for vi in ("Ông", "Bà", "Đồng chí"):
            if who.startswith(vi + " "):
                en = _HONORIFIC_EN.get(vi, "")
                who = f"{en} {who[len(vi) + 1 :]}" if en else who[len(vi) + 1 :]
        parts = [p for p in (who, _pre("phone ", self.contact_phone)) if p]
        return ", ".join([*parts, f"e-mail {self.contact}"])


def _pre(prefix: str, value: str) -> str:
    return f"{prefix}{value}" if value else ""


@dataclass(frozen=True, kw_only=True)
class Delivery:
    """How and where members send what they owe the leader (issue 6 §5)."""

    unit_vi: str  # "Trưởng cụm (Phòng Nội vụ huyện Tủa Chùa)"
    unit_en: str = ""
    address: str = ""
    email: str = ""
    form_vi: str = ""  # "văn bản giấy có đóng dấu và bản điện tử"
    form_en: str = ""


@dataclass(frozen=True, kw_only=True)
class Letter:
    kind: Kind
    key: str  # the outbox key; the Message-ID derives from it
    lang: Lang
    recipient: Recipient
    items: tuple[Item, ...]  # leader_digest: the leader's own items for the day
    cluster_name: str
    signature: Signature
    today: date  # the day the letter speaks of ("as of ...")
    cluster_name_en: str = ""  # empty: the Vietnamese name in English letters too
    regulation: str = ""  # "Quy chế hoạt động của Cụm ... năm 2022"; empty: generic wording
    regulation_en: str = ""
    # Where to send what the items ask for; None: the letter asks for nothing to be sent.
    delivery: Delivery | None = None
    # province_report: the threshold it reports ("quá hạn từ 10 ngày làm việc trở lên").
    overdue_at_least: int = 0
    # leader_digest only: the whole cluster's picture.
    overdue: tuple[Item, ...] = ()
    due_this_week: tuple[Item, ...] = ()
    completed: tuple[Item, ...] = ()
    # Problems the leader must know about, in the letter's language, e.g.
    # "Tạm dừng gửi thư: máy chủ SMTP từ chối đăng nhập".
    problems: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown letter kind {self.kind!r}")
        if self.lang not in LANGS:
            raise ValueError(f"unknown language {self.lang!r}")
        if self.kind != "leader_digest" and not self.items:
            raise ValueError(f"a {self.kind} letter needs at least one item")
        if self.kind != "leader_digest" and (
            self.overdue or self.due_this_week or self.completed or self.problems
        ):
            raise ValueError("overdue/due_this_week/completed/problems are for leader_digest")

    @property
    def cluster(self) -> str:
        """The cluster's name in the letter's language."""
        if self.lang == "en" and self.cluster_name_en:
            return self.cluster_name_en
        return self.cluster_name
