"""What the leader records and dates, through the service (both databases) and the CLI
(issue 6 §2, §3, §5): the election of next year's leader (Điều 7.9, 3.2, 6); events
recorded as held, never overdue; the preparatory meeting before the conference; what an
ad-hoc request cites and how far its due date may reach."""

# ruff: noqa: F811

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from tests.test_cli import Cli, by_key, cli, clock, loaded  # noqa: F401 (fixtures)
from tests.test_service import (
    CFG,
    LEADER,
    LEADER_ID,
    MUONG_CHA,
    act,
    at,
    audit_rows,
    context,
    due_dates,
    init,
    obligations,
)
from tracker.db.engine import make_engine, session_scope
from tracker.db.models import CycleRow
from tracker.errors import BadInputError, NotFoundError, PermissionDeniedError
from tracker.service import election, views
from tracker.service.actions import Who
from tracker.service.views import article_of
from tracker.workflow import Action

CONFERENCE_DAY = at(2023, 3, 10, 15)


def elect(engine: Engine, member: str, *, who: Who = LEADER, **kw: object) -> CycleRow | None:
    with session_scope(engine) as s:
        return election.elect(
            s,
            context(s, year=2022),
            who,
            member_id=member,
            now=kw.pop("now", CONFERENCE_DAY),  # type: ignore[arg-type]
            **kw,  # type: ignore[arg-type]
        )


def leader_of(engine: Engine, year: int) -> str:
    with session_scope(engine) as s:
        row = s.exec(select(CycleRow).where(CycleRow.year == year)).one()
        return row.leader_id


def test_the_next_cycle_takes_the_elected_member_as_leader(engine: Engine) -> None:
    init(engine)
    assert elect(engine, "muong-cha", ref="Biên bản số 05/BB-CTĐ") is None  # 2023 not loaded
    # The election is recorded as held, with the minutes, in the cycle that held it.
    held = obligations(engine)[(LEADER_ID, "leader_election")]
    assert (held.state, held.completed_on) == ("completed", date(2023, 3, 10))
    entry = audit_rows(engine)[-1]
    assert (entry.action, entry.ref, entry.operator) == (
        "elect",
        "Biên bản số 05/BB-CTĐ",
        "truong-cum",
    )
    assert "Huyện Mường Chà" in entry.note and "2023" in entry.note
    # No config edit: loading 2023 from the same file makes Mường Chà the leader, and the
    # leader's tasks — the pact signing of its year (Điều 6) among them — go to it.
    init(engine, year=2023, now=at(2023, 3, 20))
    assert leader_of(engine, 2023) == "muong-cha"
    obs = obligations(engine, year=2023)
    for task in ("pact_signing", "summary_conference", "score_summary"):
        assert ("muong-cha", task) in obs, task
        assert (LEADER_ID, task) not in obs, task
    # Tủa Chùa keeps its member obligations.
    assert ("tua-chua", "annual_report") in obs
    assert "được bầu" in audit_rows(engine)[-1].note


def test_an_election_after_the_next_cycle_is_loaded_moves_its_leader_at_once(
    engine: Engine,
) -> None:
    init(engine)
    init(engine, year=2023, now=at(2023, 1, 5))
    assert leader_of(engine, 2023) == LEADER_ID  # the config's leader, for now
    following = elect(engine, "nam-po")
    assert following is not None and following.leader_id == "nam-po"
    assert leader_of(engine, 2023) == "nam-po"
    obs = obligations(engine, year=2023)
    assert ("nam-po", "pact_signing") in obs and (LEADER_ID, "pact_signing") not in obs
    assert audit_rows(engine)[-1].action == "leader"
    # A second vote (a correction) moves it again; the election stays recorded once.
    elect(engine, "muong-nhe", now=at(2023, 3, 11))
    assert leader_of(engine, 2023) == "muong-nhe"
    assert [a.action for a in audit_rows(engine)].count("elect") == 2


def test_only_the_leader_records_an_election_of_a_known_member(engine: Engine) -> None:
    init(engine)
    with pytest.raises(PermissionDeniedError):
        elect(engine, "muong-cha", who=MUONG_CHA)
    with pytest.raises(NotFoundError, match="no-such"):
        elect(engine, "no-such")
    with pytest.raises(BadInputError, match="--on"):
        elect(engine, "muong-cha", on=date(2023, 3, 12), now=at(2023, 3, 10))
    assert leader_of(engine, 2022) == LEADER_ID
    assert obligations(engine)[(LEADER_ID, "leader_election")].state == "open"


