"""Where each key of a TOML text sits: tomllib gives values, not line numbers, so a config
error could not say "dòng 57". This scanner reads the text once and records, for every
table header and every `key = …`, the line it starts on, under the same key path pydantic
reports: `("members", 2, "contacts", 0, "email")`.

It follows `[table]`, `[[array.of.tables]]` (each new `[[members]]` starts its
`[[members.contacts]]` again at 0), dotted and quoted keys, and skips strings, comments
and multi-line arrays, so a `[` or `=` inside a value is not taken for a header or a key.
Inline tables and value arrays are not descended into: a key inside `rule = { … }` is
found at the line of `rule` (`line_of` falls back to the longest known prefix).
"""

from __future__ import annotations

import re

Loc = tuple[str | int, ...]

_BARE = re.compile(r"[A-Za-z0-9_-]+")


def _split_key(text: str) -> list[str] | None:
    """`a.b`, `"a b".c`, `'x'` → parts; None when it is not a key."""
    parts: list[str] = []
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " \t":
            i += 1
        if i >= n:
            return None
        if text[i] in "\"'":
            q = text[i]
            j = text.find(q, i + 1)
            if j < 0:
                return None
            parts.append(text[i + 1 : j])
            i = j + 1
        else:
            m = _BARE.match(text, i)
            if not m:
                return None
            parts.append(m.group())
            i = m.end()
        while i < n and text[i] in " \t":
            i += 1
        if i < n:
            if text[i] != ".":
                return None
            i += 1
    return parts or None


def _skip_value(text: str, i: int) -> int:
    """The index just after the value starting at `i` (strings, arrays and inline tables
    may span lines); a comment after it is skipped too."""
    depth = 0
    n = len(text)
    while i < n:
        c = text[i]
        if text.startswith('"""', i) or text.startswith("'''", i):
            q = text[i : i + 3]
            j = i + 3
            while True:
                j = text.find(q, j)
                if j < 0:
                    return n
                if q == '"""' and _escaped(text, j):
                    j += 1
                    continue
                break
            i = j + 3
            while i < n and text[i] == q[0]:  # """a""""" ends at the last quotes
                i += 1
            continue
        if c in "\"'":
            j = i + 1
            while j < n and text[j] != "\n":
                if text[j] == c and not (c == '"' and _escaped(text, j)):
                    break
                j += 1
            i = j + 1
            continue
        if c == "#":
            while i < n and text[i] != "\n":
                i += 1
            continue
        if c in "[{":
            depth += 1
        elif c in "]}":
            depth -= 1
        elif c == "\n" and depth <= 0:
            return i
        i += 1
    return n


def _escaped(text: str, j: int) -> bool:
    k, slashes = j - 1, 0
    while k >= 0 and text[k] == "\\":
        slashes += 1
        k -= 1
    return slashes % 2 == 1


def key_lines(text: str) -> dict[Loc, int]:
    """Every table and key of `text` → its 1-based line number."""
    lines: dict[Loc, int] = {}
    counts: dict[Loc, int] = {}  # array-of-tables path (with parents' indexes) → items seen
    table: Loc = ()
    i, n = 0, len(text)
    while i < n:
        # start of a logical line
        while i < n and text[i] in " \t\r\n":
            i += 1
        if i >= n:
            break
        line = text.count("\n", 0, i) + 1
        eol = text.find("\n", i)
        eol = n if eol < 0 else eol
        if text[i] == "#":
            i = eol
            continue
        if text[i] == "[":
            double = text.startswith("[[", i)
            close = text.find("]]" if double else "]", i)
            if close < 0 or close > eol:
                i = eol
                continue
            parts = _split_key(text[i + (2 if double else 1) : close])
            i = eol
            if parts is None:
                continue
            table = _concrete(parts, lines, counts, double)
            lines.setdefault(table, line)
            continue
        eq = text.find("=", i, eol)
        parts = _split_key(text[i:eq]) if eq >= 0 else None
        if parts is None:
            i = eol
            continue
        lines.setdefault((*table, *parts), line)
        i = _skip_value(text, eq + 1)
    return lines


def _concrete(parts: list[str], lines: dict[Loc, int], counts: dict[Loc, int], new: bool) -> Loc:
    """The header `members.contacts` as a concrete path: the current item of every array of
    tables on the way (`("members", 2, "contacts", 0)`); `[[…]]` starts a new item."""
    path: Loc = ()
    for k, part in enumerate(parts):
        path = (*path, part)
        last = k == len(parts) - 1
        if last and new:
            index = counts.get(path, 0)
            counts[path] = index + 1
            # A new item: its own sub-arrays start again at 0.
            for key in [c for c in counts if len(c) > len(path) and c[: len(path)] == path]:
                del counts[key]
            path = (*path, index)
        elif path in counts:
            path = (*path, counts[path] - 1)
    return path


def line_of(lines: dict[Loc, int], loc: Loc) -> int | None:
    """The line of `loc`, else of its longest known prefix (a key inside an inline table,
    an item of a value array, a missing key: the table it belongs in)."""
    for end in range(len(loc), 0, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None
