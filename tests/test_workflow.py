"""Issue 2 §4: the obligation state machine, its role guards, and the derived standing
(overdue, due soon, late) at the day boundaries. Pure functions: no clock, no database."""

from __future__ import annotations

from datetime import date

import pytest

from tracker.errors import PermissionDeniedError, TransitionError
from tracker.status import fulfilled_on, is_overdue, standing
from tracker.workflow import (
    PENDING,
    UNFINISHED,
    Action,
    Actor,
    State,
    StateForm,
    require_leader,
    state_words,
    transition,
)

S, A = State, Action
LEADER = Actor("truong-cum", "leader")
OWNER = "muong-cha"
MEMBER_OWN = Actor("muong-cha", "member:muong-cha")
MEMBER_OTHER = Actor("nam-po", "member:nam-po")
VIEWER = Actor("ban-tdkt", "viewer")
NOTE = "Theo Công văn số 45/UBND-NV"

# The whole table, written out rather than derived from the code under test:
# (from, action) -> to; every pair not listed is illegal.
LEGAL: dict[tuple[State, Action], State] = {
    (S.OPEN, A.SUBMIT): S.SUBMITTED,
    (S.RETURNED, A.SUBMIT): S.SUBMITTED,  # a revised document after a return
    (S.OPEN, A.COMPLETE): S.COMPLETED,  # the leader received it another way
    (S.SUBMITTED, A.COMPLETE): S.COMPLETED,
    (S.RETURNED, A.COMPLETE): S.COMPLETED,
    (S.SUBMITTED, A.RETURN): S.RETURNED,
    (S.OPEN, A.WAIVE): S.WAIVED,
    (S.SUBMITTED, A.WAIVE): S.WAIVED,
    (S.RETURNED, A.WAIVE): S.WAIVED,
    (S.COMPLETED, A.REOPEN): S.OPEN,
    (S.WAIVED, A.REOPEN): S.OPEN,
}
ALL = [(s, a) for s in State for a in Action]
ILLEGAL = [pair for pair in ALL if pair not in LEGAL]

# How the refusal reads, per current state: "Không thể <verb>: nghĩa vụ <phrase>".
VERB = {
    A.SUBMIT: ("đánh dấu đã gửi", "submit"),
    A.COMPLETE: ("hoàn thành", "complete"),
    A.RETURN: ("trả lại", "return"),
    A.WAIVE: ("miễn", "waive"),
    A.REOPEN: ("mở lại", "reopen"),
}
PHRASE = {
    S.OPEN: ("đang mở", "is open"),
    S.SUBMITTED: ("đã được gửi", "is submitted"),
    S.COMPLETED: ("đã hoàn thành", "is completed"),
    S.RETURNED: ("đã bị trả lại", "was returned"),
    S.WAIVED: ("đã được miễn", "is waived"),
}


def test_the_table_covers_every_pair() -> None:
    assert len(ALL) == 25 and len(LEGAL) + len(ILLEGAL) == 25


@pytest.mark.parametrize(("state", "action"), list(LEGAL), ids=lambda v: str(v))
def test_legal_moves(state: State, action: Action) -> None:
    assert transition(state, action, LEADER, OWNER, NOTE) is LEGAL[(state, action)]


@pytest.mark.parametrize(("state", "action"), ILLEGAL, ids=lambda v: str(v))
def test_illegal_moves_say_why(state: State, action: Action) -> None:
    with pytest.raises(TransitionError) as info:
        transition(state, action, LEADER, OWNER, NOTE)
    err = info.value
    assert err.exit_code != 0
    verb_vi, verb_en = VERB[action]
    phrase_vi, phrase_en = PHRASE[state]
    assert err.vi.startswith(f"Không thể {verb_vi}: nghĩa vụ {phrase_vi}")
    assert err.en.startswith(f"Cannot {verb_en}: the obligation {phrase_en}")
    assert "\n" not in err.vi and "\n" not in err.en


