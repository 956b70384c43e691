"""The warehouse's case indicators against an independent reading of indicators.md.

A few thousand cases are generated here with this file's own random generator (not the
simulator), with the edges sprinkled in: closes exactly at the deadline and one second after it,
dispatch exactly at 24 h and one second later, 不予受理, 未接通, visits without an answer, several
versions per case in shuffled order with exact duplicates, datetimes with and without offset and
in UTC, days across a year boundary. They are written as an archive export CSV (Chinese
headers, 是/否), imported through ``pipeline.imports.import_files`` (land → load → dbt build →
gate → publish), and ``pipeline.indicators.fetch`` must return exactly the numerators and
denominators of ``tests/indicator_oracle.py`` for every case indicator, every grain, every
period and every channel / street / handling-unit scope.
"""

from __future__ import annotations

import csv
import random
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import indicator_oracle as oracle
import pytest

from pipeline.imports import import_files
from pipeline.indicators import fetch

pytestmark = pytest.mark.e2e

TZ = oracle.TZ
FIRST_DAY = date(2023, 12, 18)  # a Monday; the cases run across the new year into 2024-W03
CUTOFF = datetime(2024, 1, 19, 15, 30, tzinfo=TZ)  # the export's moment: nothing later is in it
N_CASES = 3000

HEADERS = {  # sources.md §1, the older exports' Chinese headers
    "case_id": "工单编号",
    "channel": "来源渠道",
    "case_type": "诉求类型",
    "category": "诉求分类",
    "content": "诉求内容",
    "district": "所属区",
    "street": "所属街道",
    "community": "所属社区",
    "grid_id": "所属网格",
    "handling_unit": "承办单位",
    "received_at": "受理时间",
    "dispatched_at": "派单时间",
    "due_at": "办理时限",
    "closed_at": "办结时间",
    "status": "工单状态",
    "urge_count": "催办次数",
    "is_business_env": "是否营商环境",
    "is_key_supervision": "是否重点督办",
    "visited_at": "回访时间",
    "satisfaction": "回访满意度",
    "citizen_name": "诉求人",
    "citizen_phone": "联系电话",
    "address": "诉求地址",
    "updated_at": "更新时间",
}
CHANNELS = [
    "12345热线",
    "城市留言板",
    "区委书记留言板",
    "媒体曝光",
    "网上投诉",
    "12319数字城管",
    "上级转办",
    "领导批示",
]
TYPES = ["咨询", "求助", "投诉", "举报", "建议", "表扬"]
STREETS = {
    "汉正街道": ("汉正社区", "万安社区"),
    "宗关街道": ("宗关社区", "水厂社区"),
    "古田街道": ("古田一路社区",),
}
UNITS = ["硚口区城市管理执法局", "硚口区住房和城市更新局", "汉正街道办事处", "武汉市自来水有限公司"]
CATEGORIES = ["城市管理/市容环境/占道经营", "住房保障/物业管理/物业服务", "公用事业/供水/停水"]
SATISFACTION = [("满意", 0.6), ("基本满意", 0.15), ("不满意", 0.1), ("未接通", 0.1), (None, 0.05)]


# ----------------------------------------------------------------------------- the generator


def _pick(rng: random.Random, weighted):
    r, acc = rng.random(), 0.0
    for item, w in weighted:
        acc += w
        if r < acc:
            return item
    return weighted[-1][0]


def _end_of_day(d: date) -> datetime:
    return datetime.combine(d, time(23, 59, 59), tzinfo=TZ)


