"""The cluster config: one TOML file per cluster and year (the regulation is rewritten every
year, Điều 3.3 and Điều 11, so nothing here is code).

Long (~900 lines) on purpose: the whole schema in one file is the reference a secretariat
reads next to its TOML; the models refer to each other (rules ↔ milestones ↔ members) and
the cross-checks at the end need them all.

Dates in rules are written relative to the cycle year: `30/6/Y`, `25/12/Y`, `31/1/Y+1`.
That lets the same file start a cycle for any year; `cycle.year` is only the default.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError, core_schema

_ID = r"^[a-z0-9][a-z0-9_-]*$"
_DAY_EXPR = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/Y(?:\s*\+\s*(\d))?\s*$")
_MONTH_EXPR = re.compile(r"^\s*(\d{1,2})/Y(?:\s*\+\s*(\d))?\s*$")
_QUARTER_EXPR = re.compile(r"^\s*Q([1-4])/Y(?:\s*\+\s*(\d))?\s*$")


def _no_newlines(value: str) -> str:
    # A CR or LF in a name or address would let config text inject e-mail headers; other
    # control characters (NUL, BEL, DEL, NEL U+0085, the separators U+2028/U+2029, …)
    # break a terminal, a CSV cell or a letter's line without being seen in the file.
    if "\r" in value or "\n" in value:
        raise PydanticCustomError("line_break", "must not contain a line break (CR/LF)")
    for ch in value:
        if unicodedata.category(ch) in ("Cc", "Zl", "Zp"):
            raise PydanticCustomError(
                "control_char",
                "must not contain the control character {char}",
                {"char": f"U+{ord(ch):04X}"},
            )
    return value


@dataclass(frozen=True)
class ConfigProblem:
    """One cross-reference problem, at its own key path (the loader shows it)."""

    loc: tuple[str | int, ...]
    vi: str
    en: str


class ConfigValueError(ValueError):
    """A validator's refusal in both languages (the loader shows `vi`, or `en` with
    --lang en); str() stays the English text for developers and logs."""

    def __init__(self, vi: str, en: str) -> None:
        super().__init__(en)
        self.vi = vi
        self.en = en


class CrossReferenceError(ValueError):
    """Problems between parts of the config (unknown ids, loops); each keeps its key path,
    which a plain ValueError from a model validator would lose."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{'.'.join(map(str, p.loc))}: {p.en}" for p in problems))


# Validation context for a config that was already validated when it was loaded from its
# file: the snapshot a cycle keeps in the database (tracker.service.cycles).
TRUSTED = {"trusted": True}


def _email(value: str, info: ValidationInfo) -> str:
    """Like pydantic's EmailStr (same checks, same normalised address), but email-validator
    is imported on first use and a trusted snapshot is not checked again: importing it cost
    about 40 ms of every CLI command's start-up (bench/README.md)."""
    if info.context and info.context.get("trusted"):
        return value
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise PydanticCustomError(
            "value_error", "value is not a valid email address: {reason}", {"reason": str(exc)}
        ) from None


EmailStr = Annotated[str, AfterValidator(_email)]


class _Model(BaseModel):
    # strict: TOML has real numbers and booleans, so "7" or "yes" is a typo to report,
    # not a value to coerce. Dates stay lax (see Holidays).
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, strict=True)


SafeStr = Annotated[str, Field(min_length=1)]


class DayOfYear(_Model):
    """A day written relative to the cycle year, e.g. `30/6/Y` or `31/1/Y+1`."""

    day: int
    month: int
    year_offset: int

    @classmethod
    def parse(cls, text: str) -> DayOfYear:
        m = _DAY_EXPR.match(text)
        if not m:
            raise ConfigValueError(
                f"'{text}' không phải một ngày dạng '30/6/Y' hoặc '31/1/Y+1' (ngày/tháng/Y,"
                " Y = năm chu kỳ)",
                f"'{text}' is not a day like '30/6/Y' or '31/1/Y+1' (day/month/Y, Y = cycle year)",
            )
        day, month, off = int(m[1]), int(m[2]), int(m[3] or 0)
        if not 1 <= month <= 12:
            raise ConfigValueError(
                f"'{text}': tháng {month} không nằm trong khoảng 1 đến 12",
                f"'{text}': month {month} is not between 1 and 12",
            )
        # Validate against a leap year so 29/2 is accepted; resolve() clamps nothing and
        # fails loudly for a non-leap year.
        try:
            date(2000, month, day)
        except ValueError:
            raise ConfigValueError(
                f"'{text}': tháng {month} không có ngày {day}",
                f"'{text}': day {day} does not exist in month {month}",
            ) from None
        return cls(day=day, month=month, year_offset=off)

    def resolve(self, year: int) -> date:
        return date(year + self.year_offset, self.month, self.day)

    def __str__(self) -> str:
        suffix = f"+{self.year_offset}" if self.year_offset else ""
        return f"{self.day}/{self.month}/Y{suffix}"


