"""An installed tracker (a wheel, not the checkout) finds its templates, config and migrations."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT)],
        check=True,
        timeout=300,
    )
    (found,) = out.glob("*.whl")
    return found


def test_wheel_carries_templates_config_and_migrations(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "tracker/_data/config/cum-vung-cao-2022.toml" in names
    assert "tracker/_data/templates/emails/vi/reminder.subject.j2" in names
    assert "tracker/_data/templates/emails/en/reminder.subject.j2" in names
    assert any(n.startswith("tracker/db/migrations/versions/0001") for n in names)


def test_installed_package_finds_its_data_outside_the_checkout(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = (
        "import tracker.paths as p, tracker.config as c, tracker.db.migrate as m;"
        "print(p.templates_dir()); print(c.shipped_configs()[0]); print(m.MIGRATIONS_DIR)"
    )
    # Run from an unrelated folder with only the unpacked wheel first on the path.
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    lines = done.stdout.splitlines()
    assert len(lines) == 3
    for line in lines:
        assert line.startswith(str(site)), line
