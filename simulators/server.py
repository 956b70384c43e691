"""The upstream simulators: one HTTP server on loopback serving the case platform and the
finance system exactly as ../shared/spec/sources.md describes them.

    GET /api/v1/cases?updated_since=T1&updated_until=T2&cursor=C&limit=N[&district=D]
    GET /api/v1/cases/count?updated_since=T1&updated_until=T2[&district=D]
    GET /api/v1/budget/lines?fiscal_year=Y&updated_since=T1&updated_until=T2&cursor=C&limit=N[&district=D]
    GET /api/v1/budget/lines/count?...
    GET /api/v1/budget/payments?updated_since=T1&updated_until=T2&cursor=C&limit=N[&district=D]
    GET /api/v1/budget/payments/count?...

The district (the server's MINHU_DISTRICT unless the request names one) selects the case
platform's district and the finance system's profile (simulators.finance_data.PROFILES).

Records with T1 <= updated_at < T2, ordered by (updated_at, id); an opaque keyset cursor;
bearer-token auth. Data is deterministic per business date. Faults (429, 5xx, slow responses,
resets, truncated bodies, repeated records, schema drift) are injected by `simulators.faults`.
"""

from __future__ import annotations

import base64
import bisect
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import NamedTuple
from urllib.parse import parse_qs, urlparse

from minhu.calendar import TZ
from minhu.schemas import LINE_KEY
from minhu.settings import get_settings
from simulators import case_data, finance_data
from simulators.faults import FaultPlan

log = logging.getLogger(__name__)
MAX_LIMIT = 5000


class BadRequest(Exception):
    pass


def _parse_ts(value: str | None, name: str) -> datetime:
    if not value:
        raise BadRequest(f"{name} is required")
    try:
        ts = datetime.fromisoformat(value.replace(" ", "+"))
    except ValueError as exc:
        raise BadRequest(f"{name} is not an ISO 8601 datetime: {value!r}") from exc
    if ts.tzinfo is None:
        raise BadRequest(f"{name} must carry a UTC offset: {value!r}")
    return ts


def _days(t1: datetime, t2: datetime) -> list[date]:
    first, last = t1.astimezone(TZ).date(), (t2 - timedelta(microseconds=1)).astimezone(TZ).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _key_payments(r: dict) -> str:
    return r["payment_id"]


def _key_lines(r: dict) -> str:
    """A line's key within its fiscal year (the window sorts by it after updated_at)."""
    return "|".join(str(r[k]) for k in LINE_KEY if k != "fiscal_year")


class _Window(NamedTuple):
    keys: list  # (updated_at, id), sorted
    rows: list  # what the page builds its records from, in the same order
    build: Callable[[object], dict]


_CACHE: OrderedDict = OrderedDict()
_CACHE_ROWS = 400_000  # rows kept over all cached windows (a month of cases is ~60k)
_CACHE_LOCK = threading.Lock()


def _window(source: str, t1: datetime, t2: datetime, district: str, fiscal_year: int | None) -> _Window:
    """All records of a window, sorted by (updated_at, id), from a cache bounded by rows."""
    key = (source, t1, t2, district, fiscal_year)
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit
    window = _build_window(source, t1, t2, district, fiscal_year)
    with _CACHE_LOCK:
        _CACHE[key] = window
        total = sum(len(w.keys) for w in _CACHE.values())
        while len(_CACHE) > 1 and total > _CACHE_ROWS:
            total -= len(_CACHE.popitem(last=False)[1].keys)
    return window


_window.cache_clear = _CACHE.clear  # type: ignore[attr-defined]


def _build_window(source: str, t1: datetime, t2: datetime, district: str, fiscal_year: int | None) -> _Window:
    now = datetime.now(TZ)  # the generator knows whole lifecycles; the platform only the past
    if source == "cases":
        days = _days(t1, t2)
        pairs = case_data.versions_between(district, days[0], days[-1]) if days else []
        rows = []
        for static, state in pairs:
            ts = datetime.fromisoformat(state[case_data.UPDATED])
            if t1 <= ts < t2 and ts <= now:
                rows.append(((ts, static[case_data.CASE_ID]), (static, state)))
        rows.sort(key=lambda x: x[0])
        return _Window([k for k, _ in rows], [r for _, r in rows], lambda r: case_data.record(*r))
    if source == "payments":
        records = [r for d in _days(t1, t2) for r in finance_data.payments(d, district)]
        key = _key_payments
    else:
        years = [fiscal_year] if fiscal_year else sorted({d.year for d in _days(t1, t2)})
        records = [r for y in years for r in finance_data.budget_lines(y, district)]
        key = _key_lines
    rows = []
    for r in records:
        ts = datetime.fromisoformat(r["updated_at"])
        if t1 <= ts < t2 and ts <= now:
            rows.append(((ts, key(r)), r))
    rows.sort(key=lambda x: x[0])
    return _Window([k for k, _ in rows], [r for _, r in rows], dict)


