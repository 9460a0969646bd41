"""The embedded default transport: every message becomes an `.eml` file in a Maildir.

Layout: `<directory>/new/<date>_<message-id>.eml`, written first to `tmp/` and then linked
into `new/` in one step, so a reader (a person, a mail client, `mailbox.Maildir`) never
sees half a file. The bytes are what SMTP would carry; any mail client opens the file.

A resend of the same message (same Message-ID — e.g. after a crash mid-send, issue 3) is
never overwritten: it lands next to the first copy as `….resend-1.eml`, so duplicates
stay as visible as they would be in a real mailbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import os
import re
import uuid
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path

from tracker.transport.base import DeliveryError, Guard, WireMessage

_UNSAFE = re.compile(r"[^A-Za-z0-9._@+=-]+")
_MAX_STEM = 150
# Filesystems without hard links (some network shares) make os.link fail with these.
_NO_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK}


class FileTransport:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.last_path: Path | None = None

    async def send(self, msg: EmailMessage, *, guard: Guard | None = None) -> None:
        if guard is not None:
            guard()
        if isinstance(msg, WireMessage) and msg.wire:
            data = msg.wire.replace(b"\r\n", b"\n")  # the rendered bytes, as a file's lines
        else:
            data = msg.as_bytes(policy=msg.policy.clone(linesep="\n"))
        try:
            self.last_path = await asyncio.to_thread(self._write, data, _stem(msg, data))
        except OSError as exc:
            # A full disk or a read-only folder will not fix itself: stop and say so.
            raise DeliveryError(
                f"Không ghi được thư vào thư mục {self.directory}/: {exc.strerror or exc}."
                " Việc gửi thư tạm dừng: kiểm tra quyền ghi và dung lượng đĩa, hoặc đổi"
                " mail.directory trong tệp cấu hình.",
                f"Could not write the message to {self.directory}/: {exc.strerror or exc}."
                " Sending is paused: check write permission and free disk space, or change"
                " mail.directory in the config file.",
                pause=True,
                reply=str(exc),
            ) from exc

    async def aclose(self) -> None:
        return None

    def describe(self, lang: str = "vi") -> str:
        where = f"{self.directory.as_posix().rstrip('/')}/"
        return f"folder {where}" if lang == "en" else f"thư mục {where}"

    def _write(self, data: bytes, stem: str) -> Path:
        tmp_dir, new_dir = self.directory / "tmp", self.directory / "new"
        for sub in (tmp_dir, new_dir, self.directory / "cur"):
            sub.mkdir(parents=True, exist_ok=True)
        tmp = tmp_dir / f"{stem}.{os.getpid()}.{uuid.uuid4().hex}"
        with open(tmp, "xb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        try:
            n = 0
            while True:
                final = new_dir / (f"{stem}.eml" if n == 0 else f"{stem}.resend-{n}.eml")
                if _place(tmp, final):
                    break
                n += 1
        finally:
            tmp.unlink(missing_ok=True)
        _fsync_dir(new_dir)
        return final


def _place(tmp: Path, final: Path) -> bool:
    """Publish `tmp` as `final` atomically without clobbering; False if `final` exists."""
    try:
        # A hard link is atomic and fails if the name is taken, even when another
        # process (a cron `tracker remind` beside the daemon) writes the same name.
        os.link(tmp, final)
        return True
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in _NO_LINKS:
            raise
    if final.exists():
        return False
    os.replace(tmp, final)
    return True


def _fsync_dir(path: Path) -> None:
    # The outbox marks a message sent after this returns: make the new name durable.
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _stem(msg: EmailMessage, data: bytes) -> str:
    """`2022-06-16_0800_<message-id>`: sorts by the Date header, names the message."""
    mid = str(msg.get("Message-ID", "")).strip().strip("<>")
    if not mid:
        mid = "no-message-id-" + hashlib.sha256(data).hexdigest()[:16]
    stem = _UNSAFE.sub("_", mid).strip("._") or "message"
    if len(stem) > _MAX_STEM - 16:
        # Keep distinct long ids distinct, or they would pass for resends of each other.
        stem = stem[: _MAX_STEM - 34] + "-" + hashlib.sha256(mid.encode()).hexdigest()[:16]
    date_header = msg.get("Date")
    if date_header is not None:
        with contextlib.suppress(TypeError, ValueError):  # an unparsable Date: no prefix
            stem = parsedate_to_datetime(str(date_header)).strftime("%Y-%m-%d_%H%M_") + stem
    return stem
