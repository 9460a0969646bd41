"""Issue 8 §6: an empty value is an error, never taken as "not given" (`--on ""` was
recorded as today)."""

from __future__ import annotations

import pytest

from tests.test_cli import Cli, clock
from tests.test_cli import cli as cli  # the fixtures
from tests.test_cli import loaded as loaded


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (
            [
                "--as",
                "truong-cum",
                "complete",
                "annual_report",
                "--member",
                "muong-cha",
                "--on",
                "",
            ],
            "--on '' không phải ngày hợp lệ",
        ),
        (
            ["--as", "muong-cha", "submit", "annual_report", "--on", " "],
            "không phải ngày hợp lệ",
        ),
        (["status", "--cycle", "2022", "--at", ""], "--at '' không phải ngày giờ hợp lệ"),
        (["remind", "--dry-run", "--at", ""], "--at '' không phải ngày giờ hợp lệ"),
        (["status", "--cycle", "2022", "--member", ""], "Không có đơn vị ''"),
        (
            [
                "simulate",
                "--cycle",
                "2022",
                "--from",
                "2022-12-01",
                "--to",
                "2022-12-02",
                "--out",
                "",
            ],
            "--out '' không phải thư mục",
        ),
    ],
)
def test_an_empty_value_is_refused(loaded: Cli, args: list[str], words: str) -> None:
    with clock(2022, 12, 20):
        line = loaded.fails(2, *args)
        assert words in line
        # Nothing was recorded: the obligation is still open.
        rows = loaded.json("--cycle", "2022", "--member", "muong-cha")
    assert {r["state"] for r in rows if r["milestone"] == "annual_report"} == {"open"}
