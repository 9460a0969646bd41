"""Letter → e-mail (issue 3 §2). Pure apart from reading the templates: no clock (`now` is
passed in), no network.

Templates live in `templates/emails/<lang>/<kind>.{subject,txt,html}.j2`. Undefined
variables fail (StrictUndefined) and only `.html.j2` templates escape, so the plain-text
part shows a member's name exactly as written.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP, Policy
from email.utils import format_datetime
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from tracker import paths
from tracker.calendar import vndate
from tracker.calendar.types import TZ
from tracker.letters.model import Item, Letter
from tracker.transport.base import WireMessage
from tracker.workflow import state_words

# A Message-ID's right-hand side: a plain host name, nothing that could end the header.
_DOMAIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")
_BLANK_RUNS = re.compile(r"\n{3,}")


class UnsafeHeaderError(ValueError):
    """A header value holds a line break: it could inject headers, so nothing is built."""


class _EncodedSubject(str):
    """A non-ASCII Subject that folds itself as RFC 2047 encoded words only.

    The email package's folder (CPython 3.11) folds ASCII text followed by an encoded word
    leaving a space at the end of the line, so "report – due" arrives as "report  – due".
    A header value with a `name` attribute is stored and folded by its own `fold` method
    (email.policy.EmailPolicy); the legacy `Header` encoder splits only between encoded
    words, whose separating whitespace a reader drops (RFC 2047 §6.2).
    """

    name = "Subject"

    def fold(self, *, policy: Policy) -> str:
        encoded = Header(str(self), "utf-8", header_name=self.name).encode(linesep=policy.linesep)
        return f"{self.name}: {encoded}{policy.linesep}"


class _EncodedAddress(str):
    """A From/To/Reply-To value whose non-ASCII display name travels as ONE encoded word.

    The stdlib folder splits a long display name into several encoded words anywhere, even
    inside a word. A reader following RFC 2047 §6.2 drops the space between two encoded
    words, but CPython's own parser (policy.default) keeps it inside a phrase, so "Điện
    Biên Đông" came back as "Điện Biên Đôn g". One encoded word per name reads back the
    same in both; the address goes on the next line when the first would pass 78
    characters. (A name longer than about 40 letters makes an encoded word longer than
    RFC 2047's 75: every reader we know accepts it, and a wrong name is worse.)
    Like a parsed address header it has `addresses` and prints as "Name <addr>".
    """

    name: str
    addresses: tuple[Address, ...]

    def __new__(cls, name: str, address: Address) -> _EncodedAddress:
        obj = super().__new__(cls, str(address))
        obj.name = name
        obj.addresses = (address,)
        return obj

    def fold(self, *, policy: Policy) -> str:
        [address] = self.addresses
        display = address.display_name
        if not display or display.isascii():
            # ASCII: the registry's own formatting (quoting where needed).
            return f"{self.name}: {address}{policy.linesep}"
        encoded = base64.b64encode(display.encode("utf-8")).decode("ascii")
        word = f"=?utf-8?b?{encoded}?="
        spec = f"<{address.addr_spec}>"
        line = f"{self.name}: {word} {spec}"
        if len(line) <= 78:
            return line + policy.linesep
        return f"{self.name}: {word}{policy.linesep} {spec}{policy.linesep}"


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def _autoescape(name: str | None) -> bool:
    # HTML only: escaping the text part or the subject would show "&lt;" to the reader.
    return name is not None and name.endswith(".html.j2")


@lru_cache(maxsize=8)
def _environment(root: Path) -> Environment:
    env = Environment(
        loader=FileSystemLoader(root),
        undefined=StrictUndefined,
        autoescape=_autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        # The templates ship with the tracker: a daemon compiles each once, instead of
        # checking its file on every render (a stat per template per letter).
        auto_reload=False,
    )
    env.filters.update(
        vn_date=vndate.vn_date,
        vn_long=vndate.vn_long,
        en_long=vndate.en_long,
        weekday_vi=vndate.weekday_vi,
        weekday_text_vi=vndate.weekday_text_vi,
        dated_vi=vndate.dated_vi,
        dated_en=vndate.dated_en,
        left_vi=_left_vi,
        left_en=_left_en,
        weekday_en=vndate.weekday_en,
        days_vi=vndate.days_phrase_vi,
        days_en=vndate.days_phrase_en,
        window_vi=vndate.window_vi,
        window_en=vndate.window_en,
        state_vi=_state_vi,
        state_en=_state_en,
        plain=_plain,
        lcfirst=_lcfirst,
    )
    return env


def _plain(value: object) -> Markup:
    """Escape a phrase from a plain-text macro file (`_phrases.j2`) for HTML.

    Jinja marks a macro's result safe when an autoescaping template calls it, even though
    a macro from a non-escaping file escaped nothing: without this filter a member's name
    in a shared phrase would reach the HTML raw. The text part calls the same macros
    unescaped, so both parts say the same words.
    """
    raw = str.__str__(value) if isinstance(value, str) else str(value)
    return escape(raw)


def _left_vi(item: Item, brief: bool = False) -> str:
    """What is left of an item's time (see vndate.countdown_vi); `brief` for subjects."""
    if item.days_left is None:
        return ""
    if brief and item.last_working_day and item.working_days_left:
        return f"còn {item.working_days_left} ngày làm việc"
    return vndate.countdown_vi(
        item.days_left,
        working_days_left=item.working_days_left,
        last_working_day=item.last_working_day,
        event=item.event,
    )


def _left_en(item: Item, brief: bool = False) -> str:
    if item.days_left is None:
        return ""
    if brief and item.last_working_day and item.working_days_left:
        n = item.working_days_left
        return f"{n} working day{'s' if n != 1 else ''} left"
    return vndate.countdown_en(
        item.days_left,
        working_days_left=item.working_days_left,
        last_working_day=item.last_working_day,
        event=item.event,
    )


def _lcfirst(text: str) -> str:
    """Half-year report → half-year report: a name inside an English sentence."""
    return text[:1].lower() + text[1:]


def _state_vi(state: str) -> str:
    return state_words(state, "letter")[0]  # the one home of state wording


def _state_en(state: str) -> str:
    return state_words(state, "letter")[1]


def render(letter: Letter, templates_dir: Path | None = None) -> Rendered:
    """The letter's subject, plain text and HTML in its language."""
    root = (templates_dir or paths.templates_dir()).resolve()
    env = _environment(root)
    context = {
        "letter": letter,
        "items": letter.items,
        "recipient": letter.recipient,
        "sig": letter.signature,
        "cluster": letter.cluster,
        "today": letter.today,
    }
    base = f"{letter.lang}/{letter.kind}"
    subject = env.get_template(f"{base}.subject.j2").render(context).strip()
    if "\r" in subject or "\n" in subject:
        raise UnsafeHeaderError(f"{base}.subject.j2 rendered a subject with a line break")
    subject = " ".join(subject.split())
    context["subject"] = subject  # the HTML <title>
    text = env.get_template(f"{base}.txt.j2").render(context)
    html = env.get_template(f"{base}.html.j2").render(context)
    # Blank lines left by template tags mean nothing in HTML (the only <pre> is one line).
    html = "\n".join(line for line in html.splitlines() if line.strip())
    return Rendered(subject=subject, text=_tidy(text), html=html + "\n")


def _tidy(text: str) -> str:
    # Templates stay readable with conditional lines; the reader gets no trailing blanks
    # and at most one empty line in a row.
    lines = "\n".join(line.rstrip() for line in text.strip().splitlines())
    return _BLANK_RUNS.sub("\n\n", lines) + "\n"


def message_id(key: str, domain: str) -> str:
    """The same outbox key always gives the same Message-ID, so a resend after a crash is
    recognisable as the same message (issue 3 §3)."""
    _check_domain(domain)
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}@{domain}>"


