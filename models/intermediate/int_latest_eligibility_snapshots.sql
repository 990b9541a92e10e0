-- The newest eligibility snapshot of each screen: batch re-runs supersede the first result.
with ranked as (
    select
        snapshot_id,
        screen_id,
        snapshot_at,
        is_batch,
        row_number() over (partition by screen_id order by snapshot_at desc, snapshot_id desc) as recency,
        count(*) over (partition by screen_id) as snapshot_count
    from {{ ref('stg_eligibility_snapshots') }}
)

select
    snapshot_id,
    screen_id,
    snapshot_at,
    is_batch,
    snapshot_count
from ranked
where recency = 1
