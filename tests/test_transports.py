"""Mail transports against real parts: aiosmtpd on loopback, real files in tmp_path."""

# The fixtures come from tests/smtp_server.py; pytest finds them by the imported names,
# which the test parameters then shadow on purpose.
# ruff: noqa: F811

from __future__ import annotations

import asyncio
import email
import email.policy
import mailbox
import ssl
from collections.abc import Callable, Coroutine
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pydantic
import pytest

from tests.smtp_server import (  # noqa: F401
    SmtpServer,
    TlsFiles,
    free_port,
    smtp_server,
    smtp_server_factory,
    starttls_server,
    tls_files,
)
from tracker.config.schema import Mail
from tracker.errors import BadInputError
from tracker.transport import (
    DeliveryError,
    FileTransport,
    MemoryTransport,
    Security,
    SmtpTransport,
    Transport,
    make_transport,
)

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
SUBJECT = "Nhắc việc: Báo cáo sơ kết 6 tháng — hạn ngày 30/06/2022"
TEXT = "Kính gửi: Lò Thị Hoa\n\nHạn nộp báo cáo sơ kết là ngày 30 tháng 6 năm 2022.\n"
Factory = Callable[..., SmtpServer]


def message(n: int = 1, to: str = "Lò Thị Hoa <noivu.tuachua@example.vn>") -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = SUBJECT
    msg["From"] = "Cụm thi đua huyện vùng cao <cum-vung-cao@example.vn>"
    msg["To"] = to
    msg["Date"] = format_datetime(datetime(2022, 6, 16, 8, 0, tzinfo=TZ))
    msg["Message-ID"] = f"<reminder-{n}.7f3a@cum-vung-cao.example.vn>"
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(TEXT)
    msg.add_alternative(f"<p>{TEXT}</p>", subtype="html")
    return msg


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coro)


async def send_all(transport: Transport, *msgs: EmailMessage) -> None:
    try:
        for msg in msgs:
            await transport.send(msg)
    finally:
        await transport.aclose()


async def send_expect_error(transport: Transport, msg: EmailMessage) -> DeliveryError:
    try:
        with pytest.raises(DeliveryError) as info:
            await transport.send(msg)
        return info.value
    finally:
        await transport.aclose()


def plain(server: SmtpServer, **kwargs: Any) -> SmtpTransport:
    return SmtpTransport(server.host, server.port, "plain", local_hostname="tracker.test", **kwargs)


def starttls(server: SmtpServer, context: ssl.SSLContext | None, **kwargs: Any) -> SmtpTransport:
    return SmtpTransport(
        server.host,
        server.port,
        "starttls",
        tls_context=context,
        local_hostname="tracker.test",
        **kwargs,
    )


# ------------------------------------------------------------------ SMTP: delivery


def test_plain_delivery_arrives_decoded(smtp_server: SmtpServer) -> None:
    run(send_all(plain(smtp_server), message()))

    [got] = smtp_server.received
    assert got.mail_from == "cum-vung-cao@example.vn"
    assert got.rcpt_tos == ("noivu.tuachua@example.vn",)
    assert not got.peer_tls
    # On the wire the subject is RFC 2047 encoded; the stdlib parser gives it back.
    assert SUBJECT.encode() not in got.data
    parsed = got.message()
    assert parsed["Subject"] == SUBJECT
    assert parsed["To"].addresses[0].display_name == "Lò Thị Hoa"
    assert parsed["Message-ID"] == "<reminder-1.7f3a@cum-vung-cao.example.vn>"
    assert parsed["Auto-Submitted"] == "auto-generated"
    text = parsed.get_body(("plain",))
    html = parsed.get_body(("html",))
    assert text is not None and html is not None
    assert text.get_content_charset() == "utf-8"
    assert text.get_content().replace("\r\n", "\n") == TEXT  # CRLF on the wire
    assert "ngày 30 tháng 6 năm 2022" in html.get_content()


