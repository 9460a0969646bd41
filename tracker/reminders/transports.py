"""The name docs/architecture.md gives the transports; they live in
`tracker.reminders.transport` (one small module each)."""

from tracker.reminders.transport import (
    ENV_CA_FILE,
    ENV_PASSWORD,
    ENV_USERNAME,
    DeliveryError,
    FileTransport,
    Kind,
    MemoryTransport,
    Security,
    SmtpTransport,
    Transport,
    make_transport,
)

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
