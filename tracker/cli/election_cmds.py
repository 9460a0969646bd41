"""`tracker elect`: the election of next year's leader (Điều 7.9). Imported only when it
runs (handlers.dispatch)."""

from __future__ import annotations

from typing import Any

import typer

from tracker.cli.app import Settings
from tracker.cli.handlers import _context, _store, _who, handler, now, parse_day
from tracker.service import election


@handler("elect")
def _elect(settings: Settings, kw: dict[str, Any]) -> int:
    at = now()
    # `is not None`: an empty --on is an error (parse_day says so), not "today".
    on = parse_day(kw["on"], "--on") if kw["on"] is not None else None
    with _store(settings) as session:
        ctx = _context(session, settings, kw["cycle"], at)
        if kw["cycle"] is None:
            # The election is held at the conference, in Quarter I of the next year: from
            # January to March it may belong to either live cycle (issue 8 §1).
            from tracker.calendar.types import local_date
            from tracker.service.actions import refuse_two_live_cycles

            refuse_two_live_cycles(session, ctx, local_date(at), ctx.cfg.cycle.election)
        who = _who(settings, ctx)
        following = election.elect(
            session,
            ctx,
            who,
            member_id=kw["member"],
            now=at,
            on=on,
            ref=kw["ref"],
            note=kw["note"],
        )
        name = ctx.cfg.member(kw["member"]).name
        year = ctx.year + 1
        cluster = ctx.cfg.cluster.name_en if settings.lang == "en" else ctx.cfg.cluster.name
    if settings.lang == "en":
        typer.echo(
            f"Recorded: {name} elected leader of the cluster for {year}"
            f" ({cluster}, {year - 1} cycle)."
        )
        typer.echo(
            f"The {year} cycle now has {name} as its leader."
            if following is not None
            else f"The {year} cycle will take {name} as its leader: tracker init --cycle {year}"
        )
    else:
        typer.echo(
            f"Đã ghi nhận: {name} được bầu làm Trưởng cụm năm {year}"
            f" ({cluster}, chu kỳ {year - 1})."
        )
        typer.echo(
            f"Chu kỳ {year} đã nhận {name} làm Trưởng cụm."
            if following is not None
            else f"Chu kỳ {year} sẽ nhận {name} làm Trưởng cụm khi nạp: tracker init --cycle {year}"
        )
    return 0