def _day(value: object) -> object:
    if isinstance(value, str):
        return DayOfYear.parse(value)
    return value


class FixedRule(_Model):
    """A fixed day: `chậm nhất ngày 30/6` (Điều 7.1)."""

    kind: Literal["fixed"]
    date: DayOfYear

    _parse = field_validator("date", mode="before")(_day)


class WindowRule(_Model):
    """A window from one day to another, e.g. October–November (Điều 7.4)."""

    kind: Literal["window"]
    start: DayOfYear
    end: DayOfYear

    _parse = field_validator("start", "end", mode="before")(_day)

    @model_validator(mode="after")
    def _ordered(self) -> WindowRule:
        first = (self.start.year_offset, self.start.month, self.start.day)
        last = (self.end.year_offset, self.end.month, self.end.day)
        if last < first:
            raise ConfigValueError(
                f"khoảng thời gian kết thúc ({self.end}) trước khi bắt đầu ({self.start})"
                " — đổi chỗ start và end",
                f"the window ends ({self.end}) before it starts ({self.start})",
            )
        return self


class MonthRule(_Model):
    """A whole month, e.g. `1/Y+1` = January of the next year (Điều 7.6)."""

    kind: Literal["month"]
    month: str

    @field_validator("month")
    @classmethod
    def _check(cls, v: str) -> str:
        m = _MONTH_EXPR.match(v)
        if not m or not 1 <= int(m[1]) <= 12:
            raise ConfigValueError(
                f"'{v}' không phải một tháng dạng '1/Y+1' (tháng/Y, Y = năm chu kỳ)",
                f"'{v}' is not a month like '1/Y+1' (month/Y, Y = cycle year)",
            )
        return v

    def parts(self) -> tuple[int, int]:
        m = _MONTH_EXPR.match(self.month)
        assert m is not None
        return int(m[1]), int(m[2] or 0)


class QuarterRule(_Model):
    """A quarter, e.g. `Q1/Y+1` (Điều 7.7)."""

    kind: Literal["quarter"]
    quarter: str

    @field_validator("quarter")
    @classmethod
    def _check(cls, v: str) -> str:
        if not _QUARTER_EXPR.match(v):
            raise ConfigValueError(
                f"'{v}' không phải một quý dạng 'Q1/Y+1'", f"'{v}' is not a quarter like 'Q1/Y+1'"
            )
        return v

    def parts(self) -> tuple[int, int]:
        m = _QUARTER_EXPR.match(self.quarter)
        assert m is not None
        return int(m[1]), int(m[2] or 0)


WindowLike = Annotated[WindowRule | MonthRule | QuarterRule, Field(discriminator="kind")]


class EventRule(_Model):
    """A date the leader sets inside a window: the conference in Q1 (Điều 7.7), or one
    inspection visit per member in Oct–Nov (Điều 7.4, `per_member = true`)."""

    kind: Literal["event"]
    within: WindowLike
    per_member: bool = False


class LeaderDatedRule(EventRule):
    """A deadline whose date the leader sets from outside guidance, inside a window: the
    leader's half-year and annual reports of the cluster to the province "theo quy định của
    UBND tỉnh và Ban Thi đua - Khen thưởng tỉnh" (Điều 4.5, 4.6), whose date the
    province's yearly guidance gives. Dated like an event (`tracker schedule`), but once
    dated it is a deadline: reminders before it, overdue after it."""

    kind: Literal["dated_by_leader"]  # type: ignore[assignment]


class RelativeRule(_Model):
    """N calendar or working days before/after another milestone, e.g. the draft report
    at least 5 days before the conference (note under Điều 7.9)."""

    kind: Literal["relative"]
    to: str
    days: int = Field(ge=0, le=366)
    direction: Literal["before", "after"]
    count: Literal["calendar", "working"] = "calendar"
    # Which date of the other milestone: its deadline/event date, or its window's start/end.
    anchor: Literal["date", "start", "end"] = "date"


Rule = Annotated[
    FixedRule | WindowRule | MonthRule | QuarterRule | EventRule | LeaderDatedRule | RelativeRule,
    Field(discriminator="kind"),
]

Policy = Literal["as_written", "next_working_day", "previous_working_day"]


class ProvinceReportPolicy(_Model):
    """The formal report the cluster may choose to send its superior, the provincial board
    (Điều 4.6): members' obligations overdue by at least `overdue_at_least` working days,
    every `every_working_days` working days, never after the summary conference. The
    board is never sent reminders, nags or digests: it does not owe the cluster anything."""

    every_working_days: int = Field(default=5, ge=1, le=60)
    overdue_at_least: int = Field(default=10, ge=1, le=120)
    # The milestone after which nothing is reported: the summary conference, where the
    # board's members hear the year's results (Điều 7.8, 7.9).
    until: str = "summary_conference"


