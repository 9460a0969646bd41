"""SMTP delivery with aiosmtplib: a small pool of reused connections, bounded concurrency.

Each send takes a slot (at most `max_connections` sessions at once), borrows an idle
connection or opens one (connect → STARTTLS → login, certificate checks on), sends, and
gives the connection back. An idle connection is checked with NOOP before it is reused,
so a server that dropped it (idle timeout, restart) costs a reconnect, never a message.

A disconnect *during* a transaction is not retried here: the server may already have
taken the message, and only the outbox can decide to send again (with the same
Message-ID, issue 3).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import time
from email.message import EmailMessage
from typing import Literal, Protocol

import aiosmtplib

from tracker.errors import BadInputError
from tracker.transport.base import DeliveryError, Guard, WireMessage
from tracker.transport.smtp_errors import Phase, classify

Security = Literal["starttls", "tls", "plain"]

log = logging.getLogger(__name__)


class _Socket(Protocol):
    def fileno(self) -> int: ...


_LABEL = {"starttls": ("STARTTLS", "STARTTLS"), "tls": ("TLS", "TLS")}
_LABEL_PLAIN = ("không mã hoá", "unencrypted")


class SmtpTransport:
    def __init__(
        self,
        host: str,
        port: int,
        security: Security = "starttls",
        *,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        tls_context: ssl.SSLContext | None = None,
        max_connections: int = 2,
        idle_timeout: float = 60.0,
        local_hostname: str | None = None,
    ) -> None:
        if security not in ("starttls", "tls", "plain"):
            raise ValueError(f"security must be starttls, tls or plain, not {security!r}")
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        if (username is None) != (password is None):
            raise BadInputError(
                "Cần đặt cả hai biến môi trường TRACKER_SMTP_USERNAME và"
                " TRACKER_SMTP_PASSWORD (hoặc bỏ cả hai nếu máy chủ thư không cần đăng nhập).",
                "Set both TRACKER_SMTP_USERNAME and TRACKER_SMTP_PASSWORD (or neither, if"
                " the mail server needs no login).",
            )
        if security == "plain" and username is not None:
            raise BadInputError(
                'Không gửi mật khẩu SMTP qua kết nối không mã hoá (mail.security = "plain").'
                ' Dùng mail.security = "starttls" hoặc "tls", hoặc bỏ TRACKER_SMTP_USERNAME'
                " và TRACKER_SMTP_PASSWORD cho máy chủ chuyển tiếp trên chính máy này.",
                "Refusing to send an SMTP password over an unencrypted connection"
                ' (mail.security = "plain"). Use mail.security = "starttls" or "tls", or'
                " unset TRACKER_SMTP_USERNAME and TRACKER_SMTP_PASSWORD for a relay on this"
                " machine.",
            )
        self.host = host
        self.port = port
        self.security: Security = security
        self.timeout = timeout
        self.idle_timeout = idle_timeout
        self._username = username
        self._password = password
        # Certificate and host name checks stay on unless the caller hands in a context
        # that trusts a private CA; there is no switch to turn them off.
        self._tls: ssl.SSLContext | None = None
        if security != "plain":
            self._tls = tls_context if tls_context is not None else ssl.create_default_context()
        self._local_hostname = local_hostname
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: list[tuple[aiosmtplib.SMTP, float]] = []
        self._closed = False
        self._sockets: list[_Socket] = []  # the raw sockets under our connections

    def describe(self, lang: str = "vi") -> str:
        vi, en = _LABEL.get(self.security, _LABEL_PLAIN)
        return f"{self._where()} ({en if lang == 'en' else vi})"

    async def send(self, msg: EmailMessage, *, guard: Guard | None = None) -> None:
        if self._closed:
            raise RuntimeError("SmtpTransport is closed")
        async with self._slots:
            client = await self._borrow()
            if guard is not None:
                try:
                    guard()  # the claim may have run out while we waited for a slot
                except BaseException:
                    self._give_back(client, reusable=True)
                    raise
            try:
                if isinstance(msg, WireMessage) and msg.wire:
                    # The bytes made when the letter was rendered: nothing refolded here.
                    refused, _ = await client.sendmail(
                        msg.envelope_from, list(msg.envelope_to), msg.wire
                    )
                else:
                    refused, _ = await client.send_message(msg)
            except BaseException as exc:
                # After a 4xx/5xx reply aiosmtplib has reset the envelope: the session is
                # still good. Anything else (cancelled, timed out) leaves it in doubt.
                self._give_back(
                    client,
                    reusable=isinstance(
                        exc, aiosmtplib.SMTPResponseException | aiosmtplib.SMTPRecipientsRefused
                    ),
                )
                if isinstance(exc, Exception):
                    raise self._classify(exc, "send") from exc
                raise
            self._give_back(client, reusable=True)
        if refused:
            # Some recipients were taken: the message went out and must not be resent.
            log.warning(
                "%s: message %s not accepted for %s",
                self._where(),
                msg.get("Message-ID", "?"),
                "; ".join(f"{addr} ({r.code} {r.message})" for addr, r in refused.items()),
            )

    async def aclose(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for client, _ in idle:
            try:
                await client.quit(timeout=min(self.timeout, 5.0))
            except (aiosmtplib.SMTPException, OSError):
                pass
            finally:
                client.close()
        # A TLS connection ends with a close_notify exchange that needs the event loop a
        # moment longer: wait for it, so no socket outlives the loop (ResourceWarning).
        deadline = time.monotonic() + 2.0
        while any(s.fileno() != -1 for s in self._sockets) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        self._sockets.clear()

    def _where(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def _classify(self, exc: Exception, phase: Phase) -> DeliveryError:
        # Only the password is secret; blanking the user name would also blank ordinary
        # words in messages ("tracker run" for a user named "tracker").
        secrets = tuple(s for s in (self._password,) if s)
        return classify(exc, phase, self._where(), secrets)

    async def _borrow(self) -> aiosmtplib.SMTP:
        while self._idle:
            client, since = self._idle.pop()
            if not client.is_connected or time.monotonic() - since > self.idle_timeout:
                client.close()
                continue
            try:
                await client.noop()
            except (aiosmtplib.SMTPException, OSError) as exc:
                log.info("%s: idle connection lost (%s); reconnecting", self._where(), exc)
                client.close()
                continue
            except BaseException:
                client.close()
                raise
            return client
        return await self._connect()

    def _give_back(self, client: aiosmtplib.SMTP, *, reusable: bool) -> None:
        if reusable and not self._closed and client.is_connected:
            self._idle.append((client, time.monotonic()))
        else:
            client.close()

    async def _connect(self) -> aiosmtplib.SMTP:
        if self._local_hostname is None:
            # socket.getfqdn may wait on DNS: once per transport, off the event loop.
            self._local_hostname = await asyncio.to_thread(socket.getfqdn)
        client = aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            timeout=self.timeout,
            local_hostname=self._local_hostname,
            use_tls=self.security == "tls",
            # Explicit: never an opportunistic upgrade that silently falls back to plain.
            start_tls=False,
            tls_context=self._tls,
        )
        phase: Phase = "connect"
        try:
            await client.connect()
            self._sockets = [s for s in self._sockets if s.fileno() != -1]
            if client.transport is not None:
                self._sockets.append(client.transport.get_extra_info("socket"))
            if self.security == "starttls":
                phase = "tls"
                await client.starttls()
            if self._username is not None and self._password is not None:
                phase = "auth"
                await client.login(self._username, self._password)
        except BaseException as exc:
            client.close()
            if isinstance(exc, Exception):
                raise self._classify(exc, phase) from exc
            raise
        return client
