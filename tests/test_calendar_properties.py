"""Properties of the calendar over cycle years 2000–2100 and generated rules: windows hold
their events, relative dates keep their order, working-day policies land on working days
close by, and working-day arithmetic lands on working days."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.calendar import POLICIES, WorkCalendar, plan_cycle, resolve_window
from tracker.config.loader import parse_config
from tracker.config.schema import ClusterConfig, EventRule, Holidays

# One calendar for the whole module: it caches holidays per year, which keeps a hundred
# years of examples fast.
CAL = WorkCalendar(Holidays())

PROPS = settings(max_examples=150, deadline=None)

years = st.integers(min_value=2000, max_value=2100)
days_in_range = st.dates(min_value=date(2000, 1, 1), max_value=date(2101, 12, 31))

MEMBERS = ["a", "b", "c"]


def _config(milestones: list[dict[str, Any]]) -> ClusterConfig:
    return parse_config(
        {
            "cluster": {"id": "c", "name": "Cụm", "name_en": "Cluster", "province": "Tỉnh"},
            "cycle": {"year": 2022, "leader": "a"},
            "members": [
                {
                    "id": m,
                    "name": m.upper(),
                    "contacts": [{"role": "focal", "name": m, "email": f"{m}@example.vn"}],
                }
                for m in MEMBERS
            ],
            "milestones": milestones,
        },
        "props",
    )


def _ms(mid: str, rule: dict[str, Any], policy: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": mid,
        "name": f"Mốc {mid}",
        "name_en": f"Milestone {mid}",
        "article": "Điều 7",
        "assignee": "leader",
        "rule": rule,
    }
    if policy is not None:
        out["policy"] = policy
    return out


# -- rule strategies -------------------------------------------------------------------

# Days that exist in every year (no 29/2), as (year offset, month, day), ordered.
day_exprs = st.tuples(st.integers(0, 1), st.integers(1, 12), st.integers(1, 31)).filter(
    lambda t: _exists(t[1], t[2])
)


def _exists(month: int, day: int) -> bool:
    try:
        date(2023, month, day)
    except ValueError:
        return False
    return True


def _day_text(t: tuple[int, int, int]) -> str:
    off, month, day = t
    return f"{day}/{month}/Y" + (f"+{off}" if off else "")


@st.composite
def window_rules(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["window", "month", "quarter"]))
    off = draw(st.integers(0, 1))
    suffix = f"+{off}" if off else ""
    if kind == "month":
        return {"kind": "month", "month": f"{draw(st.integers(1, 12))}/Y{suffix}"}
    if kind == "quarter":
        return {"kind": "quarter", "quarter": f"Q{draw(st.integers(1, 4))}/Y{suffix}"}
    a, b = sorted([draw(day_exprs), draw(day_exprs)])
    return {"kind": "window", "start": _day_text(a), "end": _day_text(b)}


@st.composite
def target_rules(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["fixed", "windowlike", "event"]))
    if kind == "fixed":
        return {"kind": "fixed", "date": _day_text(draw(day_exprs))}
    if kind == "windowlike":
        return draw(window_rules())
    return {"kind": "event", "within": draw(window_rules()), "per_member": draw(st.booleans())}


relative_parts = st.fixed_dictionaries(
    {
        "days": st.integers(0, 40),
        "direction": st.sampled_from(["before", "after"]),
        "count": st.sampled_from(["calendar", "working"]),
        "anchor": st.sampled_from(["date", "start", "end"]),
    }
)


# -- windows hold their events ---------------------------------------------------------


@PROPS
@given(year=years, within=window_rules(), per_member=st.booleans(), data=st.data())
def test_event_dates_inside_the_window(
    year: int, within: dict[str, Any], per_member: bool, data: st.DataObject
) -> None:
    cfg = _config([_ms("ev", {"kind": "event", "within": within, "per_member": per_member})])
    rule = cfg.milestone("ev").rule
    assert isinstance(rule, EventRule)
    window = resolve_window(rule, year)
    assert window.start <= window.end
    # A window rule is resolved in the cycle year or the next one, never elsewhere.
    assert year <= window.start.year <= year + 1
    in_window = st.dates(min_value=window.start, max_value=window.end)
    keys: list[str | None] = [*MEMBERS] if per_member else [None]
    dated = data.draw(st.lists(st.sampled_from(keys), unique=True))
    events = {("ev", k): data.draw(in_window) for k in dated}
    plan = plan_cycle(cfg, year, CAL, events)
    for k in keys:
        due = plan.due("ev", k)
        assert due.window == window
        if k in dated:
            assert due.scheduled is True
            assert due.date == events[("ev", k)]
        else:
            # Not dated yet: it must happen by the window's end (as written).
            assert due.scheduled is False
            assert due.date == window.end
        assert due.date in window


# -- relative dates keep their order ---------------------------------------------------


@PROPS
@given(
    year=years,
    target=target_rules(),
    parts=relative_parts,
    target_policy=st.sampled_from(POLICIES),
    data=st.data(),
)
def test_relative_dates_keep_their_order(
    year: int,
    target: dict[str, Any],
    parts: dict[str, Any],
    target_policy: str,
    data: st.DataObject,
) -> None:
    rel = {"kind": "relative", "to": "t", **parts}
    cfg = _config([_ms("t", target, target_policy), _ms("r", rel, "as_written")])
    keys: list[str | None] = [None]
    events: dict[tuple[str, str | None], date] = {}
    if target["kind"] == "event":
        t_rule = cfg.milestone("t").rule
        assert isinstance(t_rule, EventRule)
        w = resolve_window(t_rule, year)
        keys = [*MEMBERS] if target["per_member"] else [None]
        for k in keys:
            if data.draw(st.booleans()):
                events[("t", k)] = data.draw(st.dates(min_value=w.start, max_value=w.end))
    plan = plan_cycle(cfg, year, CAL, events)
    if len(keys) > 1:
        # The leader owes `r` once: no per-member entries.
        assert not plan.per_member("r")
    if len(keys) > 1 and parts["anchor"] == "date":
        # The leader's single entry holds for every member: before, from the earliest
        # visit dated so far; after, from the latest, once all are dated.
        shared = plan.due("r")
        if parts["direction"] == "before" and events:
            assert shared.date is not None
            assert shared.date <= min(events.values())
        elif parts["direction"] == "after" and len(events) == len(keys):
            assert shared.date is not None
            assert shared.date >= max(events.values())
        else:
            assert shared.date is None
        return
    for k in keys if len(keys) == 1 else [None]:
        t, r = plan.due("t", k), plan.due("r", k)
        if parts["anchor"] == "date":
            base = None if t.scheduled is False else t.date
        else:
            bounds = t.window
            base = (
                t.date
                if bounds is None
                else (bounds.start if parts["anchor"] == "start" else bounds.end)
            )
        if base is None:
            # Counting from an event nobody dated: never guessed.
            assert r.date is None and r.as_written is None
            continue
        assert r.date is not None
        assert r.date == r.as_written  # as_written policy on the relative rule
        assert r.depends_on == "t"
        if parts["direction"] == "before":
            assert r.date <= base
        else:
            assert r.date >= base
        if parts["count"] == "calendar":
            assert abs((r.date - base).days) == parts["days"]
        else:
            n = parts["days"]
            if parts["direction"] == "after" or n == 0:
                assert CAL.working_days_between(base, r.date) == n
            else:
                # r is the n-th working day before base: n working days in [r, base).
                assert CAL.working_days_between(r.date, base) == n - 1 + CAL.is_working_day(base)
            if parts["days"]:
                assert CAL.is_working_day(r.date)


@PROPS
@given(
    year=years,
    links=st.lists(relative_parts, min_size=1, max_size=4),
)
def test_chains_keep_every_link_in_order(year: int, links: list[dict[str, Any]]) -> None:
    milestones = [_ms("m0", {"kind": "fixed", "date": "15/7/Y"})]
    for i, parts in enumerate(links, start=1):
        rule = {"kind": "relative", "to": f"m{i - 1}", **parts}
        # An after-rule moves later (Civil Code Art. 148(5)); a before-rule keeps its default,
        # the previous working day ("ít nhất N ngày trước": next_working_day is refused).
        before = parts["direction"] == "before"
        milestones.append(_ms(f"m{i}", rule, None if before else "next_working_day"))
    plan = plan_cycle(_config(milestones), year, CAL, {})
    for i, parts in enumerate(links, start=1):
        prev, cur = plan.due(f"m{i - 1}"), plan.due(f"m{i}")
        assert prev.date is not None and cur.as_written is not None and cur.date is not None
        # Counted from the previous link's final (post-policy) date.
        if parts["direction"] == "before":
            # Never later than "at least N days before" allows.
            assert cur.date <= cur.as_written <= prev.date
            assert cur.policy == "previous_working_day"
        else:
            assert cur.as_written >= prev.date
            assert cur.date >= cur.as_written
        assert CAL.is_working_day(cur.date)


# -- working-day policies ---------------------------------------------------------------


@PROPS
@given(d=days_in_range)
def test_policies_land_on_nearby_working_days(d: date) -> None:
    nxt, skipped_n = CAL.apply_policy(d, "next_working_day")
    prv, skipped_p = CAL.apply_policy(d, "previous_working_day")
    assert CAL.is_working_day(nxt) and CAL.is_working_day(prv)
    assert d <= nxt <= d + timedelta(days=15)
    assert d - timedelta(days=15) <= prv <= d
    assert len(skipped_n) == (nxt - d).days
    assert len(skipped_p) == (d - prv).days
    for s in (*skipped_n, *skipped_p):
        assert not CAL.is_working_day(s.day)
        assert (s.reason_vi, s.reason_en) == CAL.day_off_reason(s.day)
    if CAL.is_working_day(d):
        assert nxt == prv == d and skipped_n == skipped_p == ()
    assert CAL.apply_policy(d, "as_written") == (d, ())


# -- working-day arithmetic ------------------------------------------------------------


@PROPS
@given(d=days_in_range, n=st.integers(-60, 60).filter(lambda n: n != 0))
def test_add_working_days_lands_on_working_days(d: date, n: int) -> None:
    out = CAL.add_working_days(d, n)
    assert CAL.is_working_day(out)
    if n > 0:
        assert out > d
        assert CAL.working_days_between(d, out) == n
        assert CAL.add_working_days(out, -n) == CAL.previous_working_day(d)
    else:
        assert out < d
        # out is the |n|-th working day before d: |n| - 1 lie strictly between, plus d.
        assert CAL.working_days_between(out, d) == -n - 1 + CAL.is_working_day(d)
        assert CAL.add_working_days(out, -n) == CAL.next_working_day(d)