class ReminderPolicy(_Model):
    """When to remind (issue 3). Lead times are calendar days before the due date."""

    lead_days: list[Annotated[int, Field(ge=0, le=120)]] = [14, 7, 3, 1, 0]
    window_open: bool = True
    window_closing_days: int | None = Field(default=3, ge=0, le=60)
    overdue_every_working_days: int = Field(default=2, ge=1, le=30)
    overdue_max: int = Field(default=5, ge=0, le=50)
    # Escalation ladder: after K working days overdue, also write to these roles. The
    # provincial board is not on it: the cluster answers to the board (Điều 4), it does
    # not send it reminders; see report_to_province.
    escalate_head_after: int | None = Field(default=3, ge=1)
    escalate_leader_after: int | None = Field(default=5, ge=1)
    # Events (a visit, a meeting, the conference) are not deadlines: notices this many
    # working days before they happen, to the people concerned, and never an overdue nag.
    event_notice_working_days: list[Annotated[int, Field(ge=0, le=60)]] = [7, 1]
    # None (default): the provincial board gets nothing. Set it to send the board a
    # formal report of members' overdue obligations (see ProvinceReportPolicy).
    report_to_province: ProvinceReportPolicy | None = None


# -- articles of the regulation -----------------------------------------------------------

_SPACES = re.compile(r"\s+")
# "Điều 7.1", "Điều 7.9 (ghi chú)", "Điều 6", "Điều 7.1.a"
_ART_SHORT = re.compile(
    r"^(?:điều|dieu|art\.?|article)\s*(\d{1,3})(?:\.(\d{1,2}))?(?:\.([a-zđ]))?"
    r"\s*(\(\s*ghi chú\s*\))?$",
    re.IGNORECASE,
)
# "khoản 1 Điều 7", "điểm a khoản 1 Điều 7", "ghi chú tại khoản 9 Điều 7"
_ART_LONG = re.compile(
    r"^(ghi chú (?:tại|dưới|của)\s+)?(?:điểm\s+([a-zđ])\s+)?(?:khoản\s+(\d{1,2})\s+)?"
    r"điều\s+(\d{1,3})$",
    re.IGNORECASE,
)


class ArticleRef(_Model):
    """One place in the regulation: an article (`dieu`), optionally its clause (`khoan`)
    and point (`diem`), or the note under it (`ghi_chu`), numbered as the cluster's own
    regulation numbers them (a commune cluster's regulation has its own)."""

    dieu: int = Field(ge=1, le=999)
    khoan: int | None = Field(default=None, ge=1, le=99)
    diem: str | None = Field(default=None, pattern=r"^[a-zđ]$")
    ghi_chu: bool = False

    def short(self) -> str:
        """`Điều 7.1`: the compact form the CLI tables show (and the config may use)."""
        text = f"Điều {self.dieu}"
        if self.khoan is not None:
            text += f".{self.khoan}"
            if self.diem:
                text += f".{self.diem}"
        return text + (" (ghi chú)" if self.ghi_chu else "")

    def vi(self) -> str:
        """The legal form: `khoản 1 Điều 7`, `điểm a khoản 1 Điều 7`, `ghi chú tại khoản 9
        Điều 7`, `Điều 6`."""
        parts = []
        if self.diem and self.khoan is not None:
            parts.append(f"điểm {self.diem}")
        if self.khoan is not None:
            parts.append(f"khoản {self.khoan}")
        parts.append(f"Điều {self.dieu}")
        text = " ".join(parts)
        return f"ghi chú tại {text}" if self.ghi_chu else text

    def en(self) -> str:
        """`Article 7(1)`, `Article 7(1)(a)`, `the note to Article 7(9)`, `Article 6`."""
        text = f"Article {self.dieu}"
        if self.khoan is not None:
            text += f"({self.khoan})"
            if self.diem:
                text += f"({self.diem})"
        return f"the note to {text}" if self.ghi_chu else text


def _article_ref(value: object) -> ArticleRef:
    if isinstance(value, ArticleRef):
        return value
    if isinstance(value, dict):
        return ArticleRef.model_validate(value)
    if not isinstance(value, str):
        raise ConfigValueError(
            f"{value!r} không phải một điều khoản — viết dạng 'Điều 7.1'",
            f"{value!r} is not an article — write it like 'Điều 7.1'",
        )
    text = _SPACES.sub(" ", value.strip())
    m = _ART_SHORT.match(text)
    if m:
        return ArticleRef(
            dieu=int(m[1]),
            khoan=int(m[2]) if m[2] else None,
            diem=m[3].lower() if m[3] else None,
            ghi_chu=m[4] is not None,
        )
    m = _ART_LONG.match(text)
    if m:
        return ArticleRef(
            dieu=int(m[4]),
            khoan=int(m[3]) if m[3] else None,
            diem=m[2].lower() if m[2] else None,
            ghi_chu=m[1] is not None,
        )
    raise ConfigValueError(
        f"'{value}' không phải một điều khoản — viết dạng 'Điều 7.1', 'khoản 1 Điều 7',"
        " 'Điều 7.9 (ghi chú)' hoặc { dieu = 7, khoan = 1 }",
        f"'{value}' is not an article like 'Điều 7.1', 'khoản 1 Điều 7', 'Điều 7.9 (ghi chú)'"
        " or { dieu = 7, khoan = 1 }",
    )


