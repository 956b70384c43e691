"""Warehouse reads: what a report knows, from the published warehouse's marts only.

* Every indicator (受理量, every rate, every budget figure) is a row of ``marts.fct_indicators``
  (``Figures``); reports read ``numerator``, ``denominator``, ``value``, ``target`` and ``met`` and
  never compute a rate of their own. Indicator names and the report's selections of indicators
  are ``marts.dim_indicator`` (seed indicator_catalog); the 三公 codes and their names are
  ``marts.dim_economic`` (seed sangong_classes).
* Listings are plain ``GROUP BY`` counts or case lists on ``marts.fct_cases`` (top categories,
  case types, the street × category heat table, newly overdue cases: its ``is_rejected`` and
  ``is_closed_on_time`` flags, up to the period's ``as_of``). They carry case id, category, street,
  handling unit, status and dates only: never personal data.
* What is loaded: ``marts.dim_loaded_days`` (dates whose case data is completely loaded) and
  ``marts.fct_load_runs`` (rows loaded and quarantined per landing).
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from decimal import Decimal

from minhu import warehouse
from minhu.periods import Period

log = logging.getLogger(__name__)


class Figures:
    """The fct_indicators rows of one grain and period, every scope, read in one query."""

    def __init__(self, grain: str, period: str) -> None:
        self.grain, self.period = grain, period
        rows = warehouse.query(
            "select indicator, scope, numerator, denominator, value, target, met, as_of"
            " from marts.fct_indicators where grain = ? and period = ?",
            [grain, period],
        )
        self.rows = {(r["indicator"], r["scope"]): r for r in rows}

    def get(self, indicator: str, scope: str = "all") -> dict | None:
        return self.rows.get((indicator, scope))

    def value(self, indicator: str, scope: str = "all") -> float | None:
        r = self.get(indicator, scope)
        return None if r is None or r["value"] is None else float(r["value"])

    def numerator(self, indicator: str, scope: str = "all") -> Decimal | None:
        r = self.get(indicator, scope)
        return None if r is None else r["numerator"]

    def denominator(self, indicator: str, scope: str = "all") -> Decimal | None:
        r = self.get(indicator, scope)
        return None if r is None else r["denominator"]

    def count(self, scope: str = "all") -> int | None:
        """受理量 of a scope (0 when the period has no case of the scope but has data)."""
        n = self.numerator("case_count", scope)
        return None if n is None else int(n)

    def scopes(self, indicator: str, kind: str) -> dict[str, dict]:
        """{value: row} of the scopes '<kind>:<value>' of an indicator."""
        prefix = kind + ":"
        return {
            s[len(prefix) :]: r for (i, s), r in self.rows.items() if i == indicator and s.startswith(prefix)
        }

    @property
    def as_of(self) -> datetime | None:
        r = self.get("case_count")
        return r["as_of"] if r else None


def figures(p: Period) -> Figures:
    return Figures(p.grain, p.key)


def catalog() -> list[dict]:
    """marts.dim_indicator (the indicator list's one home), in display order."""
    return warehouse.query(
        "select indicator, indicator_name, family, is_headline_rate, in_scorecard"
        " from marts.dim_indicator order by display_order"
    )


def indicator_names() -> dict[str, str]:
    """{indicator: the Chinese name reports print}."""
    return {r["indicator"]: r["indicator_name"] for r in catalog()}


def case_indicators() -> tuple[str, ...]:
    """The case indicators, 受理量 first, in display order."""
    return tuple(r["indicator"] for r in catalog() if r["family"] == "case")


def headline_rates() -> tuple[str, ...]:
    """The rates every report shows as KPIs (及时转办率, 按时办结率, 群众满意率)."""
    return tuple(r["indicator"] for r in catalog() if r["is_headline_rate"])


def scorecard_indicators() -> tuple[str, ...]:
    """The indicators of the 月报's 考核指标计分卡, 受理量 first."""
    return tuple(r["indicator"] for r in catalog() if r["in_scorecard"])


def sangong_items() -> dict[str, str]:
    """{economic code: 三公 item} of marts.dim_economic (seed sangong_classes), by code."""
    rows = warehouse.query(
        "select economic_code, sangong_item from marts.dim_economic where is_sangong order by economic_code"
    )
    return {r["economic_code"]: r["sangong_item"] for r in rows}


def project_names() -> dict[str, str]:
    """Project names for labels, from marts.dim_project when the warehouse has it (codes otherwise)."""
    try:
        rows = warehouse.query("select project_code, project_name from marts.dim_project")
    except Exception as exc:  # noqa: BLE001 - a label lookup: without it the code is shown
        log.info("no project names (marts.dim_project): %s", exc)
        return {}
    return {r["project_code"]: r["project_name"] for r in rows if r["project_code"] and r["project_name"]}


def covered_dates() -> set[date]:
    """Dates whose case data is completely loaded (marts.dim_loaded_days)."""
    return {r["date_day"] for r in warehouse.query("select date_day from marts.dim_loaded_days")}


def is_covered(p: Period, covered: set[date]) -> bool:
    return all(d in covered for d in p.dates)


def _range(p: Period) -> list:
    return [p.start, p.end]


def count_by(column: str, p: Period, limit: int | None = None) -> list[tuple[str, int]]:
    """A listing: cases received in P by a column of fct_cases (不予受理 included, like 受理量)."""
    if column not in ("case_type", "category", "channel", "street", "handling_unit"):
        raise ValueError(column)
    rows = warehouse.query(
        f"select coalesce({column}, '（未填）') as k, count(*) as n from marts.fct_cases"
        " where received_date >= ? and received_date < ? group by all order by n desc, k"
        + (f" limit {int(limit)}" if limit else ""),
        _range(p),
    )
    return [(r["k"], int(r["n"])) for r in rows]


def street_by_category(p: Period) -> list[dict]:
    """A listing: cases received in P by street and first-level category."""
    return warehouse.query(
        "select coalesce(street, '（未填）') as street, coalesce(split_part(category, '/', 1), '（未填）') as cat,"
        " count(*) as n from marts.fct_cases where received_date >= ? and received_date < ? group by all",
        _range(p),
    )


OVERDUE_FLAGS = ("true", "is_business_env", "is_key_supervision")


def overdue_cases(p: Period, where: str = "true") -> list[dict]:
    """A listing: cases due in P and not closed by their due time (newly overdue).

    The rule is fct_cases': not ``is_rejected``, not ``is_closed_on_time``, due in P and due by
    the period's ``as_of`` (what the warehouse knows, as for 按时办结率: these are its
    应办结 cases that were not 按时办结). Days overdue (calendar days, a started day counts as
    one) run from the due time to the closing time, or for cases still open to the end of the
    local day of the newest ``updated_at`` loaded (``known``).
    """
    if where not in OVERDUE_FLAGS:
        raise ValueError(where)
    return warehouse.query(
        "with known as (select timezone('Asia/Shanghai',"
        "   cast(cast(timezone('Asia/Shanghai', max(updated_at)) as date) + 1 as timestamp)) as t,"
        "   max(updated_at) as loaded_until from marts.fct_cases),"
        " c as (select * from marts.fct_cases where " + where + ")"
        " select case_id, category, handling_unit, street, status, due_at, closed_at,"
        "  cast(ceil(epoch(coalesce(closed_at, (select t from known)) - due_at) / 86400.0) as integer) as days"
        " from c where not coalesce(is_rejected, false) and not is_closed_on_time and due_at is not null"
        "  and due_at >= timezone('Asia/Shanghai', cast(? as timestamp))"
        "  and due_at < timezone('Asia/Shanghai', cast(? as timestamp))"
        "  and due_at <= (select loaded_until from known)"
        " order by days desc, due_at, case_id",
        [p.start, p.end],
    )


def landings(p: Period) -> dict:
    """Rows loaded and quarantined by the load runs of P's business dates (marts.fct_load_runs)."""
    rows = warehouse.query(
        "select coalesce(sum(loaded_rows), 0) as loaded, coalesce(sum(quarantined), 0) as quarantined,"
        " count(*) as batches from marts.fct_load_runs where business_date >= ? and business_date < ?",
        _range(p),
    )
    return rows[0]
