"""Config errors a secretariat can act on (issue 8 §5): one line per problem, naming the
file, the line, the item in words with 1-based positions and its id ("thành viên thứ 3
(muong-cha), liên hệ thứ 1, khóa email"), the problem in Vietnamese (English with --lang
en) and the fix. Pydantic's own English never reaches the Vietnamese text: each error type
it reports is said here in both languages.
"""

from __future__ import annotations

import difflib
import types
import typing
import unicodedata
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from tracker.config.schema import ClusterConfig, ConfigValueError, CrossReferenceError
from tracker.config.toml_lines import Loc, key_lines, line_of
from tracker.errors import BadInputError, ConfigError

_SHOWN = 40  # characters of a value the user wrote, echoed back (issue 8 §6: cut long input)

# A list of tables → how one of its items is named ("thành viên thứ 3", "member 3").
_ITEMS: dict[str, tuple[str, str]] = {
    "members": ("thành viên thứ {n}", "member {n}"),
    "contacts": ("liên hệ thứ {n}", "contact {n}"),
    "operators": ("người dùng thứ {n}", "operator {n}"),
    "milestones": ("mốc thứ {n}", "milestone {n}"),
}

# Unknown keys that are really an attempt at something a command does.
_COMMANDS: dict[tuple[str, str], tuple[str, str]] = {}
for _key in ("members", "member", "member_ids", "assignees", "recipients"):
    _COMMANDS[("Milestone", _key)] = (
        'một mốc áp dụng cho mọi đơn vị (assignee = "members") hoặc cho Trưởng cụm; để yêu cầu'
        ' riêng một số đơn vị nộp báo cáo, dùng `tracker request "…" --due NGÀY --member MÃ`'
        " (Điều 7.3)",
        'a milestone applies to every member (assignee = "members") or to the leader; to ask'
        ' only some members for a report, use `tracker request "…" --due DATE --member ID`'
        " (Article 7.3)",
    )
for _key in ("due", "deadline", "event_date", "day", "held_on"):
    _COMMANDS[("Milestone", _key)] = (
        "ngày của hội nghị, đợt kiểm tra hay báo cáo gửi tỉnh do Trưởng cụm ấn định bằng lệnh"
        ' `tracker schedule MỐC NGÀY`; hạn cố định ghi trong rule = { kind = "fixed",'
        ' date = "30/6/Y" }',
        "the day of a conference, a visit or a report to the province is set by the leader"
        ' with `tracker schedule MILESTONE DATE`; a fixed deadline goes in rule = { kind = "fixed",'
        ' date = "30/6/Y" }',
    )
for _model in ("Milestone", "Member"):
    for _key in ("status", "done", "completed", "submitted", "waived"):
        _COMMANDS[(_model, _key)] = (
            "tình trạng không ghi trong tệp cấu hình: dùng `tracker submit`, `tracker complete`"
            " hoặc `tracker waive`",
            "progress is not written in the config: use `tracker submit`, `tracker complete`"
            " or `tracker waive`",
        )
_COMMANDS[("Cycle", "elected")] = _COMMANDS[("Cycle", "new_leader")] = (
    "kết quả bầu Trưởng cụm năm sau ghi bằng `tracker elect` (Điều 7.9); trong tệp là next_leader",
    "next year's leader is recorded with `tracker elect` (Article 7.9); in the file it is"
    " next_leader",
)


@dataclass(frozen=True)
class ConfigIssue:
    """One problem of a config file, ready to print on its own line."""

    loc: Loc  # the key path as pydantic gives it, discriminator tags removed (0-based)
    line: int | None
    where_vi: str
    where_en: str
    vi: str  # the problem, then " — " and the fix
    en: str

    @property
    def key(self) -> str:
        """The technical key path, `members[2].contacts[0].email` (0-based, for tests
        and logs)."""
        out = ""
        for part in self.loc:
            out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + part
        return out or "(top level)"


class InvalidConfigError(ConfigError):
    """A config file that failed validation: one line per problem, then the fix. Exit 2
    (bad input), like every ConfigError."""

    def __init__(self, path: str, issues: list[ConfigIssue]) -> None:
        self.path = path
        self.issues = issues
        self.problems = [(i.key, i.vi, i.en) for i in issues]
        n = len(issues)
        vi = [f"Tệp cấu hình không hợp lệ ({n} lỗi):"]
        en = [f"Invalid config file ({n} problem{'s' if n != 1 else ''}):"]
        for i in issues:
            at_vi = f"{path}, dòng {i.line}" if i.line else path
            at_en = f"{path}, line {i.line}" if i.line else path
            vi.append(f"  {at_vi}: " + (f"{i.where_vi}: " if i.where_vi else "") + i.vi)
            en.append(f"  {at_en}: " + (f"{i.where_en}: " if i.where_en else "") + i.en)
        vi.append("Sửa tệp rồi chạy lại lệnh.")
        en.append("Fix the file and run the command again.")
        BadInputError.__init__(self, "\n".join(vi), "\n".join(en))

    def __str__(self) -> str:
        # For developers and logs: both languages (the CLI prints one, via message()).
        return f"{self.vi}\n{self.en}"


