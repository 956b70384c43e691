"""Backfill extraction: business dates in large windows, several at once, resumable.

The dates of a backfill are cut into windows (`plan`):

- ``cases`` and ``payments``: one window per calendar month (a run of consecutive dates inside
  one month), [first day 00:00, day after the last 00:00) Asia/Shanghai, paged with ``limit``
  (≤ 5000, the platform's maximum). It lands under ``raw/<source>/<first>..<last>/`` (a
  one-day window lands in the nightly's own folder ``raw/<source>/<date>/``);
- ``budget_lines``: one window per fiscal year: the year-to-date read a nightly run of the
  year's last date makes (``day_window``), landed in that date's nightly folder.

Each window lands as it completes, exactly like a nightly day window (`extract.land.land`:
temporary dot folder, rename, manifest, /count reconciliation, cleanup of half-written
landings). A month landing is loaded as one batch per business date, ``api/<source>/<date>``
(`extract.load.load_days`, by the local date of ``updated_at``), the very batches the nightly
runs of those dates load: a backfill, a second backfill and nightly runs inside the range
replace the same batches with the same versions, and the reports see every date covered.

Resumable: before fetching, a window whose newest landing covers the same window and whose
record count still equals the source's /count is skipped (counted in `Result.skipped`).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from minhu.calendar import TZ
from minhu.settings import get_settings

from .api import Client, CountMismatch, ExtractError, Window
from .land import Manifest, day_window, land, landing_dir, latest_in

log = logging.getLogger(__name__)

SOURCES = ("cases", "budget_lines", "payments")
DEFAULT_WORKERS = 4
MAX_LIMIT = 5000
WINDOW_ATTEMPTS = 3  # a window whose count disagrees with /count is read again, at most this often


def workers_setting(value: int | None = None) -> int:
    """Parallel windows: the argument, else MINHU_BACKFILL_WORKERS, else 4."""
    if value is None:
        raw = os.environ.get("MINHU_BACKFILL_WORKERS", "").strip()
        if not raw:
            return DEFAULT_WORKERS
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(f"MINHU_BACKFILL_WORKERS must be a whole number ≥ 1, not {raw!r}") from None
    if value < 1:
        raise ValueError(f"backfill workers must be ≥ 1, not {value}")
    return value


@dataclass(frozen=True)
class Span:
    """One backfill window of one source over the business dates [first, last].

    For budget lines `last` is the fiscal year's last date of the backfill and the window is
    its year-to-date read ([1 Jan, last + 1 day)); `first` is the year's first date backfilled."""

    source: str
    first: date
    last: date

    @property
    def label(self) -> str:
        if self.first == self.last or self.source == "budget_lines":
            return self.last.isoformat()
        return f"{self.first.isoformat()}..{self.last.isoformat()}"

    @property
    def days(self) -> list[date]:
        if self.source == "budget_lines":
            return [self.last]
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    def window(self, district: str | None = None) -> Window:
        if self.source == "budget_lines" or self.first == self.last:
            return day_window(self.source, self.last, district)
        start = datetime.combine(self.first, datetime.min.time(), TZ)
        end = datetime.combine(self.last + timedelta(days=1), datetime.min.time(), TZ)
        return Window(self.source, start, end, district=district if self.source == "cases" else None)

    def folder(self) -> Path:
        if self.source == "budget_lines" or self.first == self.last:
            return landing_dir(self.source, self.last)
        return get_settings().raw_dir / self.source / self.label

    def to_json(self) -> list[str]:
        return [self.source, self.first.isoformat(), self.last.isoformat()]

    @classmethod
    def from_json(cls, value: list[str]) -> Span:
        return cls(value[0], date.fromisoformat(value[1]), date.fromisoformat(value[2]))


def _runs(dates: list[date]) -> list[tuple[date, date]]:
    """Runs of consecutive dates that stay inside one calendar month."""
    out: list[tuple[date, date]] = []
    for d in dates:
        if (
            out
            and d == out[-1][1] + timedelta(days=1)
            and (d.year, d.month) == (out[-1][1].year, out[-1][1].month)
        ):
            out[-1] = (out[-1][0], d)
        else:
            out.append((d, d))
    return out


def plan(dates: Iterable[date], sources: tuple[str, ...] = SOURCES) -> list[Span]:
    """The windows of a backfill of `dates` (any set of dates): budget lines first (one a fiscal
    year), then each month's cases and payments."""
    ds = sorted(set(dates))
    if not ds:
        raise ValueError("a backfill needs at least one date")
    spans: list[Span] = []
    if "budget_lines" in sources:
        for year in sorted({d.year for d in ds}):
            in_year = [d for d in ds if d.year == year]
            spans.append(Span("budget_lines", in_year[0], in_year[-1]))
    for first, last in _runs(ds):
        spans += [Span(s, first, last) for s in sources if s != "budget_lines"]
    return spans


