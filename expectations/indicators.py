"""The ``indicators`` suite: the indicators the reports read (marts.fct_indicators) are
coherent: rates in [0, 1], numerator ≤ denominator, additive period totals = Σ days.

numerator ≤ denominator lives here only (not as a dbt test): the gate sees fct_indicators, case
and budget rows alike, and gives the two their severities (a case rate: error; budget execution
above 100 %: warning).
"""

from __future__ import annotations

from expectations.common import ERROR, WARNING, at_least, between, equal, sql_list
from expectations.gate import Check, Suite

# Definitions that add up over days: (indicator, the additive column).
ADDITIVE = (("case_count", "numerator"), ("close_rate", "denominator"), ("visit_rate", "denominator"))


def _additive_sql() -> str:
    pick = " ".join(f"when '{i}' then {col}" for i, col in ADDITIVE)
    names = sql_list(i for i, _ in ADDITIVE)
    return f"""
        with rows as (
            select indicator, grain, period, scope, period_start, period_end, case indicator {pick} end as amount
            from marts.fct_indicators
            where indicator in ({names})
        ),
        days as (select * from rows where grain = 'day')
        select p.indicator, p.grain, p.period, p.scope,
            cast(p.amount as bigint) as period_total,
            cast(coalesce(sum(d.amount), 0) as bigint) as sum_of_days
        from rows p
        left join days d
            on d.indicator = p.indicator and d.scope = p.scope
            and d.period_start >= p.period_start and d.period_start < p.period_end
        where p.grain != 'day'
        group by all
        order by all
    """


def _rates_sql(units: str) -> str:
    return f"""
        select indicator, grain, period, scope, numerator, denominator, value
        from marts.fct_indicators
        where numerator_unit = denominator_unit and indicator != 'execution_gap'
            and numerator_unit {units}
            and (value < 0 or value > 1 or numerator > denominator or numerator < 0)
        order by all
    """


def indicators() -> Suite:
    def rate_expectations(severity: str, what: str):
        def build() -> list:
            return [
                between("value", f"every {what} rate in [0, 1]", severity, min_value=0, max_value=1),
                at_least("denominator", "numerator", f"{what} rates: numerator ≤ denominator", severity),
            ]

        return build

    def additive_expectations() -> list:
        return [
            equal("period_total", "sum_of_days", "period totals = Σ of their days (additive definitions)")
        ]

    index = ("indicator", "grain", "period", "scope")
    return Suite(
        "indicators",
        [
            # case and calendar rates: an error; budget execution above 100% on a line is a
            # warning (the unit-level overspend is the budget suite's error)
            Check(
                "rates",
                _rates_sql("!= 'yuan'"),
                rate_expectations(ERROR, "case"),
                ("marts.fct_indicators",),
                index,
            ),
            Check(
                "budget_rates",
                _rates_sql("= 'yuan'"),
                rate_expectations(WARNING, "budget execution"),
                ("marts.fct_indicators",),
                index,
            ),
            Check(
                "additive_totals",
                _additive_sql(),
                additive_expectations,
                ("marts.fct_indicators",),
                index,
                "Week, month and year totals of additive definitions against the sum of their days.",
            ),
        ],
        "The indicators the reports read are coherent.",
    )