def file_error(
    path: str, vi: str, en: str, *, syntax: bool = False, line: int | None = None
) -> InvalidConfigError:
    """A problem with the file as a whole (missing, unreadable, not UTF-8: key `(file)`)
    or its TOML syntax (key `(TOML)`)."""
    key = "(TOML)" if syntax else "(file)"
    return InvalidConfigError(path, [ConfigIssue((key,), line, "", "", vi, en)])


def issues_of(err: ValidationError, data: dict[str, Any], text: str | None) -> list[ConfigIssue]:
    lines = key_lines(text) if text is not None else {}
    out: list[ConfigIssue] = []
    for e in err.errors(include_url=False):
        raw: Loc = tuple(e["loc"])
        cause = e.get("ctx", {}).get("error")
        if isinstance(cause, CrossReferenceError):
            # Cross-checks run on the whole model; each problem carries its own key path.
            for p in cause.problems:
                out.append(_issue(_clean(raw + p.loc), data, lines, p.vi, p.en))
            continue
        loc = _clean(raw)
        vi, en = _explain(e, raw, data)
        out.append(_issue(loc, data, lines, vi, en))
    return out


def _issue(loc: Loc, data: dict[str, Any], lines: dict[Loc, int], vi: str, en: str) -> ConfigIssue:
    where_vi, where_en = where(loc, data)
    return ConfigIssue(loc, line_of(lines, loc), where_vi, where_en, vi, en)


def _clean(loc: Loc) -> Loc:
    """The key path the user wrote: without pydantic's union tags (`rule.fixed.date` is
    `rule.date`) and validator wrappers (`function-after[…]`)."""
    out: list[str | int] = []
    prev: str | int | None = None
    for part in loc:
        skip = isinstance(part, str) and (
            part.startswith("function-") or (prev in ("rule", "within") and _is_tag(part))
        )
        prev = part
        if not skip:
            out.append(part)
    return tuple(out)


def _is_tag(part: str) -> bool:
    return part in {"fixed", "window", "month", "quarter", "event", "dated_by_leader", "relative"}


def where(loc: Loc, data: Any) -> tuple[str, str]:
    """`("members", 2, "contacts", 0, "email")` → ("thành viên thứ 3 (muong-cha), liên hệ
    thứ 1, khóa email", "member 3 (muong-cha), contact 1, key email")."""
    vi: list[str] = []
    en: list[str] = []
    keys: list[str] = []
    node = data
    parts = list(loc)
    k = 0
    while k < len(parts):
        part = parts[k]
        nxt = parts[k + 1] if k + 1 < len(parts) else None
        child = node.get(part) if isinstance(node, dict) and isinstance(part, str) else None
        if isinstance(part, str) and isinstance(nxt, int) and part in _ITEMS:
            item = child[nxt] if isinstance(child, list) and 0 <= nxt < len(child) else None
            ident = item.get("id") if isinstance(item, dict) else None
            tail = f" ({_short(ident)})" if isinstance(ident, str) and ident else ""
            if keys:  # a list under a table: say the table first
                vi.append("khóa " + ".".join(keys))
                en.append("key " + ".".join(keys))
                keys = []
            vi.append(_ITEMS[part][0].format(n=nxt + 1) + tail)
            en.append(_ITEMS[part][1].format(n=nxt + 1) + tail)
            node, k = item, k + 2
            continue
        if isinstance(part, int):
            keys[-1:] = [f"{keys[-1] if keys else ''}[{part + 1}]"]  # a value list: 1-based
            node = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
        else:
            keys.append(part)
            node = child
        k += 1
    if keys:
        if not vi and len(keys) == 1 and len(loc) == 1:
            vi.append(f"mục [{keys[0]}]")
            en.append(f"section [{keys[0]}]")
        elif not vi:
            vi.append(f"mục [{keys[0]}], khóa " + ".".join(keys[1:]))
            en.append(f"section [{keys[0]}], key " + ".".join(keys[1:]))
        else:
            vi.append("khóa " + ".".join(keys))
            en.append("key " + ".".join(keys))
    return (", ".join(vi) or "đầu tệp", ", ".join(en) or "top of the file")


