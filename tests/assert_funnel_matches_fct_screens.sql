-- The funnel mart counts every non-test screen since funnel_start_date exactly once.
with funnel as (
    select white_label_id, sum(screens_started) as started
    from {{ ref('mart_screener_funnel') }}
    group by white_label_id
),

screens as (
    select white_label_id, count(*) as started
    from {{ ref('fct_screens') }}
    where created_at >= '{{ var("funnel_start_date") }}'::date
    group by white_label_id
)

select coalesce(f.white_label_id, s.white_label_id) as white_label_id, f.started as funnel_started, s.started as screens_started
from funnel as f
full outer join screens as s on s.white_label_id = f.white_label_id
where f.started is distinct from s.started
