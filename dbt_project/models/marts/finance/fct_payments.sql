{#-
    One row per payment (支付明细): its latest version (greatest updated_at). Refunds and
    reversals are negative amounts and stay as rows of their own, so sums net them. No payee
    and no free-text summary reach the marts.
-#}
with

versions as (
    select * from {{ ref('stg_finance__payments') }}
),

latest as (
    select *
    from versions
    qualify row_number() over (partition by payment_id order by updated_at desc) = 1
),

final as (
    select
        payment_id,
        pay_date,
        fiscal_year,
        line_id,
        unit_code,
        project_code,
        {{ classification_columns() }},
        fund_source,
        expense_type,
        amount,
        amount < 0 as is_refund,
        updated_at
    from latest
)

select * from final
