"""How long `tracker status` takes on the shipped cluster, against the floor every command
pays: `python -c "import sqlmodel, typer"` (issue 2 §6: target ≤ 1.3×).

    .venv/bin/python bench/cli_startup.py            # best of 15 runs each
    .venv/bin/python bench/cli_startup.py --runs 30 --check   # exit 1 above the target

It loads the 2022 cycle into a temporary SQLite file with `tracker init --cycle 2022`, then
times whole processes (start-up, imports, query, rendering), alternating the two commands
so that a busy machine slows both alike. Best-of-N is the figure compared: the noise of a
shared machine only ever adds time.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET = 1.3


def _tracker() -> list[str]:
    """The installed `tracker` script next to this interpreter, else `python -m tracker`."""
    script = Path(sys.executable).with_name("tracker")
    return [str(script)] if script.exists() else [sys.executable, "-m", "tracker"]


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}


def _time(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run. CPU time (user + system of the child) hardly
    moves when other processes share the machine; wall time is what a user waits."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=15, help="timed runs of each (default 15)")
    parser.add_argument("--check", action="store_true", help=f"exit 1 above {TARGET}×")
    args = parser.parse_args(argv)

    env = _env()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        tracker = _tracker()
        subprocess.run(
            [*tracker, "--db", url, "init", "--cycle", "2022"],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        status = [*tracker, "--db", url, "status", "--cycle", "2022", "--at", "2022-12-26"]
        floor = [sys.executable, "-c", "import sqlmodel, typer"]
        for _ in range(2):  # warm the page cache and the .pyc files
            _time(status, env)
            _time(floor, env)
        runs: dict[str, list[tuple[float, float]]] = {"status": [], "floor": []}
        for _ in range(args.runs):
            runs["floor"].append(_time(floor, env))
            runs["status"].append(_time(status, env))

    def ms(values: list[float]) -> str:
        return (
            f"best {min(values) * 1000:4.0f} ms, median {statistics.median(values) * 1000:4.0f} ms"
        )

    ratios = {}
    for i, kind in enumerate(("wall", "cpu")):
        floor_t = [r[i] for r in runs["floor"]]
        status_t = [r[i] for r in runs["status"]]
        ratios[kind] = min(status_t) / min(floor_t)
        print(f"{kind:>4}  python -c 'import sqlmodel, typer': {ms(floor_t)}")
        print(f"{kind:>4}  tracker status (shipped cluster):  {ms(status_t)}")
        print(f"{kind:>4}  ratio of bests {ratios[kind]:.2f}×")
    verdict = "ok" if ratios["wall"] <= TARGET else "OVER TARGET"
    print(
        f"wall-clock ratio {ratios['wall']:.2f}× (target ≤ {TARGET}×, {args.runs} runs): {verdict}"
    )
    return 1 if args.check and ratios["wall"] > TARGET else 0


if __name__ == "__main__":
    sys.exit(main())
