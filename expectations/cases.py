"""The ``cases`` suite: every row read is accounted for, fct_cases = distinct case ids landed,
case_count by channel / street / case type sums to the total, timestamps in order.
"""

from __future__ import annotations

from expectations.common import accounting_check, at_least, equal, sql_list
from expectations.gate import Check, Suite
from minhu import schemas


def _case_breakdown_sql() -> str:
    return f"""
        with indicator as (
            select
                grain,
                period,
                coalesce(sum(numerator) filter (where scope = 'all'), 0) as total,
                coalesce(sum(numerator) filter (where scope like 'channel:%'), 0) as by_channel,
                coalesce(sum(numerator) filter (where scope like 'street:%'), 0) as by_street
            from marts.fct_indicators
            where indicator = 'case_count'
            group by all
        ),
        received as (
            select
                g.grain,
                case g.grain
                    when 'day' then strftime(c.received_date, '%Y-%m-%d')
                    when 'week' then strftime(c.received_date, '%G-W%V')
                    when 'month' then strftime(c.received_date, '%Y-%m')
                    else strftime(c.received_date, '%Y')
                end as period,
                count(*) as fct_cases_received,
                count(*) filter (where c.case_type in ({sql_list(schemas.CASE_TYPES)})) as by_case_type
            from marts.fct_cases c
            cross join (values ('day'), ('week'), ('month'), ('year')) as g (grain)
            group by all
        )
        select
            coalesce(i.grain, r.grain) as grain,
            coalesce(i.period, r.period) as period,
            cast(coalesce(i.total, 0) as bigint) as total,
            cast(coalesce(i.by_channel, 0) as bigint) as by_channel,
            cast(coalesce(i.by_street, 0) as bigint) as by_street,
            coalesce(r.by_case_type, 0) as by_case_type,
            coalesce(r.fct_cases_received, 0) as fct_cases_received
        from indicator i
        full join received r on i.grain = r.grain and i.period = r.period
        order by 1, 2
    """


TIME_ORDER = ("received_at", "dispatched_at", "closed_at", "visited_at")


def cases() -> Suite:
    def breakdown_expectations() -> list:
        return [
            equal(col, "total", f"case_count by {what} sums to the total")
            for col, what in (
                ("by_channel", "channel"),
                ("by_street", "street"),
                ("by_case_type", "case type"),
                ("fct_cases_received", "received date in fct_cases"),
            )
        ]

    def order_expectations() -> list:
        label = "timestamps in order (received ≤ dispatched ≤ closed ≤ visited)"
        pairs = [(a, b) for i, a in enumerate(TIME_ORDER) for b in TIME_ORDER[i + 1 :]]
        return [
            at_least(
                later,
                earlier,
                f"{label}: {earlier.removesuffix('_at')} ≤ {later.removesuffix('_at')}",
                ignore_row_if="either_value_is_missing",
            )
            for earlier, later in pairs
        ]

    times = ", ".join(TIME_ORDER)
    order_sql = f"""
        select case_id, {times}
        from marts.fct_cases
        where list_filter([{times}], t -> t is not null)
            != list_sort(list_filter([{times}], t -> t is not null))
        order by case_id
    """
    return Suite(
        "cases",
        [
            accounting_check("cases", "marts.fct_cases", "nullif(trim(case_id), '')"),
            Check(
                "case_count_breakdowns",
                _case_breakdown_sql(),
                breakdown_expectations,
                requires=("marts.fct_indicators", "marts.fct_cases"),
                index=("grain", "period"),
                description="case_count per period: the total, the sums over channels and streets, and fct_cases by case type.",
            ),
            Check(
                "timestamps_in_order",
                order_sql,
                order_expectations,
                requires=("marts.fct_cases",),
                index=("case_id",),
                description="Cases whose times are out of order (only those rows are selected); flagged, never fixed.",
            ),
        ],
        "The case marts reconcile with what was landed.",
    )
