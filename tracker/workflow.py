"""The obligation state machine and its role guards. Pure: no clock, no I/O.

Who may do what follows Chương II of the regulation: the leader (Trưởng cụm) receives,
reviews and accepts the members' reports (Điều 4.5–4.7, Điều 10.2), so only the cycle's
leader completes, returns, waives, reopens, schedules and requests; a member only says it
has sent its own document (Điều 5.2); the provincial board and others only read.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from tracker.errors import PermissionDeniedError, TransitionError


class State(StrEnum):
    OPEN = "open"
    SUBMITTED = "submitted"
    COMPLETED = "completed"
    RETURNED = "returned"
    WAIVED = "waived"


class Action(StrEnum):
    SUBMIT = "submit"
    COMPLETE = "complete"
    RETURN = "return"
    WAIVE = "waive"
    REOPEN = "reopen"


# The one list of pending states. Still owed by the member: these get reminders (the
# planner's REMINDED_STATES is this list) and can become overdue (tracker.status).
# `submitted` is not: the member says it is sent, so nobody nags while the leader checks.
PENDING = frozenset({State.OPEN, State.RETURNED})
# Not finished yet: pending, or submitted and awaiting the leader's check. The whole
# cycle's letters (the leader's digest, the board's report) run while anything is.
UNFINISHED = PENDING | {State.SUBMITTED}

STATE_LABEL: dict[State, tuple[str, str]] = {
    State.OPEN: ("Đang mở", "Open"),
    State.SUBMITTED: ("Đã gửi", "Submitted"),
    State.COMPLETED: ("Hoàn thành", "Completed"),
    State.RETURNED: ("Trả lại", "Returned"),
    State.WAIVED: ("Miễn", "Waived"),
}

# How a state reads after "the obligation …" / "nghĩa vụ …".
_STATE_PHRASE: dict[State, tuple[str, str]] = {
    State.OPEN: ("đang mở", "is open"),
    State.SUBMITTED: (
        "đã được gửi, đang chờ Trưởng cụm xác nhận",
        "is submitted, awaiting the leader",
    ),
    State.COMPLETED: ("đã hoàn thành", "is completed"),
    State.RETURNED: ("đã bị trả lại để bổ sung", "was returned for revision"),
    State.WAIVED: ("đã được miễn", "is waived"),
}

# How a letter words a state beside an item ("…, đã gửi, chờ Trưởng cụm xác nhận"): what
# the member reads about its own report.
_STATE_LETTER: dict[State, tuple[str, str]] = {
    State.OPEN: ("chưa thực hiện", "not done yet"),
    State.SUBMITTED: ("đã gửi, chờ Trưởng cụm xác nhận", "sent, awaiting the leader's check"),
    State.RETURNED: ("bị trả lại, cần bổ sung", "returned for changes"),
    State.COMPLETED: ("đã hoàn thành", "completed"),
    State.WAIVED: ("được miễn", "waived"),
}

StateForm = Literal["label", "phrase", "letter"]

_STATE_WORDS: dict[StateForm, dict[State, tuple[str, str]]] = {
    "label": STATE_LABEL,
    "phrase": _STATE_PHRASE,
    "letter": _STATE_LETTER,
}


def state_words(state: str, form: StateForm = "label") -> tuple[str, str]:
    """The one place a state is put into words, (Vietnamese, English):

    - `label`: a table's column ("Đã gửi" / "Submitted");
    - `phrase`: after "nghĩa vụ …" / "the obligation …" ("đã bị trả lại để bổ sung" / "was
      returned for revision"), as refusals say it;
    - `letter`: beside an item in an e-mail ("bị trả lại, cần bổ sung" / "returned for
      changes").

    A state this tracker does not know (a row written by a newer one) reads as itself: a
    letter or a table is never refused over a word."""
    try:
        known = State(state)
    except ValueError:
        return state, state
    return _STATE_WORDS[form][known]


ACTION_LABEL: dict[Action, tuple[str, str]] = {
    Action.SUBMIT: ("đánh dấu đã gửi", "submit"),
    Action.COMPLETE: ("hoàn thành", "complete"),
    Action.RETURN: ("trả lại", "return"),
    Action.WAIVE: ("miễn", "waive"),
    Action.REOPEN: ("mở lại", "reopen"),
}

_MOVES: dict[Action, tuple[frozenset[State], State]] = {
    Action.SUBMIT: (frozenset({State.OPEN, State.RETURNED}), State.SUBMITTED),
    Action.COMPLETE: (frozenset({State.OPEN, State.SUBMITTED, State.RETURNED}), State.COMPLETED),
    Action.RETURN: (frozenset({State.SUBMITTED}), State.RETURNED),
    Action.WAIVE: (frozenset({State.OPEN, State.SUBMITTED, State.RETURNED}), State.WAIVED),
    Action.REOPEN: (frozenset({State.COMPLETED, State.WAIVED}), State.OPEN),
}

# What to do instead, per (action, current state); keeps each refusal actionable.
_NEXT_STEP: dict[tuple[Action, State], tuple[str, str]] = {
    (Action.COMPLETE, State.WAIVED): (
        "Muốn ghi nhận lại, dùng 'tracker reopen' (kèm --note lý do) rồi hoàn thành.",
        "To record it again, use 'tracker reopen' (with --note) and then complete it.",
    ),
    (Action.RETURN, State.COMPLETED): (
        "Muốn yêu cầu bổ sung, dùng 'tracker reopen' (kèm --note lý do).",
        "To ask for changes, use 'tracker reopen' (with --note).",
    ),
    (Action.RETURN, State.OPEN): (
        "Chỉ trả lại được khi đơn vị đã gửi.",
        "Only a submitted obligation can be returned.",
    ),
    (Action.REOPEN, State.OPEN): ("Nghĩa vụ vẫn đang mở, không cần mở lại.", "Nothing to reopen."),
}

# Actions that need a written reason (waiving and reopening change a decision).
REASON_REQUIRED = frozenset({Action.WAIVE, Action.REOPEN, Action.RETURN})


@dataclass(frozen=True)
class Actor:
    """An operator from the config: role is 'leader', 'viewer' or 'member:<id>'."""

    operator_id: str
    role: str

    @property
    def is_leader(self) -> bool:
        return self.role == "leader"

    @property
    def member_id(self) -> str | None:
        return self.role.removeprefix("member:") if self.role.startswith("member:") else None


def require_leader(actor: Actor, what_vi: str, what_en: str) -> None:
    if not actor.is_leader:
        raise PermissionDeniedError(
            f"Không thể {what_vi}: chỉ Trưởng cụm được làm việc này (người dùng '{actor.operator_id}'"
            f" có vai trò '{actor.role}'). Dùng --as với người dùng có vai trò leader.",
            f"Cannot {what_en}: only the cluster leader may do this (operator '{actor.operator_id}'"
            f" has role '{actor.role}'). Use --as with an operator whose role is leader.",
        )


def transition(state: State, action: Action, actor: Actor, owner: str, note: str = "") -> State:
    """The state after `action`, or a TransitionError / PermissionDeniedError saying why not.

    `owner` is the member id that owes the obligation.
    """
    verb_vi, verb_en = ACTION_LABEL[action]
    if action is Action.SUBMIT:
        if not actor.is_leader and actor.member_id is None:
            raise PermissionDeniedError(
                f"Không thể {verb_vi}: người dùng '{actor.operator_id}' có vai trò"
                f" '{actor.role}' chỉ được xem. Dùng --as với người dùng của đơn vị.",
                f"Cannot {verb_en}: operator '{actor.operator_id}' has role '{actor.role}'"
                " and may only read. Use --as with the member's operator.",
            )
        if not actor.is_leader and actor.member_id != owner:
            raise PermissionDeniedError(
                f"Không thể {verb_vi}: người dùng '{actor.operator_id}' chỉ được đánh dấu nghĩa vụ"
                f" của đơn vị mình, không phải của '{owner}'.",
                f"Cannot {verb_en}: operator '{actor.operator_id}' may only submit its own"
                f" unit's obligations, not those of '{owner}'.",
            )
    else:
        require_leader(actor, verb_vi, verb_en)
    allowed, target = _MOVES[action]
    if state not in allowed:
        phrase_vi, phrase_en = state_words(state, "phrase")
        hint_vi, hint_en = _NEXT_STEP.get((action, state), ("", ""))
        raise TransitionError(
            f"Không thể {verb_vi}: nghĩa vụ {phrase_vi}. {hint_vi}".strip(),
            f"Cannot {verb_en}: the obligation {phrase_en}. {hint_en}".strip(),
        )
    if action in REASON_REQUIRED and not note.strip():
        raise TransitionError(
            f'Không thể {verb_vi}: cần ghi lý do — thêm --note "…".',
            f'Cannot {verb_en}: a reason is required — add --note "…".',
        )
    return target
