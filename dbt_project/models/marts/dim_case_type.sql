{#-
    The case types (诉求类型): the value set `case_type` of the seed value_sets, in its order,
    with their time limits in working days (办理时限) from the seed case_time_limits: 咨询 3,
    求助/建议/表扬 5, 投诉/举报 10; a business-environment (营商环境) case gets
    business_env_time_limit_working_days (5) whatever its type. Working days are those of
    dim_calendar. A type without a limit fails a not_null test.
-#}
select
    value_sets.value as case_type,
    cast(limits.time_limit_working_days as bigint) as time_limit_working_days,
    cast(limits.business_env_time_limit_working_days as bigint) as business_env_time_limit_working_days,
    cast(value_sets.sort_order as bigint) as sort_order
from {{ ref('value_sets') }} as value_sets
left join {{ ref('case_time_limits') }} as limits on value_sets.value = limits.case_type
where value_sets.field = 'case_type'