def build_message(
    letter: Letter,
    *,
    from_addr: str,
    from_name: str,
    reply_to: str | None,
    now: datetime,
    domain: str,
    templates_dir: Path | None = None,
) -> EmailMessage:
    """A multipart/alternative message (text, then HTML) ready for any transport."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    _check_domain(domain)
    rcpt = letter.recipient
    _refuse_line_breaks(
        {
            "from address": from_addr,
            "from name": from_name,
            "reply-to": reply_to or "",
            "recipient address": rcpt.email,
            "recipient name": rcpt.name,
            "key": letter.key,
        }
    )
    rendered = render(letter, templates_dir)

    # SMTP policy: CRLF line ends and utf8=False, so a Vietnamese subject and display names
    # go out RFC 2047-encoded and any server accepts them.
    msg = WireMessage(policy=SMTP)
    subject = rendered.subject
    msg["Subject"] = subject if subject.isascii() else _EncodedSubject(subject)
    msg["From"] = _EncodedAddress("From", Address(display_name=from_name, addr_spec=from_addr))
    msg["To"] = _EncodedAddress("To", Address(display_name=rcpt.name, addr_spec=rcpt.email))
    if reply_to:
        msg["Reply-To"] = Address(addr_spec=reply_to)
    msg["Date"] = format_datetime(now.astimezone(TZ))
    msg["Message-ID"] = message_id(letter.key, domain)
    # RFC 3834: no vacation auto-replies to a machine; the Outlook header does the same.
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    msg["X-Tracker-Key"] = letter.key
    msg["X-Tracker-Kind"] = letter.kind
    msg.set_content(rendered.text, subtype="plain", charset="utf-8")
    msg.add_alternative(rendered.html, subtype="html", charset="utf-8")
    # The bytes are made here, once (tracker.transport.base.WireMessage).
    return msg.seal(from_addr, (rcpt.email,))


def _check_domain(domain: str) -> None:
    if not _DOMAIN.fullmatch(domain):
        raise UnsafeHeaderError(f"{domain!r} is not a host name usable in a Message-ID")


def _refuse_line_breaks(values: dict[str, str]) -> None:
    # Config validation already forbids these; a second check here costs nothing and
    # holds for values that come from elsewhere (the database, a CLI argument).
    for what, value in values.items():
        if "\r" in value or "\n" in value:
            raise UnsafeHeaderError(f"{what} contains a line break (CR/LF): {value!r}")
