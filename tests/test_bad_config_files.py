"""Issue 8 §6: config files that used to hang or end in a traceback are refused in words,
exit 2, and leave no database behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_cli import Cli
from tests.test_cli import cli as cli  # the fixture
from tracker.config import load_config
from tracker.config.errors import InvalidConfigError


def test_a_config_nested_1000_deep_is_refused_in_words(cli: Cli, tmp_path: Path) -> None:
    path = cli.config('[cluster]\nid = "x"\nname = ' + "[" * 1000 + "]" * 1000 + "\n")
    result = cli("--db", f"sqlite:///{tmp_path / 'deep.db'}", "--config", path, "init")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.stderr and "RecursionError" not in result.stderr
    assert "lồng nhau quá sâu" in result.stderr and path in result.stderr
    assert not (tmp_path / "deep.db").exists()


def test_a_fifo_as_config_is_refused_not_a_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "cluster.toml"
    os.mkfifo(fifo)
    db = tmp_path / "fifo.db"
    # A real process with a timeout: the old code blocked in read() for ever.
    proc = subprocess.run(
        [sys.executable, "-m", "tracker", "--db", f"sqlite:///{db}", "--config", str(fifo), "init"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )
    assert proc.returncode == 2, proc.stderr
    assert "không phải tệp thường" in proc.stderr and "Traceback" not in proc.stderr
    assert not db.exists()


SHIPPED = Path(__file__).resolve().parent.parent / "config" / "cum-vung-cao-2022.toml"


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x7f", "\x85", "\u2028", "\u2029", "\x1b"])
def test_a_control_character_in_a_name_is_refused(tmp_path: Path, char: str) -> None:
    # Written as a TOML escape (\\u0007): TOML itself refuses most of them raw.
    text = SHIPPED.read_text(encoding="utf-8")
    bad = text.replace('name = "Lò Thị Hoa"', f'name = "Lò Thị\\u{ord(char):04X}Hoa"', 1)
    assert bad != text
    path = tmp_path / "cluster.toml"
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(InvalidConfigError) as caught:
        load_config(path)
    text = str(caught.value)  # both languages
    assert f"ký tự điều khiển U+{ord(char):04X}" in text and "Lò Thị Hoa" not in text
    assert "dòng " in text  # the line of the bad name


def test_a_line_break_in_the_cycle_version_is_refused(tmp_path: Path) -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    bad = text.replace('version = "2022.1"', 'version = "2022\\n1"', 1)
    assert bad != text
    path = tmp_path / "cluster.toml"
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(InvalidConfigError) as caught:
        load_config(path)
    text = str(caught.value)
    assert "khóa version" in text and "CR/LF" in text
