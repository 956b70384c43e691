{#-
    The budget indicators of indicators.md at month and year grain, for the scopes all,
    project:<code>, function:<类|款|项>, economic:<类|款> and expense_type:<x>. This is the
    only place their logic lives; the rows have the shape of marts.fct_indicators.

    - budget_execution_rate = executed year to date (net payments of the fiscal year dated
      before the end of P) / adjusted budget in force at the end of P (yuan / yuan).
    - time_progress = days from 1 January to the end of P / days in the fiscal year (days).
    - execution_gap = budget_execution_rate − time_progress, carried as
      numerator = executed − adjusted budget × time_progress (yuan ahead (+) or behind (−)
      the 序时进度, to the fen, half up) and denominator = adjusted budget (yuan);
      value is the exact difference of the two rates.
    - cost_per_case = executed year to date (yuan) / cases received from 1 January to the end
      of P (count): the sum of the months' case_count (scope all, every status).

    as_of = least(end of P, the newest updated_at loaded in the warehouse: cases, budget lines
    or payments). A month has a row once it has begun by then. The budget_execution_rate
    target (100% by year end) applies at year grain only; a month is judged by its gap.
-#}
with

spend as (
    select * from {{ ref('fct_spend') }}
),

budget_lines as (
    select * from {{ ref('fct_budget_lines') }}
),

payments as (
    select * from {{ ref('fct_payments') }}
),

cases as (
    select * from {{ ref('fct_cases') }}
),

targets as (
    select * from {{ ref('indicator_targets') }}
),

loaded as (
    select
        greatest(
            (select max(updated_at) from payments),
            (select max(updated_at) from budget_lines),
            (select max(updated_at) from cases)
        ) as loaded_until
),

scoped as (
    select
        spend.fiscal_year,
        spend.month,
        spend.adjusted_budget,
        spend.executed_ytd,
        scopes.scope
    from spend
    cross join unnest(list_distinct([
        'all',
        'project:' || spend.project_code,
        'function:' || spend.function_class_code,
        'function:' || spend.function_section_code,
        'function:' || spend.function_code,
        'economic:' || spend.economic_class_code,
        'economic:' || spend.economic_code,
        'expense_type:' || spend.expense_type
    ])) as scopes (scope)
),

period_map as (
    -- the months and years of each fiscal year, labelled and bounded as every indicator is
    select *
    from {{ ref('int_periods') }}
    where grain in ('month', 'year') and local_day = period_start
),

periods as (
    select
        scoped.fiscal_year,
        period_map.grain,
        period_map.period,
        scoped.scope,
        period_map.period_start,
        period_map.period_end,
        period_map.period_end_at,
        sum(scoped.adjusted_budget) as budget,
        sum(scoped.executed_ytd) as executed
    from scoped
    inner join period_map
        on (
            period_map.grain = 'month'
            and period_map.period_start = make_date(scoped.fiscal_year, scoped.month, 1)
        ) or (
            -- the year's figures are its December's (budget in force and executed at year end)
            period_map.grain = 'year'
            and period_map.period_start = make_date(scoped.fiscal_year, 1, 1)
            and scoped.month = 12
        )
    group by all
),

bounded as (
    select
        periods.*,
        least(periods.period_end_at, loaded.loaded_until) as as_of,
        datediff('day', make_date(periods.fiscal_year, 1, 1), periods.period_end) as elapsed_days,
        datediff('day', make_date(periods.fiscal_year, 1, 1), make_date(periods.fiscal_year + 1, 1, 1))
            as year_days
    from periods
    cross join loaded
    where timezone('Asia/Shanghai', cast(periods.period_start as timestamp)) < loaded.loaded_until
),

case_counts as (
    -- 受理量 (case_count, scope all) of each month: the one count of cases received
    select
        cast(period || '-01' as date) as month_start,
        cast(numerator as bigint) as received
    from {{ ref('fct_case_indicators') }}
    where indicator = 'case_count' and grain = 'month' and scope = 'all'
),

period_ends as (
    select distinct
        fiscal_year,
        period_end
    from bounded
),

cases_ytd as (
    -- months start on the 1st and P ends at a month's end: the months of the year up to P
    select
        p.fiscal_year,
        p.period_end,
        coalesce(sum(m.received), 0) as received_ytd
    from period_ends as p
    left join case_counts as m
        on
            make_date(p.fiscal_year, 1, 1) <= m.month_start
            and p.period_end > m.month_start
    group by all
),

measured as (
    select
        bounded.*,
        cases_ytd.received_ytd,
        -- the adjusted budget pro rata to the days elapsed, in whole fen rounded half up
        cast(
            (cast(bounded.budget * 100 as hugeint) * bounded.elapsed_days * 2 + bounded.year_days)
            // (2 * bounded.year_days) as hugeint
        ) * 0.01 as budget_to_date
    from bounded
    left join cases_ytd
        on
            bounded.fiscal_year = cases_ytd.fiscal_year
            and bounded.period_end = cases_ytd.period_end
),

unpivoted as (
    select
        measured.grain,
        measured.period,
        measured.scope,
        measured.period_start,
        measured.period_end,
        measured.as_of,
        v.indicator,
        v.numerator_unit,
        v.denominator_unit,
        v.numerator,
        v.denominator,
        v.ratio
    from measured
    cross join lateral (
        values
        (
            'budget_execution_rate', 'yuan', 'yuan', measured.executed, measured.budget,
            case when measured.budget > 0 then measured.executed / measured.budget end
        ),
        (
            'time_progress', 'days', 'days', measured.elapsed_days, measured.year_days,
            measured.elapsed_days / measured.year_days
        ),
        (
            'execution_gap', 'yuan', 'yuan', measured.executed - measured.budget_to_date, measured.budget,
            case
                when measured.budget > 0
                    then measured.executed / measured.budget - measured.elapsed_days / measured.year_days
            end
        ),
        (
            'cost_per_case', 'yuan', 'count', measured.executed, measured.received_ytd,
            case when measured.received_ytd > 0 then measured.executed / measured.received_ytd end
        )
    ) as v (indicator, numerator_unit, denominator_unit, numerator, denominator, ratio)
),

final as (
    select
        unpivoted.indicator,
        unpivoted.grain,
        unpivoted.period,
        unpivoted.scope,
        unpivoted.period_start,
        unpivoted.period_end,
        unpivoted.as_of,
        unpivoted.numerator_unit,
        unpivoted.denominator_unit,
        cast(unpivoted.numerator as decimal(18, 2)) as numerator,
        cast(unpivoted.denominator as decimal(18, 2)) as denominator,
        cast(unpivoted.ratio as double) as value,  -- noqa: RF04 (the fct_indicators column)
        t.target,
        t.direction
    from unpivoted
    left join targets as t
        on
            unpivoted.indicator = t.indicator
            and unpivoted.grain = 'year'
            and t.valid_from_year <= year(unpivoted.period_start)
    qualify row_number() over (
        partition by unpivoted.indicator, unpivoted.grain, unpivoted.period, unpivoted.scope
        order by t.valid_from_year desc nulls last
    ) = 1
)

select
    *,
    {{ indicator_met('value', 'target') }} as met
from final
