select
    id as expense_id,
    screen_id,
    type as expense_type,
    lower(trim(frequency)) as frequency,
    amount
from {{ ref('raw_expenses') }}