def _lifecycle(rng: random.Random, n: int, edges: Counter) -> list[dict]:
    """Every version of one case (each a full record at its updated_at), times strictly increasing."""
    day = FIRST_DAY + timedelta(days=rng.randrange((CUTOFF.date() - FIRST_DAY).days + 1))
    r = rng.random()
    if r < 0.03:
        received = datetime.combine(day, time(0), tzinfo=TZ)
    elif r < 0.06:
        received = _end_of_day(day)
    else:
        received = datetime.combine(day, time(0), tzinfo=TZ) + timedelta(seconds=rng.randrange(86400))
    street = rng.choice(sorted(STREETS))
    ci = rng.randrange(len(STREETS[street]))
    name = rng.choice("王李张刘陈") + rng.choice("伟芳娜敏静丽强")
    phone = f"13{rng.randrange(10**9):09d}"
    static = {
        "case_id": f"IND{received:%Y%m%d}{n:05d}",
        "channel": rng.choice(CHANNELS),
        "case_type": rng.choice(TYPES),
        "category": rng.choice(CATEGORIES),
        "content": f"市民{name}反映路面问题，电话{phone}",
        "district": "硚口区",
        "street": street,
        "community": STREETS[street][ci],
        "grid_id": f"G-{street[:2]}-{ci}-{rng.randrange(1, 4)}",
        "received_at": received,
        "is_business_env": rng.random() < 0.15,
        "is_key_supervision": rng.random() < 0.1,
        "citizen_name": name,
        "citizen_phone": phone,
        "address": f"某路{rng.randrange(1, 300)}号",
    }
    state = {
        "handling_unit": None,
        "dispatched_at": None,
        "due_at": None,
        "closed_at": None,
        "status": "已受理",
        "urge_count": 0,
        "visited_at": None,
        "satisfaction": None,
    }
    versions: list[dict] = []

    def emit(t: datetime, **changes) -> datetime:
        if versions:
            t = max(t, versions[-1]["updated_at"] + timedelta(seconds=1))
        state.update(changes)
        if t <= CUTOFF:
            versions.append({**static, **state, "updated_at": t})
        return t

    emit(received)
    if rng.random() < 0.04:
        edges["rejected"] += 1
        emit(received + timedelta(seconds=rng.randrange(60, 3 * 3600)), status="不予受理")
        return versions

    r = rng.random()
    if r < 0.05:
        dispatched, edges["dispatch_24h"] = received + timedelta(hours=24), edges["dispatch_24h"] + 1
    elif r < 0.09:
        dispatched, edges["dispatch_24h_1s"] = (
            received + timedelta(hours=24, seconds=1),
            edges["dispatch_24h_1s"] + 1,
        )
    elif r < 0.13:
        dispatched = received + timedelta(seconds=rng.randrange(25 * 3600, 72 * 3600))
    elif r < 0.16:
        edges["never_dispatched"] += 1
        return versions
    else:
        dispatched = received + timedelta(seconds=rng.randrange(60, 20 * 3600))
    due = _end_of_day(dispatched.astimezone(TZ).date() + timedelta(days=rng.choice([1, 2, 3, 5, 7, 10])))
    unit = rng.choice(UNITS)
    dispatched = emit(dispatched, handling_unit=unit, dispatched_at=dispatched, due_at=due, status="已派单")

    r = rng.random()
    if r < 0.06:
        closed, edges["closed_at_due"] = due, edges["closed_at_due"] + 1
    elif r < 0.10:
        closed, edges["closed_due_1s"] = due + timedelta(seconds=1), edges["closed_due_1s"] + 1
    elif r < 0.18:
        closed = due + timedelta(seconds=rng.randrange(3600, 6 * 86400))
    elif r < 0.23:
        closed = None
    else:
        closed = dispatched + timedelta(seconds=int(rng.random() * (due - dispatched).total_seconds()))
    end = closed if closed is not None else CUTOFF + timedelta(days=30)
    if rng.random() < 0.5:
        t = dispatched + timedelta(seconds=rng.randrange(600, 5 * 3600))
        if t < end:
            emit(t, status="办理中")
    if static["is_key_supervision"] and rng.random() < 0.2:
        t = dispatched + (due - dispatched) / 2
        if t < end:
            emit(t.replace(microsecond=0), urge_count=state["urge_count"] + 1)
    if closed is None or closed > due:
        for days in (1, 3):
            t = due + timedelta(days=days, hours=-12)
            if t < end and rng.random() < 0.7:
                emit(t, urge_count=state["urge_count"] + 1)
    if closed is None:
        return versions
    closed = emit(closed, closed_at=closed, status="已办结")
    if rng.random() < 0.85:
        visited = closed + timedelta(seconds=rng.randrange(2 * 3600, 3 * 86400))
        sat = _pick(rng, SATISFACTION)
        edges[f"satisfaction_{sat}"] += 1
        emit(visited, visited_at=visited, satisfaction=sat, status="已回访")
    return versions


def _cell(rng: random.Random, key: str, v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, datetime):
        r = rng.random()
        if r < 0.5:
            return v.astimezone(TZ).strftime("%Y-%m-%d %H:%M:%S")  # no offset: Asia/Shanghai
        if r < 0.85:
            return v.astimezone(TZ).isoformat()
        return v.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(v)


def generate(seed: int = 20240119) -> tuple[list[list[dict]], Counter]:
    """Two overlapping exports (each in shuffled file order): every version is in one of them,
    some in both (exact duplicates across files, as overlapping downloads give)."""
    rng = random.Random(seed)
    edges: Counter = Counter()
    files: list[list[dict]] = [[], []]
    for n in range(N_CASES):
        versions = _lifecycle(rng, n, edges)
        if not versions:
            continue
        # an export need not hold every version: drop some middle ones, keep the first and the last
        kept = [v for i, v in enumerate(versions) if i in (0, len(versions) - 1) or rng.random() < 0.8]
        edges["versions"] += len(kept)
        for v in kept:
            r = rng.random()
            if r < 0.04:
                files[0].append(v)
                files[1].append(dict(v))
                edges["exact_duplicates"] += 1
            else:
                files[0 if r < 0.8 else 1].append(v)
    for rows in files:
        rng.shuffle(rows)
    return files, edges