def _encode_cursor(k: tuple[datetime, str]) -> str:
    raw = json.dumps([k[0].isoformat(), k[1]], ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(c: str) -> tuple[datetime, str]:
    try:
        ts, key = json.loads(base64.urlsafe_b64decode(c + "=" * (-len(c) % 4)))
        return datetime.fromisoformat(ts), key
    except (ValueError, TypeError) as exc:
        raise BadRequest(f"invalid cursor {c!r}") from exc


ROUTES = {
    "/api/v1/cases": "cases",
    "/api/v1/budget/lines": "budget_lines",
    "/api/v1/budget/payments": "payments",
}


def page(source: str, params: dict[str, str], district: str) -> dict:
    t1 = _parse_ts(params.get("updated_since"), "updated_since")
    t2 = _parse_ts(params.get("updated_until"), "updated_until")
    if t2 < t1:
        raise BadRequest("updated_until is before updated_since")
    fy = params.get("fiscal_year")
    if source == "budget_lines" and not fy:
        raise BadRequest("fiscal_year is required")
    try:
        fiscal_year = int(fy) if fy else None
        limit = int(params.get("limit") or 1000)
    except ValueError as exc:
        raise BadRequest(str(exc)) from exc
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(f"limit must be between 1 and {MAX_LIMIT}")
    district = params.get("district") or district
    if source != "cases":
        try:
            finance_data.profile(district)
        except KeyError as exc:
            raise BadRequest(exc.args[0]) from exc
    window = _window(source, t1, t2, district, fiscal_year)
    start = 0
    if params.get("cursor"):
        start = bisect.bisect_right(window.keys, _decode_cursor(params["cursor"]))
    end = min(start + limit, len(window.keys))
    more = end < len(window.keys)
    return {
        "data": [window.build(r) for r in window.rows[start:end]],
        "next_cursor": _encode_cursor(window.keys[end - 1]) if more and end > start else None,
        "total": len(window.keys),
    }


def make_handler(token: str, district: str, faults: FaultPlan) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt: str, *args) -> None:  # quiet, and never logs query values
            log.debug("%s %s", self.command, urlparse(self.path).path)

        def _send(self, status: int, body: dict, headers: dict | None = None) -> None:
            payload = json.dumps(body, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:  # noqa: N802
            url = urlparse(self.path)
            if url.path == "/health":
                return self._send(200, {"status": "ok"})
            if self.headers.get("Authorization") != f"Bearer {token}":
                return self._send(401, {"error": "unauthorized"})
            params = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
            count = url.path.endswith("/count")
            source = ROUTES.get(url.path.removesuffix("/count"))
            if source is None:
                return self._send(404, {"error": f"no route {url.path}"})
            try:
                if count:
                    params["limit"] = "1"
                    params.pop("cursor", None)
                    return self._send(200, {"total": page(source, params, district)["total"]})
                body = page(source, params, district)
            except BadRequest as exc:
                return self._send(400, {"error": str(exc)})
            faults.serve(self, body, self._send)

    return Handler


def make_server(
    host: str = "127.0.0.1", port: int | None = None, faults: FaultPlan | None = None
) -> ThreadingHTTPServer:
    s = get_settings()
    port = s.source_port if port is None else port
    handler = make_handler(s.source_token, s.district, faults or FaultPlan())
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def serve_in_thread(port: int = 0, faults: FaultPlan | None = None) -> tuple[ThreadingHTTPServer, str]:
    """Start the simulators on a free loopback port in a thread (tests, demo); returns (server, url)."""
    server = make_server(port=port, faults=faults)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def serve_forever(port: int | None = None, faults: FaultPlan | None = None, ready: Callable | None = None):
    server = make_server(port=port, faults=faults)
    if ready:
        ready(server)
    try:
        server.serve_forever()
    finally:
        server.server_close()
