"""Progress of an import's landing: rows read and rows/s.

On a terminal (stderr is a TTY) a rich status line shows the rows read so far and the rate. Off a
terminal (Airflow, CI, a pipe) one INFO log line per LOG_EVERY rows, and one at the end, so task
logs show how far a large file got without control characters. The figures are data rows (blank
rows excluded), counted as the landing takes them from the reader.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import TextIO

log = logging.getLogger(__name__)

LOG_EVERY = 100_000
REFRESH = 0.25  # seconds between two redraws of the terminal line


class RowProgress:
    """`with RowProgress("cases 工单.csv") as p: p.advance(n)`; `p.rows` is the count so far."""

    def __init__(self, what: str, stream: TextIO | None = None, tty: bool | None = None) -> None:
        self.what = what
        self.rows = 0
        self.stream = stream or sys.stderr
        self.tty = _isatty(self.stream) if tty is None else tty
        self._t0 = time.perf_counter()
        self._next_log = LOG_EVERY
        self._next_draw = 0.0
        self._bar = None
        self._task = None

    def __enter__(self) -> RowProgress:
        if self.tty:
            from rich.console import Console
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._bar = Progress(
                SpinnerColumn(),
                TextColumn("[bold]{task.description}"),
                TextColumn("{task.fields[rows]} rows read"),
                TextColumn("{task.fields[rate]} rows/s"),
                TimeElapsedColumn(),
                console=Console(file=self.stream),
                auto_refresh=False,
            )
            self._bar.start()
            self._task = self._bar.add_task(self.what, total=None, rows="0", rate="0")
        return self

    def rate(self) -> float:
        dt = time.perf_counter() - self._t0
        return self.rows / dt if dt > 0 else 0.0

    def advance(self, rows: int = 1) -> None:
        self.rows += rows
        if self._bar is not None:
            now = time.perf_counter()
            if now >= self._next_draw:
                self._next_draw = now + REFRESH
                self._draw()
        elif self.rows >= self._next_log:
            self._next_log = (self.rows // LOG_EVERY + 1) * LOG_EVERY
            log.info("%s: %s rows read (%s rows/s)", self.what, f"{self.rows:,}", f"{self.rate():,.0f}")

    def _draw(self) -> None:
        self._bar.update(self._task, rows=f"{self.rows:,}", rate=f"{self.rate():,.0f}")
        self._bar.refresh()

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._draw()
            self._bar.stop()
        elif exc[0] is None:
            dt = time.perf_counter() - self._t0
            log.info(
                "%s: %s rows read in %.1f s (%s rows/s)",
                self.what,
                f"{self.rows:,}",
                dt,
                f"{self.rate():,.0f}",
            )


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