def _short(value: object) -> str:
    text = value if isinstance(value, str) else repr(value)
    text = " ".join(text.split())
    # An echoed value never carries a control character to the terminal (BEL, ESC …).
    text = "".join(
        f"\\u{ord(c):04x}" if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text
    )
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


def _shown(value: object) -> str:
    if isinstance(value, dict | list):
        return ""
    if isinstance(value, str):
        return f' "{_short(value)}"'
    if isinstance(value, bool):
        return " " + ("true" if value else "false")
    return f" {_short(value)}"


def _explain(e: Any, raw: Loc, data: dict[str, Any]) -> tuple[str, str]:
    """(vi, en): the problem, then the fix, for one pydantic error."""
    kind: str = e["type"]
    ctx: dict[str, Any] = e.get("ctx") or {}
    got = _shown(e.get("input"))
    cause = ctx.get("error")
    if isinstance(cause, ConfigValueError):
        return cause.vi, cause.en
    if kind == "extra_forbidden":
        return _unknown_key(raw, data)
    if kind == "missing":
        return "thiếu khóa bắt buộc — hãy thêm vào", "required key is missing — add it"
    if kind == "value_error" and "email" in str(e.get("msg", "")):
        return (
            f"giá trị{got} không phải địa chỉ e-mail hợp lệ — viết một địa chỉ dạng"
            " ten@example.vn, trên một dòng",
            f"{got.strip() or 'the value'} is not a valid e-mail address"
            f" ({ctx.get('reason', '')}) — write one address like name@example.vn, on one line",
        )
    if kind == "literal_error":
        allowed = _allowed(str(ctx.get("expected", "")))
        return (
            f"giá trị{got} không nằm trong danh sách cho phép — dùng một trong: {allowed}",
            f"{got.strip() or 'the value'} is not one of the allowed values — use one of: {allowed}",
        )
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        allowed = _allowed(str(ctx.get("expected_tags", "")))
        return (
            f"loại quy tắc kind{got} không có — dùng một trong: {allowed}",
            f"there is no rule kind{got} — use one of: {allowed}",
        )
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        return _bound(kind, ctx, got)
    if kind == "control_char":
        char = ctx.get("char", "")
        return (
            f"có ký tự điều khiển {char} (không nhìn thấy được) — xóa ký tự đó, gõ lại đoạn chữ",
            f"contains the control character {char} (invisible) — delete it, retype the text",
        )
    if kind in _TYPES:
        vi, en = _TYPES[kind]
        return f"giá trị{got} {vi}", f"the value{got} {en}"
    # Anything else pydantic may report: said generally in Vietnamese; its own English
    # text is kept for the English line, where a developer may need it.
    return (
        f"giá trị{got} không hợp lệ — xem docs/config.md để biết khóa này nhận gì",
        f"invalid value{got} ({e.get('msg', '')}) — see docs/config.md for what this key takes",
    )


_DATE = (
    "không phải ngày — viết dạng 2022-12-25",
    "is not a date — write it as 2022-12-25",
)
_TYPES: dict[str, tuple[str, str]] = {
    "string_type": (
        'phải là chuỗi ký tự — viết trong dấu ngoặc kép, ví dụ "Huyện Nậm Pồ"',
        'must be a quoted string — put it in double quotes, e.g. "Huyện Nậm Pồ"',
    ),
    "string_too_short": (
        "đang để trống — hãy ghi nội dung vào giữa hai dấu ngoặc kép",
        "is empty — write something between the quotes",
    ),
    "string_pattern_mismatch": (
        "không phải mã hợp lệ — mã chỉ gồm chữ thường không dấu, số, '-' và '_', ví dụ"
        ' "muong-cha"',
        "is not a valid id — ids use lower-case ASCII letters, digits, '-' and '_', e.g."
        ' "muong-cha"',
    ),
    "int_type": (
        "phải là số nguyên, viết không có dấu ngoặc kép, ví dụ 7",
        "must be a whole number, without quotes, e.g. 7",
    ),
    "int_parsing": ("phải là số nguyên, ví dụ 7", "must be a whole number, e.g. 7"),
    "int_from_float": (
        "phải là số nguyên, không có phần thập phân",
        "must be a whole number, no decimals",
    ),
    "float_type": (
        "phải là một số, viết không có dấu ngoặc kép, ví dụ 30.0",
        "must be a number, without quotes, e.g. 30.0",
    ),
    "float_parsing": ("phải là một số, ví dụ 30.0", "must be a number, e.g. 30.0"),
    "bool_type": (
        "phải là true hoặc false (không có dấu ngoặc kép)",
        "must be true or false (no quotes)",
    ),
    "list_type": (
        "phải là một danh sách trong ngoặc vuông, ví dụ [7, 1]",
        "must be a list in square brackets, e.g. [7, 1]",
    ),
    "too_short": (
        "là danh sách trống — cần ít nhất một mục",
        "is an empty list — at least one item is needed",
    ),
    "model_type": (
        'phải là một mục (bảng) có các khóa, ví dụ [cycle] hoặc { kind = "fixed", date = "30/6/Y" }',
        'must be a table of keys, e.g. [cycle] or { kind = "fixed", date = "30/6/Y" }',
    ),
    "dict_type": ("phải là một mục (bảng) có các khóa", "must be a table of keys"),
    "model_attributes_type": ("phải là một mục (bảng) có các khóa", "must be a table of keys"),
    "date_type": _DATE,
    "date_parsing": _DATE,
    "date_from_datetime_parsing": _DATE,
    "date_from_datetime_inexact": (
        "phải là một ngày, không kèm giờ — viết dạng 2022-12-25",
        "must be a day without a time — write it as 2022-12-25",
    ),
    "line_break": (
        "có ký tự xuống dòng (CR/LF) — viết trên một dòng",
        "contains a line break (CR/LF) — keep it on one line",
    ),
    "value_error": ("không hợp lệ — xem docs/config.md", "is not valid — see docs/config.md"),
}


