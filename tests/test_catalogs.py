"""Issue 8 §4: the gettext catalogs are complete, current and compiled, and Typer's own
words in help come from them (Vietnamese by default, English with --lang en or LANG=en_*)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.test_cli import Cli
from tests.test_cli import cli as cli  # the fixture
from tracker.catalogs import problems
from tracker.i18n import catalog, language_from_env, tr, trn


def test_every_catalog_is_complete_current_and_compiled() -> None:
    # Fails when the code or a template marks a message the .po lacks, a .po keeps one the
    # code dropped, a Vietnamese translation is empty or fuzzy, or a .mo is stale:
    # the fix is `make catalogs` (and a translation for each new message).
    assert problems() == []


def test_the_vietnamese_catalog_translates_typer_words() -> None:
    assert catalog("vi", "click").gettext("Options") == "Tùy chọn"
    assert catalog("en", "click").gettext("Options") == "Options"


def test_tr_fills_placeholders_and_falls_back_to_the_id() -> None:
    assert tr("vi", "No such message {x}", x=1) == "No such message 1"
    assert trn("en", "{n} letter", "{n} letters", 2) == "2 letters"


@pytest.mark.parametrize(
    ("env", "lang"),
    [
        ({}, "vi"),
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"LANG": "vi_VN.UTF-8"}, "vi"),
        ({"LANG": "C.UTF-8"}, "vi"),
        ({"LANG": "vi_VN.UTF-8", "LC_ALL": "en_GB.UTF-8"}, "en"),
        ({"LANGUAGE": "vi:en", "LANG": "en_US.UTF-8"}, "vi"),
    ],
)
def test_language_from_the_locale(env: dict[str, str], lang: str) -> None:
    assert language_from_env(env) == lang


def _help(*args: str, env: dict[str, str]) -> str:
    # A real process: the language is chosen once per run, before Typer formats help.
    base = {"PATH": "/usr/bin:/bin", "PYTHONIOENCODING": "utf-8"}
    out = subprocess.run(
        [sys.executable, "-m", "tracker", *args],
        capture_output=True,
        text=True,
        env={**base, **env},
        check=True,
    )
    return out.stdout


def test_help_is_vietnamese_by_default_and_english_on_request() -> None:
    vi = _help("--help", env={})
    assert "Tùy chọn:" in vi and "Lệnh:" in vi and "[mặc định: vi]" in vi
    en = _help("--help", "--lang", "en", env={})
    assert "Options:" in en and "Commands:" in en
    assert "Options:" in _help("status", "--help", env={"LANG": "en_US.UTF-8"})
    # An explicit --lang wins over the locale.
    assert "Tùy chọn:" in _help("status", "--help", "--lang", "vi", env={"LANG": "en_US.UTF-8"})


# Click's usage errors, in the run's language (issue 8 §6, `outbox retry abc`).
@pytest.mark.parametrize(
    ("args", "vi", "en"),
    [
        (
            ["outbox", "retry", "abc"],
            "Lỗi: 'ID' phải là một số nguyên. Xem 'tracker outbox retry --help'.",
            "Error: 'ID' must be a whole number. See 'tracker outbox retry --help'.",
        ),
        (
            ["status", "--bogus"],
            "Lỗi: Không có tùy chọn --bogus. Xem 'tracker status --help'.",
            "Error: There is no option --bogus. See 'tracker status --help'.",
        ),
        (
            ["status", "--stat"],
            "Lỗi: Không có tùy chọn --stat (có phải ý bạn là --at?).",
            "Error: There is no option --stat (did you mean --at?).",
        ),
        (
            ["complete"],
            "Lỗi: Thiếu đối số 'milestone'. Xem 'tracker complete --help'.",
            "Error: The argument 'milestone' is missing. See 'tracker complete --help'.",
        ),
        (
            ["status", "--format"],
            "Lỗi: Tùy chọn --format cần một giá trị.",
            "Error: The option --format needs a value.",
        ),
    ],
)
def test_usage_errors_are_said_in_the_language(cli: Cli, args: list[str], vi: str, en: str) -> None:
    assert cli.fails(2, *args).startswith(vi)
    assert cli.fails(2, "--lang", "en", *args).startswith(en)
