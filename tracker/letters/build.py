"""Claimed outbox rows → the letters that carry them (issue 3 §1 digests, §3 catch-up;
issue 6 §4 the right letter to the right person, §5 administrative style).

Long (~670 lines) on purpose: one class (`_Cycle`) holds a cycle's facts once per batch,
and every letter kind, recipient and item is built from those same facts.

Pure: the caller passes the claimed rows, each cycle's context (config, obligations, work
calendar) and `today`; nothing here reads the clock or the database. What a letter says
comes from the obligations *now* — state, due date, days left — not from when the reminder
was planned, so a catch-up message after downtime tells the current truth.

Two hats. The leader is also a member (Điều 3.2): the leader's *tasks* (leader and
next-leader milestones, dating an event) are written to the leader's office under the
leader's hat; the leader district's own obligations as a member go to its focal officer
under the member's hat, in a separate letter, even when both share one mailbox. A row's
hat is "leader" when its recipient role is "leader" (or, from a planner that still sends
leader tasks to the owner's focal officer, when the row is about a leader task), else
"member".

Grouping (config `mail.digest`):
- "daily" (default): one letter per (cycle, recipient, hat) per day with every item due
  for them; the leader's digest absorbs the leader-hat items of the day, never the leader
  district's member obligations.
- "per_item": one letter per row; its key is the row's key.

Cycle-level rows (no obligation): the leader's digest and the report to the provincial
board (`[reminders] report_to_province`); one with nothing to say is in no letter and the
caller cancels it (CYCLE_KINDS). The board gets nothing else: an escalation row addressed
to it (an older planner) is in no letter.

A row that already carries a letter key (it was claimed before by a worker that died,
or a transient failure sent it back) goes out in that same letter again, so the resend has
the same Message-ID (compose.message_id derives it from the key).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import Literal

from tracker.calendar import vndate
from tracker.calendar.engine import CyclePlan
from tracker.calendar.types import local_date
from tracker.calendar.workdays import WorkCalendar
from tracker.config.schema import ClusterConfig, Member
from tracker.db.models import Obligation, OutboxRow
from tracker.letters.model import (
    Delivery,
    Item,
    Kind,
    Lang,
    Letter,
    Recipient,
    Role,
    Signature,
)
from tracker.reminders.planner import is_leader_task
from tracker.reminders.recipients import leader_offices, leader_recipients
from tracker.service.cycles import CycleContext
from tracker.service.views import article_of, due_of, is_event, names_of
from tracker.status import is_overdue
from tracker.workflow import PENDING

Hat = Literal["leader", "member"]

# The planner's kinds → the letter kind for a letter about one obligation.
LETTER_KIND: dict[str, Kind] = {
    "lead": "reminder",
    "overdue": "overdue",
    "escalation": "escalation",
    "window_open": "window_open",
    "window_closing": "window_closing",
    "set_date": "set_date",
    "event_notice": "event_notice",
    "leader_digest": "leader_digest",
    "province_report": "province_report",
}
# Rows about the whole cycle, not one obligation. One with nothing to report is in no
# letter; the caller cancels it for good (outbox.NOTHING_TO_REPORT).
CYCLE_KINDS = frozenset({"leader_digest", "province_report"})
# When several reminders about one obligation share a letter, the most urgent names it.
_URGENCY = (
    "escalation",
    "overdue",
    "window_closing",
    "lead",
    "event_notice",
    "window_open",
    "set_date",
)
# A member-hat recipient in several roles at once (a head who is also the focal officer)
# is addressed in the most senior one.
_SENIORITY: tuple[Role, ...] = ("province", "head", "focal")
WEEK_DAYS = 7  # the leader digest's "due this week" and "recently completed"


def build_letters(
    rows: Sequence[OutboxRow],
    contexts: Mapping[int, CycleContext],
    *,
    today: date,
    now: datetime,
    problems: Sequence[tuple[str, str]] = (),
) -> list[tuple[Letter, list[int]]]:
    """The letters for `rows` (claimed outbox rows), each with the ids of the rows it
    carries. A row about an obligation that no longer needs a reminder (completed, waived,
    submitted, retired since it was planned) is in no letter: the caller cancels it; so is
    a cycle-level row with nothing to report (a leader digest with no item, nothing
    overdue, due this week or recently completed, no problem; a province report with no
    member obligation overdue long enough).
    `problems` (e.g. a paused sender), as (Vietnamese, English) pairs, go into the leader's
    digest. Each cycle's letters are in its config's `mail.lang`: the recipients' language,
    not the language of whoever runs the command."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if local_date(now) != today:
        raise ValueError("today must be the local date of now")
    views = {cid: _Cycle(ctx, today, ctx.cfg.mail.lang) for cid, ctx in contexts.items()}

    groups: dict[tuple[object, ...], list[OutboxRow]] = defaultdict(list)
    for row in sorted(rows, key=lambda r: (r.send_at, r.id or 0)):
        if row.cycle_id not in views:
            raise ValueError(f"no context for cycle {row.cycle_id} (row {row.key})")
        cycle = views[row.cycle_id]
        hat = cycle.hat(row)
        if row.letter_key is not None:
            groups[("again", row.letter_key)].append(row)
        elif row.kind in CYCLE_KINDS or cycle.digest != "daily":
            groups[("one", row.key, hat)].append(row)
        else:
            groups[("day", row.cycle_id, row.recipient_email.lower(), hat)].append(row)
    # Daily mode: the leader's digest takes the leader-hat items of the day (and only
    # those: the leader district's member obligations keep their own letter).
    for gkey, group in list(groups.items()):
        if gkey[0] == "one" and group[0].kind == "leader_digest":
            cycle = views[group[0].cycle_id]
            if cycle.digest == "daily":
                day_key = ("day", group[0].cycle_id, group[0].recipient_email.lower(), "leader")
                group.extend(groups.pop(day_key, []))

    out: list[tuple[Letter, list[int]]] = []
    for gkey, group in groups.items():
        cycle = views[group[0].cycle_id]
        letter = cycle.letter(group, key=_key(gkey, group, today), problems=problems)
        if letter is not None:
            out.append((letter, [r.id for r in cycle.carried(group) if r.id is not None]))
    return out


