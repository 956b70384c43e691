"""A local SMTP server (aiosmtpd) that stores each message it receives as an .eml file.

It stands in for the centre's mail relay in the demo and the tests: messages land in
$MINHU_HOME/outbox/<received_at>-<n>.eml, exactly as sent (bytes on the wire).
"""

from __future__ import annotations

import itertools
import threading
from datetime import datetime
from pathlib import Path

from aiosmtpd.controller import Controller

from minhu.calendar import TZ
from minhu.settings import get_settings

_counter = itertools.count(1)
_lock = threading.Lock()


class EmlHandler:
    def __init__(self, outbox: Path | None = None) -> None:
        self.outbox = outbox  # None: $MINHU_HOME/outbox as it is when a message arrives

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        outbox = self.outbox or get_settings().outbox_dir
        outbox.mkdir(parents=True, exist_ok=True)
        with _lock:
            name = f"{datetime.now(TZ):%Y%m%dT%H%M%S%f}-{next(_counter):04d}.eml"
        tmp = outbox / f".{name}.tmp"
        tmp.write_bytes(envelope.original_content or envelope.content)
        tmp.rename(outbox / name)
        return "250 Message accepted for delivery"


def start(port: int | None = None, outbox: Path | None = None) -> Controller:
    s = get_settings()
    controller = Controller(
        EmlHandler(outbox), hostname="127.0.0.1", port=s.smtp_port if port is None else port
    )
    controller.start()
    return controller
