"""A real SMTP server on loopback for the tests (aiosmtpd), reusable by every test module.

- `SmtpServer`: aiosmtpd's threaded `Controller` on 127.0.0.1 and a free port, with
  STARTTLS or implicit TLS (a certificate made in the test), AUTH, `stop()`/`restart()`
  on the same port.
- `RecordingHandler`: records every accepted message (`received`), answers scripted
  replies per attempt (`script_data("451 4.3.0 try later")`, `script_rcpt("550 …")`),
  counts sessions and the most that were open at once.
- `MessageIdSink`: for several sending processes at once; keeps only each message's
  Message-ID, recipients and a hash of its content, counts by Message-ID, and can sit on
  the 250 (`ack_delay`) so a sender killed meanwhile leaves a send in flight.
- Fixtures, imported explicitly by the test modules that need them:
  `from tests.smtp_server import smtp_server, smtp_server_factory, tls_files`.

aiosmtpd's `port=0` start-up bug: with port 0 the controller's own "trigger" connection
goes to port 0 and start() fails, so we pick a free port first (bind to 0, read, close)
and retry on the rare collision.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import errno
import hashlib
import ipaddress
import socket
import ssl
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Received:
    """One message the server accepted (250 after DATA)."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    peer_tls: bool
    login: str | None

    def message(self) -> EmailMessage:
        """The message parsed back with the stdlib parser (RFC 2047 headers decoded)."""
        return email.message_from_bytes(self.data, policy=email.policy.default)


