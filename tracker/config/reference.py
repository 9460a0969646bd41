"""The reference of every config key, generated from the schema (issue 8 §5):
`python -m tracker.config.reference > docs/config.md`. Types and defaults come from the
models, examples from the shipped config, the meaning from each table's docstring, and the
article from `_ARTICLES` where the regulation names one. tests/test_config_reference.py
fails when docs/config.md is not what this prints.
"""

from __future__ import annotations

import tomllib
import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from tracker.config.schema import ClusterConfig, DayOfYear
from tracker.paths import config_dir

SHIPPED = "cum-vung-cao-2022.toml"

# Where a table's keys come from in the regulation (shared/regulation/).
_ARTICLES: dict[str, str] = {
    "[cluster]": "Điều 1, Điều 3",
    "[cycle]": "Điều 3.2, Điều 3.3, Điều 7.9",
    "[[members]]": "Điều 2, Điều 3.4",
    "[[milestones]]": "Điều 7",
    "[[milestones]] rule (fixed)": "Điều 7.1",
    "[[milestones]] rule (window)": "Điều 7.4",
    "[[milestones]] rule (month)": "Điều 7.6",
    "[[milestones]] rule (quarter)": "Điều 7.7",
    "[[milestones]] rule (event)": "Điều 7.4, Điều 7.7",
    "[[milestones]] rule (dated_by_leader)": "Điều 4.5, Điều 4.6",
    "[[milestones]] rule (relative)": "Điều 7.9 (ghi chú)",
    "[province_board]": "Điều 4.6",
    "[reminders] report_to_province": "Điều 4.6",
}


def _type(tp: Any) -> str:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        return _type(args[0])
    if origin is typing.Literal:
        return " \\| ".join(f'`"{a}"`' if isinstance(a, str) else f"`{a}`" for a in args)
    if origin in (typing.Union, types.UnionType):
        parts = [_type(a) for a in args if a is not type(None)]
        text = " or ".join(parts)
        return f"{text} (optional)" if type(None) in args else text
    if origin is list:
        return f"list of {_type(args[0])}"
    if tp is DayOfYear:
        return 'day like `"30/6/Y"`'
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return "table"
    names = {"str": "text", "int": "whole number", "float": "number", "bool": "true/false"}
    name = getattr(tp, "__name__", str(tp))
    return {"DayOfYear": 'day like `"30/6/Y"`', "Article": 'article like `"Điều 7.1"`'}.get(
        name, names.get(name, name)
    )


def _default(field: Any) -> str:
    if field.is_required():
        return "**required**"
    value = field.default
    if value is PydanticUndefined:
        return ""
    if isinstance(value, BaseModel):
        return "(table defaults)"
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, str):
        return f'`"{value}"`' if value else '`""`'
    return f"`{value}`"


def _example(shipped: Any, path: list[str | int]) -> str:
    node = shipped
    for part in path:
        if isinstance(part, int):
            node = (
                next((x for x in node if isinstance(x, dict)), None)
                if isinstance(node, list)
                else None
            )
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            node = None
        if node is None:
            return ""
    if isinstance(node, dict | list) and any(
        isinstance(x, dict) for x in (node if isinstance(node, list) else [node])
    ):
        return ""
    text = _toml(node)
    return f"`{text}`" if len(text) <= 60 else f"`{text[:57]}…`"


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(value)


def _rows(
    model: type[BaseModel], table: str, path: list[str | int], shipped: Any, out: list[str]
) -> None:
    doc = " ".join((model.__doc__ or "").split())
    out += ["", f"## `{table}`", ""]
    if table in _ARTICLES:
        out += [f"Regulation: {_ARTICLES[table]}.", ""]
    if doc and model.__doc__ != BaseModel.__doc__:
        out += [doc, ""]
    out += ["| key | type | default | example |", "| --- | --- | --- | --- |"]
    nested: list[tuple[type[BaseModel], str, list[str | int]]] = []
    for name, field in model.model_fields.items():
        sub = _submodels(field.annotation)
        is_list = _is_list(field.annotation)
        if sub and name != "rule" and name != "within":
            for m in sub:
                header = f"[[{_plain(table)}.{name}]]" if is_list else f"[{_plain(table)}.{name}]"
                if table.startswith("[[milestones]]") and not is_list:
                    # Keys of a milestone's own tables (`reminders = { … }`).
                    header = f"{table}.{name}" if " " in table else f"{table} {name}"
                if not table.startswith("["):
                    header = f"[[{name}]]" if is_list else f"[{name}]"
                nested.append((m, header, [*path, name, 0] if is_list else [*path, name]))
            out.append(
                f"| `{name}` | {_type(field.annotation)} | {_default(field)} | see `{nested[-1][1]}` |"
            )
            continue
        out.append(
            f"| `{name}` | {_type(field.annotation)} | {_default(field)} |"
            f" {_example(shipped, [*path, name])} |"
        )
        if name in ("rule", "within"):
            for m in sub:
                kind = typing.get_args(m.model_fields["kind"].annotation)[0]
                where = "rule" if name == "rule" else "rule.within"
                nested.append((m, f"[[milestones]] {where} ({kind})", []))
    for m, header, sub_path in nested:
        _rows(m, header, sub_path, shipped, out)


def _plain(table: str) -> str:
    return table.strip("[]")


def _is_list(tp: Any) -> bool:
    if typing.get_origin(tp) is list:
        return True
    return any(typing.get_origin(a) is list for a in typing.get_args(tp))


def _submodels(tp: Any) -> list[type[BaseModel]]:
    if tp is DayOfYear:  # written as one string, "30/6/Y": a value, not a table
        return []
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [tp]
    return [m for a in typing.get_args(tp) for m in _submodels(a)]


def reference() -> str:
    shipped = tomllib.loads((config_dir() / SHIPPED).read_text(encoding="utf-8"))
    out = [
        "# Config reference",
        "",
        "<!-- Generated by `python -m tracker.config.reference > docs/config.md`; do not edit:"
        " tests/test_config_reference.py fails when this file is not current. -->",
        "",
        "Every key of a cluster config file (`config/<cluster>-<year>.toml`), from the schema"
        " (`tracker/config/schema.py`). Examples are taken from the shipped"
        f" `config/{SHIPPED}` where it sets the key. A date written relative to the cycle year"
        ' is `"30/6/Y"` (Y = the cycle year, `Y+1` the next one). A mistake in the file is'
        " reported with its line, the item in words and the fix (exit code 2).",
    ]
    body: list[str] = []
    for name, field in ClusterConfig.model_fields.items():
        for m in _submodels(field.annotation):
            header = f"[[{name}]]" if _is_list(field.annotation) else f"[{name}]"
            _rows(m, header, [name, 0] if _is_list(field.annotation) else [name], shipped, body)
    return "\n".join([*out, *body]) + "\n"


if __name__ == "__main__":
    print(reference(), end="")