class Article(str):
    """Where an obligation comes from in the regulation, parsed from the config: a string
    ("Điều 7.1", "Điều 7.2, Điều 10.2", "khoản 1 Điều 7", "Điều 7.9 (ghi chú)"), a table
    (`{ dieu = 7, khoan = 1 }`) or a list of either. As a string it is the compact form
    (`Điều 7.1`) the CLI shows, and it is stored that way (it parses back); letters cite
    `vi()` / `en()`, the legal form."""

    refs: tuple[ArticleRef, ...]

    def __new__(cls, value: object) -> Article:
        if isinstance(value, Article):
            refs = value.refs
        elif isinstance(value, str):
            pieces = [p for p in re.split(r"\s*(?:,|;|\svà\s)\s*", value.strip()) if p]
            refs = tuple(_article_ref(p) for p in pieces)
        elif isinstance(value, list | tuple):
            refs = tuple(_article_ref(p) for p in value)
        else:
            refs = (_article_ref(value),)
        if not refs:
            raise ConfigValueError(
                "cần ghi một điều khoản, ví dụ 'Điều 7.1' hoặc { dieu = 7, khoan = 1 }",
                "an article is needed, e.g. 'Điều 7.1' or { dieu = 7, khoan = 1 }",
            )
        obj = super().__new__(cls, ", ".join(r.short() for r in refs))
        obj.refs = refs
        return obj

    def vi(self) -> str:
        """`khoản 2 Điều 7 và khoản 2 Điều 10`."""
        return _join([r.vi() for r in self.refs], " và ")

    def en(self) -> str:
        """`Article 7(2) and Article 10(2)`."""
        return _join([r.en() for r in self.refs], " and ")

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[object], handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            cls,
            serialization=core_schema.plain_serializer_function_ser_schema(str),
        )


def _join(parts: list[str], last: str) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + last + parts[-1]


class Milestone(_Model):
    id: Annotated[str, Field(pattern=_ID)]
    name: SafeStr
    name_en: SafeStr
    # "Điều 7.1", "khoản 1 Điều 7", "Điều 7.2, Điều 10.2", "Điều 7.9 (ghi chú)" or
    # { dieu = 7, khoan = 1 } (see Article): letters cite it in the legal form.
    article: Article
    # members: every member (the leader too: it is a member with the same obligations);
    # leader: the cycle's leader; next_leader: organised by next year's leader (Điều 6).
    assignee: Literal["members", "leader", "next_leader"]
    rule: Rule
    # None: the holiday section's default, except a `before` rule, which takes the previous
    # working day ("ít nhất N ngày trước" cannot move later; next_working_day is refused).
    policy: Policy | None = None
    deliverable: str = ""  # what to send and to whom, Vietnamese
    deliverable_en: str = ""
    reminders: ReminderPolicy | None = None  # None: the cluster default
    # For a date the leader sets (the conference, the visits, the province's reports):
    # remind the leader to set it from this day on, e.g. `1/12/Y`; None = from
    # SET_DATE_DEFAULT_DAYS before the end of its window ("near the end of its window").
    set_date_from: DayOfYear | None = None
    # An event happens on a day (a visit, a meeting, the conference, the election): it gets
    # notices before it, is recorded as held, and is never overdue. None: an `event` rule
    # is an event, every other rule a deadline; `true` makes a relative day an event (the
    # election, held at the conference, Điều 7.9).
    event: bool | None = None
    # Another milestone this one's date must not fall before: its deadline, or the end of
    # its window. The score summary (Điều 10.2) compiles the scoring of January (Điều 7.6),
    # so `not_before = "score_matching"`; `tracker schedule` refuses (or, with --force,
    # warns about) an event date that would move this milestone earlier than that.
    not_before: Annotated[str, Field(pattern=_ID)] | None = None
    # Another dated milestone this event must happen before: the preparatory meeting
    # before the summary conference (Điều 7.9, "trước khi tiến hành hội nghị tổng kết").
    # `tracker schedule` refuses (or, with --force, warns about) a day on or after it.
    before: Annotated[str, Field(pattern=_ID)] | None = None

    @property
    def is_event(self) -> bool:
        if self.event is not None:
            return self.event
        return isinstance(self.rule, EventRule) and self.rule.kind == "event"

    @property
    def leader_dates(self) -> bool:
        """The leader sets this date with `tracker schedule` (an event or a leader-dated
        deadline)."""
        return isinstance(self.rule, EventRule)

    _parse = field_validator("set_date_from", mode="before")(_day)
    _nl = field_validator("name", "name_en", "article", "deliverable", "deliverable_en")(
        _no_newlines
    )