def test_connection_is_reused_between_sends(smtp_server: SmtpServer) -> None:
    run(send_all(plain(smtp_server), message(1), message(2), message(3)))

    assert [r.message()["Message-ID"] for r in smtp_server.received] == [
        f"<reminder-{n}.7f3a@cum-vung-cao.example.vn>" for n in (1, 2, 3)
    ]
    assert smtp_server.handler.sessions == 1


def test_concurrent_sends_stay_within_max_connections(smtp_server_factory: Factory) -> None:
    server = smtp_server_factory()
    server.handler.delay = 0.1  # keep sessions busy so sends really overlap

    async def scenario() -> None:
        transport = plain(server, max_connections=2)
        try:
            await asyncio.gather(*(transport.send(message(n)) for n in range(10)))
        finally:
            await transport.aclose()

    run(scenario())

    assert len(server.received) == 10
    assert server.handler.max_open == 2
    assert server.handler.sessions == 2  # ten messages over two reused connections


def test_restarted_server_gets_a_new_connection(smtp_server: SmtpServer) -> None:
    async def scenario() -> None:
        transport = plain(smtp_server)
        try:
            await transport.send(message(1))
            smtp_server.restart()  # same port; the pooled connection is now dead
            await transport.send(message(2))
        finally:
            await transport.aclose()

    run(scenario())

    assert [r.message()["Message-ID"] for r in smtp_server.received] == [
        "<reminder-1.7f3a@cum-vung-cao.example.vn>",
        "<reminder-2.7f3a@cum-vung-cao.example.vn>",
    ]
    assert smtp_server.handler.sessions == 2


def test_aclose_quits_idle_connections(smtp_server: SmtpServer) -> None:
    async def scenario() -> None:
        transport = plain(smtp_server)
        await transport.send(message())
        assert smtp_server.handler.open_sessions == 1
        await transport.aclose()
        with pytest.raises(RuntimeError):
            await transport.send(message(2))

    run(scenario())
    assert smtp_server.handler.open_sessions == 0


# ------------------------------------------------------------------ SMTP: faults


def test_451_is_transient_then_250_delivers(smtp_server: SmtpServer) -> None:
    smtp_server.handler.script_data("451 4.3.0 try later")

    async def scenario() -> DeliveryError:
        transport = plain(smtp_server)
        try:
            with pytest.raises(DeliveryError) as info:
                await transport.send(message())
            await transport.send(message())  # retrying is the outbox's job; it works
            return info.value
        finally:
            await transport.aclose()

    err = run(scenario())
    assert err.kind == "transient"
    assert not err.permanent and not err.pause
    assert err.smtp_code == 451
    assert err.reply == "4.3.0 try later"
    assert "gửi lại tự động" in str(err)
    assert len(smtp_server.received) == 1
    assert smtp_server.handler.sessions == 1  # a 4xx leaves the session usable


@pytest.mark.parametrize(
    ("script", "reply"),
    [
        ("rcpt", "5.1.1 no such user"),
        ("data", "5.6.0 message refused"),
    ],
)
def test_5xx_is_permanent_and_keeps_the_reply(
    smtp_server: SmtpServer, script: str, reply: str
) -> None:
    code = 550 if script == "rcpt" else 554
    if script == "rcpt":
        smtp_server.handler.script_rcpt(f"{code} {reply}")
    else:
        smtp_server.handler.script_data(f"{code} {reply}")

    err = run(send_expect_error(plain(smtp_server), message()))

    assert err.kind == "permanent"
    assert err.permanent and not err.pause
    assert err.smtp_code == code
    assert reply in err.reply
    assert f"{code} " in str(err) and reply in str(err)
    assert "tracker outbox retry" in str(err) and "tracker outbox retry" in err.en
    assert smtp_server.received == []


