"""Fault injection for the simulators, switchable per run.

A plan is a comma-separated spec, e.g. ``"429:0.1,503:0.05,reset:0.02,truncate:0.02,slow:0.05,
repeat:0.1,drift:1,seed:7"``: each kind with the probability that a page request gets it.
``MINHU_SIM_FAULTS`` (or ``minhu sources serve --faults``) sets it. Kinds:

- ``429``: Too Many Requests with ``Retry-After`` (``retry_after`` seconds, default 1)
- ``500`` / ``502`` / ``503``: a server error
- ``slow``: the answer comes after ``slow_seconds`` (default 2)
- ``reset``: the connection is closed without an answer
- ``truncate``: the body is cut in the middle and the connection closed
- ``repeat``: the page carries one of its records twice
- ``drift``: every record carries an extra, undocumented field
- ``drop``: the page silently loses one record (a platform bug: only /count reveals it)
"""

from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import dataclass, field

KINDS = ("429", "500", "502", "503", "slow", "reset", "truncate", "repeat", "drift", "drop")


@dataclass
class FaultPlan:
    rates: dict[str, float] = field(default_factory=dict)
    seed: int = 0
    retry_after: int = 1
    slow_seconds: float = 2.0
    injected: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = set(self.rates) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {', '.join(KINDS)}")
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    @classmethod
    def parse(cls, spec: str | None) -> FaultPlan:
        rates: dict[str, float] = {}
        options: dict[str, float] = {}
        for part in filter(None, (p.strip() for p in (spec or "").split(","))):
            name, _, value = part.partition(":")
            if name in ("seed", "retry_after", "slow_seconds"):
                options[name] = float(value)
            else:
                rates[name] = float(value or 1)
        return cls(
            rates=rates,
            seed=int(options.get("seed", 0)),
            retry_after=int(options.get("retry_after", 1)),
            slow_seconds=options.get("slow_seconds", 2.0),
        )

    def _draw(self, kind: str) -> bool:
        rate = self.rates.get(kind, 0.0)
        with self._lock:
            hit = rate > 0 and self._rng.random() < rate
            if hit:
                self.injected[kind] = self.injected.get(kind, 0) + 1
        return hit

    def serve(self, handler, body: dict, send) -> None:
        """Answer one page request, with whatever faults the plan draws for it."""
        for status in ("429", "500", "502", "503"):
            if self._draw(status):
                headers = {"Retry-After": str(self.retry_after)} if status == "429" else None
                return send(int(status), {"error": f"simulated {status}"}, headers)
        if self._draw("slow"):
            time.sleep(self.slow_seconds)
        if self._draw("reset"):
            handler.close_connection = True
            handler.connection.close()
            return None
        data = body.get("data")
        if data is not None:
            if self._draw("drift"):
                body = {**body, "data": [{**r, "source_revision": "v2"} for r in data]}
                data = body["data"]
            if data and self._draw("repeat"):
                body = {**body, "data": [*data, data[0]]}
            elif len(data) > 1 and self._draw("drop"):
                body = {**body, "data": data[1:]}
        if self._draw("truncate"):
            payload = json.dumps(body, ensure_ascii=False).encode()
            handler.send_response(200)
            handler.send_header("Content-Type", "application/json; charset=utf-8")
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload[: len(payload) // 2])
            handler.wfile.flush()
            handler.close_connection = True
            handler.connection.close()
            return None
        return send(200, body)
