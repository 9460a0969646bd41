"""The sender's tunables (issue 7 §1): `[mail]` batch, in_flight, connections,
lease_seconds, tick_seconds, each overridden by its environment variable; absurd values
are refused in one line that names the variable and the range."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from jobs.runtime import TickSettings, settings_for, worker_id
from tracker.config.schema import Mail
from tracker.errors import BadInputError


def test_defaults_are_the_documented_ones() -> None:
    assert settings_for(Mail(), {}) == TickSettings(
        lease=timedelta(minutes=5), batch=200, max_concurrency=4, connections=2, tick_seconds=30
    )


def test_the_config_sets_them_and_the_environment_wins() -> None:
    mail = Mail(batch=50, in_flight=8, connections=3, lease_seconds=120, tick_seconds=10)
    s = settings_for(mail, {})
    assert (s.batch, s.max_concurrency, s.connections, s.lease, s.tick_seconds) == (
        50,
        8,
        3,
        timedelta(seconds=120),
        10,
    )
    env = {"TRACKER_BATCH": "500", "TRACKER_LEASE_SECONDS": "30", "TRACKER_TICK_SECONDS": "2"}
    s = settings_for(mail, env)
    assert (s.batch, s.lease, s.tick_seconds, s.connections) == (
        500,
        timedelta(seconds=30),
        2,
        3,
    )


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("TRACKER_TICK_SECONDS", "1e-9"),
        ("TRACKER_TICK_SECONDS", "600"),
        ("TRACKER_BATCH", "0"),
        ("TRACKER_BATCH", "2.5"),
        ("TRACKER_IN_FLIGHT", "-1"),
        ("TRACKER_SMTP_CONNECTIONS", "100"),
        ("TRACKER_LEASE_SECONDS", "1"),
        ("TRACKER_LEASE_SECONDS", "nan"),
        ("TRACKER_BATCH", "abc"),
    ],
)
def test_an_absurd_value_is_refused_naming_the_variable(var: str, value: str) -> None:
    with pytest.raises(BadInputError) as err:
        settings_for(Mail(), {var: value})
    vi, en = err.value.message("vi"), err.value.message("en")
    assert var in vi and "không hợp lệ" in vi and var in en and "from" in en


def test_an_absurd_value_in_the_config_is_refused_at_load() -> None:
    with pytest.raises(ValidationError):
        Mail(tick_seconds=1e-9)
    with pytest.raises(ValidationError):
        Mail(lease_seconds=1)


def test_every_worker_id_is_new() -> None:
    a, b = worker_id(), worker_id()
    assert a != b and a.rsplit(":", 1)[0] == b.rsplit(":", 1)[0]
