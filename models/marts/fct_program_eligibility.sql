-- Per screen and program: the latest eligibility result the household saw.
select
    pe.program_eligibility_id,
    s.white_label_id,
    s.screen_id,
    ls.snapshot_id,
    ls.snapshot_at,
    pe.program_id,
    p.program_code,
    s.county,
    pe.is_eligible,
    pe.estimated_annual_value
from {{ ref('int_latest_eligibility_snapshots') }} as ls
inner join {{ ref('stg_program_eligibility') }} as pe on pe.snapshot_id = ls.snapshot_id
inner join {{ ref('stg_screens') }} as s on s.screen_id = ls.screen_id
inner join {{ ref('stg_programs') }} as p on p.program_id = pe.program_id
where {{ exclude_test_screens('s.is_test') }}
    and {{ white_label_filter('s.white_label_id') }}
