"""The `tracker` command: a thin Typer shell over tracker.service.

This module imports only Typer and the standard library, so `tracker --help` starts fast
and never loads SQLAlchemy; each command imports its handler (and the database stack) only
when it runs.
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from tracker.cli.usage_words import usage_line
from tracker.i18n import DEFAULT_LANGUAGE, LANGUAGES, catalog, language_from_env

HELP = (
    "Theo dõi lịch, nghĩa vụ và nhắc việc của Cụm thi đua.\n\n"
    "Tracks the calendar, obligations and reminders of an emulation cluster (Cụm thi đua)."
)

# Click's base error class, from whichever Click this Typer uses (a vendored copy in recent
# Typer, the `click` package before): typer.BadParameter derives from it.
_CLICK_ERROR: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"
)


# Options of the `tracker` command itself, which may also be written after a subcommand
# (`tracker submit annual_report --as muong-cha`, issue 8 §2): value-taking, then flags. No
# subcommand has an option of the same name, so moving them to the front is unambiguous.
GLOBAL_VALUE_OPTIONS = frozenset({"--as", "--lang", "--db", "--cluster", "--config"})
GLOBAL_FLAGS = frozenset({"--no-color", "--no-pager"})


def hoist_global_options(args: Sequence[str]) -> list[str]:
    """`args` with every global option found after the subcommand moved to just before it,
    in order, so Click (which reads a group's options only before its subcommand) sees
    them, and one written after the command still wins over the same one before it (the
    last given wins). Nothing after `--` moves."""
    before: list[str] = []  # up to the command
    moved: list[str] = []  # global options found after it
    after: list[str] = []  # the command and everything else
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--":
            (after if after else before).extend(args[i:])
            break
        name = a.split("=", 1)[0]
        if name in GLOBAL_VALUE_OPTIONS:
            n = 2 if "=" not in a and i + 1 < len(args) else 1
            (moved if after else before).extend(args[i : i + n])
            i += n
            continue
        if a in GLOBAL_FLAGS and after:
            moved.append(a)
        elif after or not a.startswith("-"):
            after.append(a)  # the command word, then its arguments and options
        else:
            before.append(a)
        i += 1
    return before + moved + after


def _given_language(argv: Sequence[str]) -> str | None:
    """The `--lang` written on the command line, if any (read before Click parses it)."""
    for a, b in itertools.pairwise(argv):
        if a == "--lang" and b in LANGUAGES:
            return b
    for a in argv:
        if a.startswith("--lang=") and a[7:] in LANGUAGES:
            return a[7:]
    return None


def _use_typer_catalog(lang: str) -> None:
    """Typer's own words in help ("Options", "[default: …]", "[required]") from the
    `click` catalog (issue 8 §4). Typer binds the stdlib `gettext` as `_` in these two
    modules and reads the process-wide default domain, which a library must not change;
    rebinding their `_` translates them for this run only."""
    import typer.core

    words = catalog(lang, "click").gettext
    typer.core._ = words  # type: ignore[attr-defined]
    # Rich help is off (rich_markup_mode=None): importing rich_utils would pull in Rich,
    # which `tracker --help` must not pay for; translate it only if something loaded it.
    rich_utils = sys.modules.get("typer.rich_utils")
    if rich_utils is not None:
        rich_utils._ = words  # type: ignore[attr-defined]


class _OneLineErrors(TyperGroup):
    """Usage errors (unknown command, missing option) as one line, like every other error
    (issue 2 §6), instead of Click's usage text and Rich's boxed message."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        args = hoist_global_options(list(args if args is not None else sys.argv[1:]))
        # Help follows the locale too (`LANG=en_*`); messages follow `--lang` only.
        _use_typer_catalog(_given_language(args) or language_from_env())
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        except _CLICK_ERROR as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # bare `tracker`: show the help
                exc.show()  # type: ignore[attr-defined]
            else:
                ctx = getattr(exc, "ctx", None)
                words = ctx.command_path.split()[1:] if ctx is not None else []
                cmd = " ".join(["tracker", *words])
                line = usage_line(exc, _given_language(args) or DEFAULT_LANGUAGE, cmd)
                typer.echo(" ".join(line.split()), err=True)
            sys.exit(getattr(exc, "exit_code", 2))
        except typer.Abort:
            sys.exit(1)
        # Without standalone mode an exit code comes back as the return value.
        sys.exit(rv if isinstance(rv, int) else 0)


# Plain Click help, not Rich's panels: rendering help through Rich imported ≈65 ms of
# rich/markdown-it modules, a third of `tracker --help` (issue 7: ≤ 0.15 s). The help texts
# carry no markup, so nothing is lost but the boxes. add_completion: `tracker
# --install-completion` / `--show-completion` (issue 8 §2); it costs only shellingham
# (< 1 ms) at start-up.
app = typer.Typer(
    cls=_OneLineErrors,
    help=HELP,
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@dataclass
class Settings:
    db: str | None
    operator: str | None
    lang: str
    config: str | None
    cluster: str | None
    # --no-color (or NO_COLOR, https://no-color.org) and --no-pager (issue 8 §2).
    no_color: bool = False
    no_pager: bool = False


def _show_version(value: bool) -> None:
    if value:
        from tracker import __version__

        typer.echo(f"tracker {__version__}")
        raise typer.Exit(0)


@app.callback()
def main_options(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Database URL (default: TRACKER_DATABASE_URL, else sqlite:///tracker.db).",
            envvar="TRACKER_DATABASE_URL",
        ),
    ] = None,
    operator: Annotated[
        str | None,
        typer.Option(
            "--as", help="Operator id from the config (who is acting).", envvar="TRACKER_OPERATOR"
        ),
    ] = None,
    lang: Annotated[str, typer.Option("--lang", help="vi (default) or en.")] = "vi",
    config: Annotated[
        str | None,
        typer.Option(
            "--config", help="Cluster config file or folder (default: the shipped config/)."
        ),
    ] = None,
    cluster: Annotated[
        str | None, typer.Option("--cluster", help="Cluster id, when the database holds several.")
    ] = None,
    no_color: Annotated[
        bool, typer.Option("--no-color", help="No colours (also when NO_COLOR is set).")
    ] = False,
    no_pager: Annotated[
        bool,
        typer.Option("--no-pager", help="Never page long listings (outbox, history, calendar)."),
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Show the version and exit.",
            callback=_show_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
    if lang not in ("vi", "en"):
        typer.echo(
            "Lỗi: --lang chỉ nhận 'vi' hoặc 'en'. / Error: --lang takes 'vi' or 'en'.", err=True
        )
        raise typer.Exit(2)
    ctx.obj = Settings(
        db=db,
        operator=operator,
        lang=lang,
        config=config,
        cluster=cluster,
        # NO_COLOR: any non-empty value turns colour off (https://no-color.org).
        no_color=no_color or bool(os.environ.get("NO_COLOR")),
        no_pager=no_pager,
    )


def _run(ctx: typer.Context, name: str, **kwargs: Any) -> None:
    """Import the handler lazily, run it, and turn domain errors into one line + exit code."""
    from tracker.cli import handlers

    code = handlers.dispatch(ctx.obj, name, kwargs)
    if code:
        raise typer.Exit(code)


CycleOpt = Annotated[str | None, typer.Option("--cycle", help="Cycle year (or 'current').")]
MemberOpt = Annotated[str | None, typer.Option("--member", help="Member id, e.g. muong-cha.")]
NoteOpt = Annotated[str, typer.Option("--note", help="Note or reason.")]
RefOpt = Annotated[str, typer.Option("--ref", help="Document reference, e.g. 'Số: 123/BC-UBND'.")]
OnOpt = Annotated[
    str | None,
    typer.Option("--on", help="Day it happened (YYYY-MM-DD or DD/MM/YYYY), default today."),
]
WideOpt = Annotated[
    bool, typer.Option("--wide", help="Whole rows, whatever the terminal's width (no wrapping).")
]


@app.command()
def init(
    ctx: typer.Context,
    cycle: CycleOpt = None,
    force: Annotated[
        bool, typer.Option("--force", help="Allow dropping members that have history.")
    ] = False,
) -> None:
    """Nạp cấu hình, tạo/cập nhật nghĩa vụ của chu kỳ. Load the config; create or refresh a cycle."""
    _run(ctx, "init", cycle=cycle, force=force)


@app.command()
def status(
    ctx: typer.Context,
    cycle: CycleOpt = None,
    member: MemberOpt = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only overdue obligations.")] = False,
    fmt: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table",
    check: Annotated[
        bool, typer.Option("--check", help="Exit 1 when anything is overdue (for cron).")
    ] = False,
    at: Annotated[
        str | None, typer.Option("--at", help="Evaluate at this date/time instead of now.")
    ] = None,
    all_clusters: Annotated[
        bool,
        typer.Option(
            "--all-clusters",
            help="One line per cluster: members, open, overdue, failed mail.",
        ),
    ] = False,
    wide: WideOpt = False,
    excel: Annotated[
        bool,
        typer.Option("--excel", help="CSV for Excel on Windows: UTF-8 with BOM, CRLF."),
    ] = False,
) -> None:
    """Bảng tình hình: đơn vị × mốc. Members × milestones at a glance."""
    _run(
        ctx,
        "status",
        cycle=cycle,
        member=member,
        overdue=overdue,
        fmt=fmt,
        check=check,
        at=at,
        all_clusters=all_clusters,
        wide=wide,
        excel=excel,
    )


@app.command()
def show(
    ctx: typer.Context,
    member: Annotated[str, typer.Argument(help="Member id.")],
    milestone: Annotated[str | None, typer.Argument(help="Milestone id.")] = None,
    cycle: CycleOpt = None,
    wide: WideOpt = False,
) -> None:
    """Chi tiết, lịch sử và lý do của ngày hạn. Detail, history and why this date."""
    _run(ctx, "show", member=member, milestone=milestone, cycle=cycle, wide=wide)


def _transition(name: str, doc: str) -> None:
    def command(
        ctx: typer.Context,
        milestone: Annotated[str, typer.Argument(help="Milestone id, or request-N.")],
        member: MemberOpt = None,
        note: NoteOpt = "",
        ref: RefOpt = "",
        on: OnOpt = None,
        cycle: CycleOpt = None,
    ) -> None:
        _run(
            ctx,
            "transition",
            action=name,
            milestone=milestone,
            member=member,
            note=note,
            ref=ref,
            on=on,
            cycle=cycle,
        )

    command.__doc__ = doc
    app.command(name=name)(command)


_transition("complete", "Trưởng cụm xác nhận hoàn thành. The leader accepts an obligation.")
_transition("submit", "Đơn vị báo đã gửi. A member says it has sent its document.")
_transition("return", "Trưởng cụm trả lại để bổ sung (--note). The leader sends it back.")
_transition("waive", "Trưởng cụm miễn (--note lý do). The leader excuses it (reason).")
_transition("reopen", "Trưởng cụm mở lại (--note lý do). The leader reopens it (reason).")


@app.command()
def schedule(
    ctx: typer.Context,
    milestone: Annotated[str, typer.Argument(help="summary_conference or cross_inspection.")],
    day: Annotated[str, typer.Argument(metavar="DATE", help="YYYY-MM-DD or DD/MM/YYYY.")],
    member: MemberOpt = None,
    note: NoteOpt = "",
    cycle: CycleOpt = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Accept a day off, or a score summary before the end of January (warns).",
        ),
    ] = False,
) -> None:
    """Ấn định ngày hội nghị / lịch kiểm tra. Set the conference date or an inspection visit."""
    _run(
        ctx,
        "schedule",
        milestone=milestone,
        day=day,
        member=member,
        note=note,
        cycle=cycle,
        force=force,
    )


@app.command()
def request(
    ctx: typer.Context,
    title: Annotated[str, typer.Argument(help="What is requested.")],
    due: Annotated[str, typer.Option("--due", help="Due date (YYYY-MM-DD or DD/MM/YYYY).")],
    member: Annotated[
        list[str] | None, typer.Option("--member", help="Member id; repeat; default all.")
    ] = None,
    note: NoteOpt = "",
    cycle: CycleOpt = None,
    article: Annotated[
        str | None,
        typer.Option(
            "--article",
            help="Article the request cites, e.g. 'khoản 3 Điều 7' (default: the config's).",
        ),
    ] = None,
) -> None:
    """Yêu cầu báo cáo đột xuất (Điều 7.3). An ad-hoc report request."""
    _run(
        ctx,
        "request",
        title=title,
        due=due,
        members=member or [],
        note=note,
        cycle=cycle,
        article=article,
    )


@app.command()
def elect(
    ctx: typer.Context,
    member: Annotated[str, typer.Argument(help="Member id of next year's leader.")],
    cycle: CycleOpt = None,
    ref: RefOpt = "",
    on: OnOpt = None,
    note: NoteOpt = "",
) -> None:
    """Ghi kết quả bầu Trưởng cụm năm sau (Điều 7.9). Record next year's elected leader."""
    _run(ctx, "elect", member=member, cycle=cycle, ref=ref, on=on, note=note)


@app.command()
def calendar(ctx: typer.Context, cycle: CycleOpt = None, wide: WideOpt = False) -> None:
    """Mọi mốc với ngày, quy tắc và điều khoản. Every milestone with its date, rule, article."""
    _run(ctx, "calendar", cycle=cycle, wide=wide)


@app.command()
def history(
    ctx: typer.Context, member: MemberOpt = None, cycle: CycleOpt = None, wide: WideOpt = False
) -> None:
    """Nhật ký thay đổi. The audit trail."""
    _run(ctx, "history", member=member, cycle=cycle, wide=wide)


@app.command()
def run(ctx: typer.Context) -> None:
    """Chạy trình nhắc việc (daemon). Run the reminder scheduler until stopped."""
    _run(ctx, "run")


@app.command()
def remind(
    ctx: typer.Context,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would go out; write nothing.")
    ] = False,
    at: Annotated[
        str | None,
        typer.Option("--at", help="Run the tick at this date/time (ISO, or a date = 08:00)."),
    ] = None,
) -> None:
    """Một lượt nhắc việc ngay (cho cron). One reminder tick now, for cron users."""
    _run(ctx, "remind", dry_run=dry_run, at=at)