def test_some_recipients_4xx_is_transient(smtp_server: SmtpServer) -> None:
    smtp_server.handler.script_rcpt("550 5.1.1 no such user", "452 4.2.2 mailbox full")
    msg = message(to="a@example.vn, b@example.vn")

    err = run(send_expect_error(plain(smtp_server), msg))

    assert err.kind == "transient"
    assert err.smtp_code == 452
    assert "a@example.vn: 550 5.1.1 no such user" in err.reply


def test_server_down_is_transient_and_recovers_when_it_is_back(
    smtp_server_factory: Factory,
) -> None:
    port = free_port()

    async def scenario() -> DeliveryError:
        transport = SmtpTransport("127.0.0.1", port, "plain", local_hostname="tracker.test")
        try:
            with pytest.raises(DeliveryError) as info:
                await transport.send(message())
            server = smtp_server_factory(port=port)
            await transport.send(message())
            assert len(server.received) == 1
            return info.value
        finally:
            await transport.aclose()

    err = run(scenario())
    assert err.kind == "transient"
    assert err.smtp_code is None
    assert f"127.0.0.1:{port}" in str(err)
    assert err.reply  # the low-level reason, e.g. "Connection refused"
    # Said in words (issue 8 §6); the library's "[Errno 111] Connect call failed" is kept
    # in `reply`, which the letter stores and `tracker outbox show` prints.
    assert "máy chủ không nhận kết nối" in err.vi and "Errno" not in err.vi
    assert "the server refused the connection" in err.en and "Errno" not in err.en


def test_timeout_is_transient(smtp_server: SmtpServer) -> None:
    smtp_server.handler.delay = 1.0

    err = run(send_expect_error(plain(smtp_server, timeout=0.2), message()))

    assert err.kind == "transient"


def test_auth_required_without_credentials_pauses(
    smtp_server_factory: Factory, tls_files: TlsFiles
) -> None:
    server = smtp_server_factory(tls=tls_files, users={"hoa": "x"}, auth_required=True)

    err = run(send_expect_error(starttls(server, tls_files.client_context()), message()))

    assert err.kind == "pause"
    assert err.smtp_code == 530
    assert "TRACKER_SMTP_USERNAME" in str(err)
    assert server.received == []


# ------------------------------------------------------------------ SMTP: TLS and AUTH


def test_starttls_with_trusted_certificate(
    starttls_server: SmtpServer, tls_files: TlsFiles
) -> None:
    run(send_all(starttls(starttls_server, tls_files.client_context()), message()))

    [got] = starttls_server.received
    assert got.peer_tls
    assert got.message()["Subject"] == SUBJECT


def test_starttls_with_untrusted_certificate_pauses(starttls_server: SmtpServer) -> None:
    # The default context trusts only the system's CAs, not the test CA.
    err = run(send_expect_error(starttls(starttls_server, None), message()))

    assert err.kind == "pause"
    assert err.pause and not err.permanent
    assert "chứng chỉ" in str(err) and "TRACKER_SMTP_CA_FILE" in str(err)
    assert "certificate" in err.en
    assert "certificate" in err.reply  # OpenSSL's reason, e.g. "self-signed certificate…"
    assert starttls_server.received == []


def test_starttls_not_offered_pauses_instead_of_sending_in_clear(
    smtp_server: SmtpServer, tls_files: TlsFiles
) -> None:
    err = run(send_expect_error(starttls(smtp_server, tls_files.client_context()), message()))

    assert err.kind == "pause"
    assert "STARTTLS" in str(err)
    assert smtp_server.received == []


def test_implicit_tls(smtp_server_factory: Factory, tls_files: TlsFiles) -> None:
    server = smtp_server_factory(tls=tls_files, implicit_tls=True)
    transport = SmtpTransport(
        server.host, server.port, "tls", tls_context=tls_files.client_context()
    )

    run(send_all(transport, message()))

    [got] = server.received
    assert got.message()["Subject"] == SUBJECT


