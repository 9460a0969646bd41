"""Issue 2 §2: the shipped cluster config loads, and every kind of mistake a secretariat can
make in the TOML file is refused with the file, the key path and what to do — and the CLI
then exits 2 with one line and writes nothing.

Broken files are made the way a user makes them: by editing the shipped file's text.
"""

from __future__ import annotations

import re
import sqlite3
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tracker.cli.app import app
from tracker.config import load_config, shipped_configs
from tracker.config.loader import parse_config
from tracker.config.schema import RelativeRule
from tracker.errors import ConfigError
from tracker.paths import config_dir

SHIPPED = config_dir() / "cum-vung-cao-2022.toml"
TEXT = SHIPPED.read_text(encoding="utf-8")

MEMBER_IDS = ["tua-chua", "dien-bien-dong", "muong-cha", "muong-nhe", "nam-po"]
MILESTONE_IDS = [
    "half_year_report",
    "annual_report",
    "self_score",
    "inspection_plan",
    "cross_inspection",
    "score_matching",
    "summary_conference",
    "score_summary",
    "draft_report",
    "preparatory_meeting",
    "leader_election",
    "pact_signing",
    "province_half_year_report",
    "province_annual_report",
]


def edited(old: str, new: str) -> str:
    """The shipped file with one exact piece of text replaced (it must occur once)."""
    assert TEXT.count(old) == 1, f"{old!r} occurs {TEXT.count(old)} times in the shipped file"
    return TEXT.replace(old, new)