def test_an_elected_member_missing_from_the_next_config_is_refused(engine: Engine) -> None:
    init(engine)
    elect(engine, "nam-po")
    data = CFG.model_dump()
    data["members"] = [m for m in data["members"] if m["id"] != "nam-po"]
    data["operators"] = [op for op in data["operators"] if op["role"] != "member:nam-po"]
    smaller = type(CFG).model_validate(data)
    with pytest.raises(BadInputError, match="nam-po"):
        init(engine, smaller, year=2023, now=at(2023, 3, 20))


def test_events_are_never_overdue_and_are_recorded_as_held(engine: Engine) -> None:
    init(engine)
    with session_scope(engine) as s:
        ctx = context(s)
        rows = views.status_rows(ctx, date(2023, 6, 1))  # long after every window
    by = {(r.member, r.milestone): r for r in rows}
    # A visit nobody dated, the conference, the pact signing: past their windows, open,
    # and not overdue — an event happens, it is not late.
    for key in (("nam-po", "cross_inspection"), (LEADER_ID, "summary_conference")):
        assert by[key].state == "open" and not by[key].standing.overdue, key
    # A deadline is (the half-year report, due 30/06/2022).
    assert by[("nam-po", "half_year_report")].standing.overdue
    # Recorded as held with the minutes' reference.
    act(
        engine,
        "muong-cha",
        "cross_inspection",
        Action.COMPLETE,
        now=at(2022, 10, 14),
        on=date(2022, 10, 12),
        ref="Biên bản kiểm tra số 12/BB-KT",
    )
    held = obligations(engine)[("muong-cha", "cross_inspection")]
    assert (held.state, held.completed_on) == ("completed", date(2022, 10, 12))
    assert audit_rows(engine)[-1].ref == "Biên bản kiểm tra số 12/BB-KT"
    dues = due_dates(engine, date(2023, 6, 1))
    assert dues[("muong-cha", "cross_inspection")] is not None


def test_tracker_elect_from_the_cli(loaded: Cli) -> None:
    with clock(2023, 3, 10, 16):
        out = loaded.ok(
            "--as", "truong-cum", "elect", "muong-cha", "--cycle", "2022", "--ref", "BB 05"
        )
        assert out.splitlines()[0] == (
            "Đã ghi nhận: Huyện Mường Chà được bầu làm Trưởng cụm năm 2023"
            " (Cụm thi đua huyện vùng cao, chu kỳ 2022)."
        )
        assert "tracker init --cycle 2023" in out
        line = loaded.fails(3, "--as", "muong-cha", "elect", "muong-cha", "--cycle", "2022")
        assert line.startswith("Lỗi: ") and "Trưởng cụm" in line
        line = loaded.fails(2, "--as", "truong-cum", "elect", "no-such", "--cycle", "2022")
        assert "no-such" in line
        loaded.ok("--as", "truong-cum", "init", "--cycle", "2023")
        rows = by_key(loaded.json("--cycle", "2023"))
    assert ("muong-cha", "pact_signing") in rows and ("tua-chua", "pact_signing") not in rows


def test_the_preparatory_meeting_must_come_before_the_conference(engine: Engine) -> None:
    from tests.test_service import scheduled

    init(engine)
    dec = at(2022, 12, 5)
    scheduled(engine, "summary_conference", date(2023, 2, 24), now=dec)
    # On the conference day or after: refused, naming both days and the article.
    for day in (date(2023, 2, 24), date(2023, 2, 27)):
        with pytest.raises(BadInputError, match="Họp trù bị") as err:
            scheduled(engine, "preparatory_meeting", day, now=dec)
        assert "24/02/2023" in err.value.message("vi") and "Điều 7.9" in err.value.message("vi")
    scheduled(engine, "preparatory_meeting", date(2023, 2, 23), now=dec)
    # Moving the conference to (or before) the dated meeting is refused the same way …
    with pytest.raises(BadInputError, match="--force"):
        scheduled(engine, "summary_conference", date(2023, 2, 22), now=dec)
    # … unless the leader insists; the audit keeps what it overrode.
    done = scheduled(engine, "summary_conference", date(2023, 2, 22), now=dec, force=True)
    assert done.warnings
    assert "[--force:" in audit_rows(engine)[-1].note