def test_completing_a_waived_obligation_gives_the_issues_message_and_the_way_out() -> None:
    with pytest.raises(TransitionError) as info:
        transition(S.WAIVED, A.COMPLETE, LEADER, OWNER)
    err = info.value
    assert "Không thể hoàn thành: nghĩa vụ đã được miễn" in err.message("vi")
    assert "Cannot complete: the obligation is waived" in err.message("en")
    assert "tracker reopen" in err.vi and "tracker reopen" in err.en


def test_a_member_submits_again_after_a_return_and_the_leader_accepts() -> None:
    state = S.OPEN
    state = transition(state, A.SUBMIT, MEMBER_OWN, OWNER)
    state = transition(state, A.RETURN, LEADER, OWNER, "Thiếu phụ lục số liệu")
    assert state is S.RETURNED and state in PENDING  # owed again: reminders, overdue
    state = transition(state, A.SUBMIT, MEMBER_OWN, OWNER)
    state = transition(state, A.COMPLETE, LEADER, OWNER)
    assert state is S.COMPLETED
    state = transition(state, A.REOPEN, LEADER, OWNER, "Sai số liệu thu ngân sách")
    assert state is S.OPEN


# ---------------------------------------------------------------- who may do what


# For each actor, the actions it may take on OWNER's obligation.
MAY = {
    "leader": (LEADER, set(Action)),
    "member own": (MEMBER_OWN, {A.SUBMIT}),
    "member other": (MEMBER_OTHER, set()),
    "viewer": (VIEWER, set()),
}
# A state from which each action is legal, so only the role decides.
FROM = {
    A.SUBMIT: S.OPEN,
    A.COMPLETE: S.SUBMITTED,
    A.RETURN: S.SUBMITTED,
    A.WAIVE: S.OPEN,
    A.REOPEN: S.COMPLETED,
}


@pytest.mark.parametrize("who", list(MAY))
@pytest.mark.parametrize("action", list(Action), ids=str)
def test_role_guards(who: str, action: Action) -> None:
    actor, allowed = MAY[who]
    if action in allowed:
        assert transition(FROM[action], action, actor, OWNER, NOTE) is LEGAL[(FROM[action], action)]
        return
    with pytest.raises(PermissionDeniedError) as info:
        transition(FROM[action], action, actor, OWNER, NOTE)
    err = info.value
    assert err.exit_code == 3
    assert actor.operator_id in err.vi and actor.operator_id in err.en
    assert err.vi.startswith(f"Không thể {VERB[action][0]}")
    assert err.en.startswith(f"Cannot {VERB[action][1]}")


def test_the_role_is_checked_before_the_state() -> None:
    # A member trying to complete a waived obligation hears about its role, not the state.
    with pytest.raises(PermissionDeniedError, match="chỉ Trưởng cụm"):
        transition(S.WAIVED, A.COMPLETE, MEMBER_OWN, OWNER)


def test_refusals_say_what_to_do() -> None:
    with pytest.raises(PermissionDeniedError) as info:
        transition(S.SUBMITTED, A.COMPLETE, MEMBER_OWN, OWNER)
    assert "--as" in info.value.vi and "--as" in info.value.en
    with pytest.raises(PermissionDeniedError) as info:
        transition(S.OPEN, A.SUBMIT, MEMBER_OTHER, OWNER)
    assert "'muong-cha'" in info.value.vi and "own unit" in info.value.en
    with pytest.raises(PermissionDeniedError) as info:
        transition(S.OPEN, A.SUBMIT, VIEWER, OWNER)
    assert "viewer" in info.value.vi and "viewer" in info.value.en
    assert "--as" in info.value.en


def test_the_leader_may_record_a_submission_on_a_members_behalf() -> None:
    assert transition(S.OPEN, A.SUBMIT, LEADER, OWNER) is S.SUBMITTED