def refused(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    err = info.value
    assert err.exit_code == 2
    # The file is named in both languages; a header line, then one line per problem, each
    # naming the file (issue 8 §5), then the fix.
    for text in (err.vi, err.en):
        assert str(path) in text
        lines = text.split("\n")
        assert "\r" not in text and len(lines) == len(err.problems) + 2
        assert all(line.startswith(f"  {path}") for line in lines[1:-1])
    assert err.vi.endswith("Sửa tệp rồi chạy lại lệnh.")
    assert err.en.endswith("Fix the file and run the command again.")
    return err


def refused_text(tmp_path: Path, text: str) -> ConfigError:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    return refused(path)


def at(err: ConfigError, key: str) -> tuple[str, str]:
    """The (vi, en) texts of the problem reported at `key`."""
    found = [(vi, en) for k, vi, en in err.problems if k == key]
    keys = [k for k, _, _ in err.problems]
    assert found, f"no problem at {key!r}; problems at {keys}"
    # The problem is in the message itself, on its own line after the file name (the key
    # path is said in words there: tests/test_config_errors.py).
    vi, en = found[0]
    assert f": {en}" in err.en and f": {vi}" in err.vi
    return found[0]


# ---------------------------------------------------------------- the shipped file


def test_shipped_config_loads_with_the_2022_cluster() -> None:
    assert SHIPPED in shipped_configs()
    cfg = load_config(SHIPPED)
    assert cfg.cluster.id == "cum-vung-cao"
    assert cfg.cluster.timezone == "Asia/Ho_Chi_Minh"
    assert [m.id for m in cfg.members] == MEMBER_IDS
    assert cfg.cycle.year == 2022
    assert cfg.cycle.leader == "tua-chua"  # Điều 3.2: Tủa Chùa leads in 2022
    assert [m.id for m in cfg.milestones] == MILESTONE_IDS
    for ms in cfg.milestones:
        assert ms.name and ms.name_en and ms.article.startswith("Điều ")
    for member in cfg.members:
        assert {c.role for c in member.contacts} == {"focal", "head"}
        for c in member.contacts:
            assert c.email.endswith("@example.vn")  # placeholders only
    roles = {op.id: op.role for op in cfg.operators}
    assert roles["truong-cum"] == "leader"
    assert roles["ban-tdkt"] == "viewer"
    assert {r for r in roles.values() if r.startswith("member:")} == {
        f"member:{m}" for m in MEMBER_IDS
    }
    # Điều 6: the pact is signed in the year it launches, organised by that year's leader.
    assert cfg.milestone("pact_signing").assignee == "leader"
    assert cfg.milestone("pact_signing").is_event
    rule = cfg.milestone("draft_report").rule
    assert isinstance(rule, RelativeRule)
    assert (rule.to, rule.days, rule.direction) == ("summary_conference", 5, "before")


# ---------------------------------------------------------------- one mistake at a time

# (what, text in the shipped file, replacement, key path, fragment of the English hint)
CASES = [
    # wrong types
    (
        "int as text",
        "due_soon_days = 7",
        'due_soon_days = "7"',
        "cycle.due_soon_days",
        "whole number",
    ),
    (
        "bool as text",
        'rule = { kind = "event", per_member = true,',
        'rule = { kind = "event", per_member = "yes",',
        "milestones[4].rule.per_member",
        "true or false",
    ),
    (
        "number instead of list",
        "lead_days = [14, 7, 3, 1, 0]",
        "lead_days = 14",
        "reminders.lead_days",
        "must be a list",
    ),
    (
        "number instead of text",
        'name = "Huyện Nậm Pồ"',
        "name = 5",
        "members[4].name",
        "quoted string",
    ),
    # unknown keys
    (
        "unknown member key",
        'id = "muong-nhe"\nname = "Huyện Mường Nhé"',
        'id = "muong-nhe"\ncolour = "red"\nname = "Huyện Mường Nhé"',
        "members[3].colour",
        "remove it or fix its spelling",
    ),
    (
        "misspelt rule key",
        'date = "30/6/Y" }',
        'date = "30/6/Y", day = 30 }',
        "milestones[0].rule.day",
        "remove it or fix its spelling",
    ),
    (
        "misspelt table",
        "[reminders]\n",
        "[reminder]\n",
        "reminder",
        "remove it or fix its spelling",
    ),
    # a required key left out
    ("missing key", 'province = "Điện Biên"\n', "", "cluster.province", "add it"),
    # references to ids that do not exist
    (
        "unknown leader",
        'leader = "tua-chua"',
        'leader = "tua-chau"',
        "cycle.leader",
        "tua-chua, dien-bien-dong, muong-cha, muong-nhe, nam-po",
    ),
    (
        "unknown next leader",
        'version = "2022.1"\n',
        'version = "2022.1"\nnext_leader = "ha-noi"\n',
        "cycle.next_leader",
        "'ha-noi'",
    ),
    (
        "operator of an unknown member",
        'role = "member:muong-nhe"',
        'role = "member:muong-nhee"',
        "operators[3].role",
        "'muong-nhee'",
    ),
    (
        "rule.to an unknown milestone",
        'to = "summary_conference", days = 5,',
        'to = "summary_conferense", days = 5,',
        "milestones[8].rule.to",
        "'summary_conferense'",
    ),
    (
        "duplicate member id",
        'id = "nam-po"\nname = "Huyện Nậm Pồ"',
        'id = "muong-cha"\nname = "Huyện Nậm Pồ"',
        "members[4].id",
        "'muong-cha'",
    ),
    # invalid e-mail addresses
    (
        "address without domain",
        'email = "noivu.muongcha@example.vn"',
        'email = "noivu.muongcha@"',
        "members[2].contacts[0].email",
        "e-mail address",
    ),
    (
        "address with a space",
        'email = "chutich.muongnhe@example.vn"',
        'email = "chutich muongnhe@example.vn"',
        "members[3].contacts[1].email",
        "e-mail address",
    ),
    (
        "province address",
        'email = "ban-tdkt@example.vn"',
        'email = "ban-tdkt"',
        "province_board.email",
        "e-mail address",
    ),
    (
        "operator address",
        'role = "leader"\nemail = "noivu.tuachua@example.vn"',
        'role = "leader"\nemail = "noivu.tuachua.example.vn"',
        "operators[0].email",
        "e-mail address",
    ),
    # CR/LF in a name or an address (TOML escapes, as a user would write them)
    (
        "CRLF in a member name",
        'name = "Huyện Mường Chà"',
        r'name = "Huyện Mường Chà\r\nBcc: spy@example.vn"',
        "members[2].name",
        "line break",
    ),
    (
        "LF in a contact name",
        'name = "Lường Văn Minh"',
        r'name = "Lường Văn\nMinh"',
        "members[2].contacts[0].name",
        "line break",
    ),
    (
        "real newline in a contact title",
        'title = "Chủ tịch UBND huyện Tủa Chùa"',
        'title = """Chủ tịch\nUBND huyện Tủa Chùa"""',
        "members[0].contacts[1].title",
        "line break",
    ),
    (
        "CRLF in a contact address",
        'email = "noivu.muongcha@example.vn"',
        r'email = "noivu.muongcha@example.vn\r\nBcc: spy@example.vn"',
        "members[2].contacts[0].email",
        "e-mail address",
    ),
    (
        "CR in an operator name",
        'name = "Phòng Nội vụ huyện Mường Chà"',
        r'name = "Phòng Nội vụ\rhuyện Mường Chà"',
        "operators[2].name",
        "line break",
    ),
    (
        "LF in a milestone name",
        'name = "Hội nghị tổng kết"',
        r'name = "Hội nghị\ntổng kết"',
        "milestones[6].name",
        "line break",
    ),
    (
        "LF in the sender name",
        'from_name = "Cụm thi đua huyện vùng cao"',
        r'from_name = "Cụm thi đua\nBcc: spy@example.vn"',
        "mail.from_name",
        "line break",
    ),
    (
        "CRLF in reply-to",
        'reply_to = "noivu.tuachua@example.vn"',
        r'reply_to = "noivu.tuachua@example.vn\r\nBcc: spy@example.vn"',
        "mail.reply_to",
        "e-mail address",
    ),
    (
        "LF in the province board name",
        'name = "Ban Thi đua - Khen thưởng tỉnh Điện Biên"\n',
        'name = "Ban Thi đua\\n Khen thưởng"\n',
        "province_board.name",
        "line break",
    ),
    # relative rules that point at themselves or go round in a loop
    (
        "relative rule to itself",
        'to = "summary_conference", days = 10,',
        'to = "score_summary", days = 10,',
        "milestones[7].rule.to",
        "score_summary → score_summary",
    ),
    # dates that are not dates
    (
        "impossible holiday date",
        "extra_days_off = []",
        'extra_days_off = ["2022-13-45"]',
        "holidays.extra_days_off[0]",
        "not a date",
    ),
    (
        "holiday date in Vietnamese order",
        "make_up_working_days = []",
        'make_up_working_days = ["31/12/2022"]',
        "holidays.make_up_working_days[0]",
        "not a date",
    ),
    ("31 February", 'date = "30/6/Y"', 'date = "31/2/Y"', "milestones[0].rule.date", "31/2/Y"),
    (
        "a month 13 in a window",
        'start = "1/10/Y"',
        'start = "1/13/Y"',
        "milestones[4].rule.within.start",
        "1/13/Y",
    ),
    (
        "day in words",
        'date = "25/12/Y" }\ndeliverable = "Gửi báo cáo tổng kết',
        'date = "Christmas" }\ndeliverable = "Gửi báo cáo tổng kết',
        "milestones[1].rule.date",
        "30/6/Y",
    ),
    (
        "set_date_from not a day",
        'set_date_from = "1/12/Y"\ndeliverable = "Tổ chức Hội nghị',
        'set_date_from = "1 December"\ndeliverable = "Tổ chức Hội nghị',
        "milestones[6].set_date_from",
        "30/6/Y",
    ),
    ("month 13", 'month = "1/Y+1"', 'month = "13/Y+1"', "milestones[5].rule.month", "13/Y+1"),
    (
        "quarter 5",
        'quarter = "Q1/Y+1" } }\nset_date_from = "1/12/Y"\ndeliverable = "Tổ chức Hội nghị',
        'quarter = "Q5/Y+1" } }\nset_date_from = "1/12/Y"\ndeliverable = "Tổ chức Hội nghị',
        "milestones[6].rule.within.quarter",
        "Q5/Y+1",
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "key", "hint"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_each_mistake_names_the_file_the_key_and_the_fix(
    tmp_path: Path, old: str, new: str, key: str, hint: str
) -> None:
    err = refused_text(tmp_path, edited(old, new))
    vi, en = at(err, key)
    assert hint in en
    assert vi != en  # the Vietnamese text is not just the English one


def test_a_loop_of_relative_rules_is_refused(tmp_path: Path) -> None:
    # The conference made relative to the draft report, which counts from the conference.
    text = edited(
        'article = "Điều 7.7"\nassignee = "leader"\n'
        'rule = { kind = "event", within = { kind = "quarter", quarter = "Q1/Y+1" } }',
        'article = "Điều 7.7"\nassignee = "leader"\n'
        'rule = { kind = "relative", to = "draft_report", days = 1, direction = "after" }',
    )
    err = refused_text(tmp_path, text)
    keys = [k for k, _, _ in err.problems]
    assert set(keys) & {"milestones[6].rule.to", "milestones[8].rule.to"}, keys
    assert re.search(
        r"(summary_conference → draft_report|draft_report → summary_conference)", err.en
    )
    assert "loop" in err.en and "vòng" in err.vi


# The draft report's rule in the shipped file (milestones[8]), to give it a policy.
DRAFT_RULE = (
    'rule = { kind = "relative", to = "summary_conference", days = 5, direction = "before" }'
)


def test_next_working_day_on_a_before_rule_is_refused_and_says_why(tmp_path: Path) -> None:
    # "ít nhất 5 ngày trước" (note under Điều 7.9) is a minimum: moving later breaks it.
    err = refused_text(tmp_path, edited(DRAFT_RULE, DRAFT_RULE + '\npolicy = "next_working_day"'))
    assert [k for k, _, _ in err.problems] == ["milestones[8].policy"]
    vi, en = at(err, "milestones[8].policy")
    assert "ít nhất 5 ngày" in vi and "ít hơn 5 ngày" in vi and "draft_report" in vi
    assert "at least 5 days before 'summary_conference'" in en
    assert "fewer than 5 days" in en and 'policy = "as_written"' in en


@pytest.mark.parametrize("policy", ["as_written", "previous_working_day"])
def test_a_before_rule_may_keep_its_date_or_move_earlier(tmp_path: Path, policy: str) -> None:
    path = tmp_path / "ok.toml"
    path.write_text(edited(DRAFT_RULE, DRAFT_RULE + f'\npolicy = "{policy}"'), encoding="utf-8")
    assert load_config(path).milestone("draft_report").policy == policy


def test_a_next_working_day_default_does_not_reach_before_rules(tmp_path: Path) -> None:
    # Only a before-rule's own `policy` is refused; the [holidays] default applies to the
    # other rules and the before-rules keep the previous working day (calendar tests).
    path = tmp_path / "ok.toml"
    path.write_text(
        edited('default_policy = "as_written"', 'default_policy = "next_working_day"'),
        encoding="utf-8",
    )
    cfg = load_config(path)
    assert cfg.holidays.default_policy == "next_working_day"
    assert cfg.milestone("draft_report").policy is None


def test_not_before_names_another_milestone(tmp_path: Path) -> None:
    assert load_config(SHIPPED).milestone("score_summary").not_before == "score_matching"
    err = refused_text(
        tmp_path, edited('not_before = "score_matching"', 'not_before = "score_matchin"')
    )
    vi, en = at(err, "milestones[7].not_before")
    assert "'score_matchin' is not the id of another milestone" in en and "score_matching" in en
    assert "không phải mã của một mốc khác" in vi
    err = refused_text(
        tmp_path, edited('not_before = "score_matching"', 'not_before = "score_summary"')
    )
    at(err, "milestones[7].not_before")


def test_several_mistakes_are_all_reported_at_once(tmp_path: Path) -> None:
    text = edited('leader = "tua-chua"', 'leader = "tua-chau"')
    text = text.replace('email = "noivu.nampo@example.vn"', 'email = "noivu.nampo"')
    text = text.replace("due_soon_days = 7", 'due_soon_days = "x"')
    err = refused_text(tmp_path, text)
    keys = {k for k, _, _ in err.problems}
    # Type errors are reported first (pydantic stops before cross-checks on a broken model).
    assert {"members[4].contacts[0].email", "cycle.due_soon_days"} <= keys


def test_vietnamese_is_the_message_and_english_the_alternative(tmp_path: Path) -> None:
    err = refused_text(tmp_path, edited("extra_days_off = []", 'extra_days_off = ["2022-13-45"]'))
    assert err.message() == err.vi and err.message("en") == err.en
    assert "Tệp cấu hình không hợp lệ" in err.vi
    assert "không phải ngày — viết dạng 2022-12-25" in err.vi


# ---------------------------------------------------------------- the file itself


def test_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    err = refused_text(tmp_path, edited("due_soon_days = 7", "due_soon_days = "))
    vi, en = at(err, "(TOML)")
    line = 1 + SHIPPED.read_text(encoding="utf-8").split("due_soon_days = 7")[0].count("\n")
    assert "TOML syntax error" in en and f"line {line}" in en
    assert "sai cú pháp TOML" in vi


def test_an_impossible_native_toml_date_is_a_syntax_error(tmp_path: Path) -> None:
    err = refused_text(tmp_path, edited("extra_days_off = []", "extra_days_off = [2022-13-45]"))
    at(err, "(TOML)")


def test_missing_file(tmp_path: Path) -> None:
    err = refused(tmp_path / "nope.toml")
    vi, en = at(err, "(file)")
    assert "file not found — check the path" in en
    assert "không tìm thấy tệp" in vi


def test_file_not_saved_as_utf8(tmp_path: Path) -> None:
    path = tmp_path / "cp1258.toml"
    path.write_bytes(TEXT.encode("utf-8").replace("Huyện Mường Chà".encode(), b"Huy\xeai\xf2n"))
    _, en = at(refused(path), "(file)")
    assert "UTF-8" in en


# ---------------------------------------------------------------- via the CLI


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for var in ("TRACKER_DATABASE_URL", "TRACKER_OPERATOR"):
        monkeypatch.delenv(var, raising=False)
    return CliRunner()


def _error_lines(stderr: str) -> str:
    """The error: one line, or for a config file a header line, one line per problem
    (issue 8 §5) and the fix."""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 or (
        len(lines) >= 3
        and lines[-1] in ("Sửa tệp rồi chạy lại lệnh.", "Fix the file and run the command again.")
    ), stderr
    assert "Traceback" not in stderr
    return "\n".join(lines)


def test_cli_init_with_a_bad_config_exits_2_with_the_problem_and_no_database(
    tmp_path: Path, runner: CliRunner
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(edited('email = "noivu.muongcha@example.vn"', 'email = "noivu"'), "utf-8")
    db = tmp_path / "t.db"
    result = runner.invoke(app, ["--db", f"sqlite:///{db}", "--config", str(bad), "init"])
    assert result.exit_code == 2
    line = _error_lines(result.stderr)
    assert line.startswith("Lỗi: Tệp cấu hình không hợp lệ")
    assert str(bad) in line and "thành viên thứ 3 (muong-cha), liên hệ thứ 1, khóa email" in line
    assert result.stdout == ""
    assert not db.exists()


def test_cli_bad_config_leaves_an_existing_cycle_untouched(
    tmp_path: Path, runner: CliRunner
) -> None:
    db = tmp_path / "t.db"
    url = f"sqlite:///{db}"
    good = tmp_path / "good.toml"
    good.write_text(TEXT, "utf-8")
    assert runner.invoke(app, ["--db", url, "--config", str(good), "init"]).exit_code == 0

    def snapshot() -> list[tuple[object, ...]]:
        with sqlite3.connect(db) as conn:
            return [
                *conn.execute("SELECT year, config_hash, loaded_at FROM cycle").fetchall(),
                *conn.execute("SELECT count(*) FROM audit").fetchall(),
                *conn.execute("SELECT count(*) FROM obligation").fetchall(),
            ]

    before = snapshot()
    bad = tmp_path / "bad.toml"
    # A new member (that would add obligations) but a leader that does not exist.
    bad.write_text(edited('leader = "tua-chua"', 'leader = "tua-chau"'), "utf-8")
    result = runner.invoke(app, ["--db", url, "--lang", "en", "--config", str(bad), "init"])
    assert result.exit_code == 2
    line = _error_lines(result.stderr)
    assert line.startswith("Error: Invalid config file")
    assert "section [cycle], key leader" in line and "Fix the file" in line
    assert snapshot() == before


def test_cli_a_folder_with_one_bad_file_loads_none_of_them(
    tmp_path: Path, runner: CliRunner
) -> None:
    folder = tmp_path / "config"
    folder.mkdir()
    (folder / "a-good.toml").write_text(TEXT, "utf-8")
    (folder / "b-bad.toml").write_text(edited("due_soon_days = 7", "due_soon_days = "), "utf-8")
    db = tmp_path / "t.db"
    result = runner.invoke(app, ["--db", f"sqlite:///{db}", "--config", str(folder), "init"])
    assert result.exit_code == 2
    assert "b-bad.toml" in _error_lines(result.stderr)
    assert not db.exists()


def test_cli_missing_config_file(tmp_path: Path, runner: CliRunner) -> None:
    db = tmp_path / "t.db"
    missing = tmp_path / "nope.toml"
    result = runner.invoke(app, ["--db", f"sqlite:///{db}", "--config", str(missing), "init"])
    assert result.exit_code == 2
    assert "không tìm thấy tệp" in _error_lines(result.stderr)
    assert not db.exists()


def test_addresses_are_checked_and_normalised_like_pydantic_emailstr(tmp_path: Path) -> None:
    path = tmp_path / "upper.toml"
    path.write_text(
        edited('email = "noivu.muongcha@example.vn"', 'email = "NoiVu.MuongCha@EXAMPLE.VN"'),
        encoding="utf-8",
    )
    cfg = load_config(path)
    assert cfg.member("muong-cha").contacts[0].email == "NoiVu.MuongCha@example.vn"


def test_review_gaps_are_refused_with_their_key(tmp_path: Path) -> None:
    # A duplicate operator id (resolve_actor would silently take the first).
    twice = edited(
        'id = "nam-po"\nname = "Phòng Nội vụ huyện Nậm Pồ"',
        'id = "muong-nhe"\nname = "Phòng Nội vụ huyện Nậm Pồ"',
    )
    at(refused_text(tmp_path, twice), "operators[4].id")
    # A window that ends before it starts.
    backwards = edited('start = "1/10/Y", end = "30/11/Y"', 'start = "30/11/Y", end = "1/10/Y"')
    assert (
        "before it starts" in at(refused_text(tmp_path, backwards), "milestones[4].rule.within")[1]
    )
    # A line break in a deliverable would end up in an e-mail.
    newline = edited(
        'deliverable = "Gửi báo cáo sơ kết 6 tháng về Trưởng cụm"',
        'deliverable = "Gửi báo cáo\\nBcc: x@example.vn"',
    )
    at(refused_text(tmp_path, newline), "milestones[0].deliverable")


def test_mail_language_is_vietnamese_unless_set() -> None:
    assert load_config(SHIPPED).mail.lang == "vi"
    cfg = parse_config(
        tomllib.loads(edited('digest = "daily"', 'digest = "daily"\nlang = "en"')), "x"
    )
    assert cfg.mail.lang == "en"


def test_cli_init_refuses_a_rule_that_cannot_be_dated_in_that_year(
    tmp_path: Path, runner: CliRunner
) -> None:
    # A 2024 file (leap year: it loads) started for 2022 from the same file: `init` refuses
    # the year the rule cannot be dated in.
    leap = tmp_path / "leap.toml"
    text = edited('date = "30/6/Y"', 'date = "29/2/Y"').replace("year = 2022", "year = 2024", 1)
    leap.write_text(text, "utf-8")
    db = tmp_path / "t.db"
    ok = runner.invoke(
        app, ["--db", f"sqlite:///{db}", "--config", str(leap), "init", "--cycle", "2024"]
    )
    assert ok.exit_code == 0, ok.output  # 2024 is a leap year
    result = runner.invoke(
        app, ["--db", f"sqlite:///{db}", "--config", str(leap), "init", "--cycle", "2022"]
    )
    assert result.exit_code == 2
    assert "29/2" in _error_lines(result.stderr)
    status = runner.invoke(app, ["--db", f"sqlite:///{db}", "status", "--cycle", "2022"])
    assert status.exit_code == 2  # the 2022 cycle was not written
    assert "2022" in _error_lines(status.stderr)


LEAP_DAY_CASES = [
    ("fixed date", 'date = "30/6/Y"', 'date = "29/2/Y"', "milestones[0].rule.date"),
    (
        "event window start",
        'start = "1/10/Y", end = "30/11/Y"',
        'start = "29/2/Y", end = "30/11/Y"',
        "milestones[4].rule.within.start",
    ),
    (
        "leader-dated window end in Y+1",
        'end = "31/3/Y+1"',
        'end = "29/2/Y+1"',
        "milestones[13].rule.within.end",
    ),
    (
        "set_date_from",
        'set_date_from = "1/12/Y"\ndeliverable = "Tổ chức Hội nghị',
        'set_date_from = "29/2/Y"\ndeliverable = "Tổ chức Hội nghị',
        "milestones[6].set_date_from",
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "key"), [c[1:] for c in LEAP_DAY_CASES], ids=[c[0] for c in LEAP_DAY_CASES]
)
def test_a_day_the_files_cycle_year_does_not_have_is_refused_at_its_key(
    tmp_path: Path, old: str, new: str, key: str
) -> None:
    # The file is the 2022 cycle's (`[cycle] year = 2022`); 2022 and 2023 are common years.
    err = refused_text(tmp_path, edited(old, new))
    vi, en = at(err, key)
    year = "2023" if "Y+1" in new else "2022"
    suffix = "+1" if "Y+1" in new else ""
    assert f"29/2/Y{suffix}" in vi and f"29/2/Y{suffix}" in en
    assert f"không có trong năm {year}" in vi and f"does not exist in {year}" in en
    assert f'"28/2/Y{suffix}"' in vi and f'"1/3/Y{suffix}"' in en  # what to write instead
    assert [k for k, _, _ in err.problems] == [key]


def test_every_impossible_day_is_reported_at_once(tmp_path: Path) -> None:
    text = TEXT
    for _, old, new, _ in LEAP_DAY_CASES:
        assert text.count(old) == 1
        text = text.replace(old, new)
    err = refused_text(tmp_path, text)
    assert sorted(k for k, _, _ in err.problems) == sorted(c[3] for c in LEAP_DAY_CASES)


def test_the_same_days_load_in_a_leap_cycle_year(tmp_path: Path) -> None:
    # 2024 has 29/2, and so has 2023's Y+1: the days are fine in those files.
    text = edited('date = "30/6/Y"', 'date = "29/2/Y"').replace("year = 2022", "year = 2024", 1)
    assert load_config(_write(tmp_path, "a.toml", text)).cycle.year == 2024
    text = edited('end = "31/3/Y+1"', 'end = "29/2/Y+1"').replace("year = 2022", "year = 2023", 1)
    assert load_config(_write(tmp_path, "b.toml", text)).cycle.year == 2023


def test_an_impossible_holiday_is_refused_at_its_key(tmp_path: Path) -> None:
    # Holidays are real dates, not day specs: a string one that does not exist is refused too.
    err = refused_text(tmp_path, edited("extra_days_off = []", 'extra_days_off = ["2022-02-29"]'))
    at(err, "holidays.extra_days_off[0]")


def test_a_snapshot_in_the_database_is_not_refused_again() -> None:
    # A cycle's stored snapshot (validated with TRUSTED) loads even with a day its year
    # lacks: the planner reports that one item and plans the rest (test_plan_isolation).
    from tracker.config.schema import TRUSTED, ClusterConfig, impossible_days

    text = edited('date = "30/6/Y"', 'date = "29/2/Y"').replace("year = 2022", "year = 2024", 1)
    cfg = parse_config(tomllib.loads(text), "x")
    snapshot = cfg.model_copy(update={"cycle": cfg.cycle.model_copy(update={"year": 2022})})
    again = ClusterConfig.model_validate_json(snapshot.model_dump_json(), context=TRUSTED)
    assert again.cycle.year == 2022
    [problem] = impossible_days(again, 2022)
    assert problem.loc == ("milestones", 0, "rule", "date")
    assert impossible_days(again, 2024) == []


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_cli_init_with_a_bad_cycle_creates_no_database(tmp_path: Path, runner: CliRunner) -> None:
    db = tmp_path / "t.db"
    result = runner.invoke(app, ["--db", f"sqlite:///{db}", "init", "--cycle", "1999"])
    assert result.exit_code == 2
    _error_lines(result.stderr)
    assert not db.exists()


def test_a_database_from_a_newer_tracker_gets_one_clear_line(
    tmp_path: Path, runner: CliRunner
) -> None:
    db = tmp_path / "t.db"
    url = f"sqlite:///{db}"
    assert runner.invoke(app, ["--db", url, "init", "--cycle", "2022"]).exit_code == 0
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099'")
    # Every command that opens the store says so, the reminder commands and the daemon
    # included (they said "older schema, run init", which init cannot do).
    for args in (
        ["status", "--cycle", "2022"],
        ["init", "--cycle", "2022"],
        ["outbox"],
        ["remind", "--dry-run"],
        ["run"],
        ["history", "--cycle", "2022"],
    ):
        result = runner.invoke(app, ["--db", url, *args])
        assert result.exit_code == 2, (args, result.output)
        assert "phiên bản tracker mới hơn" in _error_lines(result.stderr), args