Honorific = Literal["Ông", "Bà", "Đồng chí"]


class Contact(_Model):
    role: Literal["focal", "head"]
    name: SafeStr
    # How a letter addresses the person: "Kính gửi: Đồng chí Giàng A Sử, ..." (issue 6 §5).
    honorific: Honorific = "Đồng chí"
    title: str = ""  # the post: "Chuyên viên", "Chủ tịch UBND huyện Nậm Pồ"
    # The unit the person works in, as it writes itself: "Phòng Nội vụ huyện Nậm Pồ".
    # Empty: the member's `office`; the salutation reads "<title> <office>".
    office: str = ""
    phone: str = ""
    email: EmailStr

    _nl = field_validator("name", "title", "office", "phone")(_no_newlines)


class Member(_Model):
    id: Annotated[str, Field(pattern=_ID)]
    name: SafeStr
    # Since 2025 a member may be a commune or a department, not a district.
    kind: Literal["district", "commune", "department", "other"] = "district"
    # Unit names as the unit writes itself, for letters (never assembled from `name`):
    # the body that acts and seals (Điều 3.4) and the office that handles emulation work.
    authority: str = ""  # "UBND huyện Nậm Pồ"; empty: `name`
    office: str = ""  # "Phòng Nội vụ huyện Nậm Pồ"; empty: `authority`
    address: str = ""  # postal address: where paper documents go when it leads the cluster
    contacts: list[Contact] = Field(min_length=1)

    _nl = field_validator("name", "authority", "office", "address")(_no_newlines)

    @property
    def authority_name(self) -> str:
        return self.authority or self.name

    @property
    def office_name(self) -> str:
        return self.office or self.authority_name

    @model_validator(mode="after")
    def _needs_focal(self) -> Member:
        if not any(c.role == "focal" for c in self.contacts):
            raise ConfigValueError(
                "cần một liên hệ có role = 'focal' (cán bộ đầu mối nhận thư nhắc việc)"
                ' — thêm một mục [[members.contacts]] với role = "focal"',
                "needs a contact with role = 'focal' (the officer who gets reminders)",
            )
        return self


class Operator(_Model):
    id: Annotated[str, Field(pattern=_ID)]
    name: SafeStr
    role: Annotated[str, Field(pattern=r"^(leader|viewer|member:[a-z0-9][a-z0-9_-]*)$")]
    email: EmailStr | None = None
    # When set, only these OS accounts may act as this operator.
    os_users: list[SafeStr] = []
    # The unit this operator works for. A `leader` operator bound to a member is the
    # leader's office only while that member leads: after `tracker elect` names another
    # leader, the leader's letters go to the new leader's focal officer until the config
    # names its office.
    member: str | None = None

    _nl = field_validator("name")(_no_newlines)

    @field_validator("os_users")
    @classmethod
    def _os_users(cls, v: list[str]) -> list[str]:
        return [_no_newlines(u) for u in v]


class Province(_Model):
    name: SafeStr  # "Ban Thi đua - Khen thưởng tỉnh Điện Biên"
    # English letters: "the Emulation and Commendation Board of Điện Biên Province".
    name_en: str = ""
    email: EmailStr

    _nl = field_validator("name", "name_en")(_no_newlines)


# A TOML date (2022-09-02) or the same written as a string ("2022-09-02").
LaxDate = Annotated[date, Field(strict=False)]


class Holidays(_Model):
    country: Literal["VN"] = "VN"
    extra_days_off: list[LaxDate] = []
    # Saturdays the government turns into working days to make up a bridge holiday.
    make_up_working_days: list[LaxDate] = []
    default_policy: Policy = "as_written"


class HelpContact(_Model):
    """The person a letter names for questions: "Mọi thắc mắc xin liên hệ: Bà Lò Thị Hoa,
    Chuyên viên Phòng Nội vụ huyện Tủa Chùa, điện thoại …, e-mail …"."""

    name: SafeStr
    honorific: Honorific | None = None  # None: no honorific before the name
    title: str = ""  # "Chuyên viên Phòng Nội vụ huyện Tủa Chùa"
    phone: str = ""
    email: EmailStr | None = None  # None: the mail section's reply-to address

    _nl = field_validator("name", "title", "phone")(_no_newlines)


