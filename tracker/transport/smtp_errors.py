"""aiosmtplib's exceptions → `DeliveryError` (transient, permanent or pause).

The rule: a failure while *setting up* a session (connect, TLS, login) is never the
message's fault, so it is transient (try later) or a pause (a person must fix the
configuration); only a 5xx inside the mail transaction itself (MAIL, RCPT, DATA) makes a
message permanently failed. 530 "authentication required" is a setup problem wherever it
shows up.
"""

from __future__ import annotations

import socket
import ssl
from typing import Literal

import aiosmtplib

from tracker.transport.base import DeliveryError

Phase = Literal["connect", "tls", "auth", "send"]

_RESTART = "rồi khởi động lại `tracker run`"
_RESTART_EN = "then restart `tracker run`"


def classify(
    exc: BaseException, phase: Phase, where: str, secrets: tuple[str, ...] = ()
) -> DeliveryError:
    """The `DeliveryError` for `exc`, raised while in `phase` against server `where`.
    `secrets` (username, password) are scrubbed from any text that is kept."""
    err = _classify(exc, phase, where)
    for secret in secrets:
        if len(secret) >= 4:
            err.reply = err.reply.replace(secret, "***")
            err.vi = err.vi.replace(secret, "***")
            err.en = err.en.replace(secret, "***")
            err.args = (err.vi,)
    return err


def _classify(exc: BaseException, phase: Phase, where: str) -> DeliveryError:
    tls = _ssl_cause(exc)
    if tls is not None:
        return _tls_error(tls, where)
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return _recipients_refused(exc, where)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return _response(exc, phase, where)
    if isinstance(exc, OSError):
        # Refused, reset, timed out: SMTPServerDisconnected, SMTPConnectError and
        # SMTPTimeoutError are ConnectionError/TimeoutError, both OSError.
        return _transient(where, str(exc) or type(exc).__name__, words=_network_words(exc))
    if isinstance(exc, aiosmtplib.SMTPException):
        if phase == "tls":
            return _no_starttls(where, exc.message)
        if phase == "auth":
            return _no_auth(where, exc.message)
        if isinstance(exc, aiosmtplib.SMTPNotSupported):
            # e.g. an address that needs SMTPUTF8 on a server without it: this message only.
            return _permanent(where, None, exc.message)
        return _transient(where, exc.message)
    if isinstance(exc, ValueError) and phase == "send":
        # aiosmtplib refuses a message it cannot address (no From, no recipients).
        return _permanent(where, None, str(exc))
    return _transient(where, f"{type(exc).__name__}: {exc}")


def _ssl_cause(exc: BaseException) -> ssl.SSLError | None:
    # With implicit TLS aiosmtplib wraps the handshake error in SMTPConnectError.
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None or isinstance(seen, ssl.SSLError):
            return seen
        seen = seen.__cause__
    return None


