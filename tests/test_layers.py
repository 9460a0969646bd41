"""The house has no circles (issue 7 §4): layers import downward only.

core (config, calendar, workflow, status, reminders = planning)
  ← services (service, letters, delivery, db, transport)
    ← shells (cli, jobs)

Checked on the source, imports inside functions included: a pure-core module never
imports the clock, the database or a shell; services never import a shell; `jobs/` never
imports `tracker.cli`; and no module calls the wall clock but `jobs/clock.py`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = ("tracker/config", "tracker/calendar", "tracker/workflow.py", "tracker/status.py",
        "tracker/reminders", "tracker/errors.py", "tracker/paths.py")  # fmt: skip
SERVICES = ("tracker/service", "tracker/letters", "tracker/delivery", "tracker/db",
            "tracker/transport")  # fmt: skip
# What the pure core must not reach: the clock, the database, I/O layers and shells.
NOT_IN_CORE = ("jobs", "tracker.cli", "tracker.db", "tracker.service", "tracker.delivery",
               "tracker.letters", "tracker.transport", "sqlalchemy", "sqlmodel", "alembic",
               "aiosmtplib", "apscheduler")  # fmt: skip
NOT_IN_SERVICES = ("jobs", "tracker.cli", "apscheduler")
WALL_CLOCK = {("datetime", "now"), ("datetime", "utcnow"), ("date", "today"), ("time", "time")}


def modules(*roots: str) -> list[Path]:
    out: list[Path] = []
    for r in roots:
        p = ROOT / r
        out += sorted(p.rglob("*.py")) if p.is_dir() else [p]
    return out


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}
    return names


def reaches(names: set[str], banned: tuple[str, ...]) -> list[str]:
    return sorted(n for n in names if any(n == b or n.startswith(b + ".") for b in banned))


def rel(p: Path) -> str:
    return p.relative_to(ROOT).as_posix()


@pytest.mark.parametrize("path", modules(*CORE), ids=rel)
def test_the_pure_core_imports_no_clock_database_or_shell(path: Path) -> None:
    assert reaches(imports(path), NOT_IN_CORE) == []


@pytest.mark.parametrize("path", modules(*SERVICES), ids=rel)
def test_services_never_import_a_shell(path: Path) -> None:
    assert reaches(imports(path), NOT_IN_SERVICES) == []


@pytest.mark.parametrize("path", modules("jobs"), ids=rel)
def test_jobs_never_import_the_cli(path: Path) -> None:
    assert reaches(imports(path), ("tracker.cli",)) == []


def test_only_the_clock_module_reads_the_wall_clock() -> None:
    found: list[str] = []
    for path in modules("tracker", "jobs"):
        # A migration stamps rows it creates with the moment it runs: not domain time.
        if rel(path) == "jobs/clock.py" or rel(path).startswith("tracker/db/migrations/"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and (node.func.value.id, node.func.attr) in WALL_CLOCK
                and not node.args  # datetime.now(tz) is a clock read too
            ) or (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "datetime"
                and node.func.attr == "now"
            ):
                found.append(f"{rel(path)}:{node.lineno}")
    assert found == []


def test_no_circle_between_layers() -> None:
    """A lower layer never imports a higher one: the layers' import graph has no cycle."""
    layer = {"core": 0, "services": 1, "shells": 2}

    def of(path: Path) -> int:
        r = rel(path)
        if r.startswith(("jobs/", "tracker/cli/", "tracker/__main__")):
            return layer["shells"]
        if any(r.startswith(s) for s in SERVICES):
            return layer["services"]
        return layer["core"]

    def of_name(name: str) -> int | None:
        if name.startswith("jobs") or name.startswith("tracker.cli"):
            return layer["shells"]
        for s in SERVICES:
            if name.startswith(s.replace("/", ".")):
                return layer["services"]
        return layer["core"] if name.startswith("tracker") else None

    upward = [
        f"{rel(p)} → {n}"
        for p in modules("tracker", "jobs")
        for n in imports(p)
        if (lvl := of_name(n)) is not None and lvl > of(p)
    ]
    assert upward == []


@pytest.mark.parametrize(
    ("room", "above"),
    [
        # Within the services: records (service) ← letters ← delivery. The reminders and
        # the services once imported each other (issue 7 §4); so may no two rooms again.
        ("tracker/service", ("tracker.letters", "tracker.delivery")),
        ("tracker/letters", ("tracker.delivery",)),
        ("tracker/db", ("tracker.service", "tracker.letters", "tracker.delivery")),
        ("tracker/transport", ("tracker.service", "tracker.letters", "tracker.delivery")),
    ],
)
def test_rooms_within_the_services_import_downward(room: str, above: tuple[str, ...]) -> None:
    found = {rel(p): reaches(imports(p), above) for p in modules(room)}
    assert {k: v for k, v in found.items() if v} == {}