def test_show_an_event_says_when_it_is_held_not_a_deadline(loaded: Cli) -> None:
    with clock(2022, 9, 5):
        loaded.ok(
            "--as", "truong-cum", "schedule", "cross_inspection", "2022-10-12",
            "--member", "muong-cha", "--cycle", "2022",
        )  # fmt: skip
        out = loaded.ok("show", "muong-cha", "cross_inspection", "--cycle", "2022")
        undated = loaded.ok("show", "muong-nhe", "cross_inspection", "--cycle", "2022")
        rows = by_key(loaded.json("--cycle", "2022"))
    assert "Ngày tổ chức: 12/10/2022 (Thứ Tư)" in out and "Hạn:" not in out
    assert "Ngày tổ chức: chưa ấn định (tổ chức chậm nhất 30/11/2022)" in undated
    assert rows[("muong-cha", "cross_inspection")]["event"] is True
    assert rows[("muong-cha", "half_year_report")]["event"] is False


def test_a_request_cites_the_article_the_leader_gives(loaded: Cli) -> None:
    # Điều 7.3 in the shipped regulation; a commune cluster's own numbering, or another
    # article (Điều 4.7: the leader may ask for reports), is cited as the leader writes it.
    with clock(2022, 11, 1):
        loaded.ok(
            "--as", "truong-cum", "request", "Báo cáo nhanh về thiên tai",
            "--due", "2022-11-20", "--member", "nam-po", "--article", "khoản 7 Điều 4",
        )  # fmt: skip
        loaded.ok(
            "--as", "truong-cum", "request", "Số liệu hộ nghèo", "--due", "2022-11-21",
            "--member", "nam-po",
        )  # fmt: skip
        line = loaded.fails(
            2, "--as", "truong-cum", "request", "x", "--due", "2022-11-22", "--article", "abc"
        )
        rows = by_key(loaded.json())
        history = loaded.ok("history", "--member", "nam-po")
    assert "--article 'abc'" in line
    assert rows[("nam-po", "request-1")]["article"] == "Điều 4.7"
    assert rows[("nam-po", "request-2")]["article"] == "Điều 7.3"  # the config's default
    assert "căn cứ Điều 4.7" in history
    # The letters cite it in the legal form.
    engine = make_engine(loaded.url)
    try:
        with session_scope(engine) as s:
            ctx = context(s, today=date(2022, 11, 1))
            ob = next(o for o in ctx.obligations if o.milestone_id == "request-1")
            cited = article_of(ctx.cfg, ob)
    finally:
        engine.dispose()
    assert cited is not None and cited.vi() == "khoản 7 Điều 4"


def test_a_request_due_beyond_the_cycles_reach_is_refused(loaded: Cli) -> None:
    # 31/12/9999 was accepted and then broke the planning of the whole cycle on every tick.
    with clock(2022, 11, 1):
        for due in ("9999-12-31", "2024-01-01"):
            line = loaded.fails(2, "--as", "truong-cum", "request", "x", "--due", due)
            assert "quá xa" in line and "31/12/2023" in line, line
        loaded.ok("--as", "truong-cum", "request", "x", "--due", "2023-12-31")
        rows = by_key(loaded.json())
    assert {ms for _, ms in rows if ms.startswith("request-")} == {"request-1"}


def test_status_shows_a_past_event_as_waiting_to_be_recorded_not_late(loaded: Cli) -> None:
    with clock(2022, 9, 5):
        loaded.ok(
            "--as", "truong-cum", "schedule", "cross_inspection", "2022-10-05",
            "--member", "nam-po", "--cycle", "2022",
        )  # fmt: skip
    with clock(2022, 10, 6):
        out = loaded.ok("status", "--cycle", "2022")
    visit = next(line for line in out.splitlines() if line.startswith("Kiểm tra chéo"))
    assert "◦ chờ ghi nhận đã tổ chức" in visit and "còn -" not in visit
    pact = next(line for line in out.splitlines() if line.startswith("Ký kết giao ước"))
    assert "? chưa ấn định, đã hết khung" in pact and "≤-" not in pact
    assert "◦ sự kiện đã qua, chờ ghi nhận" in out