def _response(exc: aiosmtplib.SMTPResponseException, phase: Phase, where: str) -> DeliveryError:
    code, reply = exc.code, exc.message
    if code == 530:
        return DeliveryError(
            f"Máy chủ thư {where} đòi đăng nhập trước khi gửi ({code} {reply}). Việc gửi thư"
            f" tạm dừng: đặt biến môi trường TRACKER_SMTP_USERNAME và TRACKER_SMTP_PASSWORD"
            f' (hoặc dùng mail.security = "starttls"), {_RESTART}.',
            f"The mail server {where} requires login before sending ({code} {reply})."
            " Sending is paused: set the TRACKER_SMTP_USERNAME and TRACKER_SMTP_PASSWORD"
            f' environment variables (or use mail.security = "starttls"), {_RESTART_EN}.',
            pause=True,
            smtp_code=code,
            reply=reply,
        )
    if 400 <= code < 500 or not 500 <= code < 600:
        return _transient(where, reply, code)
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return DeliveryError(
            f"Máy chủ thư {where} từ chối đăng nhập ({code} {reply}). Việc gửi thư tạm dừng:"
            f" kiểm tra biến môi trường TRACKER_SMTP_USERNAME và TRACKER_SMTP_PASSWORD,"
            f" {_RESTART}.",
            f"The mail server {where} refused the login ({code} {reply}). Sending is paused:"
            " check the TRACKER_SMTP_USERNAME and TRACKER_SMTP_PASSWORD environment"
            f" variables, {_RESTART_EN}.",
            pause=True,
            smtp_code=code,
            reply=reply,
        )
    if phase == "send" and not isinstance(exc, aiosmtplib.SMTPHeloError):
        return _permanent(where, code, reply)
    return DeliveryError(
        f"Máy chủ thư {where} từ chối phiên gửi ({code} {reply}). Việc gửi thư tạm dừng:"
        f" hỏi người quản trị máy chủ thư xem máy này có được phép gửi qua máy chủ không,"
        f" {_RESTART}.",
        f"The mail server {where} refused the session ({code} {reply}). Sending is paused:"
        f" ask the mail server's administrator whether this machine may send through it,"
        f" {_RESTART_EN}.",
        pause=True,
        smtp_code=code,
        reply=reply,
    )


def _recipients_refused(exc: aiosmtplib.SMTPRecipientsRefused, where: str) -> DeliveryError:
    refused = exc.recipients
    reply = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in refused)
    if any(r.code == 530 for r in refused):
        return _response(aiosmtplib.SMTPResponseException(530, reply), "send", where)
    hard = [r for r in refused if 500 <= r.code < 600]
    if refused and len(hard) == len(refused):
        return _permanent(where, hard[0].code, reply)
    soft = next((r.code for r in refused if not 500 <= r.code < 600), None)
    return _transient(where, reply, soft)


def _tls_error(exc: ssl.SSLError, where: str) -> DeliveryError:
    if isinstance(exc, ssl.SSLEOFError | ssl.SSLZeroReturnError):
        # The server hung up mid-handshake: a network hiccup, not a configuration error.
        return _transient(where, str(exc))
    if isinstance(exc, ssl.SSLCertVerificationError):
        reply = exc.verify_message or str(exc)
        return DeliveryError(
            f"Không xác minh được chứng chỉ TLS của máy chủ thư {where} ({reply}). Việc gửi"
            " thư tạm dừng để không gửi qua kết nối không an toàn: kiểm tra mail.smtp_host"
            " có đúng tên ghi trên chứng chỉ không, hoặc đặt biến môi trường"
            f" TRACKER_SMTP_CA_FILE là tệp chứng chỉ CA của máy chủ, {_RESTART}.",
            f"The TLS certificate of the mail server {where} could not be verified ({reply})."
            " Sending is paused rather than sent over an unsafe connection: check that"
            " mail.smtp_host is the name on the certificate, or set the TRACKER_SMTP_CA_FILE"
            f" environment variable to the server's CA certificate file, {_RESTART_EN}.",
            pause=True,
            reply=reply,
        )
    reply = exc.reason or str(exc)
    return DeliveryError(
        f"Không thiết lập được kết nối TLS với máy chủ thư {where} ({reply}). Việc gửi thư"
        " tạm dừng: kiểm tra mail.security và mail.smtp_port (thường là 587 cho"
        f' "starttls", 465 cho "tls"), {_RESTART}.',
        f"Could not set up TLS with the mail server {where} ({reply}). Sending is paused:"
        ' check mail.security and mail.smtp_port (usually 587 for "starttls", 465 for'
        f' "tls"), {_RESTART_EN}.',
        pause=True,
        reply=reply,
    )


