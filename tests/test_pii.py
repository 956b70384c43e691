"""Personal data in free text: minhu.pii (quarantine files) and stg_platform__cases.content_masked
(the dbt macro mask_personal) mask the same things the same way, and eat no ordinary words."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from pathlib import Path

import duckdb
import pytest

from extract.load import load_batch
from minhu import pii, warehouse
from minhu.settings import REPO_ROOT
from pipeline.transform import dbt
from simulators import case_data

MACRO = REPO_ROOT / "dbt_project" / "macros" / "mask_personal.sql"

# Address forms the simulator never writes: (text, what must not survive, what must stay).
UNSEEN = [
    ("家住某某路123号，楼下夜市噪音扰民", "123号", "某某路"),
    ("某小区4栋2单元1201室楼上漏水", "4栋2单元1201室", "某小区"),
    ("解放大道634号门前占道经营", "634号", "解放大道"),
    ("汉正街社区18栋下水道堵塞", "18栋", "汉正街社区"),
    ("建设大道特1号附5号门面违规装修", "特1号附5号", "建设大道"),
    ("反映紫润明园3-2-1201室有人群租", "3-2-1201室", "紫润明园"),
    ("宝丰二路２８号旁边垃圾未清运", "２８号", "宝丰二路"),
]
ORDINARY = [
    "楼道和路边杂物乱堆乱放，存在安全隐患",
    "3月5号下午路面积水，车辆行人无法通行",
    "地铁3号线施工夜间噪音扰民，轨道交通3号线出口被占用",
    "医院3楼厕所漏水已经两天",
    "社区2024-03-01发布的通知没有说明办理时限",
    "希望尽快处理，谢谢！共计12户居民联名反映",
]
PERSONAL_NUMBERS = [
    ("请回电13912345678。", "13912345678"),
    ("电话：+86 139-1234-5678", "139-1234-5678"),
    ("座机027-83851234", "027-83851234"),
    ("身份证号420104199001011234", "420104199001011234"),
]


def simulated_cases(n: int = 400) -> list[dict]:
    """Real simulator cases whose content mentions their own address (about 70% of them)."""
    out: list[dict] = []
    d = date(2024, 3, 1)
    while len(out) < n:
        out += [
            r for r in case_data.cases_received("硚口区", d) if r["address"] and r["address"] in r["content"]
        ]
        d = date.fromordinal(d.toordinal() + 1)
    return out[:n]


# ------------------------------------------------------------------------------------- Python rule


@pytest.mark.unit
@pytest.mark.parametrize(("text", "gone", "kept"), UNSEEN)
def test_unseen_address_forms_lose_their_door_numbers(text: str, gone: str, kept: str) -> None:
    masked = pii.mask(text)
    assert gone not in masked and pii.ADDRESS_MASK in masked, masked
    assert kept in masked  # the road / estate name (no finer than the community) stays


@pytest.mark.unit
@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_sentences_are_unchanged(text: str) -> None:
    assert pii.mask(text) == text


@pytest.mark.unit
@pytest.mark.parametrize(("text", "gone"), PERSONAL_NUMBERS)
def test_phone_and_id_numbers(text: str, gone: str) -> None:
    masked = pii.mask(text)
    assert gone not in masked and re.search(r"\[(电话|身份证号)\]", masked), masked


@pytest.mark.unit
def test_simulated_cases_lose_name_phone_and_address() -> None:
    cases = simulated_cases()
    assert len(cases) == 400
    for r in cases:
        masked = pii.mask(r["content"], r["citizen_name"], r["address"])
        assert r["address"] not in masked, masked
        assert r["citizen_phone"] not in masked and r["citizen_name"] not in masked, masked
        # even without the record's own address field, the door number goes
        door = re.search(r"[0-9]+号.*", r["address"]).group(0)
        assert door not in pii.mask(r["content"]), r["content"]


@pytest.mark.unit
def test_the_macro_uses_the_same_patterns() -> None:
    sql = MACRO.read_text(encoding="utf-8")
    for pattern in (pii.ID_NUMBER, pii.MOBILE, pii.LANDLINE, pii.DOOR, pii.DOOR_REPLACEMENT):
        assert f"'{pattern}'" in sql, pattern
    for mask in (pii.NAME_MASK, pii.ADDRESS_MASK, pii.ID_MASK, pii.PHONE_MASK):
        assert f"'{mask}'" in sql, mask


# ------------------------------------------------------------------------------------- the model


@pytest.mark.dbt  # a real dbt build of the staging model on a hand-loaded warehouse
def test_content_masked_in_the_built_staging_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MINHU_HOME", str(tmp_path / "home"))
    cases = simulated_cases(200)
    samples = [t for t, _, _ in UNSEEN] + ORDINARY + [t for t, _ in PERSONAL_NUMBERS]
    template = dict(cases[0])
    rows = list(cases)
    for i, text in enumerate(samples):
        rows.append(
            {**template, "case_id": f"SAMPLE{i:03d}", "content": text, "citizen_name": "", "address": None}
        )
    path = tmp_path / "cases.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    wh = tmp_path / "wh.duckdb"
    con = warehouse.connect(wh)
    try:
        load_batch(
            con,
            "cases",
            "api/cases/2024-03-01",
            path,
            kind="api",
            checksum=hashlib.sha256(path.read_bytes()).hexdigest(),
            landed_count=len(rows),
            source_count=len(rows),
            business_date="2024-03-01",
        )
    finally:
        con.close()
    dbt(["run", "--select", "stg_platform__case_rows stg_platform__cases"], wh)
    out = dbt(["test", "--select", "stg_platform__case_rows,test_type:unit"], wh)  # the yml unit test
    assert "content_masked_hides_names_phones_and_addresses" in out and "PASS=1" in out, out
    con = duckdb.connect(str(wh), read_only=True)
    try:
        got = dict(con.execute("select case_id, content_masked from staging.stg_platform__cases").fetchall())
    finally:
        con.close()
    assert len(got) == len(rows)
    for r in rows:
        masked = got[r["case_id"]]
        # the model and the Python rule agree, character for character
        assert masked == pii.mask(r["content"], r["citizen_name"], r["address"]), r["content"]
    for r in cases:
        for personal in (r["address"], r["citizen_phone"], r["citizen_name"]):
            assert personal not in got[r["case_id"]]
    for i, (_text, gone, kept) in enumerate(UNSEEN):
        assert gone not in got[f"SAMPLE{i:03d}"] and kept in got[f"SAMPLE{i:03d}"]
    for j, text in enumerate(ORDINARY, start=len(UNSEEN)):
        assert got[f"SAMPLE{j:03d}"] == text