def test_require_leader() -> None:
    require_leader(LEADER, "xếp lịch", "schedule")
    for actor in (MEMBER_OWN, VIEWER):
        with pytest.raises(PermissionDeniedError, match=r"^Không thể xếp lịch: chỉ Trưởng cụm"):
            require_leader(actor, "xếp lịch", "schedule")


# ---------------------------------------------------------------- reasons


@pytest.mark.parametrize("action", [A.WAIVE, A.REOPEN, A.RETURN], ids=str)
@pytest.mark.parametrize("note", ["", "   ", "\t"])
def test_waive_reopen_and_return_need_a_reason(action: Action, note: str) -> None:
    with pytest.raises(TransitionError) as info:
        transition(FROM[action], action, LEADER, OWNER, note)
    assert "--note" in info.value.vi and "--note" in info.value.en
    assert info.value.vi.startswith(f"Không thể {VERB[action][0]}: cần ghi lý do")
    assert info.value.en.startswith(f"Cannot {VERB[action][1]}: a reason is required")


@pytest.mark.parametrize("action", [A.SUBMIT, A.COMPLETE], ids=str)
def test_submit_and_complete_need_no_reason(action: Action) -> None:
    assert transition(FROM[action], action, LEADER, OWNER, "") is LEGAL[(FROM[action], action)]


# ---------------------------------------------------------------- derived standing

DUE = date(2022, 12, 25)  # annual report (Điều 7.2), a Sunday


def _st(
    state: State,
    today: date,
    submitted_on: date | None = None,
    completed_on: date | None = None,
) -> tuple[int | None, bool, bool, bool]:
    s = standing(
        state,
        DUE,
        today,
        due_soon_days=7,
        submitted_on=submitted_on,
        completed_on=completed_on,
    )
    return s.days_left, s.overdue, s.due_soon, s.late


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2022, 12, 17), (8, False, False, False)),  # just outside "due soon"
        (date(2022, 12, 18), (7, False, True, False)),  # due_soon_days before
        (date(2022, 12, 24), (1, False, True, False)),
        (date(2022, 12, 25), (0, False, True, False)),  # the due day itself: not overdue
        (date(2022, 12, 26), (-1, True, False, False)),  # the next day: overdue
        (date(2023, 1, 25), (-31, True, False, False)),
    ],
)
@pytest.mark.parametrize("state", [S.OPEN, S.RETURNED], ids=str)
def test_pending_obligation_at_the_boundaries(
    state: State, today: date, expected: tuple[int | None, bool, bool, bool]
) -> None:
    assert _st(state, today) == expected


@pytest.mark.parametrize("state", [S.SUBMITTED, S.COMPLETED, S.WAIVED], ids=str)
def test_settled_obligations_are_never_overdue_or_due_soon(state: State) -> None:
    for today in (date(2022, 12, 20), date(2022, 12, 25), date(2023, 3, 1)):
        _, overdue, soon, _ = _st(state, today)
        assert not overdue and not soon


@pytest.mark.parametrize(
    ("state", "submitted_on", "completed_on", "late"),
    [
        (S.SUBMITTED, date(2022, 12, 25), None, False),  # sent on the due day: on time
        (S.SUBMITTED, date(2022, 12, 26), None, True),
        (S.COMPLETED, date(2022, 12, 24), date(2022, 12, 30), False),  # member was on time
        (S.COMPLETED, date(2022, 12, 26), date(2022, 12, 26), True),
        (S.COMPLETED, None, date(2022, 12, 25), False),  # accepted directly, on the day
        (S.COMPLETED, None, date(2022, 12, 26), True),
        (S.WAIVED, None, None, False),
        (S.OPEN, None, None, False),  # still owed: overdue, not "late"
    ],
)
def test_late_means_fulfilled_after_the_due_day(
    state: State, submitted_on: date | None, completed_on: date | None, late: bool
) -> None:
    got = _st(state, date(2023, 1, 10), submitted_on=submitted_on, completed_on=completed_on)
    assert got[3] is late


