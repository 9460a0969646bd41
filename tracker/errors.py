"""Errors a user can act on.

Every error carries a Vietnamese and an English text; the CLI prints one of them on one
line and exits with `exit_code`, never a traceback. The one exit-code table (issue 8 §2,
README "Exit codes"):

    0  done
    1  an operational problem: database unreachable or busy, mail failed (TrackerError)
    2  bad input: arguments, config, dates, a missing --note where a reason is required,
       an unknown member or cycle (BadInputError, ConfigError, NotFoundError; Click's
       usage errors)
    3  refused: the operator's role, or a move the state machine forbids
       (PermissionDeniedError, TransitionError)
"""

from __future__ import annotations


class TrackerError(Exception):
    """A domain error shown to the user as one line."""

    exit_code = 1

    def __init__(self, vi: str, en: str | None = None) -> None:
        super().__init__(vi)
        self.vi = vi
        self.en = en if en is not None else vi

    def message(self, lang: str = "vi") -> str:
        return self.en if lang == "en" else self.vi


class BadInputError(TrackerError):
    """Input the user must correct: a config file, a CLI argument, an imported sheet."""

    exit_code = 2


class ConfigError(BadInputError):
    """A cluster config file failed validation; names the file, key path and the fix."""

    def __init__(self, path: str, problems: list[tuple[str, str, str]]) -> None:
        # problems: (key path, vi text, en text)
        self.path = path
        self.problems = problems
        vi = "; ".join(f"{path}: {key}: {v}" for key, v, _ in problems)
        en = "; ".join(f"{path}: {key}: {e}" for key, _, e in problems)
        super().__init__(
            f"Tệp cấu hình không hợp lệ — {vi}. Sửa tệp rồi chạy lại lệnh.",
            f"Invalid config file — {en}. Fix the file and run the command again.",
        )


class NotFoundError(TrackerError):
    """A member, milestone, cycle or cluster the user named does not exist."""

    exit_code = 2


class PermissionDeniedError(TrackerError):
    """The operator's role does not allow the action (Điều 4: only the leader decides)."""

    exit_code = 3


class TransitionError(TrackerError):
    """An illegal state change, e.g. completing a waived obligation: refused like a role,
    since the input is well-formed but the rules (Chương II) forbid it."""

    exit_code = 3
