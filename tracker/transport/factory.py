"""Config → transport. SMTP credentials come only from the environment, never from the
config file (which is shared, versioned and stored as a snapshot in the database)."""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from pathlib import Path

from tracker.config.schema import Mail
from tracker.errors import BadInputError
from tracker.transport.base import Transport
from tracker.transport.file import FileTransport
from tracker.transport.memory import MemoryTransport
from tracker.transport.smtp import SmtpTransport

ENV_USERNAME = "TRACKER_SMTP_USERNAME"
ENV_PASSWORD = "TRACKER_SMTP_PASSWORD"
# A PEM file with the CA that signed a private mail server's certificate, trusted in
# addition to the system's CAs (certificate checks stay on).
ENV_CA_FILE = "TRACKER_SMTP_CA_FILE"


def make_transport(
    mail_cfg: Mail,
    env: Mapping[str, str],
    *,
    base_dir: Path | None = None,
    tls_context: ssl.SSLContext | None = None,
    max_connections: int | None = None,
) -> Transport:
    """The transport `mail_cfg.transport` names. `env` is the process environment (pass
    `os.environ`); `base_dir` anchors a relative `mail.directory` (default: the working
    directory); `tls_context` replaces the default certificate checks (tests);
    `max_connections`: SMTP connections kept open (default `mail.connections`)."""
    if mail_cfg.transport == "memory":
        return MemoryTransport()
    if mail_cfg.transport == "file":
        directory = Path(mail_cfg.directory)
        if base_dir is not None and not directory.is_absolute():
            directory = base_dir / directory
        return FileTransport(directory)
    if tls_context is None and mail_cfg.security != "plain" and env.get(ENV_CA_FILE):
        tls_context = _context_with_ca(env[ENV_CA_FILE])
    return SmtpTransport(
        mail_cfg.smtp_host,
        mail_cfg.smtp_port,
        mail_cfg.security,
        username=env.get(ENV_USERNAME) or None,
        password=env.get(ENV_PASSWORD) or None,
        tls_context=tls_context,
        max_connections=max_connections or mail_cfg.connections,
    )


def _context_with_ca(ca_file: str) -> ssl.SSLContext:
    context = ssl.create_default_context()
    try:
        context.load_verify_locations(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise BadInputError(
            f"{ENV_CA_FILE}={ca_file}: không đọc được tệp chứng chỉ CA ({exc})."
            " Đặt biến này là đường dẫn tới một tệp PEM, hoặc bỏ biến đi.",
            f"{ENV_CA_FILE}={ca_file}: cannot read the CA certificate file ({exc})."
            " Point it at a PEM file, or unset it.",
        ) from exc
    return context
