"""Where the shipped templates and configs are, from a checkout or an installed wheel."""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def _find(name: str) -> Path:
    # An installed wheel carries the folder inside the package (pyproject force-include);
    # a checkout (or an editable install) has it at the top of the repository.
    for candidate in (_PKG / "_data" / name, _PKG.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"tracker data folder '{name}' not found near {_PKG}")


def templates_dir() -> Path:
    return _find("templates") / "emails"


def config_dir() -> Path:
    return _find("config")
