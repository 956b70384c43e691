"""An unseen code never stops publication: a night whose feed carries a line no reference names.

The finance simulator serves one extra 2024 line (simulators/extra_lines.py, the file
tests/data/extra_budget_line_118002_2024.csv): unit 118002, function 项 2089999 that neither the
reference seeds nor the line name, 6000.00 yuan. The published 2024 tables of unit 118001 are
imported first (tests/data). The night is run through `minhu run` and through
`airflow dags test nightly`; each time it must be published, the gate must warn "科目 2089999"
(never an error) and still check 118001's published tables, the 日报's quality line must list
the code, and every total must be the simulator's own lines plus 6000.00.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import airflow, read_eml

from minhu import warehouse
from pipeline.cli import main
from simulators import extra_lines, server
from simulators import finance_data as fd

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
DAY = dt.date(2024, 3, 11)
EXTRA = Decimal("6000.00")
NAMES_LABEL = (
    "budget.classification_names: every classification code in use has a name (reference seed or the line)"
)


@pytest.fixture
def unseen_code_feed(home, monkeypatch):
    """The session's simulators serve the extra line (their window cache cleared around the test)."""
    monkeypatch.setenv(extra_lines.ENV, str(DATA / "extra_budget_line_118002_2024.csv"))
    server._window.cache_clear()
    assert main(["import", "published-budget", str(DATA / "published_budget_118001_2024.csv")]) == 0
    yield home
    monkeypatch.delenv(extra_lines.ENV)
    server._window.cache_clear()


def _simulator_budget(prefix: str = "") -> Decimal:
    """The adjusted amounts of the simulator's own 2024 lines as of DAY (their latest version)."""
    end = dt.datetime.combine(DAY + dt.timedelta(days=1), dt.time(), fd.TZ)
    latest: dict[tuple, dict] = {}
    for r in fd._lines(fd.DEFAULT_DISTRICT, 2024):
        if dt.datetime.fromisoformat(r["updated_at"]) < end:
            latest[fd.line_key(r)] = r
    return sum(
        (Decimal(r["adjusted_amount"]) for r in latest.values() if r["function_code"].startswith(prefix)),
        Decimal(0),
    )


def _assert_published_and_warned(home: Path) -> None:
    g = json.loads((home / "reports" / "quality" / "last_gate.json").read_text(encoding="utf-8"))
    assert g["passed"] and g["failed_errors"] == []
    assert g["failed_warnings"] == [NAMES_LABEL]
    (names,) = [o for o in g["outcomes"] if o["check"] == "classification_names"]
    assert names["listing"] == "科目 2089999"
    (published,) = [o for o in g["outcomes"] if o["check"] == "published_tables"]
    assert published["success"] and published["rows"] == 268
    assert (
        "budget.published_coverage: published tables checked for (unit/year) 118001/2024; "
        "budget lines without published tables: 118002/2024" in g["notes"]
    )
    with warehouse.connect(home / "warehouse.duckdb", read_only=True) as con:
        rows = con.execute(
            "select unit_code, sum(adjusted_amount) from marts.fct_budget_lines"
            " where fiscal_year = 2024 group by 1 order by 1"
        ).fetchall()
        assert rows == [("118001", _simulator_budget()), ("118002", EXTRA)]
        budget = dict(
            con.execute(
                "select scope, denominator from marts.fct_indicators where indicator = 'budget_execution_rate'"
                " and grain = 'month' and period = '2024-03'"
                " and scope in ('all', 'function:208', 'function:20899', 'function:2089999')"
            ).fetchall()
        )
    assert budget == {
        "all": _simulator_budget() + EXTRA,
        "function:208": _simulator_budget("208") + EXTRA,
        "function:20899": EXTRA,
        "function:2089999": EXTRA,
    }
    # the 日报's quality line lists the code
    pages = list((home / "reports" / "daily" / DAY.isoformat()).glob("*.html"))
    assert pages and all("科目 2089999" in p.read_text(encoding="utf-8") for p in pages)
    emls = list((home / "outbox").glob("*.eml"))
    assert len(emls) == 1
    body = read_eml(emls[0]).get_body(preferencelist=("html",)).get_content()
    assert "科目 2089999" in body


def test_minhu_run_publishes_a_night_with_an_unseen_code(unseen_code_feed):
    assert main(["run", "--date", DAY.isoformat()]) == 0
    _assert_published_and_warned(unseen_code_feed)


@pytest.mark.airflow
def test_airflow_nightly_publishes_a_night_with_an_unseen_code(unseen_code_feed, airflow_db):
    airflow_db(unseen_code_feed)
    out = airflow(
        unseen_code_feed,
        "airflow",
        "dags",
        "test",
        "nightly",
        "-c",
        json.dumps({"business_date": DAY.isoformat()}),
    )
    assert out.returncode == 0, (out.stdout + out.stderr)[-5000:]
    _assert_published_and_warned(unseen_code_feed)
