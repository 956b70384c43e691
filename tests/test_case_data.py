from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import chinese_calendar
import pytest

from minhu.calendar import TZ
from minhu.schemas import (
    CASE_FIELDS,
    CASE_STATUSES,
    CASE_TYPES,
    CHANNELS,
    SATISFACTIONS,
)
from simulators import case_data as cd

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[1]
KEYS = [f.key for f in CASE_FIELDS]
DATETIME_KEYS = [f.key for f in CASE_FIELDS if f.type == "datetime"]
QK = "硚口区"
DAY = date(2024, 3, 15)
P = datetime.fromisoformat
# sources.md, "Time limits": working days by case type; 营商环境 cases 5 whatever the type
LIMITS = {"咨询": 3, "求助": 5, "建议": 5, "表扬": 5, "投诉": 10, "举报": 10}
BUSINESS_ENV_LIMIT = 5


def due_by_hand(dispatched: datetime, working_days: int) -> datetime:
    """23:59:59 local of the n-th State Council working day after the local dispatch date
    (the chinese-calendar package directly, not the product's minhu.calendar)."""
    d = dispatched.astimezone(TZ).date()
    left = working_days
    while left:
        d += timedelta(days=1)
        left -= chinese_calendar.is_workday(d)
    return datetime(d.year, d.month, d.day, 23, 59, 59, tzinfo=TZ)


