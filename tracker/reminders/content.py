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
    "escalation",  # to the member's head, the leader or the provincial board
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


@dataclass(frozen=True, kw_only=True)
class Item:
    """One obligation as a letter mentions it."""

    obligation_id: int
    member_id: str
    member_name: str  # "Huyện Mường Chà"
    milestone_id: str  # a config milestone id or "request-<n>" (Điều 7.3)
    name_vi: str
    name_en: str
    article: str  # "Điều 7.1": the regulation's article the obligation comes from
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
    title: str = ""  # "Chuyên viên Phòng Nội vụ", "Chủ tịch UBND huyện"


@dataclass(frozen=True, kw_only=True)
class Signature:
    """The leader's signature block: letters go out in the leader's name (Điều 4)."""

    leader_unit: str  # "UBND huyện Tủa Chùa"
    cluster_name: str  # "Cụm thi đua huyện vùng cao"
    contact: str  # whom to reply to: the reply-to address
    cluster_name_en: str = ""  # empty: the Vietnamese name in English letters too


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
