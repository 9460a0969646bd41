"""Read and validate a cluster config file. Every problem is reported at once, one line
each, with the file, the line, the item in words and the fix (tracker.config.errors)."""

from __future__ import annotations

import re
import stat
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tracker.config.errors import InvalidConfigError, file_error, issues_of
from tracker.config.schema import ClusterConfig
from tracker.paths import config_dir

# tomllib: "Invalid value (at line 33, column 17)"; its English is kept for --lang en.
_AT = re.compile(r"\(at line (\d+), column (\d+)\)")


def parse_config(data: dict[str, Any], source: str, text: str | None = None) -> ClusterConfig:
    """Validate parsed TOML; `text` (the file's own text) lets errors name their line."""
    try:
        return ClusterConfig.model_validate(data)
    except ValidationError as err:
        raise InvalidConfigError(source, issues_of(err, data, text)) from None


def load_config(path: str | Path) -> ClusterConfig:
    p = Path(path)
    try:
        # A pipe or a device named by --config would block `read_bytes` for ever (issue 8
        # §6): only a regular file is read.
        if p.exists() and not stat.S_ISREG(p.stat().st_mode):
            raise file_error(
                str(p),
                "không phải tệp thường (ống dẫn, thiết bị…) — hãy chỉ đến một tệp .toml",
                "not a regular file (a pipe, a device…) — name a .toml file",
            )
        raw = p.read_bytes()
    except FileNotFoundError:
        raise file_error(
            str(p), "không tìm thấy tệp — kiểm tra đường dẫn", "file not found — check the path"
        ) from None
    except OSError as exc:
        raise file_error(
            str(p), f"không đọc được ({exc.strerror})", f"cannot read ({exc.strerror})"
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise file_error(
            str(p),
            "tệp phải lưu mã UTF-8 — mở bằng trình soạn thảo và lưu lại với mã UTF-8",
            "the file must be saved as UTF-8 — open it in an editor and save it as UTF-8",
        ) from None
    try:
        data = tomllib.loads(text)
        return parse_config(data, str(p), text)
    except tomllib.TOMLDecodeError as exc:
        raise _syntax_error(str(p), exc) from None
    except RecursionError:
        # A value nested hundreds deep (issue 8 §6) exhausts the parser's or the
        # validator's recursion: no real config nests more than a few levels.
        raise file_error(
            str(p),
            "giá trị lồng nhau quá sâu — một cấu hình chỉ lồng vài cấp; kiểm tra dấu [ và {",
            "a value is nested too deep — a config nests only a few levels; check its [ and {",
        ) from None


def _syntax_error(path: str, exc: tomllib.TOMLDecodeError) -> InvalidConfigError:
    m = _AT.search(str(exc))
    if m is None:
        return file_error(
            path,
            "sai cú pháp TOML ở cuối tệp — kiểm tra dấu ngoặc và dấu ngoặc kép còn thiếu",
            f"TOML syntax error: {exc}",
            syntax=True,
        )
    line, column = int(m[1]), int(m[2])
    return file_error(
        path,
        f"sai cú pháp TOML ở cột {column} — kiểm tra dấu =, dấu ngoặc kép, dấu phẩy và"
        " giá trị sau dấu =",
        f"TOML syntax error: {exc}",
        syntax=True,
        line=line,
    )


def shipped_configs() -> list[Path]:
    """The cluster configs shipped with the tracker (checkout or installed wheel)."""
    return sorted(config_dir().glob("*.toml"))
