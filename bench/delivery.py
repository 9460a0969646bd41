"""Scale figures for the delivery core, each beside its target (issue 7 §2).

    .venv/bin/python bench/delivery.py                  # 400 members; 1,000 clusters x 10
    .venv/bin/python bench/delivery.py --quick          # 40 members; 10 clusters (< 1 min)
    .venv/bin/python bench/delivery.py --clusters 100   # a smaller national run
    .venv/bin/python bench/delivery.py --pg postgresql+psycopg://u:p@127.0.0.1/db
    .venv/bin/python bench/delivery.py --only help,cluster   # sections: help, cluster, national

Everything is driven through the `tracker` command and its environment variables, never
through the tracker's private functions, so the script survives the delivery core's
rewrite. The one exception the issue asks for, timing `jobs.tick.run_once` in-process, runs
in a child interpreter: if that function is renamed the figure reads "n/a" and the rest
still runs.

The year is the shipped 2022 cycle, replayed with `TRACKER_NOW`. The due morning is
30/12/2022 08:00: the annual report and the self-score sheet (25/12, Điều 7.2) are then
five days overdue for every member, so each member's focal officer, its head and the
leader's office have letters due at once. A first tick at 07:00 that morning (before the
office hour, so nothing is sent) plans the year; "due" counts the outbox rows planned for
that morning up to 08:00.

Each step runs as a real process with a timeout (`--timeout`, default 120 s); a step that
does not finish is killed and reported as "> N s (timed out)". Peak RSS is each child's
own `ru_maxrss` (os.wait4), not the largest of all children.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from genconfig import write_configs

HERE = Path(__file__).resolve().parent
YEAR = 2022
DUE_DAY = "2022-12-30"
PLAN_AT = f"{DUE_DAY}T07:00"  # before the office hour: plans, sends nothing
SEND_AT = f"{DUE_DAY}T08:00"  # the office hour: everything due goes out


# ---------------------------------------------------------------- running a step


@dataclass
class Step:
    """One child process: wall seconds, its own peak RSS, exit code, output."""

    wall: float
    cpu: float  # user + system of the child: moves less than wall on a busy machine
    rss_mb: float
    rc: int | None
    timed_out: bool
    out: str = ""
    err: str = ""

    def seconds(self, timeout: float) -> str:
        if self.timed_out:
            return f"> {timeout:g} s (timed out)"
        text = f"{self.wall:.2f} s (CPU {self.cpu:.2f} s)"
        return text + ("" if self.rc == 0 else f" (exit {self.rc})")

    def rss(self) -> str:
        return f"{self.rss_mb:.0f} MB" + (" (until killed)" if self.timed_out else "")


def tracker() -> list[str]:
    """The installed `tracker` script next to this interpreter, else `python -m tracker`."""
    script = Path(sys.executable).with_name("tracker")
    return [str(script)] if script.exists() else [sys.executable, "-m", "tracker"]


def child_env(tmp: Path, **extra: str) -> dict[str, str]:
    """No TRACKER_* settings from the caller's shell; a bytecode cache in the temporary
    folder (as bench/cli_startup.py explains: an installed tracker has its .pyc files)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
    env.update(extra)
    return env


