"""Who a reminder goes to: a member's focal officer or head, the cluster leader, the
provincial board. Pure lookups in the config; no clock, no I/O."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from tracker.config.schema import ClusterConfig, Operator

RecipientRole = Literal["focal", "head", "leader", "province"]


@dataclass(frozen=True)
class Addressee:
    """Where a reminder goes: one address in one role. How the letter then greets that
    person (honorific, title, unit) is `tracker.letters.model.Recipient`, the one Recipient."""

    email: str
    name: str
    role: RecipientRole


def _dedup(recipients: Iterable[Addressee]) -> tuple[Addressee, ...]:
    # One person may appear twice (the leader's focal officer is often also the leader
    # operator); addresses compare case-insensitively, the first spelling wins.
    seen: set[str] = set()
    out: list[Addressee] = []
    for r in recipients:
        if r.email.lower() not in seen:
            seen.add(r.email.lower())
            out.append(r)
    return tuple(out)


def member_contacts(
    cfg: ClusterConfig, member_id: str, role: Literal["focal", "head"]
) -> tuple[Addressee, ...]:
    """The member's contacts with that role; () for a member no longer in the config."""
    try:
        member = cfg.member(member_id)
    except KeyError:
        return ()
    return _dedup(Addressee(c.email, c.name, role) for c in member.contacts if c.role == role)


def leader_offices(cfg: ClusterConfig, leader_id: str) -> list[Operator]:
    """The `leader` operators with an address that are this leader's office: one bound to
    a member (`member = …`) only while that member leads (after `tracker elect`, the next
    cycle's leader has its own office, or its focal officer)."""
    return [
        op
        for op in cfg.operators
        if op.role == "leader" and op.email is not None and op.member in (None, leader_id)
    ]


def leader_recipients(cfg: ClusterConfig, leader_id: str) -> tuple[Addressee, ...]:
    """The leader's office (Trưởng cụm, Điều 3.2, Điều 4) for the leader's tasks and
    digest: the operators with the leader role that have an address; without one, the
    leader member's focal officers. What the leader's unit owes as a member goes to its
    focal officer as a member (member_contacts), in letters of their own."""
    operators = [
        Addressee(op.email, op.name, "leader")
        for op in leader_offices(cfg, leader_id)
        if op.email is not None
    ]
    if operators:
        return _dedup(operators)
    return _dedup(
        Addressee(r.email, r.name, "leader") for r in member_contacts(cfg, leader_id, "focal")
    )


def province_recipients(cfg: ClusterConfig) -> tuple[Addressee, ...]:
    """The provincial Emulation and Commendation Board, when the config names one."""
    board = cfg.province_board
    if board is None:
        return ()
    return (Addressee(board.email, board.name, "province"),)
