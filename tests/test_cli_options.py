"""Issue 8 §2: options people can rely on. Global options before or after the command;
`--version`; `NO_COLOR` and `--no-color`; long listings through a pager on a terminal (a
real pseudo-terminal) and never when piped; shell completion. CliRunner on real SQLite
files, real `python -m tracker` processes for the terminal."""

# ruff: noqa: F811
from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_cli import REPO, Cli, cli, clock, loaded  # noqa: F401  (fixtures)
from tracker import __version__
from tracker.cli.app import app, hoist_global_options


def test_hoisting_moves_only_global_options_after_the_command() -> None:
    assert hoist_global_options(["submit", "annual_report", "--as", "muong-cha"]) == [
        "--as", "muong-cha", "submit", "annual_report",
    ]  # fmt: skip
    assert hoist_global_options(["--db", "x", "outbox", "show", "3", "--lang=en"]) == [
        "--db", "x", "--lang=en", "outbox", "show", "3",
    ]  # fmt: skip
    assert hoist_global_options(["history", "--no-pager", "--member", "a"]) == [
        "--no-pager", "history", "--member", "a",
    ]  # fmt: skip
    # After `--` nothing moves; with no command nothing moves either.
    assert hoist_global_options(["request", "--", "--as"]) == ["request", "--", "--as"]
    assert hoist_global_options(["--lang", "en"]) == ["--lang", "en"]


def test_global_options_work_after_the_command(loaded: Cli) -> None:
    with clock(2022, 12, 23):
        out = loaded.ok("submit", "annual_report", "--as", "muong-cha", "--lang", "en")
        assert out.startswith("Recorded: Huyện Mường Chà has sent Annual report")
        line = loaded.fails(3, "complete", "annual_report", "--as=muong-cha", "--lang", "en")
        assert line.startswith("Error: Cannot complete")
        other = loaded.tmp / "other.db"
        # --db after the command wins over the one the helper puts first (the last given).
        bad = loaded.fails(2, "status", "--db", f"sqlite:///{other}")
        assert str(other) in bad and not other.exists()


def test_version(cli: Cli) -> None:
    result = cli.runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == f"tracker {__version__}"


def _on_a_terminal(args: list[str], env_extra: dict[str, str]) -> tuple[int, str]:
    """Run `python -m tracker ARGS` with stdout on a real pseudo-terminal; return the exit
    code and what the terminal showed (read while it runs, so a long output cannot block)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env.pop("NO_COLOR", None)
    env.update(env_extra)
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tracker", *args],
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=subprocess.PIPE,
        env=env,
        cwd=REPO,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: the process and its pager are done
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    proc.wait(timeout=60)
    assert proc.stderr is not None
    with proc.stderr:
        assert b"Traceback" not in proc.stderr.read()
    return proc.returncode, b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.parametrize(
    ("args", "env", "coloured"),
    [
        ([], {}, True),
        (["--no-color"], {}, False),
        ([], {"NO_COLOR": "1"}, False),
        (["status", "--no-color"], {}, False),  # after the command too
    ],
)
def test_no_color(loaded: Cli, args: list[str], env: dict[str, str], coloured: bool) -> None:
    argv = ["--db", loaded.url, *args]
    if "status" not in argv:
        argv.append("status")
    code, out = _on_a_terminal([*argv, "--at", "2022-12-26"], env)
    assert code == 0
    assert "✗ quá" in out
    assert ("\x1b[31m" in out) is coloured


def _pager_script(tmp: Path) -> tuple[str, Path]:
    """A pager that records what it was given, so the test sees the pager was used."""
    seen = tmp / "paged.txt"
    script = tmp / "pager.py"
    script.write_text(
        "import sys\n"
        f"open({str(seen)!r}, 'w', encoding='utf-8').write(sys.stdin.read())\n"
        "print('PAGER-RAN')\n",
        encoding="utf-8",
    )
    return f"{sys.executable} {script}", seen


@pytest.mark.parametrize("command", [["history"], ["calendar"], ["outbox"]])
def test_long_listings_go_through_the_pager_on_a_terminal(loaded: Cli, command: list[str]) -> None:
    pager, seen = _pager_script(loaded.tmp)
    code, out = _on_a_terminal(["--db", loaded.url, *command], {"PAGER": pager})
    assert code == 0, out
    assert "PAGER-RAN" in out
    assert seen.exists()
    # Piped (CliRunner, or `| grep`): printed directly, the pager never runs.
    seen.unlink()
    plain = loaded.ok(*command, env={"PAGER": pager})
    assert not seen.exists() and "PAGER-RAN" not in plain
    # --no-pager on a terminal, before or after the command.
    for argv in (["--no-pager", *command], [*command, "--no-pager"]):
        code, out = _on_a_terminal(["--db", loaded.url, *argv], {"PAGER": pager})
        assert code == 0 and "PAGER-RAN" not in out and not seen.exists()


def test_history_is_paged_with_the_same_text(loaded: Cli) -> None:
    pager, seen = _pager_script(loaded.tmp)
    _on_a_terminal(["--db", loaded.url, "history"], {"PAGER": pager})
    assert seen.read_text(encoding="utf-8") == loaded.ok("history")


def test_shell_completion_is_available(loaded: Cli) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    script = subprocess.run(
        [sys.executable, "-m", "tracker", "--show-completion", "bash"],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=60, check=False,
    )  # fmt: skip
    assert script.returncode == 0 and "complete -o default -F" in script.stdout
    env.update(COMP_WORDS="tracker sub", COMP_CWORD="1", _TRACKER_COMPLETE="complete_bash")
    # The console script the install puts beside the interpreter (.venv/bin/tracker).
    words = subprocess.run(
        [str(Path(sys.executable).parent / "tracker")],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=60, check=False,
    )  # fmt: skip
    assert words.stdout.split() == ["submit"]


def test_the_commands_messages_name_work_as_written(cli: Cli) -> None:
    # "Chạy 'tracker init --config <tệp .toml>'" (no cluster loaded yet): --config written
    # after the command works.
    from tests.test_cli import SHIPPED

    with clock(2022, 3, 1):
        cli.ok("init", "--config", str(SHIPPED), "--cycle", "2022")
    assert cli.ok("status", "--cycle", "2022", "--at", "2022-03-01")
