"""Mail transports behind one small interface (issue 3): SMTP, a Maildir of `.eml` files,
memory. Pick one with `make_transport(config.mail, os.environ)`."""

from tracker.transport.base import DeliveryError, Kind, Transport
from tracker.transport.factory import (
    ENV_CA_FILE,
    ENV_PASSWORD,
    ENV_USERNAME,
    make_transport,
)
from tracker.transport.file import FileTransport
from tracker.transport.memory import MemoryTransport
from tracker.transport.smtp import Security, SmtpTransport

__all__ = [
    "ENV_CA_FILE",
    "ENV_PASSWORD",
    "ENV_USERNAME",
    "DeliveryError",
    "FileTransport",
    "Kind",
    "MemoryTransport",
    "Security",
    "SmtpTransport",
    "Transport",
    "make_transport",
]
