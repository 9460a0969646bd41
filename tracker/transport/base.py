"""The one small interface every mail transport implements, and its one error type.

The outbox (issue 3, "Delivery that loses nothing and sends nothing twice") only needs to
know three things about a failed send, so that is all a `DeliveryError` says:

- transient (`permanent=False, pause=False`): 4xx, disconnects, timeouts, refused
  connections — the outbox retries later with backoff, keeping the same Message-ID;
- permanent (`permanent=True`): a 5xx for this message — the outbox marks it failed and
  shows `smtp_code` and `reply`;
- pause (`pause=True`): authentication or TLS problems — not this message's fault, every
  message would fail the same way, so the outbox stops sending and shows the problem.
"""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage
from typing import Literal, Protocol

from tracker.errors import TrackerError

Kind = Literal["transient", "permanent", "pause"]


class Transport(Protocol):
    """Something that delivers an `EmailMessage`: SMTP, a folder of `.eml` files, memory.

    `send` returns once the message is handed over (the server said 250, the file is on
    disk) and raises `DeliveryError` otherwise. `guard`, when given, is called at the last
    moment before the message is handed over — after a connection slot is taken and the
    connection is ready, before MAIL FROM/DATA — and may raise (`LeaseLost`) to stop the
    send: a sender whose claim ran out while it waited for a connection must not send what
    another sender may be sending already. A transport belongs to one event loop; `aclose`
    it before that loop ends.
    """

    async def send(self, msg: EmailMessage, *, guard: Guard | None = None) -> None: ...

    async def aclose(self) -> None: ...

    def describe(self, lang: str = "vi") -> str:
        """Where mail goes, for logs and `tracker run`'s banner: "thư mục outbox-mail/",
        "smtp.example.vn:587 (STARTTLS)"."""
        ...


Guard = Callable[[], None]


class WireMessage(EmailMessage):
    """An `EmailMessage` whose bytes were made once, when the letter was rendered
    (`seal`): its headers are encoded and folded then, and a transport sends `wire` as it
    is, with the envelope given here, instead of flattening (and refolding) the message
    again at send time (issue 7 §2). Changing it after `seal` is a bug: `wire` would not
    follow."""

    wire: bytes = b""
    envelope_from: str = ""
    envelope_to: tuple[str, ...] = ()

    def seal(self, envelope_from: str, envelope_to: tuple[str, ...]) -> WireMessage:
        data = self.as_bytes()  # the SMTP policy: CRLF, RFC 2047, 78-column folding
        # Only 7-bit bytes go out as they are; anything else is left to the transport's
        # own flattening, which negotiates 8BITMIME/SMTPUTF8 with the server.
        self.wire = data if data.isascii() else b""
        self.envelope_from, self.envelope_to = envelope_from, envelope_to
        return self


class LeaseLost(Exception):
    """Raised by a send guard: the claim on this message ran out before it could be sent,
    so it is not sent (another sender may hold it now)."""


class DeliveryError(TrackerError):
    """A send that did not go through. Vietnamese text first (`str(err)`), English in
    `.en`; `reply` is the server's reply text (or the low-level error when the server
    never answered), kept for display. Never carries credentials."""

    def __init__(
        self,
        vi: str,
        en: str,
        *,
        permanent: bool = False,
        pause: bool = False,
        smtp_code: int | None = None,
        reply: str = "",
    ) -> None:
        if permanent and pause:
            # A paused send is not the message's fault: it must stay queued, not fail.
            raise ValueError("a DeliveryError is either permanent or pause, not both")
        super().__init__(vi, en)
        self.permanent = permanent
        self.pause = pause
        self.smtp_code = smtp_code
        self.reply = reply

    @property
    def kind(self) -> Kind:
        if self.pause:
            return "pause"
        return "permanent" if self.permanent else "transient"

    def __repr__(self) -> str:
        return (
            f"DeliveryError(kind={self.kind!r}, smtp_code={self.smtp_code!r}, reply={self.reply!r})"
        )
