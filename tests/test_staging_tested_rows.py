"""The staging tests of the cases read only the raw rows loaded since the last passing build
(pipeline.transform.cases_tested_until, var cases_tested_until): a passing build records how far
it tested; a row loaded after that is tested; a failed build records nothing, so its rows are
tested again however often the same file is built."""

from __future__ import annotations

import json
from datetime import date, datetime

import duckdb
import pytest
from conftest import copy_home

from extract.load import load_day_file
from minhu import schemas, warehouse
from pipeline.transform import DbtError, cases_tested_until, dbt_build

pytestmark = pytest.mark.e2e


def test_a_bad_row_loaded_after_a_passing_build_fails_every_build_of_its_file(
    published_day, tmp_path, monkeypatch
):
    home = copy_home(published_day, tmp_path / "home")
    monkeypatch.setenv("MINHU_HOME", str(home))
    wh = home / "warehouse.duckdb"
    keys = schemas.keys("cases")
    con = duckdb.connect(str(wh), read_only=True)
    try:
        loaded = con.execute("select max(_loaded_at) from raw.cases").fetchone()[0]
        columns = ", ".join(f'"{k}"' for k in keys)
        cur = con.execute(f"select {columns} from raw.cases order by _batch, _row limit 1")
        record = dict(zip(keys, cur.fetchone(), strict=True))
    finally:
        con.close()
    # the published night's passing build tested every case row loaded
    until = cases_tested_until(wh)
    assert until is not None and datetime.fromisoformat(until) == loaded

    # a new day's batch with one version of a new case on a channel no value set has
    path = tmp_path / "bad.jsonl"
    bad = {**record, "case_id": "T-BAD-CHANNEL", "channel": "飞鸽传书"}
    path.write_text(json.dumps(bad, ensure_ascii=False) + "\n", encoding="utf-8")
    con = warehouse.connect(wh)
    try:
        load_day_file(con, "cases", date(2024, 3, 2), path)
    finally:
        con.close()

    for _ in range(2):  # the first failed build wrote its models; the second must still test the row
        with pytest.raises(DbtError, match="in_value_set_stg_platform__case_rows_channel"):
            dbt_build(wh)
        assert cases_tested_until(wh) == until
