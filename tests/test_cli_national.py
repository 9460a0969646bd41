"""Issue 7: `tracker status --all-clusters`, one line per cluster (members, open, overdue,
failed mail), checked against each cluster's own `status` on a real SQLite file; and the
refusal of a bare `status` on a many-cluster database stays one readable line."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from pathlib import Path

import pytest

from tests.test_cli import TEXT, Cli, clock
from tests.test_service import SMALL
from tracker.calendar.types import TZ
from tracker.workflow import PENDING

# A member deadline counted from each member's own visit: dated per member, so the summary
# must read those obligations one by one (tracker/service/national.py).
FOLLOW_UP = """
[[milestones]]
id = "inspection_follow_up"
name = "Báo cáo khắc phục sau kiểm tra"
name_en = "Follow-up report after the inspection"
article = "Điều 7.4"
assignee = "members"
rule = { kind = "relative", to = "cross_inspection", days = 3, count = "working", direction = "after" }
deliverable = "Báo cáo khắc phục"
deliverable_en = "Follow-up report"
"""

AT = "2022-12-26"


def copy_of(text: str, old_id: str, new_id: str, name: str) -> str:
    start = text.index("[cluster]")
    head, rest = text[:start], text[start:]
    rest = rest.replace(f'id = "{old_id}"', f'id = "{new_id}"', 1)
    line = next(x for x in rest.splitlines() if x.startswith("name = "))
    return head + rest.replace(line, f'name = "{name}"', 1)


@pytest.fixture
def national(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    for var in ("TRACKER_DATABASE_URL", "TRACKER_OPERATOR", "TRACKER_NOW", "TRACKER_FAKE_NOW"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    cli = Cli(tmp_path)
    folder = tmp_path / "config"
    folder.mkdir()
    (folder / "a.toml").write_text(TEXT, encoding="utf-8")
    (folder / "b.toml").write_text(
        copy_of(TEXT, "cum-vung-cao", "cum-b", "Cụm B") + FOLLOW_UP, encoding="utf-8"
    )
    (folder / "c.toml").write_text(SMALL, encoding="utf-8")
    with clock(2022, 3, 1):
        cli.ok("--config", str(folder), "init", "--cycle", "2022")
    with clock(2022, 7, 20):
        cli.ok("--cluster", "cum-b", "--as", "truong-cum", "submit", "half_year_report",
               "--member", "nam-po")  # fmt: skip
        cli.ok("--cluster", "cum-b", "--as", "truong-cum", "schedule", "cross_inspection",
               "2022-10-12", "--member", "muong-cha")  # fmt: skip
        cli.ok("--cluster", "cum-b", "--as", "truong-cum", "request", "Báo cáo nhanh",
               "--due", "2022-08-15")  # fmt: skip
    return cli


def per_cluster(cli: Cli, cluster: str) -> tuple[int, int]:
    rows = json.loads(cli.ok("--cluster", cluster, "status", "--format", "json", "--at", AT))
    pending = {s.value for s in PENDING}
    return sum(r["state"] in pending for r in rows), sum(r["overdue"] for r in rows)


def test_all_clusters_agrees_with_each_clusters_status(national: Cli) -> None:
    rows = json.loads(national.ok("status", "--all-clusters", "--format", "json", "--at", AT))
    assert [r["cluster"] for r in rows] == ["cum-b", "cum-mien-nui", "cum-vung-cao"]
    by_id = {r["cluster"]: r for r in rows}
    for cluster, members in (("cum-b", 5), ("cum-mien-nui", 2), ("cum-vung-cao", 5)):
        opened, overdue = per_cluster(national, cluster)
        got = by_id[cluster]
        assert (got["members"], got["open"], got["overdue"]) == (members, opened, overdue)
        assert got["cycle"] == 2022 and got["failed_mail"] == 0
    assert by_id["cum-b"]["name"] == "Cụm B"
    # What makes B differ is counted: the visited member's own follow-up (dated per member)
    # and the past request; the other members' follow-ups are undated, never overdue.
    b = json.loads(national.ok("--cluster", "cum-b", "status", "--format", "json", "--at", AT))
    late = {(r["member"], r["milestone"]) for r in b if r["overdue"]}
    assert ("muong-cha", "inspection_follow_up") in late
    assert ("nam-po", "inspection_follow_up") not in late
    assert sum(m.startswith("request-") for _, m in late) == 5


def test_all_clusters_counts_failed_mail_per_cluster(national: Cli) -> None:
    from sqlmodel import Session, select

    from tracker.db.engine import make_engine
    from tracker.db.models import CycleRow, LetterRow

    engine = make_engine(national.url)
    june = datetime(2022, 6, 1, 8, tzinfo=TZ)
    with Session(engine) as s:
        cycle = s.exec(select(CycleRow).where(CycleRow.cluster_id == "cum-mien-nui")).one()
        for i, state in enumerate(("failed", "failed", "sent")):
            s.add(  # failed e-mails are letters (issue 7 §5), not items
                LetterRow(
                    key=f"day:{cycle.id}:2022-06-01:a{i}@example.vn:member#1",
                    bundle=f"day:{cycle.id}:2022-06-01:a{i}@example.vn:member",
                    cycle_id=cycle.id or 0,
                    recipient_email=f"a{i}@example.vn",
                    recipient_name="A",
                    send_at=june,
                    state=state,
                    created_at=june,
                    updated_at=june,
                )
            )
        s.commit()
    engine.dispose()
    out = national.ok("status", "--all-clusters", "--format", "csv", "--at", AT)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == ["cluster", "name", "cycle", "members", "open", "overdue",
                             "failed_mail"]  # fmt: skip
    assert {r["cluster"]: r["failed_mail"] for r in rows} == {
        "cum-b": "0",
        "cum-mien-nui": "2",
        "cum-vung-cao": "0",
    }


def test_all_clusters_table_in_both_languages(national: Cli) -> None:
    vi = national.ok("status", "--all-clusters", "--at", AT).splitlines()
    assert vi[0] == "3 cụm — tình hình ngày 26/12/2022"
    assert vi[1].split() == ["Mã", "cụm", "Tên", "cụm", "Chu", "kỳ", "Đơn", "vị", "Còn",
                             "phải", "làm", "Quá", "hạn", "Thư", "lỗi"]  # fmt: skip
    assert len(vi) == 3 + 3 + 1 and vi[3].startswith("cum-b") and "Cụm B" in vi[3]
    en = national.ok("--lang", "en", "status", "--all-clusters", "--at", AT).splitlines()
    assert en[0] == "3 clusters — as of 2022-12-26" and "Failed mail" in en[1]


def test_all_clusters_check_cycle_and_refusals(national: Cli) -> None:
    assert national("status", "--all-clusters", "--check", "--at", AT).exit_code == 1
    ok = national("status", "--all-clusters", "--check", "--at", "2022-03-02")
    assert ok.exit_code == 0, ok.output
    # No 2023 cycle loaded: an empty summary, not an error.
    assert json.loads(national.ok("status", "--all-clusters", "--cycle", "2023",
                                  "--format", "json")) == []  # fmt: skip
    line = national.fails(2, "status", "--all-clusters", "--member", "nam-po")
    assert "--member" in line and "--all-clusters" in line


def test_many_clusters_refusal_is_short(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    cli = Cli(tmp_path)
    folder = tmp_path / "config"
    folder.mkdir()
    for i in range(12):
        text = copy_of(SMALL, "cum-mien-nui", f"cum-{i:02d}", f"Cụm {i}")
        (folder / f"c{i:02d}.toml").write_text(text, encoding="utf-8")
    with clock(2022, 3, 1):
        cli.ok("--config", str(folder), "init", "--cycle", "2022")
        line = cli.fails(2, "status")
        assert "cum-09" in line and "cum-10" not in line
        assert "… và 2 cụm khác; xem `tracker status --all-clusters`" in line
        assert "--cluster" in line
        en = cli.fails(2, "--lang", "en", "--cluster", "nope", "status")
        assert "and 2 more; see `tracker status --all-clusters`" in en
        assert len(json.loads(cli.ok("status", "--all-clusters", "--format", "json"))) == 12