class RecordingHandler:
    """aiosmtpd handler. Its hooks run in the server thread; read results from the test
    thread after the client's call returned (a message is recorded before its 250)."""

    def __init__(self, *, delay: float = 0.0) -> None:
        self.delay = delay  # seconds to sit on each DATA before answering
        self.received: list[Received] = []
        self.auth_attempts: list[tuple[str, bool]] = []  # (login, success)
        self.sessions = 0  # connections that greeted with EHLO/HELO
        self.max_open = 0  # most such connections open at the same time
        self._data_replies: deque[str] = deque()
        self._rcpt_replies: deque[str] = deque()
        self._open: set[SMTP] = set()
        self._connections: set[SMTP] = set()
        self._lock = threading.Lock()

    def script_data(self, *replies: str) -> None:
        """Answer the next DATA commands with these replies, one per attempt; a reply
        that does not start with 2 rejects the message. Then back to "250 OK"."""
        self._data_replies.extend(replies)

    def script_rcpt(self, *replies: str) -> None:
        """Answer the next RCPT TO commands with these replies, one per recipient."""
        self._rcpt_replies.extend(replies)

    @property
    def open_sessions(self) -> int:
        with self._lock:
            return len(self._open)

    async def handle_EHLO(
        self, server: SMTP, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        self._greeted(server)
        return responses

    async def handle_HELO(self, server: SMTP, session: Any, envelope: Any, hostname: str) -> str:
        session.host_name = hostname
        self._greeted(server)
        return f"250 {server.hostname}"

    async def handle_RCPT(
        self, server: SMTP, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        with self._lock:
            reply = self._rcpt_replies.popleft() if self._rcpt_replies else "250 OK"
        if reply.startswith("2"):
            envelope.rcpt_tos.append(address)
        return reply

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        with self._lock:
            reply = self._data_replies.popleft() if self._data_replies else "250 OK"
            if reply.startswith("2"):
                login = session.auth_data.login.decode() if session.authenticated else None
                self.received.append(
                    Received(
                        mail_from=envelope.mail_from,
                        rcpt_tos=tuple(envelope.rcpt_tos),
                        data=bytes(envelope.original_content),
                        peer_tls=session.ssl is not None,
                        login=login,
                    )
                )
        return reply

    def _greeted(self, server: SMTP) -> None:
        with self._lock:
            if server not in self._open:
                self._open.add(server)
                self.sessions += 1
                self.max_open = max(self.max_open, len(self._open))

    def _connected(self, server: SMTP) -> None:
        with self._lock:
            self._connections.add(server)

    def _lost(self, server: SMTP) -> None:
        with self._lock:
            self._open.discard(server)
            self._connections.discard(server)

    def _live_connections(self) -> list[SMTP]:
        with self._lock:
            return list(self._connections)


class _TrackedSMTP(SMTP):
    """Tells the handler when a connection opens and closes, so sessions can be counted
    and closed on stop (a stopped Controller leaves accepted connections dangling)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        first = self._original_transport is None and self.transport is None
        super().connection_made(transport)
        if first:
            self.event_handler._connected(self)

    def connection_lost(self, error: Exception | None) -> None:
        self.event_handler._lost(self)
        super().connection_lost(error)


class _Controller(Controller):
    def factory(self) -> SMTP:
        return _TrackedSMTP(self.handler, **self.SMTP_kwargs)


@dataclass(frozen=True)
class TlsFiles:
    """A private CA and a server certificate for 127.0.0.1 and localhost, as PEM files."""

    ca_cert: Path
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context

    def client_context(self) -> ssl.SSLContext:
        """Default checks (certificate chain and host name), trusting the test CA."""
        return ssl.create_default_context(cafile=str(self.ca_cert))


def make_tls_files(directory: Path, hosts: tuple[str, ...] = (HOST, "localhost")) -> TlsFiles:
    """A CA and a server certificate signed by it (a proper chain, so strict X.509 checks
    accept it), valid around the real clock since OpenSSL checks against it."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tracker test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), False)
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    files.ca_cert.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def free_port(host: str = HOST) -> int:
    """A port nothing listens on right now (it may be taken again before it is used)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class SmtpServer:
    """aiosmtpd on loopback. `tls` + `implicit_tls=False`: STARTTLS offered (required
    with `require_starttls`); `implicit_tls=True`: TLS from the first byte (port 465
    style). `users`: AUTH PLAIN/LOGIN accepted for these logins (only after TLS unless
    `auth_require_tls=False`); `auth_required`: no mail without AUTH (530)."""

    def __init__(
        self,
        *,
        handler: RecordingHandler | None = None,
        port: int | None = None,
        tls: TlsFiles | None = None,
        implicit_tls: bool = False,
        require_starttls: bool = False,
        users: Mapping[str, str] | None = None,
        auth_required: bool = False,
        auth_require_tls: bool = True,
    ) -> None:
        if auth_required and not auth_require_tls:
            # aiosmtpd warns about this combination, and pytest turns warnings into errors.
            raise ValueError("auth_required needs auth_require_tls")
        self.host = HOST
        self.port = port or 0
        self.handler = handler or RecordingHandler()
        self._tls = tls
        self._implicit_tls = implicit_tls
        self._require_starttls = require_starttls
        self._users = dict(users or {})
        self._auth_required = auth_required
        self._auth_require_tls = auth_require_tls
        self._controller: _Controller | None = None

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> SmtpServer:
        assert self._controller is None, "already running"
        fixed = bool(self.port)
        for attempt in range(5):
            port = self.port if fixed else free_port(self.host)
            controller = self._make_controller(port)
            try:
                controller.start()
            except OSError as exc:
                if fixed or exc.errno != errno.EADDRINUSE or attempt == 4:
                    raise
                continue
            self.port = port
            self._controller = controller
            return self
        raise AssertionError("unreachable")

    def stop(self) -> None:
        """Close every open session (clients see the disconnect), then stop listening."""
        controller, self._controller = self._controller, None
        if controller is None:
            return
        future = asyncio.run_coroutine_threadsafe(self._drop_connections(), controller.loop)
        future.result(timeout=5)
        controller.stop()

    def restart(self) -> None:
        """Stop, then listen again on the same port (same handler, same records)."""
        self.stop()
        self.start()

    def _make_controller(self, port: int) -> _Controller:
        server_context = self._tls.server_context() if self._tls else None
        kwargs: dict[str, Any] = {
            "handler": self.handler,
            "hostname": self.host,
            "port": port,
            "ready_timeout": 10.0,
            "server_hostname": "mail.test",
            "auth_required": self._auth_required,
            "auth_require_tls": self._auth_require_tls,
        }
        if self._implicit_tls:
            kwargs["ssl_context"] = server_context
        else:
            kwargs["tls_context"] = server_context
            kwargs["require_starttls"] = self._require_starttls
        if self._users:
            kwargs["authenticator"] = self._authenticate
        return _Controller(**kwargs)

    def _authenticate(
        self, server: SMTP, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = False
        login = "?"
        if isinstance(auth_data, LoginPassword):
            login = auth_data.login.decode("utf-8", "replace")
            ok = self._users.get(login) == auth_data.password.decode("utf-8", "replace")
        with self.handler._lock:
            self.handler.auth_attempts.append((login, ok))
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    async def _drop_connections(self) -> None:
        for smtp in self.handler._live_connections():
            if smtp.transport is not None:
                smtp.transport.close()
        for _ in range(200):
            if not self.handler._live_connections():
                return
            await asyncio.sleep(0.01)


@pytest.fixture
def smtp_server_factory() -> Iterator[Callable[..., SmtpServer]]:
    """`start(**SmtpServer kwargs)` → a running server; all are stopped after the test."""
    servers: list[SmtpServer] = []

    def start(**kwargs: Any) -> SmtpServer:
        server = SmtpServer(**kwargs).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def smtp_server(smtp_server_factory: Callable[..., SmtpServer]) -> SmtpServer:
    """A plain SMTP server on loopback that accepts everything (unless scripted)."""
    return smtp_server_factory()


@pytest.fixture
def tls_files(tmp_path: Path) -> TlsFiles:
    """A test CA and a server certificate for 127.0.0.1/localhost in tmp_path/tls."""
    return make_tls_files(tmp_path / "tls")


@pytest.fixture
def starttls_server(
    smtp_server_factory: Callable[..., SmtpServer], tls_files: TlsFiles
) -> SmtpServer:
    """A server that refuses mail until the client has switched to TLS (STARTTLS)."""
    return smtp_server_factory(tls=tls_files, require_starttls=True)


@dataclass(frozen=True)
class Delivered:
    """What `MessageIdSink` keeps of one accepted message: enough to count letters by
    Message-ID and to tell two different letters that share one (a split) from a resend."""

    message_id: str
    rcpt_tos: tuple[str, ...]
    # sha256 of the decoded leaf parts: what the letter says, not how it was wrapped (a
    # multipart's boundary is random on every render, so a faithful resend has other bytes).
    body_hash: str


class MessageIdSink(RecordingHandler):
    """A sink for many senders at once (several `tracker run` processes): it keeps only
    each message's Message-ID, recipients and a hash of what it says, not the whole
    message, so thousands of letters cost little memory and no parsing in the test.

    `ack_delay`: seconds to sit on the 250 *after* the message is recorded. A sender killed
    in that gap has delivered a letter it never saw acknowledged — a send in flight, which
    it must resend with the same Message-ID."""

    def __init__(self, *, ack_delay: float = 0.0) -> None:
        super().__init__()
        self.ack_delay = ack_delay
        self.delivered: list[Delivered] = []

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(bytes(envelope.original_content))
        digest = hashlib.sha256()
        for part in msg.walk():
            if not part.is_multipart():
                payload = part.get_payload(decode=True)
                digest.update(payload if isinstance(payload, bytes) else b"")
        record = Delivered(
            message_id=str(msg.get("Message-ID", "")).strip(),
            rcpt_tos=tuple(envelope.rcpt_tos),
            body_hash=digest.hexdigest(),
        )
        with self._lock:
            self.delivered.append(record)
        if self.ack_delay:
            await asyncio.sleep(self.ack_delay)
        return "250 OK"

    def snapshot(self) -> list[Delivered]:
        with self._lock:
            return list(self.delivered)

    def counts(self) -> Counter[str]:
        """Message-ID → how many times the server accepted it."""
        return Counter(d.message_id for d in self.snapshot())
