-- One row per household expense with its amount normalised to a month.
select
    expense_id,
    screen_id,
    expense_type,
    frequency,
    amount as reported_amount,
    round({{ monthly_amount('amount', 'frequency') }}, 2) as monthly_amount
from {{ ref('stg_expenses') }}
