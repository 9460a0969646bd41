"""Read and validate a cluster config file; every error names the file, key path and fix."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tracker.config.schema import ClusterConfig, CrossReferenceError
from tracker.errors import ConfigError
from tracker.paths import config_dir

_RULE_TAGS = {"fixed", "window", "month", "quarter", "event", "relative"}

# pydantic error type -> (vi, en) hint on what to do.
_HINTS: dict[str, tuple[str, str]] = {
    "extra_forbidden": (
        "khóa không được hỗ trợ — xóa đi hoặc sửa chính tả",
        "unknown key — remove it or fix its spelling",
    ),
    "missing": ("thiếu khóa bắt buộc — hãy thêm vào", "required key is missing — add it"),
    "date_from_datetime_parsing": (
        "không phải ngày — viết dạng 2022-12-25",
        "not a date — write it as 2022-12-25",
    ),
    "date_parsing": (
        "không phải ngày — viết dạng 2022-12-25",
        "not a date — write it as 2022-12-25",
    ),
    "date_type": ("không phải ngày — viết dạng 2022-12-25", "not a date — write it as 2022-12-25"),
    "value_error": ("giá trị không hợp lệ", "invalid value"),
    "string_pattern_mismatch": (
        "mã chỉ gồm chữ thường không dấu, số, '-' và '_'",
        "ids use lower-case ASCII letters, digits, '-' and '_'",
    ),
    "literal_error": (
        "giá trị không nằm trong danh sách cho phép",
        "value is not one of the allowed ones",
    ),
    "union_tag_invalid": ("loại quy tắc không hợp lệ", "unknown rule kind"),
    "int_parsing": ("phải là số nguyên", "must be a whole number"),
    "int_type": ("phải là số nguyên", "must be a whole number"),
    "string_type": ("phải là chuỗi ký tự trong dấu ngoặc kép", "must be a quoted string"),
    "list_type": ("phải là một danh sách [...]", "must be a list [...]"),
    "too_short": ("danh sách không được để trống", "must not be empty"),
    "bool_type": ("phải là true hoặc false", "must be true or false"),
    "line_break": (
        "bỏ ký tự xuống dòng (CR/LF), viết trên một dòng",
        "remove the line break (CR/LF), keep it on one line",
    ),
}
_EMAIL_HINT = (
    "không phải địa chỉ e-mail hợp lệ — viết một địa chỉ dạng ten@example.vn, trên một dòng",
    "not a valid e-mail address — write one address like name@example.vn, on one line",
)


def _key_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    prev: int | str | None = None
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in _RULE_TAGS and prev in ("rule", "within"):
            pass  # pydantic's discriminator tag: not a key the user wrote
        elif part.startswith("function-"):
            pass
        else:
            out += ("." if out else "") + part
        prev = part
    return out or "(top level)"


def _problems(err: ValidationError) -> list[tuple[str, str, str]]:
    problems = []
    for e in err.errors(include_url=False):
        cause = e.get("ctx", {}).get("error")
        if isinstance(cause, CrossReferenceError):
            # Cross-checks run on the whole model; each problem carries its own key path.
            for p in cause.problems:
                problems.append((_key_path((*e["loc"], *p.loc)), p.vi, p.en))
            continue
        key = _key_path(tuple(e["loc"]))
        hint_vi, hint_en = _HINTS.get(e["type"], ("giá trị không hợp lệ", "invalid value"))
        detail = str(e["msg"]).removeprefix("Value error, ")
        if e["type"] == "value_error" and "email address" in detail:
            hint_vi, hint_en = _EMAIL_HINT
        if e["type"] in ("missing", "extra_forbidden", "line_break"):
            problems.append((key, hint_vi, hint_en))
        else:
            problems.append((key, f"{hint_vi} ({detail})", f"{hint_en} ({detail})"))
    return problems


def parse_config(data: dict[str, Any], source: str) -> ClusterConfig:
    try:
        return ClusterConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError(source, _problems(err)) from None


def load_config(path: str | Path) -> ClusterConfig:
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            str(p),
            [
                (
                    "(file)",
                    "không tìm thấy tệp — kiểm tra đường dẫn",
                    "file not found — check the path",
                )
            ],
        ) from None
    except OSError as exc:
        raise ConfigError(
            str(p),
            [("(file)", f"không đọc được ({exc.strerror})", f"cannot read ({exc.strerror})")],
        ) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(
            str(p), [("(file)", "tệp phải lưu mã UTF-8", "the file must be saved as UTF-8")]
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            str(p), [("(TOML)", f"sai cú pháp TOML: {exc}", f"TOML syntax error: {exc}")]
        ) from None
    return parse_config(data, str(p))


def shipped_configs() -> list[Path]:
    """The cluster configs shipped with the tracker (checkout or installed wheel)."""
    return sorted(config_dir().glob("*.toml"))
