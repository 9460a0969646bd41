"""The election of next year's leader at the summary conference (Điều 7.9: "Giới thiệu và
bầu luân phiên Trưởng cụm để duy trì hoạt động năm tiếp theo"; Điều 3.2: the leader is
chosen by the members every year).

`elect` records the result on the cycle that held the conference, audited, and marks the
election held. The next cycle takes that member as its leader: at once if it is already
loaded, else when `tracker init --cycle Y+1` loads it (`cycles.init_cycle` reads it). No
config edit is needed; the leader's tasks of the next cycle (the pact signing, Điều 6,
among them) go to the elected member.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session, select

from tracker.calendar.types import local_date
from tracker.db.models import CycleRow
from tracker.errors import BadInputError
from tracker.service import cycles
from tracker.service.actions import Who, _save
from tracker.workflow import State, require_leader


def elect(
    session: Session,
    ctx: cycles.CycleContext,
    who: Who,
    *,
    member_id: str,
    now: datetime,
    on: date | None = None,
    ref: str = "",
    note: str = "",
) -> CycleRow | None:
    """Record that `member_id` was elected to lead the year after `ctx`'s. Returns the next
    cycle's row when it is loaded already (its leader changed), else None."""
    require_leader(who.actor, "ghi kết quả bầu Trưởng cụm", "record the election")
    ctx.require_member(member_id)
    today = local_date(now)
    if on is not None and on > today:
        raise BadInputError(
            f"--on {on.isoformat()} là ngày trong tương lai; ghi ngày đã bầu (≤ hôm nay).",
            f"--on {on.isoformat()} is in the future; give the day of the vote (today or before).",
        )
    name = ctx.cfg.member(member_id).name
    next_year = ctx.year + 1
    ctx.row.elected_leader_id = member_id
    session.add(ctx.row)
    text = f"Bầu {name} ({member_id}) làm Trưởng cụm năm {next_year}. {note}".strip()
    election = next(
        (ob for ob in ctx.obligations if ob.active and ob.milestone_id == ctx.cfg.cycle.election),
        None,
    )
    if election is not None and State(election.state) in (State.OPEN, State.SUBMITTED):
        before = election.state
        _save(session, election, state=State.COMPLETED.value, completed_on=on or today)
        session.add(
            who.audit(
                ctx,
                election,
                now,
                "elect",
                from_state=before,
                to_state=State.COMPLETED.value,
                note=text,
                ref=ref,
                on_date=on,
            )
        )
    else:
        session.add(who.audit(ctx, None, now, "elect", note=text, ref=ref, on_date=on))
    following = session.exec(
        select(CycleRow).where(
            CycleRow.cluster_id == ctx.row.cluster_id, CycleRow.year == next_year
        )
    ).first()
    if following is None:
        return None
    nxt = cycles.load_context(session, following)
    cycles.take_leader(
        session,
        nxt,
        member_id,
        now=now,
        who=(who.actor.operator_id, who.os_user),
        recorded_at=who.recorded_at,
    )
    return following
