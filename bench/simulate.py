"""How long `tracker simulate` takes over the shipped cluster's whole 2022 cycle.

    .venv/bin/python bench/simulate.py             # best of 3 runs
    .venv/bin/python bench/simulate.py --runs 5

It loads the 2022 cycle into a temporary SQLite file with `tracker init --cycle 2022`, then
times whole processes of `tracker --db … simulate --cycle 2022 --from 2022-01-01
--to 2023-03-31` (one tick per simulated day at the office hour: the year, and the
conference in the first quarter of the next one). Best-of-N is the figure compared: the
noise of a shared machine only ever adds time.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

from cli_startup import _env, _time, _tracker

START, END = date(2022, 1, 1), date(2023, 3, 31)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=3, help="timed runs (default 3)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        env = _env(Path(tmp) / "pycache")
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        tracker = _tracker()
        subprocess.run(
            [*tracker, "--db", url, "init", "--cycle", "2022"],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        simulate = [
            *tracker,
            "--db",
            url,
            "simulate",
            "--cycle",
            "2022",
            "--from",
            START.isoformat(),
            "--to",
            END.isoformat(),
        ]
        runs = [_time(simulate, env) for _ in range(args.runs)]

    days = (END - START).days + 1
    for i, kind in enumerate(("wall", "cpu")):
        values = [r[i] for r in runs]
        print(
            f"{kind:>4}  tracker simulate, {days} days: best {min(values):5.2f} s,"
            f" median {statistics.median(values):5.2f} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
