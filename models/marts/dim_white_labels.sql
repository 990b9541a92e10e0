with programs as (
    select white_label_id, count(*) filter (where is_active) as active_program_count
    from {{ ref('stg_programs') }}
    group by white_label_id
)

select
    wl.white_label_id,
    wl.white_label_code,
    wl.white_label_name,
    wl.state_code,
    wl.launched_at,
    wl.is_active,
    coalesce(p.active_program_count, 0) as active_program_count
from {{ ref('stg_white_labels') }} as wl
left join programs as p on p.white_label_id = wl.white_label_id
where {{ white_label_filter('wl.white_label_id') }}
