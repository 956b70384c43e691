"""Extraction survives every fault the platform shows under load, and fails loudly when it cannot."""

from __future__ import annotations

import json
from datetime import date

import pytest

from extract.api import Client, ExtractError
from extract.land import land_window
from simulators import case_data
from simulators.faults import FaultPlan
from simulators.server import serve_in_thread

pytestmark = pytest.mark.unit

DAY = date(2024, 3, 1)


def expected_keys() -> set[tuple[str, str]]:
    return {(r["case_id"], r["updated_at"]) for r in case_data.case_versions("硚口区", DAY)}


@pytest.fixture
def faulty(monkeypatch, tmp_path):
    """Start the simulators with a fault plan; returns (client, plan). Retries are fast here."""
    servers = []
    monkeypatch.setenv("MINHU_HOME", str(tmp_path / "home"))

    def start(spec: str, timeout: float = 5.0, max_attempts: int = 12):
        plan = FaultPlan.parse(spec)
        server, url = serve_in_thread(0, faults=plan)
        servers.append(server)
        client = Client(
            base_url=url, timeout=timeout, max_attempts=max_attempts, backoff=0.01, max_retry_after=0.05
        )
        return client, plan

    yield start
    for s in servers:
        s.shutdown()


def landed_keys(manifest) -> list[tuple[str, str]]:
    lines = manifest.records_path.read_text(encoding="utf-8").splitlines()
    return [(r["case_id"], r["updated_at"]) for r in map(json.loads, lines)]


@pytest.mark.parametrize(
    "spec",
    [
        "429:0.3,retry_after:120,seed:1",  # Retry-After of two minutes is capped to max_retry_after
        "500:0.2,502:0.1,503:0.1,seed:2",
        "reset:0.25,seed:3",
        "truncate:0.25,seed:4",
        "repeat:0.5,seed:5",
        "drift:1,seed:6",  # every page: an extra field
        "slow:0.2,slow_seconds:1.5,seed:7",
        "429:0.1,500:0.05,503:0.05,reset:0.05,truncate:0.05,repeat:0.2,drift:1,seed:8",
    ],
)
def test_every_fault_is_survived_without_loss_or_double_count(faulty, spec):
    client, plan = faulty(spec, timeout=1.0 if "slow" in spec else 5.0)
    manifest = land_window("cases", DAY, client, limit=200)
    keys = landed_keys(manifest)
    assert len(keys) == len(set(keys)) == manifest.count == manifest.source_count
    assert set(keys) == expected_keys()
    assert sum(plan.injected.values()) > 0, "the plan injected nothing: the test proves nothing"
    if "repeat" in plan.injected:
        assert manifest.duplicates_dropped == plan.injected["repeat"]
    if "drift" in spec:
        assert manifest.extra_fields == ["source_revision"]
    retried = {k for k in plan.injected if k not in ("repeat", "drift")}
    assert bool(manifest.retries) == bool(retried)


def test_retry_after_is_capped(faulty, monkeypatch):
    """The source asks for Retry-After: 3600; each wait the client makes is the cap (0.05 s here).
    The waits themselves are recorded (no wall-clock threshold)."""
    import threading
    import time

    from extract import api

    me, real_sleep, waits = threading.get_ident(), time.sleep, []

    def sleep(seconds):
        if threading.get_ident() != me:  # the simulator's threads sleep as they would
            return real_sleep(seconds)
        waits.append(seconds)
        real_sleep(min(seconds, 0.05))  # an uncapped wait fails below instead of hanging

    monkeypatch.setattr(api.time, "sleep", sleep)
    client, plan = faulty("429:0.5,retry_after:3600,seed:11")
    land_window("cases", DAY, client, limit=500)
    assert plan.injected["429"] >= 1
    assert len(waits) >= plan.injected["429"] and max(waits) == client.max_retry_after == 0.05, waits


def test_a_window_that_keeps_failing_fails_naming_the_window_and_lands_nothing(faulty, tmp_path):
    client, _ = faulty("503:1", max_attempts=3)
    with pytest.raises(ExtractError) as err:
        land_window("cases", DAY, client)
    message = str(err.value)
    assert "cases [2024-03-01T00:00:00+08:00, 2024-03-02T00:00:00+08:00)" in message
    assert "HTTP 503" in message and "3 attempts" in message
    folder = tmp_path / "home" / "raw" / "cases" / "2024-03-01"
    assert not folder.exists()  # a failed landing leaves nothing behind, not even its folder


def test_a_landed_count_that_disagrees_with_count_fails_and_lands_nothing(faulty, tmp_path):
    client, plan = faulty("drop:0.3,seed:12")
    with pytest.raises(ExtractError, match=r"landed \d+ records but the source counts \d+"):
        land_window("cases", DAY, client, limit=300)
    assert plan.injected["drop"] >= 1
    folder = tmp_path / "home" / "raw" / "cases" / "2024-03-01"
    assert not folder.exists()  # a failed landing leaves nothing behind, not even its folder


def test_wrong_token_fails_at_once(faulty):
    client, _ = faulty("")
    client.session.headers["Authorization"] = "Bearer wrong"
    with pytest.raises(ExtractError, match="401"):
        land_window("cases", DAY, client)
