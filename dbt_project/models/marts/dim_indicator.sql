{#-
    One row per indicator of fct_indicators: the indicator list's one home (seed
    indicator_catalog). Reports take names, order and the KPI / scorecard selections from here.
-#}
with

catalog as (
    select * from {{ ref('indicator_catalog') }}
),

final as (
    select
        indicator,
        indicator_name,
        family,
        display_order,
        is_headline_rate,
        in_scorecard
    from catalog
)

select * from final
