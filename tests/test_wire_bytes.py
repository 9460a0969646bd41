"""A letter's bytes are made once (issue 7 §2): when it is rendered, its headers are
encoded and folded and the whole message becomes bytes; the SMTP transport sends those
bytes as they are (no second flattening, no refolding at send time), and the file
transport writes the same bytes. Real aiosmtpd server on loopback, real Maildir."""

# ruff: noqa: F811

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.smtp_server import SmtpServer, smtp_server, smtp_server_factory  # noqa: F401
from tests.test_compose import build, letter
from tracker.transport import FileTransport, SmtpTransport
from tracker.transport.base import WireMessage


def test_a_rendered_letter_carries_its_wire_bytes() -> None:
    msg = build(letter("digest"))
    assert isinstance(msg, WireMessage) and msg.wire
    assert msg.wire == msg.as_bytes() and msg.wire.isascii() and b"\r\n" in msg.wire
    assert msg.envelope_from == "cum-vung-cao@example.vn"
    assert msg.envelope_to == (msg["To"].addresses[0].addr_spec,)


def test_smtp_sends_the_rendered_bytes_as_they_are(smtp_server: SmtpServer) -> None:
    msg = build(letter("digest"))
    assert isinstance(msg, WireMessage)

    async def go() -> None:
        t = SmtpTransport(smtp_server.host, smtp_server.port, "plain", timeout=5)
        try:
            await t.send(msg)
        finally:
            await t.aclose()

    asyncio.run(go())
    [got] = smtp_server.received
    assert got.mail_from == msg.envelope_from and got.rcpt_tos == msg.envelope_to
    # What the server stores is what was rendered (aiosmtpd keeps DATA without its final
    # CRLF.CRLF); the parsed message is the letter.
    assert got.data.rstrip(b"\r\n") == msg.wire.rstrip(b"\r\n")
    assert got.message()["Message-ID"] == msg["Message-ID"]


def test_the_file_transport_writes_the_same_bytes(tmp_path: Path) -> None:
    msg = build(letter("digest"))
    assert isinstance(msg, WireMessage)
    t = FileTransport(tmp_path)
    asyncio.run(t.send(msg))
    [path] = list((tmp_path / "new").iterdir())
    assert path.read_bytes() == msg.wire.replace(b"\r\n", b"\n")
