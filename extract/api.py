"""HTTP clients for the case platform and the finance system (sources.md §1, §2).

`fetch_window` pages through one change-feed window with the opaque cursor, surviving what the
platform does under load: 429 with Retry-After (capped), 500/502/503, slow answers, connection
resets, truncated bodies, a page that repeats a record, extra fields. Retries are bounded with
exponential backoff; a window that still fails raises `ExtractError` naming the window.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

import requests

from minhu import schemas
from minhu.settings import get_settings

log = logging.getLogger(__name__)

ENDPOINTS = {
    "cases": "/api/v1/cases",
    "budget_lines": "/api/v1/budget/lines",
    "payments": "/api/v1/budget/payments",
}
RETRY_STATUS = {429, 500, 502, 503, 504}


class ExtractError(RuntimeError):
    pass


class CountMismatch(ExtractError):
    """The records landed for a window disagree with the source's /count (e.g. a dropped record)."""


@dataclass
class Window:
    source: str
    updated_since: datetime
    updated_until: datetime
    fiscal_year: int | None = None
    district: str | None = None

    def params(self) -> dict[str, str]:
        p = {"updated_since": self.updated_since.isoformat(), "updated_until": self.updated_until.isoformat()}
        if self.fiscal_year is not None:
            p["fiscal_year"] = str(self.fiscal_year)
        if self.district:
            p["district"] = self.district
        return p

    def __str__(self) -> str:
        fy = f" fiscal_year={self.fiscal_year}" if self.fiscal_year else ""
        return f"{self.source} [{self.updated_since.isoformat()}, {self.updated_until.isoformat()}){fy}"


@dataclass
class FetchStats:
    pages: int = 0
    requests: int = 0
    retries: dict[str, int] = field(default_factory=dict)
    duplicates_dropped: int = 0
    extra_fields: set[str] = field(default_factory=set)

    def retried(self, why: str) -> None:
        self.retries[why] = self.retries.get(why, 0) + 1


class Client:
    def __init__(
        self,
        base_url: str | None = None,
        token: str | None = None,
        timeout: float | None = None,
        max_attempts: int = 8,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        max_retry_after: float | None = None,
    ) -> None:
        s = get_settings()
        self.base_url = (base_url or s.source_url).rstrip("/")
        self.timeout = timeout or s.http_timeout
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_retry_after = s.max_retry_after if max_retry_after is None else max_retry_after
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token or s.source_token}"
        self._rng = random.Random(0)

    def _sleep_for(self, attempt: int, retry_after: str | None) -> float:
        if retry_after:
            try:
                return min(float(retry_after), self.max_retry_after)
            except ValueError:
                pass
        base = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        return base * (0.5 + self._rng.random() / 2)

    def get_json(self, path: str, params: dict[str, str], what: str, stats: FetchStats | None = None) -> dict:
        stats = stats or FetchStats()
        last = ""
        for attempt in range(1, self.max_attempts + 1):
            stats.requests += 1
            retry_after = None
            try:
                resp = self.session.get(self.base_url + path, params=params, timeout=self.timeout)
                if resp.status_code == 401:
                    raise ExtractError(f"{what}: the source refused the token (401)")
                if resp.status_code in RETRY_STATUS:
                    last = f"HTTP {resp.status_code}"
                    retry_after = resp.headers.get("Retry-After")
                elif resp.status_code != 200:
                    raise ExtractError(f"{what}: HTTP {resp.status_code}: {resp.text[:200]}")
                else:
                    return resp.json()
            except (
                requests.ConnectionError,
                requests.Timeout,
                requests.exceptions.ChunkedEncodingError,
            ) as exc:
                last = type(exc).__name__
            except requests.JSONDecodeError:
                last = "truncated or invalid JSON body"
            stats.retried(last)
            if attempt < self.max_attempts:
                delay = self._sleep_for(attempt, retry_after)
                log.warning("%s: %s, retry %d/%d in %.1fs", what, last, attempt, self.max_attempts - 1, delay)
                time.sleep(delay)
        raise ExtractError(f"{what}: gave up after {self.max_attempts} attempts (last: {last})")

    def count(self, window: Window) -> int:
        body = self.get_json(ENDPOINTS[window.source] + "/count", window.params(), f"count {window}")
        return int(body["total"])

    def pages(
        self, window: Window, limit: int = 1000, stats: FetchStats | None = None
    ) -> Iterator[list[dict]]:
        """Yield the pages of a window; records are deduplicated on (id, updated_at)."""
        stats = stats or FetchStats()
        id_keys = schemas.SOURCES[window.source]["id"]
        known = set(schemas.keys(window.source))
        seen: set[tuple] = set()
        cursor = None
        while True:
            params = {**window.params(), "limit": str(limit)}
            if cursor:
                params["cursor"] = cursor
            body = self.get_json(ENDPOINTS[window.source], params, f"{window} page {stats.pages + 1}", stats)
            stats.pages += 1
            page = []
            for rec in body["data"]:
                key = (*(rec.get(k) for k in id_keys), rec.get("updated_at"))
                if key in seen:
                    stats.duplicates_dropped += 1
                    continue
                seen.add(key)
                stats.extra_fields |= set(rec) - known  # schema drift: landed as received, reported
                page.append(rec)
            yield page
            cursor = body.get("next_cursor")
            if not cursor:
                return