def run_step(cmd: list[str], env: dict[str, str], timeout: float, cwd: Path | None = None) -> Step:
    """Run `cmd` to completion or `timeout`; its peak RSS comes from os.wait4, which
    reports that child alone (getrusage(RUSAGE_CHILDREN) keeps the largest of all)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            cmd, env=env, cwd=cwd, stdout=out, stderr=err, start_new_session=True
        )
        result: dict[str, Any] = {}

        def reap() -> None:
            _, status, usage = os.wait4(proc.pid, 0)
            result["wall"] = time.perf_counter() - start
            result["status"] = status
            result["rss"] = usage.ru_maxrss / 1024  # KiB on Linux
            result["cpu"] = usage.ru_utime + usage.ru_stime

        waiter = threading.Thread(target=reap, daemon=True)
        waiter.start()
        waiter.join(timeout)
        timed_out = waiter.is_alive()
        if timed_out:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            waiter.join()
        rc = os.waitstatus_to_exitcode(result["status"])
        proc.returncode = rc  # reaped above; keeps Popen from waiting again
        out.seek(0)
        err.seek(0)
        return Step(
            wall=result["wall"],
            cpu=result["cpu"],
            rss_mb=result["rss"],
            rc=None if timed_out else rc,
            timed_out=timed_out,
            out=out.read().decode("utf-8", "replace"),
            err=err.read().decode("utf-8", "replace"),
        )


# ---------------------------------------------------------------- the results table


@dataclass
class Row:
    section: str
    what: str
    figure: str
    target: str = ""
    verdict: str = ""


@dataclass
class Results:
    rows: list[Row] = field(default_factory=list)

    def add(self, section: str, what: str, figure: str, target: str = "", ok: bool | None = None):
        verdict = "" if ok is None else ("met" if ok else "MISSED")
        row = Row(section, what, figure, target, verdict)
        self.rows.append(row)
        print(f"  {what}: {figure}" + (f"   [target {target}: {verdict}]" if target else ""))
        sys.stdout.flush()

    def markdown(self) -> str:
        lines = ["| section | measure | figure | target | |", "| --- | --- | ---: | ---: | --- |"]
        for r in self.rows:
            lines.append(f"| {r.section} | {r.what} | {r.figure} | {r.target} | {r.verdict} |")
        return "\n".join(lines)


def _ok(step: Step, limit: float) -> bool:
    return not step.timed_out and step.rc == 0 and step.wall <= limit


def _fail_note(step: Step) -> str:
    """The last line a failed step printed, for the log (never silently dropped)."""
    if step.timed_out or step.rc == 0:
        return ""
    tail = (step.err.strip() or step.out.strip()).splitlines()[-1:] or [""]
    return tail[0][:200]


# ---------------------------------------------------------------- parsing CLI output

_SEND_AT = re.compile(r"(\d{4}-\d{2}-\d{2}|\d{2}/\d{2}/\d{4}) (\d{2}:\d{2})")


def due_rows(outbox_text: str, day: str, until: str = "08:00") -> int | None:
    """Rows of `tracker outbox --state planned` whose send time is `day` up to `until`;
    None when no row has a recognisable send time (the listing changed)."""
    y, m, d = day.split("-")
    days = {day, f"{d}/{m}/{y}"}
    seen = count = 0
    for line in outbox_text.splitlines():
        hit = _SEND_AT.search(line)
        if not hit:
            continue
        seen += 1
        if hit[1] in days and hit[2] <= until:
            count += 1
    return count if seen else None


def outbox_listing(
    t: list[str], url: str, env: dict[str, str], timeout: float, *extra: str
) -> tuple[Step, list[str]]:
    """`tracker outbox [extra]` listing everything: `--limit` as large as it goes and
    `--format json` when the command has them (the rewritten outbox pages and lists
    letters), else the plain table. Returns the step and the arguments used."""
    helptext = run_step([*t, "outbox", "--help"], env, timeout).out
    args = list(extra)
    if "--limit" in helptext:
        args += ["--limit", "100000000"]
    if "--format" in helptext and "json" in helptext:
        args += ["--format", "json"]
    step = run_step([*t, "--lang", "en", "--db", url, "outbox", *args], env, timeout)
    return step, args


def due_in_listing(text: str, day: str, until: str = "08:00") -> tuple[int, int, int] | None:
    """(reminder rows due on `day` by `until`, letters they are in, entries listed) from
    an outbox listing: JSON letters with `items` and `send_at` (rows = sum of items), or the
    older table of rows (letters = rows). None when the listing is not understood."""
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            entries = json.loads(stripped)
        except json.JSONDecodeError:
            return None
        rows = letters = 0
        for e in entries:
            at = str(e.get("send_at", ""))
            if at[:10] == day and at[11:16] <= until:
                letters += 1
                rows += int(e.get("items", 1))
        return rows, letters, len(entries)
    n = due_rows(text, day, until)
    listed = sum(1 for line in text.splitlines() if _SEND_AT.search(line))
    return None if n is None else (n, n, listed)


def would_send(dry_run_text: str) -> int | None:
    """'N message(s) would go out.' from `tracker --lang en remind --dry-run`."""
    m = re.search(r"(\d+) message\(s\) would go out", dry_run_text)
    return int(m[1]) if m else None


# ---------------------------------------------------------------- the SMTP sink


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Sink:
    """bench/smtp_sink.py (aiosmtpd) in its own process; `status()` reads its counts.
    Postfix's `smtp-sink` is not used: it is not installed on the machine this was
    written on, and it reports no running count a caller can read while it works."""

    def __init__(self, tmp: Path, port: int) -> None:
        self.port = port
        self.status_file = tmp / f"sink-{port}.json"
        self.kind = "aiosmtpd (bench/smtp_sink.py, own process)"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(HERE / "smtp_sink.py"),
                "--port",
                str(port),
                "--status",
                str(self.status_file),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while not self.status_file.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the SMTP sink did not start")
            time.sleep(0.05)

    def status(self) -> dict[str, Any]:
        for _ in range(20):
            with contextlib.suppress(json.JSONDecodeError, FileNotFoundError):
                data: dict[str, Any] = json.loads(self.status_file.read_text(encoding="utf-8"))
                return data
            time.sleep(0.01)
        return {"messages": 0, "bytes": 0, "first": None, "last": None}

    def close(self) -> None:
        self.proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)
        if self.proc.poll() is None:
            self.proc.kill()


# ---------------------------------------------------------------- measurements


def measure_help(res: Results, tmp: Path, runs: int) -> None:
    """`tracker --help`, best of `runs` whole processes (target ≤ 0.15 s)."""
    print(f"tracker --help, best of {runs}")
    env = child_env(tmp)
    cmd = [*tracker(), "--help"]
    steps = [run_step(cmd, env, 60) for _ in range(runs)]
    walls = [s.wall for s in steps]
    best = min(walls)
    res.add(
        "CLI",
        f"`tracker --help`, best of {runs} (median; best CPU)",
        f"{best:.3f} s ({statistics.median(walls):.3f}; CPU {min(s.cpu for s in steps):.3f} s)",
        "≤ 0.15 s",
        best <= 0.15,
    )


_IN_PROCESS = """
import json, statistics, sys, time
from datetime import datetime
from zoneinfo import ZoneInfo
from jobs.tick import run_once
url, at, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
at = datetime.fromisoformat(at).replace(tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
run_once(url, at, False)
times = []
for _ in range(n):
    t = time.perf_counter()
    report = run_once(url, at, False)
    times.append(time.perf_counter() - t)
print(json.dumps({"best": min(times), "median": statistics.median(times),
                  "sent": getattr(report, "sent", None)}))
"""


def in_process_tick(
    url: str, env: dict[str, str], timeout: float, runs: int
) -> tuple[str, float | None]:
    """`jobs.tick.run_once(url, at, dry_run=False)` timed in a child interpreter, after
    one warm call: (figure, best seconds); 'n/a (…)' if the function is gone or fails."""
    step = run_step(
        [sys.executable, "-c", _IN_PROCESS, url, PLAN_AT, str(runs)], env, timeout * (runs + 1)
    )
    if step.timed_out:
        return f"> {timeout * (runs + 1):g} s (timed out)", None
    try:
        data = json.loads(step.out.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return f"n/a ({_fail_note(step) or 'no output'})", None
    best = float(data["best"])
    return f"{best * 1000:.0f} ms best of {runs} ({data['median'] * 1000:.0f} median)", best


def bare_loop(port: int, count: int, size: int) -> float:
    """Seconds for one aiosmtplib connection to send `count` messages of about `size`
    bytes, built beforehand (Vietnamese subject and body, like the reminders)."""
    import aiosmtplib

    body_line = "Kính gửi: Đồng chí Lò Thị Hoa, Chuyên viên Phòng Nội vụ huyện Tủa Chùa.\n"
    body = body_line * max(1, size // len(body_line.encode()))
    messages = []
    for i in range(count):
        msg = EmailMessage()
        msg["From"] = "Cụm thi đua bench <cum-bench@example.vn>"
        msg["To"] = f"Lò Thị Hoa <m{i:04d}@example.vn>"
        msg["Subject"] = "[Cụm thi đua bench] Đã quá hạn: Báo cáo tổng kết năm – hạn 25/12/2022"
        msg["Message-ID"] = f"<bare-{i}-{uuid.uuid4().hex}@example.vn>"
        msg.set_content(body)
        messages.append(msg)

    async def send_all() -> float:
        start = time.perf_counter()
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False) as smtp:
            for msg in messages:
                await smtp.send_message(msg)
        return time.perf_counter() - start

    return asyncio.run(send_all())


def measure_run_throughput(
    res: Results,
    sec: str,
    tmp: Path,
    url: str,
    sink: Sink,
    workdir: Path,
    timeout: float,
    tick_seconds: float,
    settle: float,
) -> None:
    """`tracker run` as a real process, at the due morning, until the sink stops
    receiving; then the same number of comparable messages through a bare loop."""
    env = child_env(tmp, TRACKER_NOW=SEND_AT, TRACKER_TICK_SECONDS=f"{tick_seconds:g}")
    before = sink.status()["messages"]
    log = (tmp / "run.log").open("wb")
    start_wall = time.time()
    proc = subprocess.Popen(
        [*tracker(), "--lang", "en", "--db", url, "run"],
        env=env,
        cwd=workdir,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    # Done when nothing new has arrived for `settle` seconds, or at the timeout. A tick
    # that re-plans before it sends can be silent for seconds, so `settle` is generous;
    # the figures use the last message's time, not the time we stopped waiting.
    settle = max(settle, 3 * tick_seconds)
    last_count, last_change = before, time.monotonic()
    deadline = time.monotonic() + timeout
    timed_out = False
    while True:
        time.sleep(0.2)
        count = sink.status()["messages"]
        if count != last_count:
            last_count, last_change = count, time.monotonic()
        if proc.poll() is not None:
            break
        if count > before and time.monotonic() - last_change > settle:
            break
        if time.monotonic() > deadline:
            timed_out = True
            break
    status = sink.status()
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    log.close()
    sent = status["messages"] - before
    if sent <= 0 or status["first"] is None:
        tail = (tmp / "run.log").read_text("utf-8", "replace").strip().splitlines()[-1:]
        res.add(sec, "`tracker run` throughput", f"n/a: nothing delivered {tail}")
        return
    full = status["last"] - start_wall
    steady = max(status["last"] - status["first"], 1e-9)
    note = " (timed out before all were delivered)" if timed_out else ""
    res.add(
        sec,
        f"`tracker run` delivered (tick {tick_seconds:g} s)",
        f"{sent} messages, {status['unique_message_ids']} Message-IDs{note}",
    )
    res.add(
        sec,
        "`tracker run`: process start → last message",
        f"{full:.1f} s = {sent / full:.1f} msg/s",
    )
    res.add(
        sec,
        "`tracker run`: first → last message",
        f"{steady:.1f} s = {sent / steady:.1f} msg/s",
    )
    left, _ = outbox_listing(
        tracker(), url, child_env(tmp, TRACKER_NOW=SEND_AT), timeout, "--state", "planned"
    )
    remaining = due_in_listing(left.out, DUE_DAY)
    res.add(
        sec,
        "still planned for the due morning after the run",
        "n/a" if remaining is None else f"{remaining[0]} rows, {remaining[1]} letters",
    )
    size = status["bytes"] // max(1, status["messages"])
    bare = bare_loop(sink.port, sent, size)
    res.add(
        sec,
        f"bare aiosmtplib loop, {sent} messages of ~{size} B, one connection",
        f"{bare:.1f} s = {sent / bare:.1f} msg/s",
    )
    ratio = (sent / full) / (sent / bare)
    res.add(
        sec,
        "`tracker run` full path / bare loop",
        f"{ratio:.3f}",
        "≥ 0.7",
        ratio >= 0.7,
    )


def measure_cluster(res: Results, tmp: Path, members: int, timeout: float, a: Any) -> None:
    """The one big cluster (SQLite file): init, first plan, no-change tick, `tracker run`."""
    sec = "400 members" if members == 400 else f"{members} members"
    print(f"one cluster of {members} members, SQLite")
    root = tmp / "cluster"
    sink = Sink(tmp, free_port())
    try:
        configs = root / "config"
        write_configs(
            configs,
            members=members,
            mail={"transport": "smtp", "smtp_host": "127.0.0.1", "smtp_port": sink.port}
            | {"security": "plain"},
        )
        url = f"sqlite:///{root / 'tracker.db'}"
        env = child_env(tmp, TRACKER_NOW=PLAN_AT)
        t = tracker()
        init = run_step(
            [*t, "--db", url, "--config", str(configs), "init", "--cycle", str(YEAR)],
            env,
            timeout,
            cwd=root,
        )
        res.add(sec, "`tracker init`", init.seconds(timeout), "", None)
        if init.rc != 0:
            print("    init failed:", _fail_note(init) or "timed out")
            return
        dry = run_step(
            [*t, "--lang", "en", "--db", url, "remind", "--dry-run", "--at", SEND_AT],
            env,
            timeout,
            cwd=root,
        )
        n = would_send(dry.out)
        res.add(
            sec,
            f"first plan: `remind --dry-run --at {SEND_AT}`",
            dry.seconds(timeout) + (f", says {n} letters would go out" if n is not None else ""),
            "≤ 2 s",
            _ok(dry, 2.0),
        )
        first = run_step([*t, "--lang", "en", "--db", url, "remind"], env, timeout, cwd=root)
        res.add(
            sec,
            f"first tick that writes the plan (`remind` at {PLAN_AT}, sends nothing)",
            first.seconds(timeout) + f", RSS {first.rss()}",
            "≤ 2 s",
            _ok(first, 2.0),
        )
        if first.rc != 0:
            print("    first tick failed:", _fail_note(first) or "timed out")
            return
        listing, _ = outbox_listing(t, url, env, timeout, "--state", "planned")
        due = due_in_listing(listing.out, DUE_DAY)
        res.add(
            sec,
            f"due {DUE_DAY} by 08:00: reminder rows, letters (of planned entries listed)",
            f"{due[0]} rows, {due[1]} letters (of {due[2]})"
            if due is not None
            else "n/a (outbox listing not understood)",
        )
        again = run_step([*t, "--lang", "en", "--db", url, "remind"], env, timeout, cwd=root)
        res.add(
            sec,
            "no-change tick, whole `remind` process",
            again.seconds(timeout) + f", RSS {again.rss()}",
        )
        figure, best = in_process_tick(url, env, timeout, a.runs)
        res.add(
            sec,
            "no-change tick, in-process `jobs.tick.run_once` after one warm call",
            figure,
            "≤ 50 ms",
            None if best is None else best <= 0.050,
        )
        measure_run_throughput(res, sec, tmp, url, sink, root, timeout, a.tick_seconds, a.settle)
    finally:
        sink.close()


@contextlib.contextmanager
def pg_schema(base_url: str) -> Iterator[str]:
    """A fresh schema on the PostgreSQL server of `base_url`, dropped afterwards; the
    URL handed to the tracker puts it first on the search path (as tests/conftest.py)."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base_url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def measure_national(
    res: Results, tmp: Path, clusters: int, members: int, url: str, label: str, timeout: float
) -> None:
    """C clusters x M members in one database: init, first tick, no-change tick, RSS,
    `tracker outbox`, `tracker status` of every cluster."""
    sec = f"national {clusters}×{members}, {label}"
    print(sec)
    root = tmp / f"national-{label}"
    configs = root / "config"
    if not configs.exists():
        write_configs(
            configs,
            members=members,
            clusters=clusters,
            mail={"transport": "file", "directory": str(root / "mail")},
        )
    env = child_env(tmp, TRACKER_NOW=PLAN_AT)
    t = tracker()
    init = run_step(
        [*t, "--db", url, "--config", str(configs), "init", "--cycle", str(YEAR)],
        env,
        timeout,
        cwd=root,
    )
    res.add(
        sec,
        f"`tracker init` of {clusters} files",
        init.seconds(timeout) + f", RSS {init.rss()}",
        "≤ 10 s",
        _ok(init, 10.0),
    )
    if init.rc != 0:
        print("    init failed:", _fail_note(init) or "timed out")
        return
    first = run_step([*t, "--lang", "en", "--db", url, "remind"], env, timeout, cwd=root)
    res.add(
        sec,
        f"first tick (`remind` at {PLAN_AT})",
        first.seconds(timeout) + f", RSS {first.rss()}",
        "RSS ≤ 300 MB",
        None if first.timed_out else first.rss_mb <= 300,
    )
    if first.rc != 0:
        print("    first tick failed:", _fail_note(first) or "timed out")
        res.add(sec, "no-change tick", "n/a: the first tick did not finish")
        return
    again = run_step([*t, "--lang", "en", "--db", url, "remind"], env, timeout, cwd=root)
    res.add(
        sec,
        "no-change tick (`remind`, whole process)",
        again.seconds(timeout) + f", RSS {again.rss()}",
        "RSS ≤ 300 MB",
        None if again.timed_out else again.rss_mb <= 300,
    )
    figure, best = in_process_tick(url, env, timeout, 3)
    res.add(
        sec,
        "no-change tick, in-process `jobs.tick.run_once` after one warm call",
        figure,
        "≤ 0.1 s",
        None if best is None else best <= 0.1,
    )
    # The default listing (as an operator types it), then everything, then one cluster.
    plain = run_step([*t, "--lang", "en", "--db", url, "outbox"], env, timeout, cwd=root)
    res.add(
        sec,
        "`tracker outbox` (default listing)",
        plain.seconds(timeout) + f", RSS {plain.rss()}, {plain.out.count(chr(10))} lines",
        "RSS ≤ 300 MB",
        None if plain.timed_out else plain.rss_mb <= 300,
    )
    everything, args = outbox_listing(t, url, env, timeout)
    size = len(everything.out.encode())
    res.add(
        sec,
        f"`tracker outbox {' '.join(args)}`".replace("  ", " ").replace(" `", "`"),
        everything.seconds(timeout) + f", RSS {everything.rss()}, {size} bytes",
        "RSS ≤ 300 MB",
        None if everything.timed_out else everything.rss_mb <= 300,
    )
    one, _ = outbox_listing([*t, "--cluster", "cum-bench-0001"], url, env, timeout)
    res.add(
        sec,
        "the same with `--cluster cum-bench-0001`",
        one.seconds(timeout) + f", {len(one.out.encode())} bytes (all clusters: {size})",
    )
    measure_status_all(res, sec, t, url, env, timeout, root)