def test_implicit_tls_against_a_plain_port_pauses(
    smtp_server: SmtpServer, tls_files: TlsFiles
) -> None:
    transport = SmtpTransport(
        smtp_server.host, smtp_server.port, "tls", tls_context=tls_files.client_context()
    )

    err = run(send_expect_error(transport, message()))

    assert err.kind == "pause"
    assert "mail.security" in str(err)


AUTH_ENV = {"TRACKER_SMTP_USERNAME": "lo.thi.hoa", "TRACKER_SMTP_PASSWORD": "Dung-Mat-Khau-2022"}


def smtp_config(server: SmtpServer, security: Security = "starttls") -> Mail:
    return Mail(transport="smtp", smtp_host=server.host, smtp_port=server.port, security=security)


def test_auth_with_credentials_from_env(smtp_server_factory: Factory, tls_files: TlsFiles) -> None:
    server = smtp_server_factory(
        tls=tls_files,
        require_starttls=True,
        auth_required=True,
        users={"lo.thi.hoa": "Dung-Mat-Khau-2022"},
    )
    transport = make_transport(
        smtp_config(server), AUTH_ENV, tls_context=tls_files.client_context()
    )

    run(send_all(transport, message()))

    [got] = server.received
    assert got.login == "lo.thi.hoa"
    assert got.peer_tls


def test_wrong_password_pauses_and_never_shows_the_password(
    smtp_server_factory: Factory, tls_files: TlsFiles
) -> None:
    server = smtp_server_factory(
        tls=tls_files, require_starttls=True, auth_required=True, users={"lo.thi.hoa": "other"}
    )
    transport = make_transport(
        smtp_config(server), AUTH_ENV, tls_context=tls_files.client_context()
    )

    err = run(send_expect_error(transport, message()))

    assert err.kind == "pause"
    assert err.smtp_code == 535
    assert "TRACKER_SMTP_PASSWORD" in str(err)
    for text in (str(err), err.en, err.reply, repr(err)):
        assert "Dung-Mat-Khau-2022" not in text
    assert ("lo.thi.hoa", False) in server.handler.auth_attempts
    assert server.received == []


# ------------------------------------------------------------------ factory


def test_make_transport_picks_by_config(tmp_path: Path) -> None:
    file_t = make_transport(Mail(transport="file", directory="hop-thu"), {}, base_dir=tmp_path)
    assert isinstance(file_t, FileTransport)
    assert file_t.directory == tmp_path / "hop-thu"
    assert file_t.describe() == f"thư mục {(tmp_path / 'hop-thu').as_posix()}/"
    assert file_t.describe("en").startswith("folder ")

    assert isinstance(make_transport(Mail(transport="memory"), {}), MemoryTransport)
    assert isinstance(make_transport(Mail(), {}), FileTransport)  # the embedded default

    smtp = make_transport(Mail(transport="smtp", smtp_host="smtp.example.vn", smtp_port=587), {})
    assert isinstance(smtp, SmtpTransport)
    assert smtp.describe() == "smtp.example.vn:587 (STARTTLS)"
    relay = make_transport(
        Mail(transport="smtp", smtp_host="127.0.0.1", smtp_port=25, security="plain"), {}
    )
    assert relay.describe() == "127.0.0.1:25 (không mã hoá)"
    assert relay.describe("en") == "127.0.0.1:25 (unencrypted)"


def test_credentials_come_only_from_the_environment() -> None:
    # The config schema has no place for them.
    with pytest.raises(pydantic.ValidationError):
        Mail(transport="smtp", smtp_username="x", smtp_password="y")  # type: ignore[call-arg]
    cfg = Mail(transport="smtp", smtp_host="smtp.example.vn")
    with pytest.raises(BadInputError, match="TRACKER_SMTP_PASSWORD"):
        make_transport(cfg, {"TRACKER_SMTP_USERNAME": "hoa"})
    with pytest.raises(BadInputError, match="không mã hoá"):
        make_transport(cfg.model_copy(update={"security": "plain"}), AUTH_ENV)


