-- Every submitted screen has exactly one latest eligibility snapshot, and unsubmitted
-- screens have none.
select s.screen_id, s.is_submitted, count(ls.snapshot_id) as latest_snapshots
from {{ ref('stg_screens') }} as s
left join {{ ref('int_latest_eligibility_snapshots') }} as ls on ls.screen_id = s.screen_id
group by s.screen_id, s.is_submitted
having count(ls.snapshot_id) <> case when s.is_submitted then 1 else 0 end
