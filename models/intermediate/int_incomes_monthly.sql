-- One row per income stream with its amount normalised to a month.
select
    income_id,
    screen_id,
    member_id,
    income_type,
    frequency,
    income_type in ('wages', 'selfEmployment') as is_earned,
    amount as reported_amount,
    round({{ monthly_amount('amount', 'frequency', 'hours_worked') }}, 2) as monthly_amount
from {{ ref('stg_incomes') }}
