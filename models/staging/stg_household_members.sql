select
    id as member_id,
    screen_id,
    relationship,
    relationship = 'headOfHousehold' as is_head_of_household,
    age,
    student as is_student,
    pregnant as is_pregnant,
    disabled as is_disabled,
    veteran as is_veteran
from {{ ref('raw_household_members') }}