def measure_status_all(
    res: Results, sec: str, t: list[str], url: str, env: dict[str, str], timeout: float, cwd: Path
) -> None:
    """`tracker status` of every cluster: `--all-clusters` or `--province` if the command
    has such a flag (issue 7 §2), else what plain `status` says on a national database."""
    helptext = run_step([*t, "status", "--help"], env, timeout).out
    flag = next((f for f in ("--all-clusters", "--province") if f in helptext), None)
    if flag is None:
        plain = run_step(
            [*t, "--lang", "en", "--db", url, "status", "--cycle", str(YEAR)], env, timeout, cwd
        )
        said = (plain.err or plain.out).strip()
        res.add(
            sec,
            "`tracker status` of all clusters",
            f"no --all-clusters/--province flag; plain status: exit {plain.rc},"
            f" a {len(said.encode())}-byte message, {plain.wall:.2f} s",
            "≤ 1 s",
            False,
        )
        return
    step = run_step(
        [*t, "--lang", "en", "--db", url, "status", flag, "--cycle", str(YEAR)], env, timeout, cwd
    )
    res.add(
        sec,
        f"`tracker status {flag}`",
        step.seconds(timeout) + f", RSS {step.rss()}",
        "≤ 1 s",
        _ok(step, 1.0),
    )


