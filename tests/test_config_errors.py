"""Issue 8 §5: config errors a non-programmer can act on. Each problem on its own line with
the file, the line, the item in words (1-based, with its id), the problem in Vietnamese
(English with --lang en) and the fix; unknown keys get the nearest valid key and, where
there is one, the command that does what the user tried. Bad files are made the way a
user makes them: by editing the shipped file's text, or by writing a small one.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tracker.cli.app import app
from tracker.config import load_config
from tracker.config.errors import InvalidConfigError
from tracker.config.toml_lines import key_lines, line_of
from tracker.paths import config_dir

SHIPPED = config_dir() / "cum-vung-cao-2022.toml"
TEXT = SHIPPED.read_text(encoding="utf-8")

# Pydantic's and Python's English: none of it may reach the Vietnamese text.
_ENGLISH = re.compile(
    r"Input should|Value error|Field required|Extra inputs|valid|should be|"
    r"is not a|must be|Invalid|unknown|type=",
)


def edited(old: str, new: str, nth: int = 1) -> str:
    """The shipped text with the `nth` occurrence of `old` replaced."""
    at = -1
    for _ in range(nth):
        at = TEXT.index(old, at + 1)
    return TEXT[:at] + new + TEXT[at + len(old) :]


def line_no(text: str, needle: str, nth: int = 1) -> int:
    at = -1
    for _ in range(nth):
        at = text.index(needle, at + 1)
    return text.count("\n", 0, at) + 1


def refused(tmp_path: Path, text: str) -> tuple[Path, InvalidConfigError]:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidConfigError) as info:
        load_config(path)
    err = info.value
    assert err.exit_code == 2
    for issue in err.issues:
        assert not _ENGLISH.search(issue.vi), issue.vi
        assert not _ENGLISH.search(issue.where_vi), issue.where_vi
    return path, err


def problem_lines(err: InvalidConfigError, lang: str = "vi") -> list[str]:
    lines = err.message(lang).split("\n")
    assert lines[-1] in ("Sửa tệp rồi chạy lại lệnh.", "Fix the file and run the command again.")
    return lines[1:-1]


# ---------------------------------------------------------------- lines and item words


def test_a_contact_of_the_third_member_is_named_in_words_at_its_line(tmp_path: Path) -> None:
    text = edited('email = "noivu.muongcha@example.vn"', 'email = "noivu"')
    path, err = refused(tmp_path, text)
    [line] = problem_lines(err)
    n = line_no(text, 'email = "noivu"')
    assert line.startswith(f"  {path}, dòng {n}: thành viên thứ 3 (muong-cha), liên hệ thứ 1,")
    assert "khóa email" in line and '"noivu"' in line and "ten@example.vn" in line
    [en] = problem_lines(err, "en")
    assert en.startswith(f"  {path}, line {n}: member 3 (muong-cha), contact 1, key email:")


def test_the_second_contact_of_a_later_member_gets_its_own_line(tmp_path: Path) -> None:
    # [[members.contacts]] counts again from 1 under each [[members]].
    old = 'role = "head"'
    text = edited(old, 'role = "boss"', nth=4)  # the 4th member's second contact
    _, err = refused(tmp_path, text)
    [line] = problem_lines(err)
    n = line_no(text, 'role = "boss"')
    assert f"dòng {n}:" in line
    assert "thành viên thứ 4 (muong-nhe), liên hệ thứ 2, khóa role" in line
    assert "dùng một trong: focal, head" in line


def test_a_key_inside_an_inline_rule_is_found_at_the_rules_line(tmp_path: Path) -> None:
    text = edited('date = "30/6/Y" }', 'date = "31/6/Y" }')
    _, err = refused(tmp_path, text)
    [line] = problem_lines(err)
    assert f"dòng {line_no(text, '31/6/Y')}:" in line
    assert "mốc thứ 1 (half_year_report), khóa rule.date" in line
    assert "tháng 6 không có ngày 31" in line
    assert "day 31 does not exist in month 6" in err.message("en")


def test_a_missing_key_points_at_the_table_it_belongs_in(tmp_path: Path) -> None:
    text = edited('province = "Điện Biên"\n', "")
    _, err = refused(tmp_path, text)
    [line] = problem_lines(err)
    assert f"dòng {line_no(text, '[cluster]')}:" in line
    assert "mục [cluster], khóa province: thiếu khóa bắt buộc — hãy thêm vào" in line


def test_several_problems_each_on_its_own_line_with_its_line_number(tmp_path: Path) -> None:
    text = edited('leader = "tua-chua"', 'leader = "tua-chau"')
    text = text.replace('email = "noivu.nampo@example.vn"', 'email = "noivu.nampo"')
    text = text.replace("due_soon_days = 7", "due_soon_days = 99")
    _, err = refused(tmp_path, text)
    lines = problem_lines(err)
    assert err.message().startswith(f"Tệp cấu hình không hợp lệ ({len(lines)} lỗi):")
    assert len(lines) == 2  # type errors first: pydantic stops before the cross-checks
    assert any(
        f"dòng {line_no(text, 'due_soon_days = 99')}: mục [cycle], khóa due_soon_days:" in x
        and "lớn nhất là 60" in x
        for x in lines
    )
    assert any("thành viên thứ 5 (nam-po), liên hệ thứ 1, khóa email" in x for x in lines)


def test_a_value_list_item_is_counted_from_one(tmp_path: Path) -> None:
    text = edited("extra_days_off = []", 'extra_days_off = ["2022-09-01", "2022-13-45"]')
    _, err = refused(tmp_path, text)
    [line] = problem_lines(err)
    assert "mục [holidays], khóa extra_days_off[2]" in line
    assert "không phải ngày — viết dạng 2022-12-25" in line


def test_a_long_value_is_cut_when_it_is_echoed(tmp_path: Path) -> None:
    text = edited("due_soon_days = 7", f'due_soon_days = "{"x" * 500}"')
    _, err = refused(tmp_path, text)
    [line] = problem_lines(err)
    assert "x" * 500 not in line and "…" in line and len(line) < 300


# ---------------------------------------------------------------- no pydantic English


@pytest.mark.parametrize(
    ("old", "new", "vi"),
    [
        ('kind = "district"', 'kind = "county"', "dùng một trong: district, commune"),
        ("due_soon_days = 7", 'due_soon_days = "7"', "phải là số nguyên"),
        ("due_soon_days = 7", "due_soon_days = -1", "nhỏ nhất là 0"),
        ('id = "muong-cha"', 'id = "Mường Chà"', "chữ thường không dấu"),
        ('name = "Huyện Nậm Pồ"', 'name = ""', "đang để trống"),
        ('kind = "fixed"', 'kind = "fixd"', "loại quy tắc"),
        ("lead_days = [14, 7, 3, 1, 0]", "lead_days = 14", "ngoặc vuông"),
        ('month = "1/Y+1"', 'month = "13/Y+1"', "không phải một tháng"),
        ('quarter = "Q1/Y+1"', 'quarter = "Q5/Y+1"', "không phải một quý"),
        ('article = "Điều 7.1"', 'article = "Chương 7"', "không phải một điều khoản"),
        ('role = "focal"', 'role = "head"', "role = 'focal'"),
    ],
)
def test_each_kind_of_mistake_is_said_in_vietnamese(
    tmp_path: Path, old: str, new: str, vi: str
) -> None:
    _, err = refused(tmp_path, edited(old, new))
    assert any(vi in x for x in problem_lines(err)), err.message()
    assert err.message("en") != err.message()


# ---------------------------------------------------------------- unknown keys


def test_a_misspelt_key_suggests_the_nearest_valid_one(tmp_path: Path) -> None:
    text = edited("lead_days = [14, 7, 3, 1, 0]", "lead_day = [14, 7, 3, 1, 0]")
    _, err = refused(tmp_path, text)
    [line] = problem_lines(err)
    assert f"dòng {line_no(text, 'lead_day =')}: mục [reminders], khóa lead_day:" in line
    assert "có phải ý bạn là `lead_days`?" in line
    assert "did you mean `lead_days`?" in err.message("en")


def test_a_misspelt_table_suggests_the_table(tmp_path: Path) -> None:
    _, err = refused(tmp_path, edited("[reminders]\n", "[reminder]\n"))
    [line] = problem_lines(err)
    assert "mục [reminder]: khóa không được hỗ trợ — có phải ý bạn là `reminders`?" in line


def test_members_on_a_milestone_points_to_tracker_request(tmp_path: Path) -> None:
    text = edited('assignee = "members"', 'assignee = "members"\nmembers = ["muong-cha"]')
    _, err = refused(tmp_path, text)
    [line] = problem_lines(err)
    assert "mốc thứ 1 (half_year_report), khóa members: khóa không được hỗ trợ" in line
    assert "dùng `tracker request" in line
    assert "use `tracker request" in err.message("en")


def test_an_unknown_key_without_a_near_one_lists_the_keys_allowed(tmp_path: Path) -> None:
    text = edited('id = "muong-nhe"\n', 'id = "muong-nhe"\nzzz = 1\n')
    _, err = refused(tmp_path, text)
    [line] = problem_lines(err)
    assert "thành viên thứ 4 (muong-nhe), khóa zzz" in line
    assert "các khóa dùng được: address, authority, contacts, id, kind, name, office" in line


# ---------------------------------------------------------------- via the CLI


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    for var in ("TRACKER_DATABASE_URL", "TRACKER_OPERATOR", "TRACKER_NOW", "TRACKER_FAKE_NOW"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    return CliRunner()


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_cli_init_prints_every_problem_on_its_own_line_exits_2_and_writes_nothing(
    tmp_path: Path, runner: CliRunner, lang: str
) -> None:
    text = edited("[reminders]\n", "[reminder]\n").replace(
        'email = "noivu.muongcha@example.vn"', 'email = "noivu"'
    )
    bad = tmp_path / "bad.toml"
    bad.write_text(text, encoding="utf-8")
    db = tmp_path / "t.db"
    args = ["--db", f"sqlite:///{db}", "--lang", lang, "--config", str(bad)]
    result = runner.invoke(app, [*args, "init", "--cycle", "2022"])
    assert result.exit_code == 2
    assert result.stdout == "" and "Traceback" not in result.stderr
    lines = result.stderr.strip("\n").split("\n")
    assert len(lines) == 4, result.stderr
    header, *problems, fix = lines
    if lang == "vi":
        assert header == "Lỗi: Tệp cấu hình không hợp lệ (2 lỗi):"
        assert fix == "Sửa tệp rồi chạy lại lệnh."
        assert all(f"{bad}, dòng " in p for p in problems)
        assert not any(_ENGLISH.search(p.split(": ", 1)[1]) for p in problems)
    else:
        assert header == "Error: Invalid config file (2 problems):"
        assert fix == "Fix the file and run the command again."
        assert all(f"{bad}, line " in p for p in problems)
    assert not db.exists()


# ---------------------------------------------------------------- the line scanner


def test_the_scanner_is_not_fooled_by_strings_comments_and_multiline_values() -> None:
    text = "\n".join(
        [
            "# [not] = a header",  # 1
            "[cluster]",  # 2
            'name = """two',  # 3
            "[fake]",  # 4
            'x = 1"""',  # 5
            "lead = [",  # 6
            '  "a = [b]", # c = d',  # 7
            "]",  # 8
            "'quoted key'.inner = 1",  # 9
            "[[members]]",  # 10
            "[[members.contacts]]",  # 11
            "[[members]]",  # 12
            "[[members.contacts]]",  # 13
            "[[members.contacts]]",  # 14
            "email = 'x' # [[members]]",  # 15
        ]
    )
    lines = key_lines(text)
    assert lines[("cluster", "name")] == 3
    assert ("fake",) not in lines and ("cluster", "x") not in lines
    assert lines[("cluster", "lead")] == 6
    assert ("cluster", "c") not in lines
    assert lines[("cluster", "quoted key", "inner")] == 9
    assert lines[("members", 0, "contacts", 0)] == 11
    assert lines[("members", 1)] == 12
    assert lines[("members", 1, "contacts", 1, "email")] == 15
    assert line_of(lines, ("members", 1, "contacts", 1, "email", 3)) == 15
    assert line_of(lines, ("members", 1, "contacts", 0, "phone")) == 13
    assert ("members", 2) not in lines
