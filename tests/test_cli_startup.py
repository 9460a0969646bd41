"""Issue 7: `tracker --help` renders plain Click help, so Rich (and markdown-it) are never
imported: they were a third of its start-up (target ≤ 0.15 s)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.test_cli import REPO


@pytest.mark.parametrize("args", [["--help"], ["status", "--help"], ["outbox", "--help"]])
def test_help_does_not_import_rich(args: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "tracker", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Usage:" in proc.stdout and "tracker" in proc.stdout
    imported = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if "|" in line}
    assert "typer" in imported
    assert not {m for m in imported if m.split(".")[0] in ("rich", "markdown_it")}