def warm_up(tmp: Path, timeout: float) -> None:
    """Untimed: the commands each section runs, once on a 3-member cluster, so the
    bytecode cache in `tmp` is filled before anything is timed."""
    root = tmp / "warm"
    write_configs(root / "config", members=3, mail={"transport": "file"})
    url = f"sqlite:///{root / 'tracker.db'}"
    env = child_env(tmp, TRACKER_NOW=PLAN_AT)
    t = tracker()
    for cmd in (
        ["--config", str(root / "config"), "init", "--cycle", str(YEAR)],
        ["remind", "--dry-run"],
        ["remind"],
        ["outbox"],
        ["status", "--cycle", str(YEAR)],
    ):
        run_step([*t, "--db", url, *cmd], env, timeout, cwd=root)
    run_step([sys.executable, "-c", "import jobs.tick, aiosmtpd, aiosmtplib"], env, timeout)


# ---------------------------------------------------------------- main


def _section(name: str, fn: Callable[[], None], res: Results) -> None:
    """One section; an unexpected error is reported as a row and the others still run."""
    try:
        fn()
    except Exception as exc:  # the bench must report, not stop
        res.add(name, "error", f"{type(exc).__name__}: {exc}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--quick", action="store_true", help="40 members, 10 clusters: < 1 min")
    p.add_argument("--members", type=int, default=None, help="the big cluster (default 400)")
    p.add_argument("--clusters", type=int, default=None, help="national clusters (1000)")
    p.add_argument("--cluster-members", type=int, default=10, help="members per cluster (10)")
    p.add_argument("--pg", default=None, help="also run the national part on this PostgreSQL")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds per step (120)")
    p.add_argument("--runs", type=int, default=None, help="repetitions of the short steps")
    p.add_argument("--tick-seconds", type=float, default=1.0, help="TRACKER_TICK_SECONDS")
    p.add_argument(
        "--settle", type=float, default=20.0, help="`tracker run`: idle seconds that mean done"
    )
    p.add_argument("--only", default="help,cluster,national", help="sections to run")
    p.add_argument("--markdown", type=Path, default=None, help="also write the table here")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder")
    a = p.parse_args(argv)
    members = a.members or (40 if a.quick else 400)
    clusters = a.clusters or (10 if a.quick else 1000)
    a.runs = a.runs or (3 if a.quick else 10)
    only = set(a.only.split(","))

    tmp = Path(tempfile.mkdtemp(prefix="bench-delivery-"))
    res = Results()
    try:
        warm_up(tmp, a.timeout)
        if "help" in only:
            _section("CLI", lambda: measure_help(res, tmp, a.runs * 2), res)
        if "cluster" in only:
            _section(
                f"{members} members",
                lambda: measure_cluster(res, tmp, members, a.timeout, a),
                res,
            )
        if "national" in only:
            n = a.cluster_members
            sqlite_url = f"sqlite:///{tmp / 'national.db'}"
            _section(
                "national",
                lambda: measure_national(res, tmp, clusters, n, sqlite_url, "SQLite", a.timeout),
                res,
            )
            if a.pg:

                def pg() -> None:
                    with pg_schema(a.pg) as url:
                        measure_national(res, tmp, clusters, n, url, "PostgreSQL", a.timeout)

                _section("national PostgreSQL", pg, res)
    finally:
        if a.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print()
    table = res.markdown()
    print(table)
    if a.markdown:
        a.markdown.write_text(table + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