def test_no_date_yet_is_neither_overdue_nor_due_soon() -> None:
    s = standing(S.OPEN, None, date(2030, 1, 1), due_soon_days=7)
    assert (s.days_left, s.overdue, s.due_soon, s.late) == (None, False, False, False)


def test_due_soon_days_zero_means_only_the_due_day() -> None:
    assert standing(S.OPEN, DUE, date(2022, 12, 24), due_soon_days=0).due_soon is False
    assert standing(S.OPEN, DUE, DUE, due_soon_days=0).due_soon is True


def test_fulfilled_on_prefers_the_members_submission() -> None:
    assert fulfilled_on(date(2022, 12, 20), date(2022, 12, 28)) == date(2022, 12, 20)
    assert fulfilled_on(None, date(2022, 12, 28)) == date(2022, 12, 28)
    assert fulfilled_on(None, None) is None


# -- one home per rule (issue 7) --------------------------------------------------------


def test_the_pending_and_unfinished_states_are_one_list_the_planner_reads() -> None:
    from tracker.reminders import planner

    assert {S.OPEN, S.RETURNED} == PENDING
    assert {S.OPEN, S.RETURNED, S.SUBMITTED} == UNFINISHED
    assert planner.REMINDED_STATES is PENDING
    assert planner.UNFINISHED_STATES is UNFINISHED
    # Rows carry plain strings: they are found in the lists of states.
    assert "open" in PENDING and "submitted" not in PENDING and "submitted" in UNFINISHED


@pytest.mark.parametrize("event", [False, True])
@pytest.mark.parametrize("state", list(S), ids=str)
def test_is_overdue_is_the_rule_standing_reports(state: State, event: bool) -> None:
    for today in (date(2022, 12, 24), DUE, date(2022, 12, 26), date(2023, 6, 1)):
        got = standing(state, DUE, today, due_soon_days=7, event=event).overdue
        assert is_overdue(DUE, state, today, event=event) is got
        assert is_overdue(DUE, str(state), today, event=event) is got  # a row's string


def test_is_overdue_from_the_day_after_the_due_day_for_pending_deadlines_only() -> None:
    assert not is_overdue(DUE, "open", DUE)  # the deadline ends at 24:00 of its day
    assert is_overdue(DUE, "open", date(2022, 12, 26))
    assert is_overdue(DUE, "returned", date(2022, 12, 26))
    assert not is_overdue(DUE, "submitted", date(2023, 1, 26))
    assert not is_overdue(DUE, "open", date(2023, 1, 26), event=True)  # an event is held
    assert not is_overdue(None, "open", date(2030, 1, 1))  # no date yet


def test_state_words_in_every_form_for_every_state() -> None:
    assert state_words("submitted") == ("Đã gửi", "Submitted")
    assert state_words(S.RETURNED, "phrase") == (
        "đã bị trả lại để bổ sung",
        "was returned for revision",
    )
    # What the letters say beside an item (tracker/letters/render.py's wording).
    assert {s.value: state_words(s, "letter") for s in S} == {
        "open": ("chưa thực hiện", "not done yet"),
        "submitted": ("đã gửi, chờ Trưởng cụm xác nhận", "sent, awaiting the leader's check"),
        "returned": ("bị trả lại, cần bổ sung", "returned for changes"),
        "completed": ("đã hoàn thành", "completed"),
        "waived": ("được miễn", "waived"),
    }
    forms: tuple[StateForm, ...] = ("label", "phrase", "letter")
    for form in forms:
        for s in S:
            vi, en = state_words(s, form)
            assert vi and en and vi != en
    # A state from a newer tracker reads as itself rather than failing a letter.
    assert state_words("archived", "letter") == ("archived", "archived")


def test_a_refusal_words_the_state_as_state_words_does() -> None:
    with pytest.raises(TransitionError) as err:
        transition(S.RETURNED, A.RETURN, LEADER, OWNER, NOTE)
    vi, en = state_words(S.RETURNED, "phrase")
    assert vi in err.value.vi and en in err.value.en
