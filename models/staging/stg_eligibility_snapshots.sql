select
    id as snapshot_id,
    screen_id,
    submission_date as snapshot_at,
    is_batch
from {{ ref('raw_eligibility_snapshots') }}