def _key(gkey: tuple[object, ...], group: Sequence[OutboxRow], today: date) -> str:
    if gkey[0] == "again":
        return str(gkey[1])
    if len(group) == 1:
        return group[0].key
    # Several rows: who, which day, which hat and exactly which reminders. The key is
    # stored on the rows before sending, so it only has to be unique, not re-derivable.
    digest = hashlib.sha256("\n".join(sorted(r.key for r in group)).encode()).hexdigest()[:16]
    hat = f":{gkey[-1]}" if gkey[0] == "day" and gkey[-1] == "leader" else ""
    return (
        f"letter:{group[0].cycle_id}:{today.isoformat()}:{group[0].recipient_email}{hat}:{digest}"
    )


@dataclass
class _Cycle:
    """One cycle's facts, computed once per batch."""

    ctx: CycleContext
    today: date
    lang: Lang
    plan: CyclePlan = field(init=False)
    by_id: dict[int, Obligation] = field(init=False)

    def __post_init__(self) -> None:
        self.plan = self.ctx.plan()
        self.by_id = {ob.id: ob for ob in self.ctx.obligations if ob.id is not None}

    @property
    def cfg(self) -> ClusterConfig:
        return self.ctx.cfg

    @property
    def cal(self) -> WorkCalendar:
        return self.ctx.calendar

    @property
    def digest(self) -> str:
        return self.cfg.mail.digest

    @property
    def leader_id(self) -> str:
        return self.ctx.row.leader_id

    # -- which rows, which hat ----------------------------------------------------------

    def is_leader_task(self, ob: Obligation) -> bool:
        return is_leader_task(
            self.cfg.find_milestone(ob.milestone_id), ob.member_id, self.leader_id
        )

    def is_event(self, ob: Obligation) -> bool:
        return is_event(self.ctx, ob)

    def hat(self, row: OutboxRow) -> Hat:
        if row.recipient_role == "leader":
            return "leader"
        if row.recipient_role == "focal":
            if row.kind in ("set_date", "leader_digest"):
                return "leader"
            # An older planner sent the leader's tasks to the owner's focal officer. A
            # notice of a leader's event (the conference) to a member's focal officer is
            # that member's (it attends), the leader district's included.
            ob = self.by_id.get(row.obligation_id) if row.obligation_id is not None else None
            if ob is not None and row.kind != "event_notice" and self.is_leader_task(ob):
                return "leader"
        return "member"

    def owed(self, row: OutboxRow) -> Obligation | None:
        """The row's obligation if a reminder about it still makes sense."""
        if row.obligation_id is None:
            return None
        if row.recipient_role == "province":
            return None  # the board is sent reports, never reminders (issue 6 §4)
        ob = self.by_id.get(row.obligation_id)
        if ob is None or not ob.active or ob.state not in PENDING:
            return None
        if row.kind in ("overdue", "escalation") and self.is_event(ob):
            return None  # an event is never overdue: it is held, or the leader dates it
        return ob

    def carried(self, group: Sequence[OutboxRow]) -> list[OutboxRow]:
        return [r for r in group if r.kind in CYCLE_KINDS or self.owed(r) is not None]

    # -- letters ------------------------------------------------------------------------

    def letter(
        self, group: Sequence[OutboxRow], *, key: str, problems: Sequence[tuple[str, str]]
    ) -> Letter | None:
        if any(r.kind == "province_report" for r in group):
            return self.province_report(group, key=key)
        digest = any(r.kind == "leader_digest" for r in group)
        hat = self.hat(group[0])
        obligations: dict[int, Obligation] = {}
        kinds: set[str] = set()
        for r in group:
            ob = self.owed(r)
            # The leader's digest lists the leader's own work as items; an escalation about
            # a member is already in its overdue list, so it rides along unlisted.
            if ob is None or ob.id is None or (digest and r.kind == "escalation"):
                continue
            obligations.setdefault(ob.id, ob)
            kinds.add(self._kind_of(r, ob))
        items = [self.item(ob) for ob in obligations.values()]
        recipient = self.recipient(group, hat)
        if digest:
            return self.leader_digest(items, recipient, key=key, problems=problems)
        if not items:
            return None
        if len(items) == 1:
            kind: Kind = LETTER_KIND[_most_urgent(kinds)]
        elif kinds == {"escalation"}:
            kind = "escalation"  # a head informed of several lapses: one polite notice
        else:
            kind = "digest"
        items = self._sorted(items)
        return self._letter(
            kind,
            key=key,
            recipient=recipient,
            items=tuple(items),
            # How and where to send: to members and heads, never to the leader itself.
            delivery=self.delivery()
            if hat == "member" and any(i.send_to_vi for i in items)
            else None,
        )

    def _kind_of(self, row: OutboxRow, ob: Obligation) -> str:
        # A "before" reminder about an event is a notice of when it is held.
        if row.kind == "lead" and self.is_event(ob):
            return "event_notice"
        return row.kind

    def _letter(self, kind: Kind, *, key: str, recipient: Recipient, **fields: object) -> Letter:
        cluster = self.cfg.cluster
        return Letter(
            kind=kind,
            key=key,
            lang=self.lang,
            recipient=recipient,
            cluster_name=cluster.name,
            cluster_name_en=cluster.name_en,
            regulation=cluster.regulation,
            regulation_en=cluster.regulation_en,
            signature=self.signature(),
            today=self.today,
            **fields,  # type: ignore[arg-type]
        )

    def leader_digest(
        self,
        day_items: list[Item],
        recipient: Recipient,
        *,
        key: str,
        problems: Sequence[tuple[str, str]],
    ) -> Letter | None:
        """The leader's daily view: the leader's own tasks (the day's items and every
        leader task overdue or due this week) once, then the members' picture."""
        own = {i.obligation_id: i for i in day_items}
        for i in self._all_items:
            if i.leader_task and i.state in PENDING and (i.overdue or _this_week(i)):
                own.setdefault(i.obligation_id, i)
        rest = [i for i in self._all_items if i.obligation_id not in own and not i.leader_task]
        overdue = self._sorted(i for i in rest if i.overdue)
        week = self._sorted(
            i for i in rest if i.state in PENDING and _this_week(i) and (i.date_set or not i.event)
        )
        completed = self.completed()
        if not (own or overdue or week or completed or problems):
            # Nothing to say (the next cycle in January, while the last one holds its
            # conference): no e-mail; the caller cancels the digest's rows.
            return None
        return self._letter(
            "leader_digest",
            key=key,
            recipient=recipient,
            items=tuple(self._sorted(own.values())),
            overdue=tuple(overdue),
            due_this_week=tuple(week),
            completed=completed,
            problems=tuple(en if self.lang == "en" else vi for vi, en in problems),
        )

    def province_report(self, group: Sequence[OutboxRow], *, key: str) -> Letter | None:
        """The cluster's formal report to the provincial board (`[reminders]
        report_to_province`): members' obligations overdue by at least the configured
        working days. Never the leader's own lapses (nothing the leader's member owes, no
        leader task) and never an event. Nothing to report: no letter."""
        policy = self.cfg.reminders.report_to_province
        board = self.cfg.province_board
        if policy is None or board is None:
            return None
        items = self._sorted(
            i
            for i in self._all_items
            if i.overdue
            and not i.event
            and not i.leader_task
            and i.member_id != self.leader_id
            and (i.working_days_late or 0) >= policy.overdue_at_least
        )
        if not items:
            return None
        first = group[0]
        return self._letter(
            "province_report",
            key=key,
            recipient=Recipient(
                name=board.name,
                name_en=board.name_en,
                email=first.recipient_email,
                role="province",
            ),
            items=tuple(items),
            overdue_at_least=policy.overdue_at_least,
        )

    # -- who writes, who reads ------------------------------------------------------------

    def signature(self) -> Signature:
        mail = self.cfg.mail
        help_ = mail.contact
        contact = str(mail.reply_to or mail.from_address)
        name = phone = ""
        if help_ is not None:
            who = f"{help_.honorific} {help_.name}" if help_.honorific else help_.name
            name = f"{who}, {help_.title}" if help_.title else who
            phone = help_.phone
            contact = str(help_.email or contact)
        return Signature(
            cluster_name=self.cfg.cluster.name,
            cluster_name_en=self.cfg.cluster.name_en,
            office=mail.office,
            office_en=mail.office_en,
            contact=contact,
            contact_name=name,
            contact_phone=phone,
        )

    def delivery(self) -> Delivery:
        """Where members send what they owe the leader: `[delivery]`, each empty key from
        the cycle's leader member (its office, its address, the leader's mailbox)."""
        d = self.cfg.delivery
        unit = send_to(self.cfg, self.leader_id)
        office = leader_recipients(self.cfg, self.leader_id)
        leader_mail = office[0].email if office else ""
        member = self._member(self.leader_id)
        return Delivery(
            unit_vi=d.unit or unit[0],
            unit_en=d.unit_en or (unit[1] if not d.unit else d.unit),
            address=d.address or (member.address if member is not None else ""),
            email=str(d.email or leader_mail),
            form_vi=d.form,
            form_en=d.form_en,
        )

    def recipient(self, group: Sequence[OutboxRow], hat: Hat) -> Recipient:
        roles = {r.recipient_role for r in group}
        role: Role = (
            "leader" if hat == "leader" else next((x for x in _SENIORITY if x in roles), "focal")
        )
        first = next((r for r in group if r.recipient_role == role), group[0])
        email = first.recipient_email
        if role == "leader":
            # The leader's office: an operator with the leader role, written to as an
            # office; else a contact of the leader's member, written to as a person.
            for op in leader_offices(self.cfg, self.leader_id):
                if str(op.email).lower() == email.lower():
                    return Recipient(name=op.name, email=email, role="leader")
            found = self._contact(self.leader_id, email)
            if found is not None:
                return _person(found[0], found[1], email, "leader")
            return Recipient(name=first.recipient_name, email=email, role="leader")
        if role == "province" and self.cfg.province_board is not None:
            board = self.cfg.province_board
            return Recipient(name=board.name, name_en=board.name_en, email=email, role=role)
        found = self._contact(first.member_id, email)
        if found is not None:
            return _person(found[0], found[1], email, role)
        member = self._member(first.member_id)
        return Recipient(
            name=first.recipient_name,
            email=email,
            role=role,
            member_name=member.name if member is not None else None,
        )

    def _member(self, member_id: str | None) -> Member | None:
        return next((m for m in self.cfg.members if m.id == member_id), None)

    def _contact(self, member_id: str | None, email: str) -> tuple[Member, int] | None:
        member = self._member(member_id)
        if member is None:
            return None
        for i, c in enumerate(member.contacts):
            if str(c.email).lower() == email.lower():
                return member, i
        return None

    # -- items --------------------------------------------------------------------------

    def item(self, ob: Obligation) -> Item:
        assert ob.id is not None
        due = due_of(self.ctx, self.plan, ob)
        name_vi, name_en, _ = names_of(self.ctx, ob)
        article_vi, article_en, short = self._article(ob)
        deliverable_vi, deliverable_en = self._deliverable(ob)
        event = self.is_event(ob)
        leader_task = self.is_leader_task(ob)
        send_vi, send_en = ("", "") if event or leader_task else send_to(self.cfg, self.leader_id)
        days_left = None if due.date is None else (due.date - self.today).days
        overdue = is_overdue(due.date, ob.state, self.today, event=event)
        wd_left = lwd = late = None
        if due.date is not None:
            if overdue:
                late = self.cal.working_days_between(due.date, self.today)
            elif event:
                wd_left = self.cal.working_days_between(self.today, due.date)
            else:
                last = self.cal.previous_working_day(due.date)
                lwd = last if last < due.date else None
                wd_left = self.cal.working_days_between(self.today, last)
        member = self._member(ob.member_id)
        needs_date = due.scheduled is False
        return Item(
            obligation_id=ob.id,
            member_id=ob.member_id,
            member_name=member.name if member is not None else ob.member_id,
            member_unit=member.authority_name if member is not None else ob.member_id,
            milestone_id=ob.milestone_id,
            name_vi=name_vi,
            name_en=name_en,
            article=short,
            article_vi=article_vi,
            article_en=article_en,
            basis_vi=self._basis_vi(ob, article_vi),
            basis_en=self._basis_en(ob, article_en),
            due=due.date,
            window=due.window,
            state=ob.state,
            days_left=days_left,
            working_days_left=wd_left,
            last_working_day=lwd,
            working_days_late=late,
            deliverable_vi=deliverable_vi,
            deliverable_en=deliverable_en,
            send_to_vi=send_vi,
            send_to_en=send_en,
            # A deadline ends at 24:00 local on its day (Điều 7: "chậm nhất ngày …").
            overdue=overdue,
            unscheduled=due.date is None,
            # Only what the day's own records say: a digest replayed for 17/06/2022 never
            # lists a completion recorded later.
            completed_on=ob.completed_on
            if ob.state == "completed" and ob.completed_on and ob.completed_on <= self.today
            else None,
            # An event the leader still has to date: the leader's letters show the
            # `tracker schedule` command (with --member for a member's visit).
            needs_date=needs_date,
            event=event,
            leader_task=leader_task,
            date_set=not (event and needs_date),
            schedule_command=(
                f"tracker schedule {ob.milestone_id} YYYY-MM-DD"
                + (f" --member {due.member_id}" if due.member_id else "")
                if needs_date
                else ""
            ),
            rule_vi=due.rule_vi if due.depends_on else "",
            rule_en=due.rule_en if due.depends_on else "",
        )

    def _article(self, ob: Obligation) -> tuple[str, str, str]:
        """(Vietnamese legal form, English, compact form) of the obligation's article."""
        art = article_of(self.cfg, ob)
        if art is None:
            return "", "", ""
        return art.vi(), art.en(), str(art)

    def _basis_vi(self, ob: Obligation, article: str) -> str:
        """The full citation: `khoản 1 Điều 7 Quy chế … ban hành kèm theo Quyết định …`."""
        cluster = self.cfg.cluster
        regulation = cluster.regulation or "Quy chế hoạt động của Cụm"
        text = f"{article} {regulation}" if article else regulation
        decision = decision_vi(self.cfg)
        if decision:
            text = f"{text} {decision}"
        if ob.milestone_id.startswith("request-"):
            text = (
                f"Văn bản yêu cầu của Trưởng cụm; {text}"
                if article
                else ("Văn bản yêu cầu của Trưởng cụm")
            )
        return text

    def _basis_en(self, ob: Obligation, article: str) -> str:
        cluster = self.cfg.cluster
        regulation = cluster.regulation_en or "the cluster's operating regulation"
        if cluster.regulation:
            regulation = f"{regulation} ({cluster.regulation})"
        text = f"{article} of {regulation}" if article else regulation[:1].upper() + regulation[1:]
        decision = decision_en(self.cfg)
        if decision:
            text = f"{text}, {decision}"
        if ob.milestone_id.startswith("request-"):
            text = (
                f"The cluster leader's written request; {text}"
                if article
                else ("The cluster leader's written request")
            )
        return text

    def _deliverable(self, ob: Obligation) -> tuple[str, str]:
        if ob.milestone_id.startswith("request-"):
            # The leader's written request says what to report.
            return (
                "Gửi báo cáo theo văn bản yêu cầu của Trưởng cụm",
                "Send the report the cluster leader's written request asks for",
            )
        ms = self.ctx.milestone(ob.milestone_id)
        return ms.deliverable, ms.deliverable_en

    def _sorted(self, items: Iterable[Item]) -> list[Item]:
        order = {m.id: i for i, m in enumerate(self.cfg.members)}
        return sorted(
            items,
            key=lambda i: (
                not i.overdue,
                i.due or date.max,
                order.get(i.member_id, len(order)),
                i.milestone_id,
            ),
        )

    @cached_property
    def _all_items(self) -> list[Item]:
        return [self.item(ob) for ob in self.ctx.obligations if ob.active]

    def completed(self) -> tuple[Item, ...]:
        """Completions recorded in the last week up to the letter's day, newest first."""
        since = self.today - timedelta(days=WEEK_DAYS)
        done = [
            i
            for i in self._all_items
            if i.completed_on is not None and since <= i.completed_on <= self.today
        ]
        done.sort(key=lambda i: (i.completed_on or date.min, i.member_id), reverse=True)
        return tuple(done)


