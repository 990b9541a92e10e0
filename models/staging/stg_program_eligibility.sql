select
    id as program_eligibility_id,
    eligibility_snapshot_id as snapshot_id,
    program_id,
    eligible as is_eligible,
    -- the app stores 0 for programs a household does not qualify for
    case when eligible then estimated_value else 0 end as estimated_annual_value
from {{ ref('raw_program_eligibility') }}
