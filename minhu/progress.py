"""Progress of long steps: a rich progress bar on a terminal, one log line per item elsewhere.

On a terminal (stderr is a TTY) the bar shows items done/total, records/s and the ETA. Off a
terminal (Airflow, CI, a pipe) each item is one INFO log line with the same figures, so task
logs show how far a backfill got without control characters.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import TextIO

log = logging.getLogger("minhu.progress")


def _eta(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    m, s = divmod(int(seconds + 0.5), 60)
    return f"{m}m{s:02d}s" if m else f"{s}s"


class Progress:
    """`with Progress(total, "backfill") as p: p.advance("cases 2024-01", records=1234)`.

    `unit` names what `records` counts ("records"); None shows no rate (dbt's models)."""

    def __init__(
        self,
        total: int,
        what: str,
        stream: TextIO | None = None,
        tty: bool | None = None,
        unit: str | None = "records",
        log_every: float | None = None,
    ) -> None:
        self.total = total
        self.what = what
        self.unit = unit
        # off a terminal, log only the first item, every `log_every` of the total (0.1: each
        # tenth), the last, and any item with a note other than OK/PASS (dbt's 225 nodes: ~12 lines)
        self.log_every = log_every
        self._next_log = 0.0
        self.done = 0
        self.records = 0
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self._t0 = time.perf_counter()
        self._bar = None
        self._task = None

    def __enter__(self) -> Progress:
        if self.tty:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as Bar

            self._bar = Bar(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=Console(file=self.stream),
                transient=False,
            )
            self._bar.start()
            self._task = self._bar.add_task(self.what, total=self.total, rate="")
        return self

    def set_total(self, total: int) -> None:
        """The total once it is known (dbt says how many nodes it runs with its first line)."""
        self.total = total
        if self._bar is not None:
            self._bar.update(self._task, total=total)

    def rate(self) -> float:
        dt = time.perf_counter() - self._t0
        return self.records / dt if dt > 0 else 0.0

    def eta(self) -> float | None:
        if not self.done or not self.total:
            return None
        dt = time.perf_counter() - self._t0
        return dt / self.done * (self.total - self.done)

    def advance(self, item: str, records: int = 0, note: str = "") -> None:
        self.done += 1
        self.records += records
        rate = f"{self.rate():,.0f} {self.unit}/s" if self.unit else ""
        if self._bar is not None:
            self._bar.update(self._task, advance=1, rate=rate)
        elif self._logs(note):
            what = f"{records:,} {self.unit}" if self.unit else ""
            detail = ", ".join(x for x in (what, note) if x)
            figures = ", ".join(x for x in (rate, f"ETA {_eta(self.eta())}") if x)
            log.info("%s %d/%d %s: %s (%s)", self.what, self.done, self.total, item, detail, figures)

    def _logs(self, note: str) -> bool:
        if self.log_every is None or note not in ("", "OK", "PASS"):
            return True
        if self.done == 1 or self.done >= self.total or self.done >= self._next_log:
            self._next_log = self.done + max(1.0, self.log_every * self.total)
            return True
        return False

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.stop()
