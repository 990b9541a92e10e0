-- Do households screening in another language than English see as many programs?
-- Compile with `dbt compile --select eligible_value_by_language` and run it by hand.
select
    wl.white_label_code,
    s.language_code,
    count(*) as screens,
    round(avg(s.eligible_program_count), 2) as avg_eligible_programs,
    round(avg(s.total_estimated_annual_value), 2) as avg_estimated_annual_value
from {{ ref('fct_screens') }} as s
inner join {{ ref('dim_white_labels') }} as wl on wl.white_label_id = s.white_label_id
where s.is_submitted
group by wl.white_label_code, s.language_code
order by wl.white_label_code, screens desc
