select
    id as income_id,
    screen_id,
    household_member_id as member_id,
    type as income_type,
    lower(trim(frequency)) as frequency,
    amount,
    hours_worked
from {{ ref('raw_incomes') }}
