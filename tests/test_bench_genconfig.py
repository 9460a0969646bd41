"""bench/genconfig.py (issue 7 §2): the generated configs load with the tracker's own
config loader, every member has a unique focal and head address, national mode gives each
file its own cluster id and commune members, and the output is deterministic."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tracker.config import load_config

SCRIPT = Path(__file__).resolve().parent.parent / "bench" / "genconfig.py"


def _generate(out: Path, *args: str) -> list[Path]:
    subprocess.run([sys.executable, str(SCRIPT), "--out", str(out), *args], check=True)
    return sorted(out.glob("*.toml"))


def test_one_cluster_loads_with_unique_addresses(tmp_path: Path) -> None:
    (path,) = _generate(tmp_path / "a", "--members", "3")
    cfg = load_config(path)
    assert [m.id for m in cfg.members] == ["m0001", "m0002", "m0003"]
    assert cfg.cycle.leader == "m0001"
    roles = [sorted(c.role for c in m.contacts) for m in cfg.members]
    assert roles == [["focal", "head"]] * 3
    emails = [c.email for m in cfg.members for c in m.contacts]
    assert len(set(emails)) == len(emails) == 6
    # The shipped calendar is kept whole: only members, operators and identity change.
    shipped = load_config(sorted((SCRIPT.parent.parent / "config").glob("*.toml"))[0])
    assert [m.id for m in cfg.milestones] == [m.id for m in shipped.milestones]
    again = _generate(tmp_path / "b", "--members", "3")
    assert again[0].read_bytes() == path.read_bytes()


def test_national_mode_distinct_clusters_of_communes(tmp_path: Path) -> None:
    paths = _generate(tmp_path, "--clusters", "2", "--members", "3", "--transport", "smtp")
    cfgs = [load_config(p) for p in paths]
    assert [c.cluster.id for c in cfgs] == ["cum-bench-0001", "cum-bench-0002"]
    assert all(m.kind == "commune" and m.name.startswith("Xã ") for c in cfgs for m in c.members)
    emails = [ct.email for c in cfgs for m in c.members for ct in m.contacts]
    assert len(set(emails)) == len(emails) == 12
    assert all(c.mail.transport == "smtp" and c.mail.security == "plain" for c in cfgs)