class Delivery(_Model):
    """How and where members send their reports (issue 6 §5): every reminder says so.
    Each key is optional; empty ones come from the leader member of the cycle (its
    `office`, `address`, the leader operator's e-mail), so a new leader needs no edit."""

    unit: str = ""  # "Trưởng cụm (Phòng Nội vụ huyện Tủa Chùa)"
    unit_en: str = ""
    address: str = ""
    email: EmailStr | None = None
    form: str = ""  # "văn bản giấy có đóng dấu và bản điện tử"
    form_en: str = ""  # "a signed and sealed paper copy and an electronic copy"

    _nl = field_validator("unit", "unit_en", "address", "form", "form_en")(_no_newlines)


class Mail(_Model):
    """Transport settings; credentials never live here (environment variables only)."""

    transport: Literal["file", "smtp", "memory"] = "file"
    from_address: EmailStr = "tracker@example.vn"
    from_name: str = "Cụm thi đua"
    reply_to: EmailStr | None = None
    directory: str = "outbox-mail"  # file transport: relative to the working directory
    smtp_host: str = "localhost"
    smtp_port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "tls", "plain"] = "starttls"
    send_hour: int = Field(default=8, ge=0, le=23)
    digest: Literal["daily", "per_item"] = "daily"
    # The language of the e-mails (templates/emails/<lang>/); Vietnamese unless the
    # cluster's recipients read English.
    lang: Literal["vi", "en"] = "vi"
    # Who signs the automatic letters: the sending office, never a person's signature
    # block (issue 6 §5). Empty: "Văn phòng <cluster name>".
    office: str = ""
    office_en: str = ""
    # Whom to ask about a letter (name, phone, e-mail). None: the reply-to address.
    contact: HelpContact | None = None
    # How much the sender does at once (issue 7 §1); each also from the environment
    # (TRACKER_BATCH, TRACKER_IN_FLIGHT, TRACKER_SMTP_CONNECTIONS, TRACKER_LEASE_SECONDS,
    # TRACKER_TICK_SECONDS), which wins. The lease must outlast the slowest send (SMTP
    # gives up after 30 s), or a second sender could take over a live claim.
    batch: int = Field(default=200, ge=1, le=10_000)  # letters claimed at once
    in_flight: int = Field(default=4, ge=1, le=64)  # sends under way at once
    connections: int = Field(default=2, ge=1, le=16)  # SMTP connections kept open
    lease_seconds: float = Field(default=300.0, ge=10.0, le=3600.0)
    tick_seconds: float = Field(default=30.0, ge=0.1, le=60.0)  # the daemon's clock

    _nl = field_validator("from_name", "directory", "smtp_host", "office", "office_en")(
        _no_newlines
    )


class Cluster(_Model):
    id: Annotated[str, Field(pattern=_ID)]
    name: SafeStr
    name_en: SafeStr
    province: SafeStr
    timezone: Literal["Asia/Ho_Chi_Minh"] = "Asia/Ho_Chi_Minh"
    regulation: str = ""  # "Quy chế hoạt động của Cụm thi đua huyện vùng cao năm 2022"
    regulation_en: str = ""  # "the 2022 Operating Regulation of the …"
    # The decision that issued the regulation, for citations ("… ban hành kèm theo Quyết
    # định số 12/QĐ-CTĐHVC ngày 15/3/2022 của Trưởng Cụm …"). Empty: left out of letters.
    decision_number: str = ""
    decision_date: LaxDate | None = None
    decision_issuer: str = ""
    decision_issuer_en: str = ""
    # What ad-hoc requests (báo cáo đột xuất) cite, e.g. "khoản 3 Điều 7". None: the
    # request itself only.
    request_article: Article | None = None

    _nl = field_validator(
        "name",
        "name_en",
        "province",
        "regulation",
        "regulation_en",
        "decision_number",
        "decision_issuer",
        "decision_issuer_en",
    )(_no_newlines)

    @field_validator("decision_date", mode="before")
    @classmethod
    def _blank_date(cls, v: object) -> object:
        # The seed leaves it blank until the decision is issued.
        return None if v == "" else v


class Cycle(_Model):
    year: int = Field(ge=2000, le=2100)
    leader: str
    next_leader: str | None = None
    version: SafeStr = "1"
    due_soon_days: int = Field(default=7, ge=0, le=60)

    # The version goes into letters' keys and headers, like a name.
    _nl = field_validator("version")(_no_newlines)
    # The milestone `tracker elect` records as held (the election at the conference,
    # Điều 7.9), when the config has it.
    election: str = "leader_election"