@app.command()
def simulate(
    ctx: typer.Context,
    start: Annotated[str, typer.Option("--from", help="First day (YYYY-MM-DD or DD/MM/YYYY).")],
    end: Annotated[str, typer.Option("--to", help="Last day (YYYY-MM-DD or DD/MM/YYYY).")],
    out: Annotated[
        str | None,
        typer.Option("--out", help="Write the e-mails as .eml files here (default: memory)."),
    ] = None,
    cycle: CycleOpt = None,
) -> None:
    """Chạy thử nhắc việc từng ngày trên bản sao CSDL. Simulate reminders day by day on a copy."""
    _run(ctx, "simulate", start=start, end=end, out=out, cycle=cycle)


outbox_app = typer.Typer(
    help="Hàng đợi thư nhắc việc. The reminder outbox: planned, sent, failed.",
    no_args_is_help=False,
    rich_markup_mode=None,
)
app.add_typer(outbox_app, name="outbox")


@outbox_app.callback(invoke_without_command=True)
def outbox(
    ctx: typer.Context,
    state: Annotated[
        str | None,
        typer.Option("--state", help="planned, sending, sent, failed or cancelled."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="How many letters (newest first).")] = 50,
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    show_all: Annotated[bool, typer.Option("--all", help="Include cancelled letters.")] = False,
) -> None:
    """Danh sách thư (e-mail) trong hàng đợi, mới nhất trước. List the letters, newest first."""
    if ctx.invoked_subcommand is None:
        _run(ctx, "outbox", state=state, limit=limit, format=fmt, all=show_all)


@outbox_app.command("show")
def outbox_show(
    ctx: typer.Context,
    letter_id: Annotated[int, typer.Argument(metavar="ID", help="Letter id (tracker outbox).")],
) -> None:
    """Xem một thư và các mục của nó. Show one letter and its items."""
    _run(ctx, "outbox-show", letter_id=letter_id)


@outbox_app.command("retry")
def outbox_retry(
    ctx: typer.Context,
    row_id: Annotated[int, typer.Argument(metavar="ID", help="Letter id (tracker outbox).")],
) -> None:
    """Gửi lại một thư bị lỗi. Queue a failed letter again."""
    _run(ctx, "outbox-retry", row_id=row_id)


# Set by the console script: the command may then freeze what it imported out of the garbage
# collector's way (tracker/cli/handlers.py, bench/README.md).
FREEZE_GC = False


def main() -> None:
    global FREEZE_GC
    FREEZE_GC = True
    # Windows consoles and some SSH sessions default to a legacy encoding; Vietnamese needs UTF-8.
    os.environ.setdefault("PYTHONIOENCODING", "utf-8")
    app()