def _no_starttls(where: str, reply: str) -> DeliveryError:
    return DeliveryError(
        f"Máy chủ thư {where} không hỗ trợ STARTTLS ({reply}), nên thư không được gửi qua"
        ' kết nối không mã hoá. Việc gửi thư tạm dừng: dùng mail.security = "tls" nếu máy'
        ' chủ mã hoá ngay từ đầu (cổng 465); chỉ dùng "plain" cho máy chủ chuyển tiếp trên'
        f" chính máy này, {_RESTART}.",
        f"The mail server {where} does not offer STARTTLS ({reply}), so nothing is sent"
        ' unencrypted. Sending is paused: use mail.security = "tls" if the server encrypts'
        ' from the start (port 465); use "plain" only for a relay on this very machine,'
        f" {_RESTART_EN}.",
        pause=True,
        reply=reply,
    )


def _no_auth(where: str, reply: str) -> DeliveryError:
    return DeliveryError(
        f"Máy chủ thư {where} không cho đăng nhập ({reply}). Việc gửi thư tạm dừng: bỏ"
        " TRACKER_SMTP_USERNAME và TRACKER_SMTP_PASSWORD nếu máy chủ không cần đăng nhập,"
        f' hoặc dùng mail.security = "starttls" hay "tls", {_RESTART}.',
        f"The mail server {where} does not accept a login ({reply}). Sending is paused:"
        " unset TRACKER_SMTP_USERNAME and TRACKER_SMTP_PASSWORD if the server needs no"
        f' login, or use mail.security = "starttls" or "tls", {_RESTART_EN}.',
        pause=True,
        reply=reply,
    )


def _network_words(exc: BaseException) -> tuple[str, str] | None:
    """A network failure in words (issue 8 §6: no "[Errno 111] Connect call failed …" in a
    result line); the library's own text stays in `reply`, stored with the letter."""
    seen: BaseException | None = exc
    for _ in range(5):
        if isinstance(seen, ConnectionRefusedError):
            return (
                "máy chủ không nhận kết nối: sai địa chỉ hoặc cổng, hoặc dịch vụ thư chưa chạy",
                "the server refused the connection: wrong host or port, or no mail service",
            )
        if isinstance(seen, socket.gaierror):
            return (
                "không tìm thấy tên máy chủ: kiểm tra mail.host và mạng",
                "the server's name was not found: check mail.host and the network",
            )
        if isinstance(seen, TimeoutError):
            return (
                "máy chủ không trả lời kịp (quá thời gian chờ)",
                "the server did not answer in time",
            )
        if isinstance(seen, ConnectionResetError | aiosmtplib.SMTPServerDisconnected):
            return ("máy chủ ngắt kết nối giữa chừng", "the server closed the connection midway")
        if seen is None:
            break
        seen = seen.__cause__ or seen.__context__
    return None


def _transient(
    where: str, reply: str, code: int | None = None, words: tuple[str, str] | None = None
) -> DeliveryError:
    said = f"{code} {reply}" if code is not None else reply
    said_vi, said_en = words if words is not None else (said, said)
    return DeliveryError(
        f"Chưa gửi được qua máy chủ thư {where} ({said_vi}). Thư vẫn nằm trong hàng đợi và sẽ"
        " được gửi lại tự động; nếu lỗi kéo dài, kiểm tra máy chủ thư và kết nối mạng.",
        f"Could not send through the mail server {where} ({said_en}). The message stays"
        " queued and will be retried automatically; if this persists, check the mail"
        " server and the network.",
        smtp_code=code,
        reply=reply,
    )


def _permanent(where: str, code: int | None, reply: str) -> DeliveryError:
    said = f"{code} {reply}" if code is not None else reply
    return DeliveryError(
        f"Máy chủ thư {where} từ chối thư này ({said}). Thư sẽ không được gửi lại tự động:"
        " sửa địa chỉ người nhận hoặc người gửi trong tệp cấu hình, rồi chạy"
        " `tracker outbox retry <ID>`.",
        f"The mail server {where} refused this message ({said}). It will not be retried"
        " automatically: fix the recipient or sender address in the config file, then run"
        " `tracker outbox retry <ID>`.",
        permanent=True,
        smtp_code=code,
        reply=reply,
    )