def plan_range(start: date, end: date, sources: tuple[str, ...] = SOURCES) -> list[Span]:
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    return plan([start + timedelta(days=i) for i in range((end - start).days + 1)], sources)


@dataclass
class Result:
    spans: list[Span]
    manifests: dict[Span, Manifest] = field(default_factory=dict)
    skipped: int = 0
    landed: int = 0
    records: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        return (
            f"{len(self.spans)} windows: {self.landed} landed, skipped {self.skipped} already landed"
            f" (count unchanged), {self.records:,} records in {self.seconds:.1f} s"
        )


def current(span: Span, window: Window, client: Client) -> Manifest | None:
    """The window's landing if it is complete and the source still counts the same records."""
    m = latest_in(span.folder())
    if m is None or m.window != window.params() or m.count != m.source_count:
        return None
    return m if client.count(window) == m.count else None


def run(
    spans: list[Span],
    *,
    workers: int | None = None,
    limit: int = MAX_LIMIT,
    client_factory: Callable[[], Client] = Client,
    on_window: Callable[[Span, Manifest, bool], None] | None = None,
    resume: bool = True,
) -> Result:
    """Land every window, `workers` at a time; each lands as soon as it is complete.

    `on_window(span, manifest, skipped)` is called in the calling thread as each window is done
    (progress). A window that fails stops the backfill: windows already running finish and
    stay landed, no new one starts, and the error is raised naming the window (a re-run
    resumes). Ctrl-C does the same.
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}")
    workers = workers_setting(workers)
    district = get_settings().district
    local = threading.local()
    result = Result(spans)
    t0 = time.perf_counter()

    def one(span: Span) -> tuple[Manifest, bool]:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = client_factory()
        window = span.window(district)
        if resume:
            done = current(span, window, client)
            if done is not None:
                return done, True
        for attempt in range(1, WINDOW_ATTEMPTS + 1):
            try:
                return land(window, span.folder(), span.label, client, limit), False
            except CountMismatch as exc:  # nothing landed; a page lost a record: read it again
                if attempt == WINDOW_ATTEMPTS:
                    raise
                log.warning("%s (attempt %d/%d), reading the window again", exc, attempt, WINDOW_ATTEMPTS)
        raise AssertionError("unreachable")

    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="backfill")
    queue = iter(spans)
    futures: dict = {}

    def submit_next() -> None:  # at most `workers` windows in flight: after a failure none starts
        span = next(queue, None)
        if span is not None:
            futures[pool.submit(one, span)] = span

    try:
        for _ in range(workers):
            submit_next()
        while futures:
            done, _ = wait(futures, return_when=FIRST_COMPLETED)
            failed = []
            for fut in done:
                span = futures.pop(fut)
                if fut.exception() is not None:
                    failed.append((span, fut.exception()))
                    continue
                manifest, skipped = fut.result()
                result.manifests[span] = manifest
                result.skipped += skipped
                result.landed += not skipped
                result.records += manifest.count
                if on_window:
                    on_window(span, manifest, skipped)
            if failed:
                wait(futures)  # windows already running finish and stay landed (a re-run skips them)
                for fut, span in list(futures.items()):
                    if fut.exception() is None:
                        result.manifests[span] = fut.result()[0]
                span, exc = failed[0]
                if isinstance(exc, ExtractError):
                    raise ExtractError(
                        f"backfill stopped at {span.source} {span.label}: {exc}"
                        f" ({len(result.manifests)} of {len(spans)} windows landed; re-run to resume)"
                    ) from exc
                raise exc
            for _ in done:
                submit_next()
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    result.seconds = time.perf_counter() - t0
    return result


def landed(spans: list[Span]) -> dict[Span, Manifest]:
    """The newest landing of each window (a build after the extract ran elsewhere: Airflow)."""
    out = {}
    for s in spans:
        m = latest_in(s.folder())
        if m is None:
            raise FileNotFoundError(f"no landing of {s.source} {s.label}: run the backfill extract first")
        out[s] = m
    return out


def load(con, manifests: dict[Span, Manifest], after_each: Callable[[], None] | None = None) -> int:
    """Load every window's landing as the batches of its dates (replace-by-batch); returns rows."""
    from .load import load_day_landing, load_days

    rows = 0
    for span, m in sorted(manifests.items(), key=lambda kv: (kv[0].first, kv[0].source)):
        if len(span.days) == 1:  # a nightly-shaped landing: one date, one batch
            rows += load_day_landing(con, span.source, span.last, m)
        else:
            rows += load_days(
                con, span.source, m.records_path, span.days, checksum=m.checksum, landed_count=m.count
            )
        if after_each:
            after_each()
    return rows