def write_export(rows: list[dict], path: Path, seed: int = 7) -> None:
    rng = random.Random(seed)
    keys = list(HEADERS)
    rng.shuffle(keys)  # columns may come in any order
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([HEADERS[k] for k in keys])
        for r in rows:
            w.writerow([_cell(rng, k, r[k]) for k in keys])


# ----------------------------------------------------------------------------- the test


@pytest.fixture(scope="module")
def published(tmp_path_factory, sources_url, smtp_port):
    """The generated export imported into a fresh $MINHU_HOME; yields (rows, edges)."""
    mp = pytest.MonkeyPatch()
    home = tmp_path_factory.mktemp("independent") / "home"
    mp.setenv("MINHU_HOME", str(home))
    mp.setenv("MINHU_SOURCE_URL", sources_url)
    mp.setenv("MINHU_SMTP_PORT", str(smtp_port))
    files, edges = generate()
    exports = [home.parent / "工单导出-1.csv", home.parent / "工单导出-2.csv"]
    for rows, path in zip(files, exports, strict=True):
        write_export(rows, path)
    results = import_files("cases", exports)
    assert all("error" not in r for r in results), results
    rows = files[0] + files[1]
    assert [r["rows"] for r in results] == [len(f) for f in files]
    assert sum(r["quarantined"] for r in results) == 0
    assert sum(r["loaded"] for r in results) == len(oracle.latest_versions(rows))
    yield rows, edges
    mp.undo()


def test_the_generated_export_holds_every_edge(published):
    rows, edges = published
    for edge in (
        "rejected",
        "dispatch_24h",
        "dispatch_24h_1s",
        "never_dispatched",
        "closed_at_due",
        "closed_due_1s",
        "satisfaction_未接通",
        "satisfaction_None",
        "exact_duplicates",
    ):
        assert edges[edge] >= 5, (edge, edges)
    per_case = Counter(r["case_id"] for r in rows)
    assert sum(1 for n in per_case.values() if n >= 3) > 1000


def _sample_periods() -> list[tuple[str, str]]:
    out = []
    d = FIRST_DAY
    while d <= CUTOFF.date() + timedelta(days=2):
        out.append(("day", d.isoformat()))
        d += timedelta(days=1)
    for grain in ("week", "month", "year"):
        labels = {oracle.period_of(grain, FIRST_DAY + timedelta(days=i)) for i in range(35)}
        out += [(grain, p) for p in sorted(labels)]
    return out


def test_fetch_returns_the_oracles_numerators_and_denominators(published):
    rows, _ = published
    cases, loaded_until = oracle.prepare(rows)
    scopes = oracle.scopes_of(cases)
    checked = Counter()
    mismatches = []
    for grain, period in _sample_periods():
        for scope_arg in ("all", "channel", "street", "handling_unit"):
            got = [r for r in fetch(grain, period, scope_arg) if r["indicator"] in oracle.CASE_INDICATORS]
            want_scopes = {s for s in scopes if s == scope_arg or s.startswith(scope_arg + ":")}
            assert {r["scope"] for r in got} == want_scopes, (grain, period, scope_arg)
            by_scope = Counter(r["scope"] for r in got)
            assert set(by_scope.values()) == {len(oracle.CASE_INDICATORS)}, (grain, period, by_scope)
            for scope in want_scopes:
                expected = oracle.figures(cases, loaded_until, grain, period, scope)
                for r in (r for r in got if r["scope"] == scope):
                    n, d = expected[r["indicator"]]
                    v = oracle.value(r["indicator"], n, d)
                    same_value = (
                        r["value"] is None
                        if v is None
                        else r["value"] is not None and abs(r["value"] - v) < 1e-12
                    )
                    if (r["numerator"], r["denominator"]) != (n, d) or not same_value:
                        have = (r["numerator"], r["denominator"], r["value"])
                        mismatches.append((grain, period, scope, r["indicator"], have, (n, d, v)))
                    checked[r["indicator"]] += 1
                    checked["nonzero"] += bool(n)
    assert not mismatches, f"{len(mismatches)} mismatches, first: {mismatches[:10]}"
    assert set(checked) >= set(oracle.CASE_INDICATORS)
    assert checked["nonzero"] > 2000  # the comparison is not between empty figures


@pytest.mark.unit
def test_oracle_period_labels():
    assert oracle.period_of("week", date(2024, 12, 30)) == "2025-W01"
    assert oracle.period_of("week", date(2024, 12, 29)) == "2024-W52"
    assert oracle.period_dates("week", "2025-W01") == (date(2024, 12, 30), date(2025, 1, 6))
    assert oracle.period_dates("month", "2024-12") == (date(2024, 12, 1), date(2025, 1, 1))
