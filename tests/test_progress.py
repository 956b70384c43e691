"""minhu.progress off a terminal: one log line per item, or (log_every) the first, each tenth,
the last and every item whose note is not OK/PASS."""

from __future__ import annotations

import io
import logging

import pytest

from minhu.progress import Progress

pytestmark = pytest.mark.unit


def lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "minhu.progress"]


def test_every_item_is_a_line_by_default(caplog):
    caplog.set_level(logging.INFO, logger="minhu.progress")
    with Progress(3, "backfill windows", stream=io.StringIO(), tty=False) as p:
        for i in range(3):
            p.advance(f"cases 2024-0{i + 1}", records=1000)
    got = lines(caplog)
    assert [m.split(":")[0] for m in got] == [f"backfill windows {i}/3 cases 2024-0{i}" for i in (1, 2, 3)]
    assert "3,000 records" not in got[-1] and "1,000 records" in got[-1] and "ETA 0s" in got[-1]


def test_a_tenth_at_a_time_but_every_warning_and_error(caplog):
    caplog.set_level(logging.INFO, logger="minhu.progress")
    with Progress(0, "dbt build", stream=io.StringIO(), tty=False, unit=None, log_every=0.1) as p:
        p.set_total(225)
        for i in range(1, 226):
            p.advance(f"node_{i}", note={100: "WARN", 150: "ERROR"}.get(i, "PASS" if i % 2 else "OK"))
    got = [int(m.split()[2].split("/")[0]) for m in lines(caplog)]
    # the first, then one each 22.5 nodes (rounded up to whole nodes), the last; 100 and 150 always
    assert got[0] == 1 and got[-1] == 225 and {100, 150} <= set(got)
    assert got == sorted(got) and 12 <= len(got) <= 15, got
    assert all(b - a <= 23 for a, b in zip(got, got[1:], strict=False)), got