def test_ca_file_from_env_is_trusted(starttls_server: SmtpServer, tls_files: TlsFiles) -> None:
    env = {"TRACKER_SMTP_CA_FILE": str(tls_files.ca_cert)}

    run(send_all(make_transport(smtp_config(starttls_server), env), message()))

    assert len(starttls_server.received) == 1


def test_unreadable_ca_file_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="TRACKER_SMTP_CA_FILE"):
        make_transport(
            Mail(transport="smtp"), {"TRACKER_SMTP_CA_FILE": str(tmp_path / "missing.pem")}
        )


# ------------------------------------------------------------------ file and memory


def eml_files(directory: Path) -> list[Path]:
    return sorted((directory / "new").iterdir())


def test_file_transport_writes_readable_eml(tmp_path: Path) -> None:
    out = tmp_path / "outbox-mail"
    transport = FileTransport(out)

    run(send_all(transport, message(1), message(2)))

    files = eml_files(out)
    assert [f.name for f in files] == [
        "2022-06-16_0800_reminder-1.7f3a@cum-vung-cao.example.vn.eml",
        "2022-06-16_0800_reminder-2.7f3a@cum-vung-cao.example.vn.eml",
    ]
    assert transport.last_path == files[1]
    assert list((out / "tmp").iterdir()) == []  # nothing half-written left behind
    parsed = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert parsed["Subject"] == SUBJECT
    body = parsed.get_body(("plain",))
    assert body is not None and body.get_content() == TEXT
    # A real Maildir: mail clients and the stdlib can open it.
    assert len(mailbox.Maildir(out, create=False)) == 2


def test_file_transport_keeps_a_resend_visible(tmp_path: Path) -> None:
    out = tmp_path / "outbox-mail"

    run(send_all(FileTransport(out), message(1), message(1)))

    assert [f.name for f in eml_files(out)] == [
        "2022-06-16_0800_reminder-1.7f3a@cum-vung-cao.example.vn.eml",
        "2022-06-16_0800_reminder-1.7f3a@cum-vung-cao.example.vn.resend-1.eml",
    ]


def test_file_transport_names_a_message_without_id_or_date(tmp_path: Path) -> None:
    msg = message()
    del msg["Message-ID"]
    del msg["Date"]

    run(send_all(FileTransport(tmp_path), msg))

    [f] = eml_files(tmp_path)
    assert f.name.startswith("no-message-id-") and f.suffix == ".eml"


def test_file_transport_keeps_long_message_ids_apart(tmp_path: Path) -> None:
    first, second = message(), message()
    for msg, tail in ((first, "a"), (second, "b")):
        msg.replace_header("Message-ID", f"<{'x' * 300}{tail}@cum-vung-cao.example.vn>")

    run(send_all(FileTransport(tmp_path), first, second))

    names = [f.name for f in eml_files(tmp_path)]
    assert len(names) == 2 and not any("resend" in n for n in names)
    assert all(len(n) < 200 for n in names)


def test_file_transport_unwritable_folder_pauses(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")

    err = run(send_expect_error(FileTransport(blocker), message()))

    assert err.kind == "pause"
    assert "mail.directory" in str(err)


def test_memory_transport_records_and_replays_scripted_failures() -> None:
    transport = MemoryTransport()
    transport.failures.append(DeliveryError("tạm lỗi", "temporary", smtp_code=451))

    async def scenario() -> None:
        with pytest.raises(DeliveryError):
            await transport.send(message(1))
        await transport.send(message(1))
        await transport.aclose()

    run(scenario())
    assert [m["Message-ID"] for m in transport.sent] == [
        "<reminder-1.7f3a@cum-vung-cao.example.vn>"
    ]
    assert transport.closed


def test_delivery_error_is_never_both_permanent_and_pause() -> None:
    with pytest.raises(ValueError):
        DeliveryError("x", "x", permanent=True, pause=True)
