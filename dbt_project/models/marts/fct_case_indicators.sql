{#-
    Every case indicator of indicators.md, at day, ISO-week, month and year grain, for the
    scopes all, channel, street and handling_unit. This is the only place their logic lives.

    Each indicator anchors a case to a period by one timestamp (received_at, due_at, visited_at
    or closed_at, in Asia/Shanghai local time). as_of = least(period end, newest updated_at
    loaded). Cases with status 不予受理 count only in case_count.
-#}
with

cases as (
    select * from {{ ref('fct_cases') }}
),

targets as (
    select * from {{ ref('indicator_targets') }}
),

loaded as (
    select max(updated_at) as loaded_until from cases
),

scoped as (
    select
        cases.*,
        scope
    from cases
    cross join unnest([
        'all',
        'channel:' || cases.channel,
        'street:' || cases.street,
        'handling_unit:' || cases.handling_unit
    ]) as scopes (scope)
    where scope is not null
),

anchors as (
    -- one row per (case, scope, indicator family): the timestamp that places it in a period
    select *, 'received' as anchor, received_at as anchor_at from scoped
    union all
    select *, 'due' as anchor, due_at as anchor_at from scoped where due_at is not null
    union all
    select *, 'visited' as anchor, visited_at as anchor_at from scoped where visited_at is not null
    union all
    select *, 'closed' as anchor, closed_at as anchor_at from scoped where closed_at is not null
),

periods as (
    select
        anchors.*,
        grain,
        date_trunc(grain, timezone('Asia/Shanghai', anchor_at)) as period_start_local
    from anchors
    cross join unnest(['day', 'week', 'month', 'year']) as grains (grain)
),

bounded as (
    select
        periods.*,
        case grain
            when 'day' then strftime(period_start_local, '%Y-%m-%d')
            when 'week' then strftime(period_start_local, '%G-W%V')
            when 'month' then strftime(period_start_local, '%Y-%m')
            else strftime(period_start_local, '%Y')
        end as period,
        period_start_local + case grain
            when 'day' then interval 1 day
            when 'week' then interval 7 day
            when 'month' then interval 1 month
            else interval 1 year
        end as period_end_local,
        least(
            timezone('Asia/Shanghai', period_start_local + case grain
                when 'day' then interval 1 day
                when 'week' then interval 7 day
                when 'month' then interval 1 month
                else interval 1 year
            end),
            (select loaded_until from loaded)
        ) as as_of,
        status = '不予受理' as is_rejected
    from periods
),

flags as (
    -- per indicator: is the case in the denominator (d_) and in the numerator (n_)
    select
        *,
        -- ontime family: due in P, and closed by as_of or already due by as_of
        (closed_at <= as_of or due_at <= as_of) as d_ontime,
        (closed_at <= as_of or due_at <= as_of) and closed_at <= due_at as n_ontime,
        -- dispatch: dispatched by as_of, or the dispatch limit has passed by as_of
        (
            dispatched_at <= as_of
            or received_at + interval {{ var('dispatch_limit_hours', 24) }} hour <= as_of
        ) as d_dispatch,
        dispatched_at <= as_of
        and dispatched_at <= received_at + interval {{ var('dispatch_limit_hours', 24) }} hour as n_dispatch,
        -- urge: due by as_of and not closed by the deadline (应催办)
        due_at <= as_of and (closed_at is null or closed_at > due_at) as d_urge,
        satisfaction in ('满意', '基本满意', '不满意') and visited_at <= as_of as d_satisfaction,
        satisfaction in ('满意', '基本满意') and visited_at <= as_of as n_satisfaction
    from bounded
),

measured as (
    select
        grain, period, scope,
        cast(period_start_local as date) as period_start,
        cast(period_end_local as date) as period_end,
        max(as_of) as as_of,
        -- case_count: every case received in P, 不予受理 included
        count(*) filter (where anchor = 'received') as case_count,
        count(*) filter (where anchor = 'received' and not is_rejected and d_dispatch) as dispatch_d,
        count(*) filter (where anchor = 'received' and not is_rejected and n_dispatch) as dispatch_n,
        count(*) filter (where anchor = 'due' and not is_rejected and d_ontime) as ontime_d,
        count(*) filter (where anchor = 'due' and not is_rejected and n_ontime) as ontime_n,
        count(*) filter (where anchor = 'due' and not is_rejected and d_urge) as urge_d,
        count(*) filter (where anchor = 'due' and not is_rejected and d_urge and urge_count >= 1) as urge_n,
        count(*) filter (where anchor = 'visited' and not is_rejected and d_satisfaction) as satisfaction_d,
        count(*) filter (where anchor = 'visited' and not is_rejected and n_satisfaction) as satisfaction_n,
        count(*) filter (where anchor = 'due' and not is_rejected and is_business_env and d_ontime) as bizenv_d,
        count(*) filter (where anchor = 'due' and not is_rejected and is_business_env and n_ontime) as bizenv_n,
        count(*) filter (where anchor = 'due' and not is_rejected and is_key_supervision and d_ontime) as keysup_d,
        count(*) filter (where anchor = 'due' and not is_rejected and is_key_supervision and n_ontime) as keysup_n,
        count(*) filter (where anchor = 'received' and not is_rejected) as close_d,
        count(*) filter (where anchor = 'received' and not is_rejected and closed_at <= as_of) as close_n,
        count(*) filter (where anchor = 'closed' and not is_rejected) as visit_d,
        count(*) filter (where anchor = 'closed' and not is_rejected and visited_at <= as_of) as visit_n
    from flags
    group by all
),

unpivoted as (
    select grain, period, scope, period_start, period_end, as_of, indicator, numerator, denominator
    from measured
    cross join lateral (
        values
        ('case_count', case_count, null),
        ('dispatch_timely_rate', dispatch_n, dispatch_d),
        ('ontime_close_rate', ontime_n, ontime_d),
        ('urge_rate', urge_n, urge_d),
        ('satisfaction_rate', satisfaction_n, satisfaction_d),
        ('bizenv_ontime_close_rate', bizenv_n, bizenv_d),
        ('key_supervision_done_rate', keysup_n, keysup_d),
        ('close_rate', close_n, close_d),
        ('visit_rate', visit_n, visit_d)
    ) as v (indicator, numerator, denominator)
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
        'count' as numerator_unit,
        case when unpivoted.indicator != 'case_count' then 'count' end as denominator_unit,
        cast(unpivoted.numerator as decimal(18, 2)) as numerator,
        cast(unpivoted.denominator as decimal(18, 2)) as denominator,
        case
            when unpivoted.indicator = 'case_count' then cast(unpivoted.numerator as double)
            when unpivoted.denominator > 0 then unpivoted.numerator / unpivoted.denominator
        end as value,
        t.target,
        t.direction
    from unpivoted
    left join targets as t
        on
            unpivoted.indicator = t.indicator
            and t.valid_from_year <= year(unpivoted.period_start)
    qualify row_number() over (
        partition by unpivoted.indicator, unpivoted.grain, unpivoted.period, unpivoted.scope
        order by t.valid_from_year desc nulls last
    ) = 1
)

select
    *,
    case
        when value is null or target is null then null
        when direction = 'ge' then value >= target
        else value <= target
    end as met
from final
