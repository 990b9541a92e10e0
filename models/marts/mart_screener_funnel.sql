-- Weekly screener funnel per partner: started, submitted, shown at least one program.
select
    white_label_id,
    created_week as week_start,
    count(*) as screens_started,
    count(*) filter (where is_submitted) as screens_submitted,
    count(*) filter (where eligible_program_count > 0) as screens_with_eligible_program,
    round(count(*) filter (where is_submitted)::numeric / count(*), 3) as submission_rate,
    sum(total_estimated_annual_value) as total_estimated_annual_value
from {{ ref('fct_screens') }}
where created_at >= '{{ var("funnel_start_date") }}'::date
group by white_label_id, created_week