def _this_week(item: Item) -> bool:
    return item.days_left is not None and 0 <= item.days_left <= WEEK_DAYS


def _most_urgent(kinds: set[str]) -> str:
    return next((k for k in _URGENCY if k in kinds), sorted(kinds)[0])


def _person(member: Member, index: int, email: str, role: Role) -> Recipient:
    c = member.contacts[index]
    return Recipient(
        name=c.name,
        email=email,
        role=role,
        member_name=member.name,
        title=c.title,
        honorific=c.honorific,
        # The unit as it writes itself; a config without it names the member (as written,
        # never re-cased) in brackets instead.
        office=c.office or member.office or member.authority,
    )


def leader_unit(cfg: ClusterConfig, leader_id: str) -> str:
    """The leader's unit as letters name it, from the config as the unit writes itself:
    its `office` ("Phòng Nội vụ huyện Tủa Chùa"), else its `authority` ("UBND huyện Tủa
    Chùa"), else its name as written ("Huyện Tủa Chùa")."""
    try:
        member = cfg.member(leader_id)
    except KeyError:
        return leader_id
    return member.office_name


def send_to(cfg: ClusterConfig, leader_id: str) -> tuple[str, str]:
    """Whom members send their reports to (Điều 7.1–7.3, 10.2): the leader, through its
    office — "Trưởng cụm (Phòng Nội vụ huyện Tủa Chùa)"."""
    unit = leader_unit(cfg, leader_id)
    return f"Trưởng cụm ({unit})", f"the cluster leader ({unit})"


def decision_vi(cfg: ClusterConfig) -> str:
    """The decision clause of a citation, e.g. `ban hành kèm theo Quyết định số
    12/QĐ-CTĐHVC ngày 15/03/2022 của Trưởng Cụm …`; empty while the config has no decision number (the seed): never a blank to fill."""
    c = cfg.cluster
    if not c.decision_number:
        return ""
    text = f"ban hành kèm theo Quyết định số {c.decision_number}"
    if c.decision_date is not None:
        text += f" ngày {vndate.vn_date(c.decision_date)}"
    if c.decision_issuer:
        text += f" của {c.decision_issuer}"
    return text


def decision_en(cfg: ClusterConfig) -> str:
    c = cfg.cluster
    if not c.decision_number:
        return ""
    text = f"issued with Decision No. {c.decision_number}"
    if c.decision_date is not None:
        text += f" of {vndate.en_long(c.decision_date)}"
    issuer = c.decision_issuer_en or c.decision_issuer
    if issuer:
        text += f" by {issuer}"
    return text
