"""The dbt project's own unit tests (the `unit_tests:` of its yml files), on an empty warehouse:
`dbt build --empty` makes every model as an empty table (the column types the unit tests need)
and runs each unit test on its given rows. No data is loaded: this is the dbt part of
`make test-fast`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from extract.load import ensure_raw
from minhu import warehouse
from pipeline.transform import dbt

pytestmark = pytest.mark.dbt_unit

MODELS = Path(__file__).resolve().parents[1] / "dbt_project" / "models"


def declared_unit_tests() -> set[str]:
    """The unit tests' names, read from the yml files themselves."""
    names = set()
    for path in MODELS.rglob("*.yml"):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        names |= {t["name"] for t in doc.get("unit_tests") or []}
    return names


def test_every_dbt_unit_test_passes(tmp_path, monkeypatch):
    monkeypatch.setenv("MINHU_HOME", str(tmp_path / "home"))
    wh = tmp_path / "empty.duckdb"
    con = warehouse.connect(wh)
    try:
        ensure_raw(con)  # the raw tables the sources name, without a row
    finally:
        con.close()
    out = dbt(["build", "--empty", "--exclude-resource-type", "test"], wh)
    declared = declared_unit_tests()
    assert len(declared) >= 10, declared
    passed = set(re.findall(r"PASS \w+::(\w+) ", out))
    assert passed == declared, (declared - passed, passed - declared)
    assert re.search(r"Done\. PASS=\d+ WARN=0 ERROR=0 SKIP=0", out), out[-3000:]