class ClusterConfig(_Model):
    cluster: Cluster
    cycle: Cycle
    members: list[Member] = Field(min_length=1)
    operators: list[Operator] = []
    province_board: Province | None = None
    holidays: Holidays = Holidays()
    mail: Mail = Mail()
    delivery: Delivery = Delivery()
    reminders: ReminderPolicy = ReminderPolicy()
    milestones: list[Milestone] = Field(min_length=1)

    @model_validator(mode="after")
    def _references(self, info: ValidationInfo) -> ClusterConfig:
        members = [m.id for m in self.members]
        milestones = [m.id for m in self.milestones]
        problems: list[ConfigProblem] = []
        if not (info.context and info.context.get("trusted")):
            # The file is one cluster's year (`[cycle] year`): a day that year does not
            # have is a mistake in the file, refused when it loads. A snapshot already in
            # the database is not refused again: the planner reports its bad item and
            # plans the rest (tracker.reminders.planner.plan_outcome).
            problems += impossible_days(self, self.cycle.year)
        for key, kind_vi, kind_en, ids in (
            ("members", "đơn vị", "member", members),
            ("milestones", "mốc", "milestone", milestones),
            ("operators", "người dùng", "operator", [op.id for op in self.operators]),
        ):
            for i, x in enumerate(ids):
                if x in ids[:i]:
                    problems.append(
                        ConfigProblem(
                            (key, i, "id"),
                            f"mã '{x}' bị trùng — đặt cho mỗi {kind_vi} một mã riêng",
                            f"id '{x}' is used twice — give each {kind_en} its own id",
                        )
                    )
        known = set(members)
        use_vi = f"dùng một trong các mã đơn vị: {', '.join(members)}"
        use_en = f"use one of the member ids: {', '.join(members)}"
        for field_name, value in (
            ("leader", self.cycle.leader),
            ("next_leader", self.cycle.next_leader),
        ):
            if value is not None and value not in known:
                problems.append(
                    ConfigProblem(
                        ("cycle", field_name),
                        f"'{value}' không phải mã đơn vị — {use_vi}",
                        f"'{value}' is not a member id — {use_en}",
                    )
                )
        for i, op in enumerate(self.operators):
            if op.member is not None and op.member not in known:
                problems.append(
                    ConfigProblem(
                        ("operators", i, "member"),
                        f"'{op.member}' không phải mã đơn vị — {use_vi}",
                        f"'{op.member}' is not a member id — {use_en}",
                    )
                )
            if op.role.startswith("member:") and op.role[7:] not in known:
                problems.append(
                    ConfigProblem(
                        ("operators", i, "role"),
                        f"vai trò '{op.role}': '{op.role[7:]}' không phải mã đơn vị — {use_vi}",
                        f"role '{op.role}': '{op.role[7:]}' is not a member id — {use_en}",
                    )
                )
        by_id = {m.id: m for m in self.milestones}
        for i, ms in enumerate(self.milestones):
            if isinstance(ms.rule, RelativeRule) and ms.rule.to not in by_id:
                problems.append(
                    ConfigProblem(
                        ("milestones", i, "rule", "to"),
                        f"'{ms.rule.to}' không phải mã mốc — dùng một trong: {', '.join(milestones)}",
                        f"'{ms.rule.to}' is not a milestone id — use one of: {', '.join(milestones)}",
                    )
                )
        board = self.reminders.report_to_province
        if board is not None and board.until not in by_id:
            problems.append(
                ConfigProblem(
                    ("reminders", "report_to_province", "until"),
                    f"'{board.until}' không phải mã mốc — dùng một trong: {', '.join(milestones)}",
                    f"'{board.until}' is not a milestone id — use one of: {', '.join(milestones)}",
                )
            )
        if board is not None and self.province_board is None:
            problems.append(
                ConfigProblem(
                    ("reminders", "report_to_province"),
                    "báo cáo gửi Ban Thi đua - Khen thưởng tỉnh cần mục [province_board]"
                    " (tên và địa chỉ e-mail của Ban)",
                    "a report to the provincial board needs a [province_board] section"
                    " (the board's name and e-mail address)",
                )
            )
        for i, ms in enumerate(self.milestones):
            rule = ms.rule
            if (
                isinstance(rule, RelativeRule)
                and rule.direction == "before"
                and ms.policy == "next_working_day"
            ):
                unit_vi = "ngày làm việc" if rule.count == "working" else "ngày"
                unit_en = "working days" if rule.count == "working" else "days"
                problems.append(
                    ConfigProblem(
                        ("milestones", i, "policy"),
                        f"'next_working_day' không dùng được cho mốc '{ms.id}': quy tắc"
                        f" \"trước '{rule.to}' ít nhất {rule.days} {unit_vi}\" là khoảng cách"
                        " tối thiểu, dời sang ngày làm việc kế tiếp sẽ còn ít hơn"
                        f" {rule.days} {unit_vi} — bỏ khóa 'policy' (mặc định lùi về ngày làm"
                        ' việc liền trước) hoặc ghi policy = "as_written"',
                        f"'next_working_day' cannot apply to '{ms.id}': \"at least {rule.days}"
                        f" {unit_en} before '{rule.to}'\" is a minimum distance, and moving it to"
                        f" the next working day would leave fewer than {rule.days} {unit_en} —"
                        " drop 'policy' (the default moves it to the previous working day) or"
                        ' write policy = "as_written"',
                    )
                )
            if ms.before is not None and (ms.before not in by_id or ms.before == ms.id):
                others = ", ".join(m for m in milestones if m != ms.id)
                problems.append(
                    ConfigProblem(
                        ("milestones", i, "before"),
                        f"'{ms.before}' không phải mã của một mốc khác — dùng một trong: {others}",
                        f"'{ms.before}' is not the id of another milestone — use one of: {others}",
                    )
                )
            if ms.not_before is not None and (ms.not_before not in by_id or ms.not_before == ms.id):
                others = ", ".join(m for m in milestones if m != ms.id)
                problems.append(
                    ConfigProblem(
                        ("milestones", i, "not_before"),
                        f"'{ms.not_before}' không phải mã của một mốc khác — dùng một trong: {others}",
                        f"'{ms.not_before}' is not the id of another milestone — use one of: {others}",
                    )
                )
        loop = _relative_cycle(by_id)
        if loop:
            path = " → ".join(loop)
            problems.append(
                ConfigProblem(
                    ("milestones", milestones.index(loop[0]), "rule", "to"),
                    f"các quy tắc tương đối tạo thành vòng lặp: {path} — cho một mốc trong vòng"
                    " tính từ một ngày cố định hoặc một sự kiện",
                    f"relative rules form a loop: {path} — make one milestone in it count from"
                    " a fixed date or an event",
                )
            )
        if problems:
            raise CrossReferenceError(problems)
        return self

    def member(self, member_id: str) -> Member:
        for m in self.members:
            if m.id == member_id:
                return m
        raise KeyError(member_id)

    def milestone(self, milestone_id: str) -> Milestone:
        found = self.find_milestone(milestone_id)
        if found is None:
            raise KeyError(milestone_id)
        return found

    def find_milestone(self, milestone_id: str) -> Milestone | None:
        """The milestone, or None for an ad-hoc request ("request-<n>") or one dropped
        from a reloaded config."""
        return next((m for m in self.milestones if m.id == milestone_id), None)


