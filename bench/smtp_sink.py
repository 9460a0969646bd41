"""An SMTP sink on loopback that accepts every message and counts it (aiosmtpd), for
bench/delivery.py when Postfix's `smtp-sink` is not installed.

    python bench/smtp_sink.py --port 2525 --status FILE

It runs in its own process, so the sender being measured does not share its interpreter
with the server. Every 50 ms, and once more when stopped (SIGTERM/SIGINT), it rewrites
FILE (atomically) with JSON: messages, bytes, unique Message-IDs, and the wall-clock
times (time.time()) of the first and last message received. The file exists as soon as
the server listens, which is how the caller knows it is ready.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import threading
import time
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

_MSGID = re.compile(rb"^message-id:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


class Counter:
    """The aiosmtpd handler: counts messages, keeps nothing but their Message-IDs."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages = 0
        self.bytes = 0
        self.ids: set[bytes] = set()
        self.first: float | None = None
        self.last: float | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data: bytes = envelope.original_content or b""
        now = time.time()
        head = data.split(b"\r\n\r\n", 1)[0]
        m = _MSGID.search(head)
        with self.lock:
            self.messages += 1
            self.bytes += len(data)
            if m:
                self.ids.add(m[1])
            if self.first is None:
                self.first = now
            self.last = now
        return "250 OK"

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "messages": self.messages,
                "bytes": self.bytes,
                "unique_message_ids": len(self.ids),
                "first": self.first,
                "last": self.last,
            }


def _write(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--status", type=Path, required=True)
    args = p.parse_args(argv)

    counter = Counter()
    controller = Controller(
        counter, hostname=args.host, port=args.port, decode_data=False, data_size_limit=0
    )
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        while not stop.is_set():
            _write(args.status, counter.snapshot())
            stop.wait(0.05)
    finally:
        controller.stop()
        _write(args.status, counter.snapshot())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
