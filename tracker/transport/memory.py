"""A transport that keeps what it was given: for tests and `tracker simulate`."""

from __future__ import annotations

from email.message import EmailMessage

from tracker.transport.base import DeliveryError, Guard


class MemoryTransport:
    """`sent` lists the delivered messages in order. `failures` is a queue a test may fill:
    each send first pops and raises the next error in it, so an outbox test can script
    "transient, then fine" without a network."""

    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []
        self.failures: list[DeliveryError] = []
        self.closed = False

    async def send(self, msg: EmailMessage, *, guard: Guard | None = None) -> None:
        if self.closed:
            raise RuntimeError("MemoryTransport is closed")
        if guard is not None:
            guard()
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(msg)

    async def aclose(self) -> None:
        self.closed = True

    def describe(self, lang: str = "vi") -> str:
        return (
            "in memory (nothing leaves the process)"
            if lang == "en"
            else "bộ nhớ (không gửi ra ngoài)"
        )