def day_specs(cfg: ClusterConfig) -> list[tuple[tuple[str | int, ...], DayOfYear]]:
    """Every day written relative to the cycle year (`30/6/Y`), with its key path: fixed
    rules' `date`, windows' `start` and `end` (an event's `within` too), `set_date_from`.
    Months and quarters exist in every year; holidays are real dates, checked as dates."""
    found: list[tuple[tuple[str | int, ...], DayOfYear]] = []
    for i, ms in enumerate(cfg.milestones):
        at: tuple[str | int, ...] = ("milestones", i, "rule")
        rule = ms.rule
        if isinstance(rule, EventRule):
            rule, at = rule.within, (*at, "within")
        if isinstance(rule, FixedRule):
            found.append(((*at, "date"), rule.date))
        elif isinstance(rule, WindowRule):
            found += [((*at, "start"), rule.start), ((*at, "end"), rule.end)]
        if ms.set_date_from is not None:
            found.append((("milestones", i, "set_date_from"), ms.set_date_from))
    return found


def impossible_days(cfg: ClusterConfig, year: int) -> list[ConfigProblem]:
    """The days of `cfg` that do not exist in cycle `year` (29/2/Y in a common year, or
    29/2/Y+1 when Y+1 is one), each at its key path. The loader checks the file's own
    `[cycle] year`; a caller starting another year from the same file can check that one."""
    problems: list[ConfigProblem] = []
    for loc, day in day_specs(cfg):
        try:
            day.resolve(year)
        except ValueError:
            # Only 29/2 can fail (DayOfYear.parse checks the day against a leap year):
            # the day before it, or the first of the next month, with the same +N.
            y = year + day.year_offset
            before = DayOfYear(day=day.day - 1, month=day.month, year_offset=day.year_offset)
            after = DayOfYear(day=1, month=day.month % 12 + 1, year_offset=day.year_offset)
            problems.append(
                ConfigProblem(
                    loc,
                    f'ngày "{day}" không có trong năm {y} (năm chu kỳ [cycle] year = {year})'
                    f' — dùng "{before}" hoặc "{after}"',
                    f'the day "{day}" does not exist in {y} (cycle year [cycle] year = {year})'
                    f' — use "{before}" or "{after}"',
                )
            )
    return problems


def _relative_cycle(by_id: dict[str, Milestone]) -> list[str]:
    """The first loop among relative rules (a rule pointing at itself included), or []."""
    for start in by_id:
        seen: list[str] = []
        cur: str | None = start
        while cur is not None and cur in by_id:
            if cur in seen:
                return [*seen[seen.index(cur) :], cur]
            seen.append(cur)
            rule = by_id[cur].rule
            cur = rule.to if isinstance(rule, RelativeRule) else None
    return []
