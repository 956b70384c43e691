{#-
    Every case indicator of indicators.md (the only place their logic lives): case_count,
    dispatch_timely_rate, ontime_close_rate, urge_rate, satisfaction_rate,
    bizenv_ontime_close_rate, key_supervision_done_rate, close_rate and visit_rate, per local
    day / ISO week / month / year and per scope (all, channel:<x>, street:<x>,
    handling_unit:<x>). The interpretations are documented in _marts__models.yml.

    Shape: each case is placed in a period by one timestamp per indicator family (its anchor:
    received_at, due_at, closed_at or visited_at, in Asia/Shanghai local time) through the
    period map int_periods; the flags of a case are evaluated against that period's as_of =
    least(period end, newest updated_at loaded); each case counts once in each of its scopes
    (all, its channel, street and unit); every (grain, period) between the first and the last
    anchored day gets a row for every scope seen, with 0 / 0 where nothing is anchored (so a
    quiet channel on a quiet day reads 0 / 0 and null, not "missing").

    vars: dispatch_limit_hours (24), and — to restrict the output, e.g. in unit tests —
    case_indicator_grains, case_indicator_scopes, case_indicators (all by default).

    Incremental (delete+insert by (grain, period_start)): a run recomputes only the affected
    periods (macros/case_indicators.sql, case_indicators_record_affected, says which; the
    pre-hook writes them to intermediate.fct_case_indicators__affected) and reads only the
    cases anchored on their days; it equals a full refresh row for row. The post-hook keeps
    each case's inputs and four local days as this model last saw them
    (intermediate.fct_case_indicators__cases), so the old version of a changed case is known
    after fct_cases has been merged (a case is changed when the hash of its inputs differs,
    macro case_indicator_inputs_hash: one hash join over the history, not a comparison of
    every column), and deletes the periods outside the first..last anchored
    day. A change of the seed indicator_targets or of dispatch_limit_hours needs --full-refresh.
-#}
{{
    config(
        materialized='incremental',
        unique_key=['grain', 'period_start'],
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        pre_hook=[
            "create schema if not exists intermediate",
            "create table if not exists intermediate.fct_case_indicators__affected (grain varchar, period_start date, invocation_id varchar)",
            "{{ case_indicators_record_affected() }}",
        ],
        post_hook=[
            "create table if not exists intermediate.fct_case_indicators__cases as select {{ case_indicator_inputs() }}, {{ case_local_days('c') }} from {{ ref('fct_cases') }} as c limit 0",
            "delete from intermediate.fct_case_indicators__cases as s where not exists (select 1 from {{ ref('fct_cases') }} as c where c.case_id = s.case_id and {{ case_indicator_inputs_hash('c') }} = {{ case_indicator_inputs_hash('s') }})",
            "insert into intermediate.fct_case_indicators__cases select {{ case_indicator_inputs() }}, {{ case_local_days('c') }} from {{ ref('fct_cases') }} as c where not exists (select 1 from intermediate.fct_case_indicators__cases as s where s.case_id = c.case_id)",
            "delete from {{ this }} where not exists (select 1 from ({{ case_anchor_bounds(ref('fct_cases')) }}) as b where {{ this }}.period_start <= b.last_day and {{ this }}.period_end > b.first_day)",
        ]
    )
}}
{%- set grains = var('case_indicator_grains', ['day', 'week', 'month', 'year']) -%}
{%- set indicators = var('case_indicators', [
    'case_count', 'dispatch_timely_rate', 'ontime_close_rate', 'urge_rate', 'satisfaction_rate',
    'bizenv_ontime_close_rate', 'key_supervision_done_rate', 'close_rate', 'visit_rate']) -%}
{%- set limit_seconds = (var('dispatch_limit_hours', 24) | float * 3600) | int -%}
{#- the year grain is always computed: satisfaction_rate's target needs the previous years -#}
{%- set computed_grains = grains if 'year' in grains else grains + ['year'] -%}

with

cases as (
    select * from {{ ref('fct_cases') }}
),

loaded as (
    -- the newest updated_at loaded: no figure knows anything later than this
    select max(updated_at) as loaded_until from cases
),

bounds as (
    {{ case_anchor_bounds('cases') }}
),

day_periods as (
    -- each day from the first to the last anchored day and its period, per computed grain
    select period_map.*
    from {{ ref('int_periods') }} as period_map
    inner join bounds on period_map.local_day between bounds.first_day and bounds.last_day
    where period_map.grain in ({{ "'" ~ computed_grains | join("', '") ~ "'" }})
),

all_period_as_of as (
    select distinct
        grain,
        period_start,
        period,
        period_end,
        least(period_end_at, (select loaded.loaded_until from loaded)) as as_of
    from day_periods
),

period_as_of as (
    select all_period_as_of.*
    from all_period_as_of
    {% if is_incremental() -%}
        -- the periods the pre-hook recorded as affected
        where {{ case_indicators_affected_period('all_period_as_of', this_run=true) }}
    {%- endif %}
),

{% if is_incremental() %}
wanted_days as (
    -- the days of the periods recomputed
    select distinct day_periods.local_day
    from day_periods
    inner join period_as_of
        on day_periods.grain = period_as_of.grain and day_periods.period_start = period_as_of.period_start
),
{% endif %}

wanted_cases as (
    select cases.*
    from cases
    {% if is_incremental() -%}
        -- only the cases anchored on a day of a period recomputed (fct_cases holds three of the
        -- four local days already: converting every case's four times is most of this filter)
        where
            cases.received_date in (select wanted_days.local_day from wanted_days)
            or cases.due_date in (select wanted_days.local_day from wanted_days)
            or cases.closed_date in (select wanted_days.local_day from wanted_days)
            or cast(timezone('Asia/Shanghai', cases.visited_at) as date) in (
                select wanted_days.local_day from wanted_days
            )
    {%- endif %}
),

judged as (
    -- 不予受理 counts in case_count (anchored on received_at) and nowhere else
    select
        *,
        coalesce(status = '不予受理', false) as rejected
    from wanted_cases
),

anchored as (
    select
        *,
        'received' as anchor,
        received_at as anchor_at
    from judged
    union all
    select
        *,
        'due' as anchor,
        due_at as anchor_at
    from judged
    where due_at is not null and not rejected
    union all
    select
        *,
        'closed' as anchor,
        closed_at as anchor_at
    from judged
    where closed_at is not null and not rejected
    union all
    select
        *,
        'visited' as anchor,
        visited_at as anchor_at
    from judged
    where visited_at is not null and not rejected
),

anchors as (
    select
        *,
        cast(timezone('Asia/Shanghai', anchor_at) as date) as anchor_date
    from anchored
),

placed as (
    select
        anchors.*,
        period_as_of.grain,
        period_as_of.period_start,
        period_as_of.as_of
    from anchors
    inner join day_periods on anchors.anchor_date = day_periods.local_day
    inner join period_as_of
        on
            day_periods.grain = period_as_of.grain
            and day_periods.period_start = period_as_of.period_start
),

flags as (
    -- per case and period: is it in the denominator (d) / numerator (n) of each indicator
    select
        grain,
        period_start,
        channel,
        street,
        handling_unit,
        anchor = 'received' as n_case_count,
        -- dispatch_timely_rate: received in P; dispatched (dispatched_at set in the latest
        -- version loaded, even after as_of: a case received late on P's last day and dispatched
        -- after P ends still counts in P), or the dispatch limit (received_at + limit) reached
        -- by as_of; on time when dispatched_at <= received_at + limit
        anchor = 'received' and not rejected and (
            dispatched_at is not null
            or received_at + to_seconds({{ limit_seconds }}) <= as_of
        ) as d_dispatch,
        coalesce(dispatched_at <= received_at + to_seconds({{ limit_seconds }}), false) as dispatched_in_time,
        -- the ontime family: due in P; closed by as_of, or due by as_of
        anchor = 'due' and (coalesce(closed_at <= as_of, false) or due_at <= as_of) as d_ontime,
        coalesce(closed_at <= due_at, false) as closed_in_time,
        -- urge_rate: due in P, due by as_of and not closed by due_at (应催办); urged at least once
        anchor = 'due' and due_at <= as_of and not coalesce(closed_at <= due_at, false) as d_urge,
        coalesce(urge_count >= 1, false) as was_urged,
        coalesce(is_business_env, false) as is_business_env,
        coalesce(is_key_supervision, false) as is_key_supervision,
        -- satisfaction_rate: visited in P (and by as_of) with an answer (未接通 is no answer)
        anchor = 'visited' and visited_at <= as_of
        and coalesce(satisfaction in ('满意', '基本满意', '不满意'), false) as d_satisfaction,
        coalesce(satisfaction in ('满意', '基本满意'), false) as satisfied,
        -- close_rate: received in P (not 不予受理); closed by as_of
        anchor = 'received' and not rejected as d_close,
        coalesce(closed_at <= as_of, false) as closed_by_as_of,
        -- visit_rate: closed in P (and by as_of); visited by as_of
        anchor = 'closed' and closed_at <= as_of as d_visit,
        coalesce(visited_at <= as_of, false) as visited_by_as_of
    from placed
),

scoped as (
    -- one row per case, period and scope it may count in
    select
        flags.*,
        {{ case_scopes('flags') }} as scope
    from flags
),

measured as (
    select
        grain,
        period_start,
        scope,
        count_if(n_case_count) as case_count,
        count_if(d_dispatch) as dispatch_d,
        count_if(d_dispatch and dispatched_in_time) as dispatch_n,
        count_if(d_ontime) as ontime_d,
        count_if(d_ontime and closed_in_time) as ontime_n,
        count_if(d_urge) as urge_d,
        count_if(d_urge and was_urged) as urge_n,
        count_if(d_satisfaction) as satisfaction_d,
        count_if(d_satisfaction and satisfied) as satisfaction_n,
        count_if(d_ontime and is_business_env) as bizenv_d,
        count_if(d_ontime and is_business_env and closed_in_time) as bizenv_n,
        count_if(d_ontime and is_key_supervision) as keysup_d,
        count_if(d_ontime and is_key_supervision and closed_in_time) as keysup_n,
        count_if(d_close) as close_d,
        count_if(d_close and closed_by_as_of) as close_n,
        count_if(d_visit) as visit_d,
        count_if(d_visit and visited_by_as_of) as visit_n
    from scoped
    where scope is not null and split_part(scope, ':', 1) in ({{ case_indicator_scope_list() }})
    group by grain, period_start, scope
),

scopes as (
    -- every scope seen in the cases: each gets a row in every period, 0 / 0 when empty
    {{ case_scopes_seen('cases') }}
),

dense as (
    select
        period_as_of.grain,
        period_as_of.period,
        scopes.scope,
        period_as_of.period_start,
        period_as_of.period_end,
        period_as_of.as_of,
        coalesce(measured.case_count, 0) as case_count,
        coalesce(measured.dispatch_d, 0) as dispatch_d,
        coalesce(measured.dispatch_n, 0) as dispatch_n,
        coalesce(measured.ontime_d, 0) as ontime_d,
        coalesce(measured.ontime_n, 0) as ontime_n,
        coalesce(measured.urge_d, 0) as urge_d,
        coalesce(measured.urge_n, 0) as urge_n,
        coalesce(measured.satisfaction_d, 0) as satisfaction_d,
        coalesce(measured.satisfaction_n, 0) as satisfaction_n,
        coalesce(measured.bizenv_d, 0) as bizenv_d,
        coalesce(measured.bizenv_n, 0) as bizenv_n,
        coalesce(measured.keysup_d, 0) as keysup_d,
        coalesce(measured.keysup_n, 0) as keysup_n,
        coalesce(measured.close_d, 0) as close_d,
        coalesce(measured.close_n, 0) as close_n,
        coalesce(measured.visit_d, 0) as visit_d,
        coalesce(measured.visit_n, 0) as visit_n
    from period_as_of
    cross join scopes
    left join measured
        on
            period_as_of.grain = measured.grain
            and period_as_of.period_start = measured.period_start
            and scopes.scope = measured.scope
),

measures as (
    select
        scope,
        grain,
        period_start,
        period_end,
        period,
        as_of,
        unnest([
            { 'indicator': 'case_count', 'numerator': case_count, 'denominator': null },
            { 'indicator': 'dispatch_timely_rate', 'numerator': dispatch_n, 'denominator': dispatch_d },
            { 'indicator': 'ontime_close_rate', 'numerator': ontime_n, 'denominator': ontime_d },
            { 'indicator': 'urge_rate', 'numerator': urge_n, 'denominator': urge_d },
            { 'indicator': 'satisfaction_rate', 'numerator': satisfaction_n, 'denominator': satisfaction_d },
            { 'indicator': 'bizenv_ontime_close_rate', 'numerator': bizenv_n, 'denominator': bizenv_d },
            { 'indicator': 'key_supervision_done_rate', 'numerator': keysup_n, 'denominator': keysup_d },
            { 'indicator': 'close_rate', 'numerator': close_n, 'denominator': close_d },
            { 'indicator': 'visit_rate', 'numerator': visit_n, 'denominator': visit_d }
        ]) as measure
    from dense
),

unpivoted as (
    select
        * exclude (measure),
        struct_extract(measure, 'indicator') as indicator,
        struct_extract(measure, 'numerator') as numerator,
        struct_extract(measure, 'denominator') as denominator
    from measures
),

valued as (
    select
        *,
        case
            when indicator = 'case_count' then cast(numerator as double)
            when denominator > 0 then numerator / denominator
        end as value -- noqa: RF04
    from unpivoted
),

period_years as (
    select distinct cast(left(period, 4) as integer) as period_year
    from period_as_of
),

target_years as (
    -- the seed's target of each indicator for each year: the row with the latest
    -- valid_from_year <= the year (a week belongs to the year of its ISO label, 2025-W01)
    select
        seed.indicator,
        period_years.period_year,
        arg_max(seed.target, seed.valid_from_year) as target, -- noqa: RF04
        arg_max(seed.direction, seed.valid_from_year) as direction
    from {{ ref('indicator_targets') }} as seed
    inner join period_years on seed.valid_from_year <= period_years.period_year
    group by seed.indicator, period_years.period_year
),

satisfaction_years as (
    select
        scope,
        cast(period as integer) as period_year,
        case when satisfaction_d > 0 then satisfaction_n / satisfaction_d end as rate
    from dense
    where grain = 'year'
    {% if is_incremental() %}
        -- the years not recomputed: their rate as this table holds it
        union all
        select
            kept.scope,
            cast(kept.period as integer) as period_year,
            kept.value as rate
        from {{ this }} as kept
        inner join all_period_as_of
            on
                kept.grain = all_period_as_of.grain
                and kept.period_start = all_period_as_of.period_start
        where
            kept.grain = 'year'
            and kept.indicator = 'satisfaction_rate'
            and not exists (
                select 1
                from period_as_of
                where period_as_of.grain = kept.grain and period_as_of.period_start = kept.period_start
            )
    {% endif %}
),

satisfaction_history as (
    -- satisfaction_rate's target is also >= the average of the previous three years' rates:
    -- the years among Y-3 .. Y-1 that have a rate (same scope)
    select
        later.scope,
        later.period_year,
        avg(earlier.rate) as previous_years_average
    from satisfaction_years as later
    inner join satisfaction_years as earlier
        on
            later.scope = earlier.scope
            and earlier.period_year between later.period_year - 3 and later.period_year - 1
    where earlier.rate is not null
    group by later.scope, later.period_year
),

targeted as (
    select
        valued.*,
        target_years.direction,
        case
            when valued.indicator = 'satisfaction_rate' and history.previous_years_average is not null
                then greatest(cast(target_years.target as double), history.previous_years_average)
            else cast(target_years.target as double)
        end as target_exact
    from valued
    left join target_years
        on
            valued.indicator = target_years.indicator
            and cast(left(valued.period, 4) as integer) = target_years.period_year
    left join satisfaction_history as history
        on
            valued.indicator = 'satisfaction_rate'
            and valued.scope = history.scope
            and cast(left(valued.period, 4) as integer) = history.period_year
),

final as (
    select
        indicator,
        grain,
        period,
        scope,
        period_start,
        period_end,
        as_of,
        'count' as numerator_unit,
        case when indicator != 'case_count' then 'count' end as denominator_unit,
        cast(numerator as decimal(18, 2)) as numerator,
        cast(denominator as decimal(18, 2)) as denominator,
        value, -- noqa: RF04
        cast(target_exact as decimal(6, 4)) as target, -- noqa: RF04
        direction,
        {{ indicator_met('value', 'target_exact') }} as met
    from targeted
    where
        grain in ({{ "'" ~ grains | join("', '") ~ "'" }})
        and indicator in ({{ "'" ~ indicators | join("', '") ~ "'" }})
)

select * from final