def _digest(records: list[dict]) -> str:
    return hashlib.sha256(json.dumps(records, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


@pytest.fixture(scope="module")
def july() -> list[dict]:
    """Final state of every case received in July 2024."""
    cases = []
    for i in range(31):
        cases += cd.cases_received(QK, date(2024, 7, 1) + timedelta(days=i))
    return cases


# ---------------------------------------------------------------------------- determinism


def test_deterministic_in_process():
    first = cd.case_versions(QK, DAY)
    cd._received_day.cache_clear()
    assert cd.case_versions(QK, DAY) == first
    assert cd.case_versions("江汉区", DAY) != first


def test_deterministic_across_processes():
    code = (
        "import hashlib, json; from datetime import date; from simulators import case_data as cd; "
        "r = cd.case_versions('硚口区', date(2024, 3, 15)); "
        "print(hashlib.sha256(json.dumps(r, ensure_ascii=False, sort_keys=True).encode()).hexdigest())"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == _digest(cd.case_versions(QK, DAY))


# ---------------------------------------------------------------------------- record contract


def test_records_follow_the_contract():
    records = cd.case_versions(QK, DAY)
    assert 1000 < len(records) < 5000
    json.dumps(records, ensure_ascii=False)  # API JSON form
    for r in records:
        assert list(r) == KEYS
        assert r["case_id"].startswith("QK") and len(r["case_id"]) == 16
        assert r["channel"] in CHANNELS
        assert r["case_type"] in CASE_TYPES
        assert r["status"] in CASE_STATUSES
        assert r["satisfaction"] is None or r["satisfaction"] in SATISFACTIONS
        assert type(r["urge_count"]) is int and r["urge_count"] >= 0
        assert type(r["is_business_env"]) is bool and type(r["is_key_supervision"]) is bool
        assert r["category"].count("/") == 2
        assert r["district"] == QK
        for k in DATETIME_KEYS:
            v = r[k]
            if v is not None:
                assert isinstance(v, str) and v.endswith("+08:00") and len(v) == 25, (k, v)
                assert P(v).utcoffset() == timedelta(hours=8)
        for k in ("case_id", "channel", "case_type", "received_at", "status", "updated_at"):
            assert r[k], k
        assert P(r["updated_at"]).date() == DAY
    keys = [(r["updated_at"], r["case_id"]) for r in records]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)


def test_personal_data_is_generated_and_sometimes_in_content(july):
    assert all(c["citizen_name"] and c["citizen_phone"] and c["address"] for c in july)
    assert all(len(c["citizen_phone"]) == 11 and c["citizen_phone"].startswith("1") for c in july)
    with_phone = sum(c["citizen_phone"] in c["content"] for c in july) / len(july)
    with_name = sum(c["citizen_name"] in c["content"] for c in july) / len(july)
    assert 0.1 < with_phone < 0.5 and 0.1 < with_name < 0.5


# ---------------------------------------------------------------------------- lifecycles

STATIC = ("case_id", "channel", "case_type", "category", "content", "district", "street", "community")
STATIC += ("grid_id", "received_at", "is_business_env", "is_key_supervision", "citizen_name")
STATIC += ("citizen_phone", "address")


@pytest.mark.parametrize("received", [date(2024, 2, 8), date(2024, 9, 27), date(2024, 12, 20)])
def test_lifecycles_are_consistent(received):
    horizon = datetime.combine(received + timedelta(days=cd.HORIZON_DAYS + 1), datetime.min.time())
    lifecycles = cd.case_lifecycles(QK, received)
    assert len(lifecycles) == cd.daily_case_count(QK, received)
    for versions in lifecycles:
        first, last = versions[0], versions[-1]
        assert first["status"] == "已受理" and first["updated_at"] == first["received_at"]
        assert P(first["received_at"]).date() == received
        stamps = [P(v["updated_at"]) for v in versions]
        assert all(a < b for a, b in zip(stamps, stamps[1:], strict=False)), "updated_at strictly increasing"
        assert stamps[-1].replace(tzinfo=None) < horizon
        for v in versions:
            assert all(v[k] == first[k] for k in STATIC)
        urges = [v["urge_count"] for v in versions]
        assert all(b - a in (0, 1) for a, b in zip(urges, urges[1:], strict=False))
        if last["status"] == "不予受理":
            assert len(versions) == 2
            assert all(v["dispatched_at"] is None and v["handling_unit"] is None for v in versions)
            continue
        if len(versions) == 1:
            continue
        received_at, dispatched = P(last["received_at"]), P(last["dispatched_at"])
        assert received_at <= dispatched
        assert last["handling_unit"]
        limit = BUSINESS_ENV_LIMIT if last["is_business_env"] else LIMITS[last["case_type"]]
        assert P(last["due_at"]) == due_by_hand(dispatched, limit)
        assert chinese_calendar.is_workday(P(last["due_at"]).astimezone(TZ).date())
        if last["closed_at"]:
            assert dispatched <= P(last["closed_at"])
            assert last["status"] in ("已办结", "已回访")
        else:
            assert last["status"] in ("已派单", "办理中")
        if last["visited_at"]:
            assert P(last["closed_at"]) <= P(last["visited_at"])
            assert last["status"] == "已回访" and last["satisfaction"] in SATISFACTIONS
        else:
            assert last["satisfaction"] is None


def test_feed_contains_every_version_on_its_day():
    received = date(2024, 9, 27)
    by_day: dict[date, list[dict]] = {}
    for versions in cd.case_lifecycles(QK, received):
        for v in versions:
            by_day.setdefault(P(v["updated_at"]).date(), []).append(v)
    for day in sorted(by_day)[:8]:
        feed = {(r["case_id"], r["updated_at"]): r for r in cd.case_versions(QK, day)}
        for v in by_day[day]:
            assert feed[(v["case_id"], v["updated_at"])] == v


def test_cases_appear_on_several_days():
    received = date(2024, 3, 11)
    days_per_case = [len({P(v["updated_at"]).date() for v in vs}) for vs in cd.case_lifecycles(QK, received)]
    assert sum(n >= 3 for n in days_per_case) / len(days_per_case) > 0.5


# ---------------------------------------------------------------------------- volumes and shares


def test_yearly_volume_and_daily_pattern():
    year = [date(2024, 1, 1) + timedelta(days=i) for i in range(366)]
    counts = {d: cd.daily_case_count(QK, d) for d in year}
    assert 150_000 <= sum(counts.values()) <= 190_000
    for d in (date(2024, 3, 15), date(2024, 10, 3)):
        assert len(cd.cases_received(QK, d)) == counts[d]
    mar = [d for d in year if d.month == 3]
    weekday = [counts[d] for d in mar if d.weekday() < 5]
    weekend = [counts[d] for d in mar if d.weekday() >= 5]
    assert sum(weekend) / len(weekend) < 0.8 * sum(weekday) / len(weekday)
    spring_festival = [counts[date(2024, 2, d)] for d in range(10, 18)]
    assert max(spring_festival) < 0.5 * sum(weekday) / len(weekday)
    july, march = sum(counts[d] for d in year if d.month == 7), sum(counts[d] for d in mar)
    assert july > 1.1 * march  # summer peak
    # other districts exist and are of the same order of magnitude
    for name in ("江汉区", "江岸区"):
        assert 100_000 < sum(cd.daily_case_count(name, d) for d in year) < 250_000


def test_shares_over_a_month(july):
    n = len(july)
    channels = Counter(c["channel"] for c in july)
    assert 0.55 < channels["12345热线"] / n < 0.65
    assert 0.12 < channels["12319数字城管"] / n < 0.18
    assert 0.08 < channels["城市留言板"] / n < 0.12
    types = [t for t, _ in Counter(c["case_type"] for c in july).most_common()]
    assert types[:2] == ["投诉", "求助"] and types[-1] == "表扬"
    assert 0.03 <= sum(c["is_business_env"] for c in july) / n <= 0.05
    assert 0.01 <= sum(c["is_key_supervision"] for c in july) / n <= 0.03
    assert 0.01 <= sum(c["status"] == "不予受理" for c in july) / n <= 0.02

    sat = Counter(c["satisfaction"] for c in july if c["satisfaction"])
    rated = sat["满意"] + sat["基本满意"] + sat["不满意"]
    assert 0.93 <= (sat["满意"] + sat["基本满意"]) / rated <= 0.97
    assert 0.8 < sat["满意"] / rated < 0.95

    dispatched = [c for c in july if c["dispatched_at"]]
    timely = sum(P(c["dispatched_at"]) - P(c["received_at"]) <= timedelta(hours=24) for c in dispatched)
    assert 0.95 < timely / len(dispatched) < 1
    closed = [c for c in dispatched if c["closed_at"]]
    ontime = sum(P(c["closed_at"]) <= P(c["due_at"]) for c in closed)
    assert 0.92 <= ontime / len(dispatched) <= 0.97
    assert 0.0 < 1 - len(closed) / len(dispatched) < 0.02  # a few still open at the horizon
    overdue = [c for c in dispatched if not c["closed_at"] or P(c["closed_at"]) > P(c["due_at"])]
    assert 0.7 < sum(c["urge_count"] >= 1 for c in overdue) / len(overdue) <= 1
    visited = sum(c["visited_at"] is not None for c in closed)
    assert 0.9 < visited / len(closed) <= 1


# ---------------------------------------------------------------------------- reference data


def test_districts_streets_units_and_categories():
    qk = cd.DISTRICTS[QK]
    assert qk.prefix == "QK" and cd.DEFAULT_DISTRICT == QK
    assert {s.name for s in qk.streets} == {
        "古田街道", "韩家墩街道", "宗关街道", "汉水桥街道", "宝丰街道", "荣华街道",
        "汉中街道", "汉正街道", "六角亭街道", "长丰街道", "易家街道",
    }  # fmt: skip
    assert cd.DISTRICTS["江汉区"].prefix == "JH" and cd.DISTRICTS["江岸区"].prefix == "JA"
    for dist in cd.DISTRICTS.values():
        assert len({s.code for s in dist.streets}) == len(dist.streets)
        assert 30 <= len(dist.handling_units) <= 60
        assert len(set(dist.handling_units)) == len(dist.handling_units)
        assert all(s.communities and s.roads for s in dist.streets)
    leaves = [c.path for c in cd.CATEGORIES]
    assert 40 <= len(leaves) <= 80 and len(set(leaves)) == len(leaves)
    assert all(len(p.split("/")) == 3 for p in leaves)
    assert any(p == "城市管理/市容环境/占道经营" for p in leaves)


def test_other_district_feed():
    records = cd.case_versions("江岸区", DAY)
    assert records and all(r["case_id"].startswith("JA") and r["district"] == "江岸区" for r in records)
    streets = {s.name for s in cd.DISTRICTS["江岸区"].streets}
    units = set(cd.DISTRICTS["江岸区"].handling_units)
    assert all(r["street"] in streets for r in records)
    assert all(r["handling_unit"] is None or r["handling_unit"] in units for r in records)


def test_unknown_district():
    with pytest.raises(KeyError, match="unknown district"):
        cd.case_versions("不存在区", DAY)
