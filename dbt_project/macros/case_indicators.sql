{#-
    The pieces of fct_case_indicators that its incremental hooks share with its SQL (one home
    each): the scopes a case counts in, its four local anchor days, the stretch of days
    anchored, and the periods a run must recompute.
-#}

{#- the scope kinds the model computes (var case_indicator_scopes), as a SQL list -#}
{% macro case_indicator_scope_list() -%}
    '{{ var('case_indicator_scopes', ['all', 'channel', 'street', 'handling_unit']) | join("', '") }}'
{%- endmacro %}

{#- the columns a case is scoped by, besides 'all': scope '<column>:<value>' -#}
{% macro case_scope_columns() -%}
    channel,street,handling_unit
{%- endmacro %}

{#- the scopes a case (a row of `alias`) counts in: all, its channel, street and handling unit -#}
{% macro case_scopes(alias) -%}
    unnest([
        'all'
        {%- for column in case_scope_columns().split(',') %},
        '{{ column }}:' || {{ alias }}.{{ column }}
        {%- endfor %}
    ])
{%- endmacro %}

{#- every scope seen in a relation of cases (each gets a row in every period): the distinct
    values of each scope column, not the scopes of every case unnested (after ten years of
    history: 0.1 s against 1.5 s for the two sets the pre-hook compares) -#}
{% macro case_scopes_seen(relation) -%}
    select scope
    from (
        select distinct 'all' as scope from {{ relation }}
        {%- for column in case_scope_columns().split(',') %}
        union
        select distinct '{{ column }}:' || {{ column }} as scope from {{ relation }}
        {%- endfor %}
    )
    where scope is not null and split_part(scope, ':', 1) in ({{ case_indicator_scope_list() }})
{%- endmacro %}

{#- the inputs of a case the figures read: a difference in any of them makes the case changed -#}
{% macro case_indicator_inputs(alias=none) -%}
    {%- set columns = [
        'case_id', 'channel', 'street', 'handling_unit', 'status', 'received_at', 'dispatched_at', 'due_at',
        'closed_at', 'visited_at', 'urge_count', 'is_business_env', 'is_key_supervision', 'satisfaction',
        'updated_at'] -%}
    {%- for column in columns -%}
        {{ alias ~ '.' if alias }}{{ column }}{{ ', ' if not loop.last }}
    {%- endfor -%}
{%- endmacro %}

{#- one 64-bit hash of a case's inputs (a row of `alias`): equal inputs, equal hash -#}
{% macro case_indicator_inputs_hash(alias) -%}
    hash({{ case_indicator_inputs(alias) }})
{%- endmacro %}

{#- a case's four local anchor days (Asia/Shanghai) -#}
{% macro case_local_days(alias) -%}
    cast(timezone('Asia/Shanghai', {{ alias }}.received_at) as date) as received_day,
    cast(timezone('Asia/Shanghai', {{ alias }}.due_at) as date) as due_day,
    cast(timezone('Asia/Shanghai', {{ alias }}.closed_at) as date) as closed_day,
    cast(timezone('Asia/Shanghai', {{ alias }}.visited_at) as date) as visited_day
{%- endmacro %}

{#- the first and last anchored local day (a 不予受理 case is anchored on received_at only) -#}
{% macro case_anchor_bounds(relation) -%}
    select
        cast(timezone('Asia/Shanghai', min(least(
            received_at, case when not coalesce(status = '不予受理', false) then least(due_at, closed_at, visited_at) end
        ))) as date) as first_day,
        cast(timezone('Asia/Shanghai', max(greatest(
            received_at, case when not coalesce(status = '不予受理', false) then greatest(due_at, closed_at, visited_at) end
        ))) as date) as last_day
    from {{ relation }}
{%- endmacro %}

{#-
    pre-hook: record in intermediate.fct_case_indicators__affected the (grain, period_start)
    this run (invocation_id) recomputes; ('*', null) when it recomputes everything (first run,
    full refresh, no state). fct_indicators reads the keys of every run since it last ran and
    then empties the table (so a run that built fct_case_indicators alone is not lost).
    Affected, from the state table (before fct_cases was merged) and fct_cases now:
      1. every period (each grain) containing a day any changed case — old or new version,
         any input — is anchored on (any of its four local days);
      2. every period whose as_of moved: period end > least(previous, new newest updated_at);
      3. all periods when the set of scopes changed (each scope has a row in every period);
      4. every period of the years Y+1..Y+3 (by label year) when the year-grain satisfaction
         of Y may have changed (a changed case visited in Y, or Y's as_of moved).
-#}
{% macro case_indicators_record_affected() -%}
    {%- set state = adapter.get_relation(
        database=this.database, schema='intermediate', identifier='fct_case_indicators__cases') -%}
    {%- if is_incremental() and state is not none -%}
    insert into intermediate.fct_case_indicators__affected
    with

    cases as (
        select {{ case_indicator_inputs() }} from {{ ref('fct_cases') }}
    ),

    previous as (
        select {{ case_indicator_inputs() }}, received_day, due_day, closed_day, visited_day from {{ state }}
    ),

    changed_ids as (
        -- a case whose inputs differ (or that exists on one side only), found by comparing one
        -- hash of the inputs per case: a hash join, not a set difference of every column of
        -- every case of the history (after ten years: 0.4 s against 9.6 s)
        select coalesce(now_rows.case_id, before.case_id) as case_id
        from (select c.case_id, {{ case_indicator_inputs_hash('c') }} as row_hash from cases as c) as now_rows
        full outer join (
            select p.case_id, {{ case_indicator_inputs_hash('p') }} as row_hash from previous as p
        ) as before on now_rows.case_id = before.case_id
        where now_rows.row_hash is distinct from before.row_hash
    ),

    changed as (
        -- the new and the old version of each changed case
        select {{ case_indicator_inputs('c') }}, {{ case_local_days('c') }}
        from {{ ref('fct_cases') }} as c
        where c.case_id in (select changed_ids.case_id from changed_ids)
        union all
        select previous.*
        from previous
        where previous.case_id in (select changed_ids.case_id from changed_ids)
    ),

    changed_days as (
        select unnest([received_day, due_day, closed_day, visited_day]) as local_day from changed
    ),

    loaded as (
        select
            (select max(updated_at) from cases) as loaded_until,
            (select max(updated_at) from previous) as previous_until
    ),

    periods as (
        select p.*
        from {{ ref('int_periods') }} as p
        inner join ({{ case_anchor_bounds('cases') }}) as b on p.local_day between b.first_day and b.last_day
    ),

    as_of_moved as (
        select distinct
            periods.grain,
            periods.period_start
        from periods
        cross join loaded
        where
            loaded.previous_until is distinct from loaded.loaded_until
            and (
                periods.period_end_at > least(loaded.previous_until, loaded.loaded_until)
                or loaded.previous_until is null
                or loaded.loaded_until is null
            )
    ),

    scopes_changed as (
        select count(*) > 0 as changed
        from (
            (({{ case_scopes_seen('cases') }}) except ({{ case_scopes_seen('previous') }}))
            union all
            (({{ case_scopes_seen('previous') }}) except ({{ case_scopes_seen('cases') }}))
        )
    ),

    touched as (
        select
            periods.grain,
            periods.period_start
        from periods
        inner join changed_days on periods.local_day = changed_days.local_day
        union
        select
            grain,
            period_start
        from as_of_moved
        union
        select
            grain,
            period_start
        from periods
        where (select scopes_changed.changed from scopes_changed)
    ),

    satisfaction_moved_years as (
        select distinct year(visited_day) as period_year from changed where visited_day is not null
        union
        select year(period_start) as period_year from as_of_moved where grain = 'year'
    )

    select
        grain,
        period_start,
        '{{ invocation_id }}' as invocation_id
    from (
        select
            grain,
            period_start
        from touched
        union
        select
            periods.grain,
            periods.period_start
        from periods
        inner join satisfaction_moved_years as y
            on cast(left(periods.period, 4) as integer) between y.period_year + 1 and y.period_year + 3
    )
    {%- else -%}
    insert into intermediate.fct_case_indicators__affected values ('*', null, '{{ invocation_id }}')
    {%- endif -%}
{%- endmacro %}

{#-
    true when fct_case_indicators recomputes the period of a row of `alias`: in this run
    (this_run) or in any run since fct_indicators last took the periods over
-#}
{% macro case_indicators_affected_period(alias, this_run=false) -%}
    {%- set run = " and a.invocation_id = '" ~ invocation_id ~ "'" if this_run else "" -%}
    (
        exists (select 1 from intermediate.fct_case_indicators__affected as a where a.grain = '*'{{ run }})
        or exists (
            select 1
            from intermediate.fct_case_indicators__affected as a
            where a.grain = {{ alias }}.grain and a.period_start = {{ alias }}.period_start{{ run }}
        )
    )
{%- endmacro %}
