"""Claimed outbox rows → the letters that carry them (issue 3 §1 digests, §3 catch-up).

Pure: the caller passes the claimed rows, each cycle's context (config, obligations) and
`today`; nothing here reads the clock or the database. What a letter says comes from the
obligations *now* — state, due date, days left — not from when the reminder was planned,
so a catch-up message after downtime tells the current truth.

Grouping (config `mail.digest`):
- "daily" (default): one letter per recipient per cycle per day with every item due for
  them; the leader's digest absorbs the leader's own items of the day, so the leader gets
  one e-mail too.
- "per_item": one letter per row; its key is the row's key.

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

from tracker.calendar.engine import CyclePlan
from tracker.calendar.types import local_date
from tracker.config.schema import ClusterConfig
from tracker.db.models import Obligation, OutboxRow
from tracker.reminders.content import Item, Kind, Lang, Letter, Recipient, Role, Signature
from tracker.reminders.planner import REMINDED_STATES
from tracker.service.cycles import CycleContext
from tracker.service.views import due_of, names_of

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
}
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
# A recipient in several roles at once (the leader's focal officer) is addressed in the
# most senior one: it decides whether the letter names the member of each item.
_SENIORITY: tuple[Role, ...] = ("province", "leader", "head", "focal")
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
    a leader digest with nothing to report (no item, nothing overdue, due this week or
    recently completed, no problem).
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
        if row.letter_key is not None:
            groups[("again", row.letter_key)].append(row)
        elif row.kind == "leader_digest" or views[row.cycle_id].digest != "daily":
            groups[("one", row.key)].append(row)
        else:
            groups[("day", row.cycle_id, row.recipient_email.lower())].append(row)
    # Daily mode: the leader's digest takes the leader's other items of the day.
    for gkey, group in list(groups.items()):
        if gkey[0] == "one" and group[0].kind == "leader_digest":
            cycle = views[group[0].cycle_id]
            if cycle.digest == "daily":
                day_key = ("day", group[0].cycle_id, group[0].recipient_email.lower())
                group.extend(groups.pop(day_key, []))

    out: list[tuple[Letter, list[int]]] = []
    for gkey, group in groups.items():
        cycle = views[group[0].cycle_id]
        letter = cycle.letter(group, key=_key(gkey, group, today), problems=problems)
        if letter is not None:
            out.append((letter, [r.id for r in _carried(group, cycle) if r.id is not None]))
    return out


def _key(gkey: tuple[object, ...], group: Sequence[OutboxRow], today: date) -> str:
    if gkey[0] == "again":
        return str(gkey[1])
    if len(group) == 1:
        return group[0].key
    # Several rows: who, which day, and exactly which reminders. The key is stored on the
    # rows before sending, so it only has to be unique, not re-derivable.
    digest = hashlib.sha256("\n".join(sorted(r.key for r in group)).encode()).hexdigest()[:16]
    return f"letter:{group[0].cycle_id}:{today.isoformat()}:{group[0].recipient_email}:{digest}"


def _carried(group: Sequence[OutboxRow], cycle: _Cycle) -> list[OutboxRow]:
    return [r for r in group if r.kind == "leader_digest" or cycle.owed(r) is not None]


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
    def digest(self) -> str:
        return self.cfg.mail.digest

    def owed(self, row: OutboxRow) -> Obligation | None:
        """The row's obligation if a reminder about it still makes sense."""
        if row.obligation_id is None:
            return None
        ob = self.by_id.get(row.obligation_id)
        if ob is None or not ob.active or ob.state not in REMINDED_STATES:
            return None
        return ob

    # -- letters ------------------------------------------------------------------------

    def letter(
        self, group: Sequence[OutboxRow], *, key: str, problems: Sequence[tuple[str, str]]
    ) -> Letter | None:
        digests = [r for r in group if r.kind == "leader_digest"]
        leader = self.ctx.row.leader_id
        obligations: dict[int, Obligation] = {}
        kinds: set[str] = set()
        for r in group:
            ob = self.owed(r) if r.kind != "leader_digest" else None
            # The leader's digest lists the leader's own work as items; an escalation about
            # another member is already in its overdue list, so it rides along unlisted.
            if ob is None or ob.id is None or (digests and ob.member_id != leader):
                continue
            obligations.setdefault(ob.id, ob)
            kinds.add(r.kind)
        items = tuple(self._sorted(self.item(ob) for ob in obligations.values()))
        recipient = self.recipient(group)
        if digests:
            kind: Kind = "leader_digest"
        elif not items:
            return None
        elif len(items) == 1:
            kind = LETTER_KIND[_most_urgent(kinds)]
        else:
            kind = "digest"
        digest = kind == "leader_digest"
        overdue = self.overdue() if digest else ()
        due_this_week = self.due_this_week() if digest else ()
        completed = self.completed() if digest else ()
        if digest and not (items or overdue or due_this_week or completed or problems):
            # Nothing to say (the next cycle in January, while the last one holds its
            # conference): no e-mail; the caller cancels the digest's rows.
            return None
        return Letter(
            kind=kind,
            key=key,
            lang=self.lang,
            recipient=recipient,
            items=items,
            cluster_name=self.cfg.cluster.name,
            cluster_name_en=self.cfg.cluster.name_en,
            regulation=self.cfg.cluster.regulation,
            signature=self.signature(),
            today=self.today,
            overdue=overdue,
            due_this_week=due_this_week,
            completed=completed,
            problems=tuple(en if self.lang == "en" else vi for vi, en in problems)
            if digest
            else (),
        )

    def signature(self) -> Signature:
        mail = self.cfg.mail
        return Signature(
            leader_unit=leader_unit(self.cfg, self.ctx.row.leader_id),
            cluster_name=self.cfg.cluster.name,
            cluster_name_en=self.cfg.cluster.name_en,
            contact=str(mail.reply_to or mail.from_address),
        )

    def recipient(self, group: Sequence[OutboxRow]) -> Recipient:
        roles = {r.recipient_role for r in group}
        role: Role = next((x for x in _SENIORITY if x in roles), "focal")
        first = next(r for r in group if r.recipient_role == role)
        member_name, title = self._contact(first.recipient_email, role, first.member_id)
        return Recipient(
            name=first.recipient_name,
            email=first.recipient_email,
            role=role,
            member_name=member_name,
            title=title,
        )

    def _contact(self, email: str, role: Role, member_id: str | None) -> tuple[str | None, str]:
        """(member unit, title) of a configured contact with this address."""
        if role == "province":
            return None, ""
        # A focal officer or head works for the row's member; the leader's address is a
        # contact of the leader's own member (or an operator, who has neither).
        where = self.ctx.row.leader_id if role == "leader" else member_id
        for m in self.cfg.members:
            if m.id != where:
                continue
            for c in m.contacts:
                if str(c.email).lower() == email.lower():
                    return m.name, c.title
            return (m.name if role != "leader" else None), ""
        return None, ""

    # -- items --------------------------------------------------------------------------

    def item(self, ob: Obligation) -> Item:
        assert ob.id is not None
        due = due_of(self.ctx, self.plan, ob)
        name_vi, name_en, article = names_of(self.ctx, ob)
        deliverable_vi, deliverable_en = self._deliverable(ob)
        send_vi, send_en = self._send_to(ob)
        days_left = None if due.date is None else (due.date - self.today).days
        return Item(
            obligation_id=ob.id,
            member_id=ob.member_id,
            member_name=self._member_name(ob.member_id),
            milestone_id=ob.milestone_id,
            name_vi=name_vi,
            name_en=name_en,
            article=article,
            due=due.date,
            window=due.window,
            state=ob.state,
            days_left=days_left,
            deliverable_vi=deliverable_vi,
            deliverable_en=deliverable_en,
            send_to_vi=send_vi,
            send_to_en=send_en,
            # A deadline ends at 24:00 local on its day (Điều 7: "chậm nhất ngày …").
            overdue=ob.state in REMINDED_STATES and days_left is not None and days_left < 0,
            unscheduled=due.date is None,
            completed_on=ob.completed_on if ob.state == "completed" else None,
            # An event the leader still has to date (the conference, Điều 7.7): the
            # letter shows the `tracker schedule` command. Per-member visits are dated
            # member by member and need --member, so they are not offered the short form.
            needs_date=due.scheduled is False and due.member_id is None,
        )

    def _member_name(self, member_id: str) -> str:
        return next((m.name for m in self.cfg.members if m.id == member_id), member_id)

    def _deliverable(self, ob: Obligation) -> tuple[str, str]:
        if ob.milestone_id.startswith("request-"):
            # Điều 7.3: the leader's written request says what to report.
            return (
                "Gửi báo cáo theo văn bản yêu cầu của Trưởng cụm",
                "Send the report the cluster leader's written request asks for",
            )
        ms = self.ctx.milestone(ob.milestone_id)
        return ms.deliverable, ms.deliverable_en

    def _send_to(self, ob: Obligation) -> tuple[str, str]:
        # Members report to the leader (Điều 7.1–7.3, 10.2). The leader's own work goes
        # elsewhere (the province, the members), which its deliverable text already says.
        if ob.assignee not in ("members", "request"):
            return "", ""
        unit = leader_unit(self.cfg, self.ctx.row.leader_id)
        return f"Trưởng cụm ({unit})", f"the cluster leader ({unit})"

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

    def overdue(self) -> tuple[Item, ...]:
        return tuple(self._sorted(i for i in self._all_items if i.overdue))

    def due_this_week(self) -> tuple[Item, ...]:
        return tuple(
            self._sorted(
                i
                for i in self._all_items
                if i.state in REMINDED_STATES
                and i.days_left is not None
                and 0 <= i.days_left <= WEEK_DAYS
            )
        )

    def completed(self) -> tuple[Item, ...]:
        since = self.today - timedelta(days=WEEK_DAYS)
        done = [
            i for i in self._all_items if i.completed_on is not None and i.completed_on >= since
        ]
        done.sort(key=lambda i: (i.completed_on or date.min, i.member_id), reverse=True)
        return tuple(done)


def _most_urgent(kinds: set[str]) -> str:
    return next((k for k in _URGENCY if k in kinds), sorted(kinds)[0])


def leader_unit(cfg: ClusterConfig, leader_id: str) -> str:
    """The leader's unit as letters name it: "UBND huyện Tủa Chùa" for a district (the
    People's Committee acts for it, Điều 3.4), the member's own name otherwise."""
    try:
        member = cfg.member(leader_id)
    except KeyError:
        return leader_id
    if member.kind in ("district", "commune"):
        return f"UBND {member.name[:1].lower()}{member.name[1:]}"
    return member.name