def _bound(kind: str, ctx: dict[str, Any], got: str) -> tuple[str, str]:
    for key, vi_word, en_word in (
        ("ge", "nhỏ nhất là", "at least"),
        ("gt", "phải lớn hơn", "more than"),
        ("le", "lớn nhất là", "at most"),
        ("lt", "phải nhỏ hơn", "less than"),
    ):
        if key in ctx:
            limit = ctx[key]
            return (
                f"giá trị{got} ngoài giới hạn — {vi_word} {limit}",
                f"the value{got} is out of range — it must be {en_word} {limit}",
            )
    return f"giá trị{got} ngoài giới hạn", f"the value{got} is out of range"


def _allowed(expected: str) -> str:
    """pydantic's "'a', 'b' or 'c'" → `a, b, c`."""
    text = expected.replace(" or ", ", ")
    return ", ".join(p.strip().strip("'\"") for p in text.split(",") if p.strip())


def _unknown_key(raw: Loc, data: dict[str, Any]) -> tuple[str, str]:
    key = str(raw[-1])
    model = model_at(raw[:-1])
    valid = sorted(model.model_fields) if model is not None else []
    vi = "khóa không được hỗ trợ"
    en = "unknown key"
    near = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
    command = _COMMANDS.get((model.__name__, key)) if model is not None else None
    if near:
        vi += f" — có phải ý bạn là `{near[0]}`? Nếu không, xóa đi hoặc sửa chính tả"
        en += f" — did you mean `{near[0]}`? Otherwise remove it or fix its spelling"
    else:
        vi += " — xóa đi hoặc sửa chính tả"
        en += " — remove it or fix its spelling"
        if valid:
            vi += f" (các khóa dùng được: {', '.join(valid)})"
            en += f" (keys allowed here: {', '.join(valid)})"
    if command is not None:
        vi += f"; {command[0]}"
        en += f"; {command[1]}"
    return vi, en


def model_at(raw: Loc) -> type[BaseModel] | None:
    """The model whose keys live at `raw` (pydantic's loc, union tags included)."""
    tp: Any = ClusterConfig
    for part in raw:
        options = _models(tp)
        if isinstance(part, int):
            tp = _item(tp)
            continue
        if isinstance(part, str) and part.startswith("function-"):
            continue
        tagged = [m for m in options if _tag_of(m) == part]
        if tagged:
            tp = tagged[0]
            continue
        owner = next((m for m in options if part in m.model_fields), None)
        if owner is None:
            return None
        tp = owner.model_fields[part].annotation
    found = _models(tp)
    return found[0] if len(found) == 1 else None


def _models(tp: Any) -> list[type[BaseModel]]:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [tp]
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _models(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        return [m for a in typing.get_args(tp) for m in _models(a)]
    return []


def _item(tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _item(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        for a in typing.get_args(tp):
            if typing.get_origin(a) is list:
                return typing.get_args(a)[0]
    if origin is list:
        return typing.get_args(tp)[0]
    return None


def _tag_of(model: type[BaseModel]) -> str | None:
    field = model.model_fields.get("kind")
    if field is None:
        return None
    args = typing.get_args(field.annotation)
    return str(args[0]) if args else None


__all__ = ["ConfigIssue", "InvalidConfigError", "file_error", "issues_of", "model_at", "where"]
