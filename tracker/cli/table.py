"""Tables and paragraphs that fit the terminal (issue 8 §3).

A table first tries its natural width; if that is wider than the terminal, the columns that
may shrink are narrowed (widest first) and their text wrapped over several lines; if even
their narrowest does not fit, each row becomes a small block of "Header: value" lines, which
always fits. Nothing here prints: every function returns lines, so render decides on colour
and tests can measure every line.

The width: `COLUMNS` when set (so `COLUMNS=80 tracker status | less` and tests choose it),
else the terminal's when stdout is one, else None — piped output keeps whole rows, as it
always did, for scripts and e-mails.
"""

from __future__ import annotations

import os
import shutil
import sys
import unicodedata
from collections.abc import Callable, Mapping, Sequence

# A column never shrinks below this (a date "25/12/2022" is 10, a cell "✗ quá 1n" is 8).
MIN_COLUMN = 8
GAP = "  "
Colour = str | None
Style = Callable[[str, Colour], str]


def terminal_width() -> int | None:
    """COLUMNS if it is a positive number, else the terminal's width, else None (piped)."""
    text = os.environ.get("COLUMNS", "").strip()
    if text.isdigit() and int(text) > 0:
        return int(text)
    if sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    return None


def width_of(text: str) -> int:
    """Columns on screen: combining marks take none, East Asian wide characters two."""
    total = 0
    for c in text:
        if unicodedata.combining(c):
            continue
        total += 2 if unicodedata.east_asian_width(c) in ("W", "F") else 1
    return total


def pad(text: str, width: int) -> str:
    return text + " " * max(0, width - width_of(text))


def _cut(word: str, width: int) -> list[str]:
    """A word longer than the line (an e-mail address, a milestone id) cut into pieces."""
    pieces, piece = [], ""
    for c in word:
        if piece and width_of(piece + c) > width:
            pieces.append(piece)
            piece = ""
        piece += c
    return [*pieces, piece] if piece else pieces


def wrap(text: str, width: int) -> list[str]:
    """Words over lines of at most `width` columns; never an empty list."""
    width = max(1, width)
    lines: list[str] = []
    line = ""
    for word in text.split():
        for piece in _cut(word, width) if width_of(word) > width else [word]:
            candidate = f"{line} {piece}" if line else piece
            if width_of(candidate) <= width:
                line = candidate
            else:
                lines.append(line)
                line = piece
    lines.append(line)
    return lines


def paragraph(text: str, width: int | None, indent: str = "", hang: str = "  ") -> list[str]:
    """One message, wrapped to the width; continuation lines indented by `hang` more."""
    if width is None or width_of(indent + text) <= width:
        return [indent + text]
    first, *rest = wrap(text, width - width_of(indent))
    out = [indent + first]
    if rest:
        out += [
            indent + hang + line for line in wrap(" ".join(rest), width - width_of(indent + hang))
        ]
    return out


def _natural(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[int]:
    return [max([width_of(h)] + [width_of(r[i]) for r in rows]) for i, h in enumerate(headers)]


def _floor(header: str, natural: int, minimum: int) -> int:
    # A header wraps at its spaces, so its longest word is what it needs.
    return min(natural, max(minimum, max(width_of(w) for w in header.split() or [""])))


def column_widths(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    width: int | None,
    shrink: Mapping[int, int] | None = None,
) -> list[int] | None:
    """Each column's width so the table fits `width`, or None when it cannot.

    `shrink`: column index → its narrowest width; None lets every column shrink to
    MIN_COLUMN. Columns not named keep their natural width."""
    widths = _natural(headers, rows)
    if width is None:
        return widths
    gaps = width_of(GAP) * (len(headers) - 1)
    limits = shrink if shrink is not None else dict.fromkeys(range(len(headers)), MIN_COLUMN)
    floors = {i: _floor(headers[i], widths[i], m) for i, m in limits.items()}
    while sum(widths) + gaps > width:
        # The widest column that can still give a column up.
        can = [i for i, f in floors.items() if widths[i] > f]
        if not can:
            return None
        widest = max(can, key=lambda i: widths[i])
        widths[widest] -= 1
    return widths


def grid(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    widths: Sequence[int],
    *,
    colours: Sequence[Sequence[Colour]] | None = None,
    style: Style | None = None,
) -> list[str]:
    """The table at these widths: a header, a rule, the rows; a cell wrapped over lines."""

    def lines_of(cells: Sequence[str], cols: Sequence[Colour]) -> list[str]:
        wrapped = [
            wrap(c, w) if width_of(c) > w else [c] for c, w in zip(cells, widths, strict=True)
        ]
        out = []
        for n in range(max(len(w) for w in wrapped)):
            parts = []
            for lines, w, colour in zip(wrapped, widths, cols, strict=True):
                cell = pad(lines[n] if n < len(lines) else "", w)
                parts.append(style(cell, colour) if style is not None and colour else cell)
            out.append(GAP.join(parts).rstrip())
        return out

    plain: list[Colour] = [None] * len(headers)
    out = lines_of(headers, plain)
    out.append(GAP.join("─" * w for w in widths))
    for i, row in enumerate(rows):
        out += lines_of(row, colours[i] if colours is not None else plain)
    return out


def records(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    width: int,
    *,
    title: Sequence[int] = (0,),
) -> list[str]:
    """Each row as a block: its title columns on one line, then "  Header: value" lines."""
    out: list[str] = []
    for row in rows:
        head = " · ".join(row[i] for i in title if row[i])
        out += paragraph(head, width)
        for i, (h, value) in enumerate(zip(headers, row, strict=True)):
            if i in title or not value:
                continue
            out += paragraph(f"{h}: {value}", width, indent="  ", hang="  ")
    return out


def fit(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    width: int | None,
    *,
    shrink: Mapping[int, int] | None = None,
    title: Sequence[int] = (0,),
) -> list[str]:
    """The table's lines within `width` (None: natural width): narrowed and wrapped, else
    one block per row."""
    widths = column_widths(headers, rows, width, shrink)
    if widths is not None:
        return grid(headers, rows, widths)
    assert width is not None
    return records(headers, rows, width, title=title)
